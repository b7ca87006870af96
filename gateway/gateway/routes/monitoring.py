"""Routes of public-opinion monitoring: posts and their analysis, watch rules
(topics), opinion alerts and the trend report."""
import base64

from werkzeug.wrappers import Response

from gateway import accounts
from gateway.access import ADMIN, OPINION_ANALYSTS, OPINION_HANDLERS, POST_READERS, POST_WRITERS, SUPERVISORS
from gateway.api import IMPORT_MAX_BYTES, ApiCall, Router
from gateway.errors import ApiError
from monitoring import contract

router = Router()


@router.api("POST", "/api/v1/monitoring/posts", roles=POST_WRITERS, body=contract.PostCreateSchema,
            response=contract.PostSchema, status=201,
            alternatives={200: "A post already stored (same platform and external id): counts updated"},
            summary="Push a social-media post or comment (same external id updates its counts)")
def ingest_post(service, call: ApiCall):
    result = service.monitoring.ingest_post(call.body)
    return (201 if result["created"] else 200), result["post"]


@router.api("GET", "/api/v1/monitoring/posts", roles=POST_READERS, query=contract.PostListQuerySchema,
            response=contract.PostPageSchema, summary="List posts")
def list_posts(service, call: ApiCall):
    return service.monitoring.list_posts(call.query)


@router.api("POST", "/api/v1/monitoring/posts/batch", roles=POST_WRITERS, body=contract.PostBatchSchema,
            response=contract.PostBatchResultSchema, max_body=IMPORT_MAX_BYTES, summary=(
                "Push up to 1,000 posts at once, analysed in one transaction (all or nothing; 400 names "
                "posts.<index>.<field>)"))
def ingest_posts(service, call: ApiCall):
    return service.monitoring.ingest_posts(call.body)


@router.api("GET", "/api/v1/monitoring/posts/<int:post_id>", roles=POST_READERS, response=contract.PostSchema,
            summary="One post with its topics, sentiment, cluster and severity")
def get_post(service, call: ApiCall, post_id):
    return service.monitoring.get_post(post_id)


@router.api("POST", "/api/v1/monitoring/posts/<int:post_id>/sentiment", roles=OPINION_HANDLERS,
            body=contract.CorrectionSchema, response=contract.PostSchema,
            summary="Correct or label a post's sentiment (kept; the next retraining learns from it)")
def correct_sentiment(service, call: ApiCall, post_id):
    return service.monitoring.correct_sentiment(post_id, call.body)


@router.api("GET", "/api/v1/monitoring/review-queue", roles=OPINION_HANDLERS, query=contract.ReviewQueueQuerySchema,
            response=contract.PostPageSchema,
            summary="Posts the model is least sure of and no one has labelled, least sure first (label them with "
                    "POST /api/v1/monitoring/posts/{post_id}/sentiment)")
def review_queue(service, call: ApiCall):
    return service.monitoring.review_queue(call.query)


@router.api("GET", "/api/v1/monitoring/sentiment-models", roles=SUPERVISORS,
            response=contract.SentimentModelListSchema,
            summary="Installed sentiment model versions with their dev-set figures, newest first; one is active")
def list_sentiment_models(service, call: ApiCall):
    return service.monitoring.list_sentiment_models()


@router.api("POST", "/api/v1/monitoring/sentiment-models/rollback", roles=ADMIN,
            response=contract.SentimentModelSchema,
            summary="Make the version installed before the active one active again (409 when there is none)")
def roll_back_sentiment_model(service, call: ApiCall):
    return service.monitoring.roll_back_sentiment_model()


@router.api("POST", "/api/v1/monitoring/analyse", roles=OPINION_ANALYSTS, body=contract.AnalyseSchema,
            response=contract.AnalysisResultSchema,
            summary="Sentiment, confidence and crisis signals of up to 1,000 texts, in order, by the active model "
                    "(its version in each result); stores nothing")
def analyse_texts(service, call: ApiCall):
    return service.monitoring.analyse(call.body)


@router.api("GET", "/api/v1/monitoring/rules", roles=POST_READERS, response=contract.WatchRuleListSchema,
            summary="Watch rules (topics)")
def list_watch_rules(service, call: ApiCall):
    return service.monitoring.list_rules()


@router.api("POST", "/api/v1/monitoring/rules", roles=SUPERVISORS, body=contract.WatchRuleCreateSchema,
            response=contract.WatchRuleSchema, status=201,
            summary="Add a topic: a boolean query (AND, OR, NOT, \"phrases\", parentheses) and filters")
def create_watch_rule(service, call: ApiCall):
    return service.monitoring.create_rule(call.body)


@router.api("PATCH", "/api/v1/monitoring/rules/<int:rule_id>", roles=SUPERVISORS, body=contract.WatchRuleUpdateSchema,
            response=contract.WatchRuleSchema, summary="Change a topic (applies to posts ingested from now on)")
def update_watch_rule(service, call: ApiCall, rule_id):
    return service.monitoring.update_rule(rule_id, call.body)


@router.api("DELETE", "/api/v1/monitoring/rules/<int:rule_id>", roles=SUPERVISORS, status=204, summary=(
                "Delete a topic no post matched (409 if posts matched it: deactivate it instead)"))
def delete_watch_rule(service, call: ApiCall, rule_id):
    service.monitoring.delete_rule(rule_id)


@router.api("GET", "/api/v1/monitoring/alerts", roles=POST_READERS, query=contract.AlertListQuerySchema,
            response=contract.AlertPageSchema, summary="Opinion alerts, newest first")
def list_opinion_alerts(service, call: ApiCall):
    return service.monitoring.list_alerts(call.query)


@router.api("GET", "/api/v1/monitoring/alerts/<int:alert_id>", roles=POST_READERS, response=contract.AlertDetailSchema,
            summary="An alert with everything done about it")
def get_opinion_alert(service, call: ApiCall, alert_id):
    return service.monitoring.get_alert(alert_id)


@router.api("POST", "/api/v1/monitoring/alerts/<int:alert_id>/state", roles=OPINION_HANDLERS,
            body=contract.AlertStateChangeSchema, response=contract.AlertDetailSchema,
            summary="Acknowledge, respond to or resolve an alert, hand it to an owner, with a note "
                    "(409 names the allowed states; 400 if the owner cannot handle alerts)")
def change_opinion_alert_state(service, call: ApiCall, alert_id):
    check_owner(service.db, call.body.get("owner"))
    return service.monitoring.change_alert_state(alert_id, call.body)


def check_owner(session, owner):
    """An alert is handed to someone who can work it: an active account with a role that handles alerts.
    Accounts live here, in the gateway, so the gateway asks (as the ticket import does)."""
    if owner is None:
        return
    account = accounts.find(session, owner)
    if account is None:
        reason = "is not an account"
    elif not account.active:
        reason = "is a deactivated account"
    elif not set(account.roles) & set(OPINION_HANDLERS):
        reason = f"cannot handle alerts (roles {', '.join(OPINION_HANDLERS)} can)"
    else:
        return
    raise ApiError(400, "invalid_input", f"the alert cannot be handed to {owner!r}", {"owner": [f"{owner!r} {reason}"]})


@router.api("POST", "/api/v1/monitoring/alerts/<int:alert_id>/actions", roles=OPINION_HANDLERS,
            body=contract.AlertActionSchema, response=contract.AlertDetailSchema,
            summary="Record an action taken (reply/clarify, positive information, departments)")
def add_opinion_alert_action(service, call: ApiCall, alert_id):
    return service.monitoring.add_alert_action(alert_id, call.body)


@router.api("POST", "/api/v1/monitoring/alerts/<int:alert_id>/notes", roles=OPINION_HANDLERS,
            body=contract.AlertNoteSchema, response=contract.AlertDetailSchema, summary="Add a note to an alert")
def add_opinion_alert_note(service, call: ApiCall, alert_id):
    return service.monitoring.add_alert_note(alert_id, call.body)


@router.api("GET", "/api/v1/monitoring/reports/trend", roles=SUPERVISORS, query=contract.ReportQuerySchema,
            response=contract.ReportSchema,
            summary="Opinion by day or week: volume by sentiment and platform, topics, terms, clusters, alert handling")
def opinion_report(service, call: ApiCall):
    return service.monitoring.report(call.query)


@router.api("GET", "/api/v1/monitoring/reports/trend.csv", roles=SUPERVISORS, query=contract.ReportQuerySchema,
            media_type="text/csv", summary="The opinion trend as CSV")
def opinion_report_csv(service, call: ApiCall):
    return Response(service.monitoring.report_file(call.query, "csv"), mimetype="text/csv")


@router.api("GET", "/api/v1/monitoring/reports/trend.png", roles=SUPERVISORS, query=contract.ReportQuerySchema,
            media_type="image/png", summary="The opinion trend as a chart (PNG)")
def opinion_report_png(service, call: ApiCall):
    chart = service.monitoring.report_file(call.query, "png")
    return Response(base64.b64decode(chart), mimetype="image/png")
