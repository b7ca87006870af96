"""Routes of ticketing: tickets and their conversation, routing, SLA policies,
complaints, ratings, callbacks and suggestions (aftercare), webhooks, the
knowledge base, and the audit of customer data."""
import logging
import uuid

from nameko.exceptions import deserialize

from gateway.access import (
    ADMIN, CUSTOMERS_SIDE, GAP_READERS, IMPORTERS, INTEGRATORS, KB_EDITORS, STAFF, SUPERVISORS, TICKET_HANDLERS,
    TICKET_READERS, TICKET_WRITERS,
)
from gateway import accounts, downloads
from gateway.api import IMPORT_MAX_BYTES, ApiCall, Router, json_response
from gateway.errors import ApiError
from gateway.uploads import Uploads
from plumbing.blobs import BlobStore, UnknownBlob
from ticketing import contract

log = logging.getLogger(__name__)
ATTACHMENTS = Uploads("attachments", max_files=contract.MAX_ATTACHMENTS, max_file_bytes=contract.MAX_ATTACHMENT_BYTES)

router = Router()


@router.api("POST", "/api/v1/tickets", roles=TICKET_WRITERS, body=contract.TicketCreateSchema,
            response=contract.TicketDetailSchema, status=201, idempotent=True,
            summary="Open a ticket (publishes ticket.created)")
def create_ticket(service, call: ApiCall):
    # concurrent creations share one RPC and one transaction (group commit), each keeping its actor and id;
    # a key of our own when the client sent none: the RPC delivered again after a crash opens no second ticket
    request = {"ticket": call.body, "actor": call.principal.username,
               "roles": list(call.principal.roles), "request_id": call.request_id,
               "idempotency_key": call.idempotency_key or uuid.uuid4().hex}
    answer = service.ticket_creations.submit(request, service.ticketing.create_tickets)
    if "error" in answer:
        raise deserialize(answer["error"])
    return answer["ticket"]


@router.api("POST", "/api/v1/tickets/import", roles=IMPORTERS, body=contract.TicketImportSchema,
            response=contract.ImportResultSchema, max_body=IMPORT_MAX_BYTES, summary=(
                "Import tickets from another help desk with their history at the original times "
                "(all or nothing; already imported ones are skipped)"))
def import_tickets(service, call: ApiCall):
    check_people_known(service.db, call.body)
    return service.ticketing.import_tickets(call.body)


def check_people_known(session, batch):
    """Everyone an import names is an account here (appraisal counts what they did): 400 naming each other
    field. What someone without an account did is imported with actor null, the platform: no one's figures."""
    named = contract.imported_people(batch)
    known = accounts.existing(session, [name for _, name in named])
    details = {}
    for path, name in named:
        if name not in known:
            *parents, field = path
            place = details
            for key in parents:
                place = place.setdefault(key, {})
            place[field] = [f"{name!r} is not an account: create it, or import the step with actor null"]
    if details:
        raise ApiError(400, "invalid_input", "the import names people who have no account", details)


@router.api("POST", "/api/v1/tickets/<int:ticket_id>/merge", roles=TICKET_HANDLERS, body=contract.MergeSchema,
            response=contract.TicketDetailSchema, summary="Merge this duplicate into another ticket (it closes)")
def merge_ticket(service, call: ApiCall, ticket_id):
    return service.ticketing.merge_ticket(ticket_id, call.body)


@router.api("GET", "/api/v1/tickets", roles=TICKET_READERS, query=contract.TicketListQuerySchema,
            response=contract.TicketPageSchema,
            summary="List or search tickets (q, docs/search.md): by relevance or a column, with filters and a total "
                    "(customers masked)")
def list_tickets(service, call: ApiCall):
    return service.ticketing.list_tickets(call.query)


@router.api("GET", "/api/v1/tickets/<int:ticket_id>", roles=TICKET_READERS, response=contract.TicketDetailSchema,
            etag=True, summary=(
                "One ticket; its customer in full (recorded) except to an agent who does not own it; its ETag "
                "is what If-Match sends back to edit it"))
def get_ticket(service, call: ApiCall, ticket_id):
    return with_etag(service.ticketing.get_ticket(ticket_id))


def with_etag(ticket):
    """A ticket's answer with its version as ETag (docs/workspace.md)."""
    response = json_response(200, ticket)
    response.headers["ETag"] = contract.etag(ticket["id"], ticket["version"])
    return response


@router.api("POST", "/api/v1/tickets/<int:ticket_id>/state", roles=TICKET_HANDLERS, body=contract.StateChangeSchema,
            response=contract.TicketDetailSchema, summary="Move a ticket to another state (409 names the allowed ones)")
def change_ticket_state(service, call: ApiCall, ticket_id):
    return service.ticketing.change_state(ticket_id, call.body)


@router.api("POST", "/api/v1/tickets/<int:ticket_id>/assignment", roles=SUPERVISORS, body=contract.AssignmentSchema,
            response=contract.TicketDetailSchema, summary="Assign a ticket, or transfer it to another agent (counted)")
def assign_ticket(service, call: ApiCall, ticket_id):
    return service.ticketing.assign(ticket_id, call.body)


@router.api("GET", "/api/v1/agents", roles=SUPERVISORS, response=contract.AgentListSchema,
            summary="Agents routing knows: duty, clearance by training, open tickets, capacity")
def list_agents(service, call: ApiCall):
    return service.ticketing.list_agents()


@router.api("POST", "/api/v1/tickets/<int:ticket_id>/escalation", roles=TICKET_HANDLERS, body=contract.EscalationSchema,
            response=contract.TicketDetailSchema, summary="Escalate a ticket to a supervisor")
def escalate_ticket(service, call: ApiCall, ticket_id):
    return service.ticketing.escalate_ticket(ticket_id, call.body)


@router.api("GET", "/api/v1/sla/policies", roles=STAFF, response=contract.SlaPolicyListSchema,
            summary="SLA policies in the order they are tried")
def list_sla_policies(service, call: ApiCall):
    return service.ticketing.list_sla_policies()


@router.api("POST", "/api/v1/sla/policies", roles=ADMIN, body=contract.SlaPolicyCreateSchema,
            response=contract.SlaPolicySchema, status=201,
            summary="Add an SLA policy (its version 1): conditions, targets per clock, business calendar")
def create_sla_policy(service, call: ApiCall):
    return service.ticketing.create_sla_policy(call.body)


@router.api("GET", "/api/v1/sla/policies/<int:policy_id>", roles=STAFF, response=contract.SlaPolicySchema,
            summary="An SLA policy as it is now (its current version)")
def get_sla_policy(service, call: ApiCall, policy_id):
    return service.ticketing.get_sla_policy(policy_id)


@router.api("PATCH", "/api/v1/sla/policies/<int:policy_id>", roles=ADMIN, body=contract.SlaPolicyUpdateSchema,
            response=contract.SlaPolicySchema, summary=(
                "Edit or disable an SLA policy: a change to conditions, targets, calendar or warn_share makes a new "
                "version; tickets keep the version they started with"))
def update_sla_policy(service, call: ApiCall, policy_id):
    return service.ticketing.update_sla_policy(policy_id, call.body)


@router.api("DELETE", "/api/v1/sla/policies/<int:policy_id>", roles=ADMIN, status=204, summary=(
                "Delete an SLA policy no ticket ran on (409 if tickets run on it: disable it instead)"))
def delete_sla_policy(service, call: ApiCall, policy_id):
    service.ticketing.delete_sla_policy(policy_id)


@router.api("GET", "/api/v1/sla/policies/<int:policy_id>/versions", roles=STAFF,
            response=contract.SlaPolicyVersionListSchema, summary="Every version of an SLA policy, oldest first")
def list_sla_policy_versions(service, call: ApiCall, policy_id):
    return service.ticketing.list_sla_policy_versions(policy_id)


@router.api("GET", "/api/v1/sla/policies/<int:policy_id>/versions/<int:version>", roles=STAFF,
            response=contract.SlaPolicyVersionSchema, summary="One version of an SLA policy, as tickets run on it")
def get_sla_policy_version(service, call: ApiCall, policy_id, version):
    return service.ticketing.get_sla_policy_version(policy_id, version)


@router.api("POST", "/api/v1/sla/preview", roles=SUPERVISORS, body=contract.SlaPreviewSchema,
            response=contract.SlaPreviewResultSchema, summary=(
                "Which SLA policy a ticket with these fields opened at this time gets, and when its clocks fall "
                "due; with a draft policy, as if it were saved (nothing is)"))
def preview_sla(service, call: ApiCall):
    return service.ticketing.preview_sla(call.body)


@router.api("POST", "/api/v1/tickets/<int:ticket_id>/messages", roles=TICKET_WRITERS, body=contract.MessageCreateSchema,
            response=contract.MessageCreatedSchema, status=201, uploads=ATTACHMENTS, summary=(
                "Add a public reply, an internal note (its @usernames are told: ticket.mentioned) or a customer "
                "message; with files, as multipart/form-data "
                f"(at most {contract.MAX_ATTACHMENTS} files named attachments, "
                f"{contract.MAX_ATTACHMENT_BYTES // 2**20} MiB each: 413 names the limit)"))
def add_ticket_message(service, call: ApiCall, ticket_id):
    return service.ticketing.add_message(ticket_id, call.body)


@router.api("GET", "/api/v1/tickets/<int:ticket_id>/attachments/<int:attachment_id>", roles=TICKET_READERS,
            media_type="application/octet-stream", summary=(
                "Download an attachment of a ticket you may read: its detected type, nosniff, as a download "
                "(PNG, JPEG, GIF and WebP images inline)"))
def download_attachment(service, call: ApiCall, ticket_id, attachment_id):
    attachment = service.ticketing.get_attachment(ticket_id, attachment_id)
    try:
        stored = BlobStore.from_config(service.config).open(attachment["sha256"])
    except UnknownBlob:
        log.error("attachment %s of ticket %s: its file %s is missing from the blob store",
                  attachment_id, ticket_id, attachment["sha256"])
        raise ApiError(404, "not_found", f"the file of attachment {attachment_id} is missing") from None
    return downloads.file_response(stored, attachment)


@router.api("GET", "/api/v1/tickets/<int:ticket_id>/messages", roles=TICKET_READERS,
            query=contract.MessageListQuerySchema, response=contract.MessageListSchema,
            summary="A ticket's conversation, oldest first")
def list_ticket_messages(service, call: ApiCall, ticket_id):
    return service.ticketing.list_messages(ticket_id, call.query)


@router.api("GET", "/api/v1/tickets/<int:ticket_id>/history", roles=TICKET_READERS, response=contract.HistorySchema,
            summary="Who changed what and when (append-only)")
def ticket_history(service, call: ApiCall, ticket_id):
    return service.ticketing.ticket_history(ticket_id)


@router.api("GET", "/api/v1/audit/customer-data", roles=ADMIN, query=contract.CustomerAccessQuerySchema,
            response=contract.CustomerAccessPageSchema,
            summary="Who stored or was shown tickets' customer details, and when, newest first (X6)")
def customer_data_access(service, call: ApiCall):
    return service.ticketing.customer_data_access(call.query)


@router.api("POST", "/api/v1/tickets/<int:ticket_id>/complaint", roles=TICKET_HANDLERS,
            body=contract.ComplaintRecordSchema, response=contract.ComplaintSchema, status=201,
            summary="Record a complaint: issue, demand, when; major ones escalate")
def record_complaint(service, call: ApiCall, ticket_id):
    return service.ticketing.record_complaint(ticket_id, call.body)


@router.api("GET", "/api/v1/tickets/<int:ticket_id>/complaint", roles=TICKET_READERS, response=contract.ComplaintSchema,
            summary="A complaint with every coordination, result and verdict")
def get_complaint(service, call: ApiCall, ticket_id):
    return service.ticketing.get_complaint(ticket_id)


@router.api("POST", "/api/v1/tickets/<int:ticket_id>/complaint/coordination", roles=TICKET_HANDLERS,
            body=contract.CoordinationSchema, response=contract.ComplaintSchema,
            summary="Record coordination with a department")
def coordinate_complaint(service, call: ApiCall, ticket_id):
    return service.ticketing.coordinate_complaint(ticket_id, call.body)


@router.api("POST", "/api/v1/tickets/<int:ticket_id>/complaint/result", roles=TICKET_HANDLERS,
            body=contract.ComplaintResultSchema, response=contract.ComplaintSchema,
            summary="Report the result to the customer (sent as a public reply)")
def report_complaint_result(service, call: ApiCall, ticket_id):
    return service.ticketing.report_complaint_result(ticket_id, call.body)


@router.api("POST", "/api/v1/tickets/<int:ticket_id>/complaint/verdict", roles=TICKET_HANDLERS,
            body=contract.VerdictSchema, response=contract.ComplaintSchema,
            summary="The customer's verdict: satisfied settles, unsatisfied reopens")
def complaint_verdict(service, call: ApiCall, ticket_id):
    return service.ticketing.complaint_verdict(ticket_id, call.body)


@router.api("POST", "/api/v1/tickets/<int:ticket_id>/rating-link", roles=CUSTOMERS_SIDE,
            response=contract.RatingLinkSchema, status=201, summary=(
                "A new one-time rating link for the ticket's latest resolution, to deliver to the customer "
                "(the one issued before stops working)"))
def issue_rating_link(service, call: ApiCall, ticket_id):
    return service.ticketing.issue_rating_link(ticket_id)


@router.api("POST", "/api/v1/ratings/<token>", body=contract.RatingSubmitSchema, response=contract.RatingSchema,
            status=201, secret_path=True,
            summary="The customer rates a resolution through its link (no account: the token is the key)")
def submit_rating(service, call: ApiCall, token):
    return service.ticketing.submit_rating(token, call.body)


@router.api("POST", "/api/v1/tickets/<int:ticket_id>/callbacks", roles=TICKET_HANDLERS,
            body=contract.CallbackCreateSchema, response=contract.CallbackSchema, status=201,
            summary="Schedule a follow-up call")
def schedule_callback(service, call: ApiCall, ticket_id):
    return service.ticketing.schedule_callback(ticket_id, call.body)


@router.api("GET", "/api/v1/callbacks", roles=TICKET_READERS, query=contract.CallbackListQuerySchema,
            response=contract.CallbackPageSchema,
            summary="Callbacks, soonest first; due_before lists the open ones due")
def list_callbacks(service, call: ApiCall):
    return service.ticketing.list_callbacks(call.query)


@router.api("POST", "/api/v1/callbacks/<int:callback_id>/outcome", roles=TICKET_HANDLERS,
            body=contract.CallbackOutcomeSchema, response=contract.CallbackSchema,
            summary="Record how a follow-up call went")
def record_callback_outcome(service, call: ApiCall, callback_id):
    return service.ticketing.record_callback_outcome(callback_id, call.body)


@router.api("POST", "/api/v1/tickets/<int:ticket_id>/suggestion/forward", roles=TICKET_HANDLERS,
            body=contract.ForwardSchema, response=contract.SuggestionSchema,
            summary="Forward a suggestion to the department that owns it")
def forward_suggestion(service, call: ApiCall, ticket_id):
    return service.ticketing.forward_suggestion(ticket_id, call.body)


@router.api("POST", "/api/v1/tickets/<int:ticket_id>/suggestion/decision", roles=TICKET_HANDLERS,
            body=contract.DecisionSchema, response=contract.SuggestionSchema,
            summary="Record the department's decision; it is reported to the customer")
def decide_suggestion(service, call: ApiCall, ticket_id):
    return service.ticketing.decide_suggestion(ticket_id, call.body)


@router.api("POST", "/api/v1/webhooks", roles=INTEGRATORS, body=contract.WebhookCreateSchema,
            response=contract.WebhookCreatedSchema, status=201,
            summary="Subscribe a URL to ticketing events (the caller's webhook); the signing secret is shown "
                    "only in this answer")
def create_webhook(service, call: ApiCall):
    return service.ticketing.create_webhook(call.body)


@router.api("GET", "/api/v1/webhooks", roles=INTEGRATORS, response=contract.WebhookListSchema,
            summary="Webhook subscriptions: the caller's own, every one for an admin")
def list_webhooks(service, call: ApiCall):
    return service.ticketing.list_webhooks()


@router.api("DELETE", "/api/v1/webhooks/<int:webhook_id>", roles=INTEGRATORS, response=contract.WebhookSchema,
            summary="Deactivate a webhook: no new deliveries, pending ones given up (another's is 404)")
def deactivate_webhook(service, call: ApiCall, webhook_id):
    return service.ticketing.deactivate_webhook(webhook_id)


@router.api("GET", "/api/v1/webhooks/<int:webhook_id>/deliveries", roles=INTEGRATORS,
            query=contract.DeliveryListQuerySchema, response=contract.DeliveryPageSchema,
            summary="A webhook's delivery log: attempts, status codes, errors (another's is 404)")
def list_deliveries(service, call: ApiCall, webhook_id):
    return service.ticketing.list_deliveries(webhook_id, call.query)


@router.api("POST", "/api/v1/kb/articles", roles=KB_EDITORS, body=contract.ArticleCreateSchema,
            response=contract.ArticleSchema, status=201, summary="Write a knowledge-base article")
def create_article(service, call: ApiCall):
    return service.ticketing.create_article(call.body)


@router.api("PUT", "/api/v1/kb/articles/<int:article_id>", roles=KB_EDITORS, body=contract.ArticleCreateSchema,
            response=contract.ArticleSchema, summary="Rewrite an article (re-indexed at once)")
def update_article(service, call: ApiCall, article_id):
    return service.ticketing.update_article(article_id, call.body)


@router.api("GET", "/api/v1/kb/articles/<int:article_id>", roles=STAFF, response=contract.ArticleSchema,
            summary="Open an article (counts a hit)")
def get_article(service, call: ApiCall, article_id):
    return service.ticketing.get_article(article_id)


@router.api("GET", "/api/v1/kb/search", roles=STAFF, query=contract.ArticleSearchQuerySchema,
            response=contract.ArticleSearchResultSchema,
            summary="Search articles in Chinese or English; a search that finds nothing is recorded as a gap")
def search_articles(service, call: ApiCall):
    return service.ticketing.search_articles(call.query)


@router.api("GET", "/api/v1/kb/gaps", roles=GAP_READERS, query=contract.GapQuerySchema, response=contract.GapListSchema,
            summary="What agents searched for and did not find, most asked first")
def knowledge_gaps(service, call: ApiCall):
    return service.ticketing.knowledge_gaps(call.query)
