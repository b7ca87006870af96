"""Appraisal's contract: its enumerations, the API's shapes and the data of the
events it publishes. The gateway imports these for validation and OpenAPI; the
domain takes its constants from here."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from plumbing.schemas import ResponseSchema, StrictSchema, answer_of, required

# -- enumerations -------------------------------------------------------------
KPI_KEYS = (  # the measured KPIs, each defined in appraisal/kpis/rules.py
    "first_response_mean", "first_response_p50", "first_response_p90",
    "first_resolution_mean", "first_resolution_p50", "first_resolution_p90",
    "resolution_mean", "resolution_p50", "resolution_p90",
    "sla_compliance", "first_contact_rate", "resolution_rate", "reopen_rate", "transfer_rate",
    "complaint_rate", "csat_mean", "csat_top2", "volume", "exam_score",
)
CATEGORIES = ("attitude", "efficiency", "quality", "problem_solving", "volume")
SOURCES = MEASURED, RATED = ("measured", "rated")
DIRECTIONS = HIGHER, LOWER = ("higher_better", "lower_better")
REVIEWER_ROLES = CUSTOMER, PEER, SUPERVISOR, QUALITY = ("customer", "peer", "supervisor", "quality")
ROLES = ("agent", "supervisor", "manager", "director")
PERIOD_TYPES = ("monthly", "quarterly", "annual")
CYCLE_STATES = ("planned", "collecting", "computed", "review", "published", "closed")
CYCLE_ACTIONS = ("start", "compute", "review", "publish", "close")  # in the order a cycle takes them
DECISIONS = UPHELD, ADJUSTED, REJECTED = ("upheld", "adjusted", "rejected")
APPEAL_STATES = ("filed", "investigating", "decided")

AGENT = validate.Length(1, 64)
SCORE = validate.Range(0, 100)


def definition_errors(direction, target, floor) -> dict:
    """A KPI definition must point the right way: the target better than the floor
    (here, not in the rules: the gateway checks a definition with this schema too)."""
    if target == floor:
        return {"floor": ["must differ from target"]}
    if (direction == HIGHER) != (target > floor):
        return {"floor": [f"must be {'below' if direction == HIGHER else 'above'} target for {direction}"]}
    return {}


def date_range_errors(data, start="date_from", end="date_to") -> dict:
    if start in data and end in data and data[start] > data[end]:
        return {end: [f"must not be before {start}"]}
    return {}


# -- KPIs -------------------------------------------------------------------
class KpiQuerySchema(StrictSchema):
    agent = fields.String(validate=AGENT, metadata={"description": "the facts attributed to this agent"})
    team = fields.String(validate=validate.Length(1, 64), metadata={
        "description": "the facts of the agents who were the team's members when each happened"})
    queue = fields.String(validate=validate.Length(1, 64), metadata={
        "description": "the facts of tickets in this team's queue (the ticket's team) when each happened"})
    date_from = fields.Date(required=True, metadata={
        "description": "first day (UTC) of the period each fact belongs to, inclusive"})
    date_to = fields.Date(required=True, metadata={"description": "last day (UTC), inclusive"})

    @validates_schema
    def check_range(self, data, **kwargs):
        errors = date_range_errors(data)
        scopes = [name for name in ("agent", "team", "queue") if name in data]
        if len(scopes) > 1:
            errors[scopes[-1]] = ["give one of agent, team or queue"]
        if errors:
            raise ValidationError(errors)


class KpiValuesSchema(ResponseSchema):
    agent = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    queue = fields.String(allow_none=True)
    date_from = fields.Date()
    date_to = fields.Date()
    kpis = fields.Dict(keys=fields.String(validate=validate.OneOf(KPI_KEYS)), values=fields.Float(allow_none=True),
                       metadata={"description": "each KPI of docs/appraisal.md; null: not applicable (no data)"})


class TicketCountQuerySchema(StrictSchema):
    agent = fields.String(validate=AGENT)
    date_from = fields.Date(metadata={"description": "first UTC day, inclusive"})
    date_to = fields.Date(metadata={"description": "last UTC day, inclusive"})
    by = fields.String(load_default="day", validate=validate.OneOf(("day", "month")))

    @validates_schema
    def check_range(self, data, **kwargs):
        errors = date_range_errors(data)
        if errors:
            raise ValidationError(errors)


class TicketCountSchema(ResponseSchema):
    agent = fields.String(allow_none=True, metadata={"description": "who received them; null: nobody has yet"})
    day = fields.Date(metadata={"description": "the day, or the first day of the month"})
    tickets = fields.Integer()


class TicketCountListSchema(ResponseSchema):
    items = fields.List(fields.Nested(TicketCountSchema))


class ReplayResultSchema(ResponseSchema):
    tickets = fields.Integer(metadata={"description": "ticket records rebuilt from the stored facts"})
    facts = fields.Integer()


# -- definitions and templates ----------------------------------------------
class KpiDefinitionCreateSchema(StrictSchema):
    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,63}$"))
    name = fields.String(required=True, validate=validate.Length(1, 200))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    measure = fields.String(required=True, validate=validate.Length(1, 64), metadata={
        "description": "measured: one of the KPI keys of GET /appraisal/kpis; rated: the rating item, e.g. courtesy"})
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    target = fields.Float(required=True, metadata={"description": "the value that earns full points"})
    floor = fields.Float(required=True, metadata={"description": "the value that earns no points"})

    @validates_schema
    def check_definition(self, data, **kwargs):
        errors = definition_errors(data["direction"], data["target"], data["floor"])
        if data["source"] == MEASURED and data["measure"] not in KPI_KEYS:
            errors["measure"] = [f"a measured KPI is one of {', '.join(KPI_KEYS)}"]
        if errors:
            raise ValidationError(errors)


class KpiDefinitionSchema(ResponseSchema):
    key = fields.String()
    name = fields.String()
    description = fields.String()
    category = fields.String()
    source = fields.String()
    measure = fields.String()
    direction = fields.String()
    target = fields.Float()
    floor = fields.Float()
    retired_at = fields.DateTime(allow_none=True, metadata={
        "description": "retired: no new template names it; templates and cycles that do keep it"})


class KpiDefinitionUpdateSchema(StrictSchema):
    """Any field but the key (a definition no template names is deleted instead, freeing its key);
    ``retired`` true keeps it from new templates, false brings it back."""
    name = fields.String(validate=validate.Length(1, 200))
    description = fields.String(validate=validate.Length(max=2000))
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    source = fields.String(validate=validate.OneOf(SOURCES))
    measure = fields.String(validate=validate.Length(1, 64))
    direction = fields.String(validate=validate.OneOf(DIRECTIONS))
    target = fields.Float()
    floor = fields.Float()
    retired = fields.Boolean()


class KpiDefinitionListSchema(ResponseSchema):
    items = fields.List(fields.Nested(KpiDefinitionSchema))


class TemplateItemSchema(StrictSchema):
    kpi = fields.String(required=True, validate=validate.Length(1, 64))
    weight = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    instant_fail_threshold = fields.Float(load_default=None, allow_none=True, metadata={
        "description": "a value worse than this makes the whole score 0"})


class BandSchema(StrictSchema):
    grade = fields.String(required=True, validate=validate.Length(1, 32))
    min_score = fields.Float(required=True, validate=SCORE)
    bonus_tier = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))
    promotion_eligible = fields.Boolean(load_default=False)
    warning = fields.Boolean(load_default=False)
    retraining_course_id = fields.Integer(load_default=None, allow_none=True, metadata={
        "description": "training course an agent in this band is enrolled in (appraisal.retraining_requested)"})


class TemplateCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    period_type = fields.String(required=True, validate=validate.OneOf(PERIOD_TYPES))
    items = fields.List(fields.Nested(TemplateItemSchema), required=True, validate=validate.Length(1, 50))
    reviewer_weights = fields.Dict(keys=fields.String(validate=validate.OneOf(REVIEWER_ROLES)),
                                   values=fields.Float(validate=validate.Range(min=0)), load_default=dict,
                                   metadata={"description": "how rated items combine reviewer roles; sum 100"})
    bands = fields.List(fields.Nested(BandSchema), required=True, validate=validate.Length(1, 20))


# a template's items and bands as stored and shown: their defaults filled in, every field there
StoredTemplateItemSchema = answer_of(TemplateItemSchema, "StoredTemplateItemSchema")
StoredBandSchema = answer_of(BandSchema, "StoredBandSchema")


class TemplateSchema(ResponseSchema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String()
    period_type = fields.String()
    items = fields.List(fields.Nested(StoredTemplateItemSchema))
    reviewer_weights = fields.Dict(keys=fields.String(), values=fields.Float())
    bands = fields.List(fields.Nested(StoredBandSchema))
    created_at = fields.DateTime()
    retired_at = fields.DateTime(allow_none=True, metadata={
        "description": "retired: no new cycle of it; the cycles planned with it keep it as it was then"})


class TemplateUpdateSchema(StrictSchema):
    """Any field (the template as changed must still be one that can be used); ``retired`` true keeps
    it from new cycles, false brings it back. Cycles already planned keep the template as it was."""
    name = fields.String(validate=validate.Length(1, 200))
    role = fields.String(validate=validate.OneOf(ROLES))
    period_type = fields.String(validate=validate.OneOf(PERIOD_TYPES))
    items = fields.List(fields.Nested(TemplateItemSchema), validate=validate.Length(1, 50))
    reviewer_weights = fields.Dict(keys=fields.String(validate=validate.OneOf(REVIEWER_ROLES)),
                                   values=fields.Float(validate=validate.Range(min=0)))
    bands = fields.List(fields.Nested(BandSchema), validate=validate.Length(1, 20))
    retired = fields.Boolean()

    def get_attribute(self, obj, attr, default):
        """Dumped (the gateway passes loaded input on as JSON), a field left out stays out: read keys
        only, or ``items`` left out would be read as the dict's own ``items`` method."""
        return obj.get(attr, default) if isinstance(obj, dict) else super().get_attribute(obj, attr, default)


class TemplateListSchema(ResponseSchema):
    items = fields.List(fields.Nested(TemplateSchema))


# -- cycles, ratings, results, appeals ----------------------------------------
class CycleCreateSchema(StrictSchema):
    template_id = fields.Integer(required=True, strict=True)
    period_start = fields.Date(required=True, metadata={"description": "first day of the month, quarter or year"})
    appeal_days = fields.Integer(strict=True, load_default=5, validate=validate.Range(1, 60),
                                 metadata={"description": "working days after publication to appeal"})
    decision_days = fields.Integer(strict=True, load_default=10, validate=validate.Range(1, 60),
                                   metadata={"description": "working days after filing for the committee to decide"})


class CycleTransitionSchema(StrictSchema):
    action = fields.String(required=True, validate=validate.OneOf(CYCLE_ACTIONS))


class OutcomeFailureSchema(ResponseSchema):
    agent = fields.String()
    course_id = fields.Integer()
    reason = fields.String(metadata={"description": "training's reason"})
    at = fields.String(metadata={"description": "when training refused (ISO 8601)"})


class CycleSchema(ResponseSchema):
    id = fields.Integer()
    template_id = fields.Integer()
    period_type = fields.String()
    period_start = fields.Date()
    period_end = fields.Date()
    state = fields.String(validate=validate.OneOf(CYCLE_STATES))
    appeal_days = fields.Integer()
    decision_days = fields.Integer()
    computed_at = fields.DateTime(allow_none=True, metadata={
        "description": "when the figures were first computed: they hold the facts that had arrived by then"})
    late_facts = fields.Integer(metadata={
        "description": "facts of the period that arrived after computed_at: not included, counted in the next "
                       "period's cycle"})
    published_at = fields.DateTime(allow_none=True)
    appeal_deadline = fields.Date(allow_none=True, metadata={"description": "last day an appeal is accepted"})
    closed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    outcome_failures = fields.List(fields.Nested(OutcomeFailureSchema), metadata={
        "description": "outcomes closing could not apply (training refused a retraining enrolment), for the "
                       "committee to act on"})


class CycleListSchema(ResponseSchema):
    items = fields.List(fields.Nested(CycleSchema))


class ReviewRatingCreateSchema(StrictSchema):
    cycle_id = fields.Integer(required=True, strict=True)
    agent = fields.String(required=True, validate=AGENT)
    reviewer_role = fields.String(required=True, validate=validate.OneOf(REVIEWER_ROLES))
    scores = fields.Dict(keys=fields.String(validate=validate.Length(1, 64)), values=fields.Float(validate=SCORE),
                         required=True, validate=validate.Length(min=1), metadata={
                             "description": "rating item -> 0-100, e.g. a quality scorecard: courtesy, "
                                            "listening, proactive, accuracy"})
    comment = fields.String(load_default="", validate=validate.Length(max=5000))
    ticket_id = fields.Integer(strict=True, load_default=None, allow_none=True, metadata={
        "description": "customer ratings only, and required for them: the agent's ticket the customer rates"})

    @validates_schema
    def check_ticket(self, data, **kwargs):
        if (data["reviewer_role"] == CUSTOMER) != (data.get("ticket_id") is not None):
            raise ValidationError("required for a customer rating, and only then", "ticket_id")


class ReviewRatingSchema(ResponseSchema):
    id = fields.Integer()
    cycle_id = fields.Integer()
    agent = fields.String()
    reviewer = fields.String()
    reviewer_role = fields.String()
    scores = fields.Dict(keys=fields.String(), values=fields.Float())
    comment = fields.String()
    ticket_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime(metadata={"description": "when this rating was given (replacing any earlier one)"})


class ResultSchema(ResponseSchema):
    id = fields.Integer()
    cycle_id = fields.Integer()
    agent = fields.String()
    team = fields.String(allow_none=True)
    score = fields.Float(allow_none=True, metadata={"description": "null: no item of the template applied"})
    grade = fields.String(allow_none=True)
    kpis = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    breakdown = fields.Dict(metadata={"description": "every item: value, points, weights, contribution, inputs"})
    outcome = fields.Dict(metadata={"description": "bonus tier, promotion eligibility, warning, retraining"})
    adjusted = fields.Boolean(metadata={"description": "changed by an appeal decision"})
    computed_at = fields.DateTime()


class ResultQuerySchema(StrictSchema):
    agent = fields.String(validate=AGENT)


class ResultListSchema(ResponseSchema):
    items = fields.List(fields.Nested(ResultSchema))


class AppealCreateSchema(StrictSchema):
    items = fields.List(fields.String(validate=validate.Length(1, 64)), required=True,
                        validate=validate.Length(1, 50), metadata={"description": "the KPI keys appealed"})
    reason = fields.String(required=True, validate=validate.Length(1, 5000))


class AppealInvestigationSchema(StrictSchema):
    note = fields.String(load_default="", validate=validate.Length(max=5000))


class AppealDecisionSchema(StrictSchema):
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS), metadata={
        "description": "upheld: the appealed items are left out of the score; adjusted: the committee sets "
                       "new_score; rejected: the score stands"})
    new_score = fields.Float(load_default=None, allow_none=True, validate=SCORE)
    reason = fields.String(required=True, validate=validate.Length(1, 5000))

    @validates_schema
    def check_new_score(self, data, **kwargs):
        if (data["decision"] == ADJUSTED) != (data.get("new_score") is not None):
            raise ValidationError("required for an adjusted decision, and only then", "new_score")


class AppealSchema(ResponseSchema):
    id = fields.Integer()
    cycle_id = fields.Integer()
    result_id = fields.Integer()
    agent = fields.String()
    items = fields.List(fields.String())
    reason = fields.String()
    state = fields.String(validate=validate.OneOf(APPEAL_STATES))
    filed_at = fields.DateTime()
    decision_due = fields.Date()
    overdue = fields.Boolean(metadata={"description": "undecided after its decision_due day"})
    investigator = fields.String(allow_none=True)
    decision = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    score_before = fields.Float(allow_none=True)
    score_after = fields.Float(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)


class AppealQuerySchema(StrictSchema):
    cycle_id = fields.Integer()  # from a query string: digits in text
    agent = fields.String(validate=AGENT)
    state = fields.String(validate=validate.OneOf(APPEAL_STATES))


class AppealListSchema(ResponseSchema):
    items = fields.List(fields.Nested(AppealSchema))


class AuditEntrySchema(ResponseSchema):
    id = fields.Integer()
    cycle_id = fields.Integer(allow_none=True)
    appeal_id = fields.Integer(allow_none=True)
    actor = fields.String(allow_none=True)
    action = fields.String()
    details = fields.Dict()
    at = fields.DateTime()


class AuditListSchema(ResponseSchema):
    items = fields.List(fields.Nested(AuditEntrySchema))


# -- events published ----------------------------------------------------------
class AppraisalPublishedDataSchema(Schema):
    cycle_id = required(fields.Integer())
    agent = required(fields.String())
    period_start = required(fields.Date())
    period_end = required(fields.Date())
    score = required(fields.Float(allow_none=True))
    grade = required(fields.String(allow_none=True))
    appeal_deadline = required(fields.Date())


class AppealFiledDataSchema(Schema):
    appeal_id = required(fields.Integer(attribute="id"))
    cycle_id = required(fields.Integer())
    agent = required(fields.String())
    items = required(fields.List(fields.String()))
    decision_due = required(fields.Date())


class AppealDecidedDataSchema(Schema):
    appeal_id = required(fields.Integer(attribute="id"))
    cycle_id = required(fields.Integer())
    agent = required(fields.String())
    decision = required(fields.String(validate=validate.OneOf(DECISIONS)))
    score_before = required(fields.Float(allow_none=True))
    score_after = required(fields.Float(allow_none=True))


class RetrainingRequestedDataSchema(Schema):
    agent = required(fields.String())
    course_id = required(fields.Integer())
    reason = required(fields.String())
    cycle_id = required(fields.Integer())
