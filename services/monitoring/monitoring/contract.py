"""Monitoring's contract: its enumerations, the API's shapes (validated at the gateway
and again by the service, and the source of the OpenAPI document) and the data of the
events it publishes. It imports nothing of the service, so the gateway reads it without
loading the models or the sentiment model."""
from datetime import datetime, time, timedelta, timezone

from marshmallow import Schema, ValidationError, fields, post_load, validate

from plumbing.schemas import PageQuerySchema, ResponseSchema, StrictSchema, every_field_optional, page_schema, required

# The enumerations: the values the API and the events allow; the features read them from here.
PLATFORMS = ("weibo", "wechat", "douyin", "xiaohongshu", "twitter", "facebook", "forum", "news", "other")
AUTHOR_KINDS = ("person", "media", "kol")
SENTIMENTS = ("negative", "neutral", "positive")
LEVELS = ("IV", "III", "II", "I")  # from least to most grave
ALERT_STATES = ("open", "acknowledged", "responding", "resolved")
ALERT_ACTIONS = ("reply_clarify", "publish_positive", "coordinate_departments")
ALERT_KINDS = ("cluster", "spike")
SENSITIVITIES = ("low", "medium", "high")  # of spike detection

MAX_BATCH = 1000
MAX_QUERY_LENGTH = 2000  # of a watch rule's query
MAX_REPORT_SPAN = timedelta(days=366)
REPORT_DEFAULT_DAYS = 7  # the trend's window when the query names no since


def count():
    return fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0))


class AuthorSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Length(1, 200),
                       metadata={"description": "the author's id on the platform"})
    name = fields.String(required=True, validate=validate.Length(1, 200))
    followers = count()
    verified = fields.Boolean(load_default=False)
    kind = fields.String(load_default="person", validate=validate.OneOf(AUTHOR_KINDS),
                         metadata={"description": "person, media outlet or kol (key opinion leader)"})


class PostCreateSchema(StrictSchema):
    platform = fields.String(required=True, validate=validate.OneOf(PLATFORMS))
    external_id = fields.String(required=True, validate=validate.Length(1, 200),
                                metadata={"description": "the post's id on the platform; with platform, its identity"})
    url = fields.Url(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    author = fields.Nested(AuthorSchema, required=True)
    text = fields.String(required=True, validate=validate.Length(1, 10000))
    language = fields.String(load_default=None, allow_none=True,
                             validate=[validate.Length(max=16), validate.Regexp(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")],
                             metadata={"description": "BCP 47 tag, e.g. zh, en, zh-Hans"})
    posted_at = fields.AwareDateTime(required=True)
    reposts = count()
    comments = count()
    likes = count()
    parent_external_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 200),
                                       metadata={"description": "post this one reposts or comments on"})


class PostSchema(ResponseSchema):
    id = fields.Integer()
    platform = fields.String(validate=validate.OneOf(PLATFORMS))
    external_id = fields.String()
    url = fields.String(allow_none=True)
    author = fields.Method("dump_author", metadata={"type": "object", "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "followers": {"type": "integer"},
        "verified": {"type": "boolean"}, "kind": {"type": "string", "enum": list(AUTHOR_KINDS)}},
        "required": ["id", "name", "followers", "verified", "kind"]})
    text = fields.String()
    language = fields.String(allow_none=True)
    posted_at = fields.DateTime()
    reposts = fields.Integer()
    comments = fields.Integer()
    likes = fields.Integer()
    parent_external_id = fields.String(allow_none=True)
    received_at = fields.DateTime()
    updated_at = fields.DateTime()
    on_topic = fields.Boolean(metadata={"description": "matched a watch rule; off-topic posts are not analysed"})
    topics = fields.Method("dump_topics", metadata={"type": "array", "items": {"type": "string"},
                                                    "description": "names of the watch rules it matched"})
    detected_language = fields.String(allow_none=True)
    sentiment = fields.Method("dump_sentiment", metadata={
        "type": "string", "nullable": True,
        "description": "negative, neutral or positive: an agent's correction where there is one, else the model's"})
    sentiment_score = fields.Float(allow_none=True, metadata={"description": "the model's, -1 .. 1"})
    sentiment_confidence = fields.Float(allow_none=True, metadata={
        "description": "the model's probability of its label: the least sure posts are queued for review"})
    sentiment_model_version = fields.Integer(allow_none=True, metadata={"description": "the model that read it"})
    corrected = fields.Method("dump_corrected", metadata={"type": "boolean"})
    crisis = fields.Method("dump_crisis", metadata={"type": "boolean"})
    crisis_terms = fields.List(fields.String(), allow_none=True)
    cluster_id = fields.Integer(allow_none=True, metadata={"description": "its group of near-duplicate posts"})
    severity = fields.Float(allow_none=True, metadata={"description": "0-100, at the time it was last seen"})
    level = fields.String(allow_none=True, validate=validate.OneOf(LEVELS))

    def dump_topics(self, post):
        return sorted(rule.name for rule in getattr(post, "topic_rules", ()))

    def dump_sentiment(self, post):
        return post.corrected_sentiment or post.sentiment

    def dump_corrected(self, post):
        return post.corrected_sentiment is not None

    def dump_crisis(self, post):
        return bool(post.crisis_terms)

    def dump_author(self, post):
        return {"id": post.author_id, "name": post.author_name, "followers": post.author_followers,
                "verified": post.author_verified, "kind": post.author_kind}


class PostIngestResultSchema(ResponseSchema):
    post = fields.Nested(PostSchema)
    created = fields.Boolean(metadata={"description": "false when the post was seen before"})


class PostBatchSchema(StrictSchema):
    posts = fields.List(fields.Nested(PostCreateSchema), required=True, validate=validate.Length(1, MAX_BATCH))


class PostOutcomeSchema(PostSchema):
    """What became of one post of a batch: its identity and analysis, not an echo of what was sent."""

    class Meta:
        fields = ("id", "platform", "external_id", "created", "on_topic", "topics", "sentiment", "sentiment_score",
                  "crisis", "cluster_id", "severity", "level")

    created = fields.Boolean(metadata={"description": "false when the post was seen before (counts merged)"})


class PostBatchResultSchema(ResponseSchema):
    created = fields.Integer()
    updated = fields.Integer(metadata={"description": "posts seen before: counts merged"})
    items = fields.List(fields.Nested(PostOutcomeSchema), metadata={"description": "in the order sent"})


class PostListQuerySchema(PageQuerySchema):
    platform = fields.String(validate=validate.OneOf(PLATFORMS))
    sentiment = fields.String(validate=validate.OneOf(SENTIMENTS))
    on_topic = fields.Boolean()
    cluster_id = fields.Integer(validate=validate.Range(min=1))
    level = fields.String(validate=validate.OneOf(LEVELS))


class CorrectionSchema(StrictSchema):
    sentiment = fields.String(required=True, validate=validate.OneOf(SENTIMENTS))


class ReviewQueueQuerySchema(PageQuerySchema):
    below = fields.Float(load_default=0.6, validate=validate.Range(0, 1), metadata={
        "description": "posts whose model confidence is under this, least sure first"})


class SentimentModelSchema(ResponseSchema):
    version = fields.Integer()
    active = fields.Boolean()
    figures = fields.Dict(metadata={
        "description": "dev-split figures when installed: per language and language/case type, accuracy, "
                       "negative precision/recall/F1, crisis recall/precision"})
    trained_on = fields.Dict(keys=fields.String(), values=fields.Integer(),
                             metadata={"description": "training rows per source"})
    installed_at = fields.DateTime()
    activated_at = fields.DateTime()
    activated_by = fields.String(allow_none=True)


class SentimentModelListSchema(ResponseSchema):
    items = fields.List(fields.Nested(SentimentModelSchema))


def valid_query(query):
    # imported here, not at the top: the query language (a pure module) reads this module's limit
    from monitoring.watch_rules import rules

    try:
        rules.parse(query)
    except rules.RuleSyntaxError as exc:
        raise ValidationError(str(exc)) from None


class WatchRuleCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(1, 100))
    query = fields.String(required=True, validate=[validate.Length(1, MAX_QUERY_LENGTH), valid_query],
                          metadata={"description": 'AND, OR, NOT, "phrases", parentheses, prefix*; e.g. '
                                                   '(外卖 OR "food delivery") AND (退款 OR refund*) NOT 招聘'})
    platforms = fields.List(fields.String(validate=validate.OneOf(PLATFORMS)), load_default=list,
                            metadata={"description": "empty: every platform"})
    author_kinds = fields.List(fields.String(validate=validate.OneOf(AUTHOR_KINDS)), load_default=list)
    verified_only = fields.Boolean(load_default=False)
    min_followers = count()
    active = fields.Boolean(load_default=True)


WatchRuleUpdateSchema = every_field_optional(
    WatchRuleCreateSchema, "WatchRuleUpdateSchema",
    "An edit: each field given replaces the rule's, the others stay as they are.")


class WatchRuleSchema(ResponseSchema):
    id = fields.Integer()
    name = fields.String()
    query = fields.String()
    platforms = fields.List(fields.String())
    author_kinds = fields.List(fields.String())
    verified_only = fields.Boolean()
    min_followers = fields.Integer()
    active = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


WatchRuleListSchema = ResponseSchema.from_dict({"items": fields.List(fields.Nested(WatchRuleSchema))},
                                               name="WatchRuleListSchema")


class AnalyseSchema(StrictSchema):
    texts = fields.List(fields.String(validate=validate.Length(1, 10000)), required=True,
                        validate=validate.Length(1, MAX_BATCH))


class AnalysisSchema(ResponseSchema):
    sentiment = fields.String(validate=validate.OneOf(SENTIMENTS))
    score = fields.Float(metadata={"description": "-1 most negative .. 1 most positive"})
    confidence = fields.Float(metadata={"description": "the model's probability of its label"})
    language = fields.String(metadata={"description": "zh, en, or und (undetermined)"})
    crisis = fields.Boolean(metadata={"description": "a crisis term, or read as a crisis: review whatever the sentiment"})
    crisis_terms = fields.List(fields.String(), metadata={
        "description": "the crisis terms it contains, then ~<kind> (food_safety, data_leak, legal_action, regulator, "
                       "boycott, fraud, injury, exposure) when a negative post reads like that kind of crisis"})
    model_version = fields.Integer()


AnalysisResultSchema = ResponseSchema.from_dict({"results": fields.List(fields.Nested(AnalysisSchema))},
                                                name="AnalysisResultSchema")


class AlertEntrySchema(ResponseSchema):
    at = fields.DateTime()
    actor = fields.String(allow_none=True)
    kind = fields.String(metadata={"description": "raised, escalated, state, owner, action, note, spike, ticket (its "
                                                  "ticket was resolved or closed)"})
    action = fields.String(allow_none=True, validate=validate.OneOf(ALERT_ACTIONS))
    note = fields.String(allow_none=True)
    changes = fields.Dict()


class AlertSchema(ResponseSchema):
    id = fields.Integer()
    key = fields.String(metadata={"description": "what it is about: cluster/<id> or spike/<topic>/<bucket>"})
    kind = fields.String(validate=validate.OneOf(ALERT_KINDS))
    level = fields.String(validate=validate.OneOf(LEVELS))
    severity = fields.Float()
    summary = fields.String()
    topics = fields.List(fields.String())
    cluster_id = fields.Integer(allow_none=True)
    cluster_size = fields.Integer(allow_none=True)
    post_id = fields.Integer(allow_none=True)
    crisis_terms = fields.List(fields.String())
    opens_ticket = fields.Boolean(metadata={
        "description": "levels II and I and crisis posts are worked as tickets"})
    state = fields.String(validate=validate.OneOf(ALERT_STATES))
    owner = fields.String(allow_none=True)
    raised_at = fields.DateTime()
    acknowledged_at = fields.DateTime(allow_none=True)
    responding_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()


class AlertDetailSchema(AlertSchema):
    entries = fields.List(fields.Nested(AlertEntrySchema))


class AlertListQuerySchema(PageQuerySchema):
    state = fields.String(validate=validate.OneOf(ALERT_STATES))
    level = fields.String(validate=validate.OneOf(LEVELS))
    kind = fields.String(validate=validate.OneOf(ALERT_KINDS))


AlertPageSchema = page_schema(AlertSchema, "AlertPageSchema")


# not AlertStateSchema: a generated client names the enum of Alert.state AlertState
class AlertStateChangeSchema(StrictSchema):
    state = fields.String(required=True, validate=validate.OneOf(ALERT_STATES[1:]))
    owner = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64),
                          metadata={"description": "who handles it; default: whoever acknowledges"})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 5000))


class AlertActionSchema(StrictSchema):
    action = fields.String(required=True, validate=validate.OneOf(ALERT_ACTIONS), metadata={
        "description": "reply_clarify, publish_positive (information), coordinate_departments"})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 5000))


class AlertNoteSchema(StrictSchema):
    note = fields.String(required=True, validate=validate.Length(1, 5000))


class ReportQuerySchema(StrictSchema):
    period = fields.String(load_default="day", validate=validate.OneOf(("day", "week")))
    since = fields.AwareDateTime(metadata={
        "description": f"default: the start (UTC) of the day {REPORT_DEFAULT_DAYS - 1} days before the last day "
                       f"of the window: {REPORT_DEFAULT_DAYS} days, today's so far included"})
    until = fields.AwareDateTime(metadata={"description": "the end of the window, excluded; default: now"})
    top = fields.Integer(load_default=10, validate=validate.Range(1, 50))

    @post_load
    def window(self, data, **kwargs):
        until = data.get("until") or datetime.now(timezone.utc)
        since = data.get("since") or default_since(until)
        if not timedelta(0) < until - since <= MAX_REPORT_SPAN:
            field, reason = (("until", "must be after since, at most 366 days later") if "until" in data else
                             ("since", "must be before until (default now), at most 366 days earlier"))
            raise ValidationError({field: [reason]})
        return dict(data, since=since, until=until)


def default_since(until):
    """Midnight (UTC) ``REPORT_DEFAULT_DAYS - 1`` days before the last day the window touches."""
    last_day = (until.astimezone(timezone.utc) - timedelta(microseconds=1)).date()
    return datetime.combine(last_day - timedelta(days=REPORT_DEFAULT_DAYS - 1), time.min, tzinfo=timezone.utc)


class TrendPointSchema(ResponseSchema):
    period_start = fields.String()
    total = fields.Integer()
    by_sentiment = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_platform = fields.Dict(keys=fields.String(), values=fields.Integer())
    negative_share = fields.Float()


class ReportSchema(ResponseSchema):
    period = fields.String()
    since = fields.DateTime()
    until = fields.DateTime()
    trend = fields.List(fields.Nested(TrendPointSchema))
    top_topics = fields.List(fields.Dict())
    top_terms = fields.List(fields.Dict(), metadata={"description": "most frequent words/characters of negative posts"})
    top_negative_clusters = fields.List(fields.Dict())
    alerts = fields.Dict(metadata={"description": "counts by level and state, median minutes to acknowledge/resolve"})


PostPageSchema = page_schema(PostSchema, "PostPageSchema")


# -- event data (docs/events/schemas are generated from these) -----------------------------
class PostAnalysedDataSchema(Schema):
    """A negative on-topic post, without its author's name or id (X6)."""
    post_id = required(fields.Integer())
    platform = required(fields.String())
    external_id = required(fields.String())
    url = fields.String(allow_none=True)
    text = required(fields.String())
    posted_at = required(fields.DateTime())
    author_kind = required(fields.String(validate=validate.OneOf(AUTHOR_KINDS)))
    author_verified = required(fields.Boolean())
    author_followers = required(fields.Integer())
    topics = required(fields.List(fields.String()))
    language = required(fields.String())
    sentiment = required(fields.String(validate=validate.OneOf(SENTIMENTS)))
    score = required(fields.Float())
    crisis_terms = required(fields.List(fields.String()))
    cluster_id = required(fields.Integer())
    cluster_size = required(fields.Integer())
    severity = required(fields.Float())
    level = fields.String(allow_none=True, validate=validate.OneOf(LEVELS))


class AlertPostDataSchema(Schema):
    id = required(fields.Integer())
    platform = required(fields.String())
    external_id = required(fields.String())
    url = fields.String(allow_none=True)
    text = required(fields.String())
    author_name = required(fields.String(metadata={"description": "for the ticket's customer: who wrote it"}))
    author_id = required(fields.String())
    author_kind = required(fields.String())


class AlertDataSchema(Schema):
    alert_id = required(fields.Integer())
    key = required(fields.String(metadata={"description": "one alert, and one ticket, per key: a cluster or a spike"}))
    kind = required(fields.String(validate=validate.OneOf(ALERT_KINDS)))
    level = required(fields.String(validate=validate.OneOf(LEVELS)))
    severity = required(fields.Float())
    summary = required(fields.String())
    topics = required(fields.List(fields.String()))
    cluster_id = fields.Integer(allow_none=True)
    cluster_size = fields.Integer(allow_none=True)
    crisis_terms = required(fields.List(fields.String()))
    opens_ticket = required(fields.Boolean(metadata={"description": "ticketing opens one ticket per key when true"}))
    state = required(fields.String(validate=validate.OneOf(ALERT_STATES)))
    owner = fields.String(allow_none=True)
    post = fields.Nested(AlertPostDataSchema, allow_none=True)
    raised_at = required(fields.DateTime())


class AlertUpdatedDataSchema(AlertDataSchema):
    change = required(fields.String(metadata={"description": "escalated, state, owner (handed to someone else), "
                                                             "action, note or spike"}))
    actor = fields.String(allow_none=True)
    from_level = fields.String(allow_none=True)
    from_state = fields.String(allow_none=True)


class SpikeDataSchema(Schema):
    topic_id = required(fields.Integer())
    topic = required(fields.String())
    bucket_start = required(fields.DateTime())
    bucket_minutes = required(fields.Integer())
    reason = required(fields.String(metadata={"description": "count (negative mentions) or share (negative share)"}))
    observed = required(fields.Float())
    expected = required(fields.Float())
    p_value = fields.Float(allow_none=True)
    sensitivity = required(fields.String(validate=validate.OneOf(SENSITIVITIES)))
    alert_id = fields.Integer(allow_none=True, metadata={"description": "the alert it raised or was added to"})
