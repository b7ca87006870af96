"""The gateway: every public HTTP route, each a few lines that call a service.

Roles per route are the access table of X1 (tests and OpenAPI read it from
here). Validation, auth, errors and request ids happen in ``api.py``.
"""
import base64
import uuid

import eventlet
import eventlet.tpool
from nameko.dependency_providers import Config
from nameko.exceptions import deserialize
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import select
from werkzeug.wrappers import Response

from appraisal.contract import (
    AppealCreateSchema, AppealDecisionSchema, AppealInvestigationSchema, AppealListSchema, AppealQuerySchema,
    AppealSchema, AuditListSchema, CycleCreateSchema, CycleListSchema, CycleSchema, CycleTransitionSchema,
    KpiDefinitionCreateSchema, KpiDefinitionListSchema, KpiDefinitionSchema, KpiQuerySchema, KpiValuesSchema,
    ReplayResultSchema, ResultListSchema, ResultSchema, ReviewRatingCreateSchema, ReviewRatingSchema,
    TemplateCreateSchema, TemplateListSchema, TemplateSchema, TicketCountListSchema, TicketCountQuerySchema,
)
from gateway import accounts, auth, events, logins, models, openapi, settings
from gateway.api import ApiCall, api
from gateway.dependencies import Accounts, GroupCommit, ServiceRpc
from gateway.errors import ApiError
from gateway.models import Account
from gateway.schemas import (
    AccountCreateSchema, AccountListSchema, AccountSchema, AccountUpdateSchema, DutySchema, HealthSchema,
    TokenRequestSchema, TokenSchema,
)
from monitoring.contract import (
    AlertActionSchema, AlertDetailSchema, AlertListQuerySchema, AlertNoteSchema, AlertPageSchema, AlertStateSchema,
    AnalyseSchema, AnalysisResultSchema, CorrectionSchema, PostBatchResultSchema, PostBatchSchema, PostCreateSchema,
    PostListQuerySchema, PostPageSchema, PostSchema, ReportQuerySchema, ReportSchema, WatchRuleCreateSchema,
    WatchRuleListSchema, WatchRuleSchema, WatchRuleUpdateSchema,
)
from plumbing.db import Database
from plumbing.outbox import Outbox
from plumbing.schemas import shared
from ticketing.contract import (
    CallbackCreateSchema, CallbackListQuerySchema, CallbackOutcomeSchema, CallbackPageSchema, CallbackSchema,
    ComplaintRecordSchema, ComplaintResultSchema, ComplaintSchema, CoordinationSchema, CustomerAccessPageSchema,
    CustomerAccessQuerySchema, DecisionSchema,
    ForwardSchema, RatingSchema, RatingSubmitSchema, SuggestionSchema, VerdictSchema,
    ArticleCreateSchema, ArticleSchema, ArticleSearchQuerySchema, ArticleSearchResultSchema, GapListSchema,
    GapQuerySchema, AssignmentSchema, EscalationSchema, SlaPolicyCreateSchema, SlaPolicyListSchema, SlaPolicySchema,
    AgentListSchema, TicketDetailSchema, ImportResultSchema, MergeSchema, TicketImportSchema, HistorySchema, MessageCreateSchema, MessageListQuerySchema, MessageListSchema, MessageSchema,
    StateChangeSchema, TicketCreateSchema, TicketListQuerySchema, TicketPageSchema,
)
from ticketing.contract import (
    DeliveryListQuerySchema, DeliveryPageSchema, WebhookCreatedSchema, WebhookCreateSchema, WebhookListSchema,
    WebhookSchema,
)
from training.contract import (
    AnswersSchema, AssessmentSchema, AttemptSchema, AttemptStartSchema, AttendanceSchema, CareerLevelListSchema,
    CareerLevelSchema, CareerLevelUpdateSchema, CategoryCreateSchema, CategoryListSchema, CategorySchema,
    CertificationListQuerySchema, CertificationPageSchema, CertificationSchema, CourseCreateSchema,
    CourseDetailSchema, CourseListQuerySchema, CoursePageSchema, CourseSchema, EnrolmentDetailSchema,
    EnrolmentListQuerySchema, EnrolmentListSchema, EnrolmentPageSchema, EnrolRequestSchema, ModuleCreateSchema,
    ModuleSchema, OverrideCreateSchema, OverrideSchema, ProgressSchema, QuestionCreateSchema, QuestionListQuerySchema,
    QuestionPageSchema, QuestionRetireSchema, QuestionSchema, RevocationSchema, StandingSchema,
)

ADMIN = ("admin",)
STAFF = ("agent", "supervisor", "trainer", "committee", "admin")
TICKET_WRITERS = ("agent", "supervisor", "admin", "integration")
TICKET_READERS = ("agent", "supervisor", "admin")
TICKET_HANDLERS = ("agent", "supervisor", "admin")
SUPERVISORS = ("supervisor", "admin")
KB_EDITORS = ("supervisor", "trainer", "admin")
IMPORTERS = INTEGRATORS = ("admin", "integration")
IMPORT_MAX_BYTES = 20 * 1024 * 1024
APPRAISAL_READERS = ("agent", "supervisor", "committee", "admin")
COMMITTEE = ("committee", "admin")
RATERS = ("agent", "supervisor", "committee", "integration", "admin")
# which reviewer role (A2) each account role may rate as
REVIEWER_ROLES_OF = {"agent": {"peer"}, "supervisor": {"supervisor", "quality"}, "committee": {"quality"},
                     "integration": {"customer"}, "admin": {"customer", "peer", "supervisor", "quality"}}
TRAINERS = ("trainer", "admin")
EXAM_TAKERS = ("agent",)
POST_WRITERS = ("integration", "admin")
POST_READERS = ("agent", "supervisor", "admin")
OPINION_ANALYSTS = ("integration", "agent", "supervisor", "admin")
OPINION_HANDLERS = ("agent", "supervisor", "admin")
BACKENDS = ("ticketing", "training", "appraisal", "monitoring")
HEALTH_TIMEOUT_SECONDS = 2
UNKNOWN_USER_HASH = auth.hash_password("no such user")


class GatewayService:
    name = "gateway"

    config = Config()
    db = Database()
    account_store = Accounts()
    events = Outbox(models.outbox)
    ticketing = ServiceRpc("ticketing")
    training = ServiceRpc("training")
    appraisal = ServiceRpc("appraisal")
    monitoring = ServiceRpc("monitoring")
    ticket_creations = GroupCommit()

    # -- platform ---------------------------------------------------------
    @api("GET", "/health", response=HealthSchema, alternatives={503: "Some service did not answer"},
         summary="Whether every service answers an RPC ping")
    def health(self, call: ApiCall):
        pings = {name: eventlet.spawn(self.ping_backend, name) for name in BACKENDS}
        services = {name: ping.wait() for name, ping in pings.items()}
        healthy = all(status == "ok" for status in services.values())
        return (200 if healthy else 503), {"status": "ok" if healthy else "degraded", "services": services}

    def ping_backend(self, name):
        try:
            with eventlet.Timeout(HEALTH_TIMEOUT_SECONDS, TimeoutError("no answer")):
                getattr(self, name).ping()
        except Exception as exc:
            return f"unavailable: {exc}"
        return "ok"

    @api("GET", "/metrics", media_type="text/plain", summary="Prometheus metrics of the gateway")
    def metrics(self, call: ApiCall):
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    @api("GET", "/api/v1/openapi.json", summary="This API as an OpenAPI 3 document")
    def openapi_document(self, call: ApiCall):
        return openapi.document(type(self))

    # -- authentication and accounts --------------------------------------
    @api("POST", "/api/v1/auth/token", body=TokenRequestSchema, response=TokenSchema, errors=(401, 429),
         summary="Exchange a username and password for a bearer token (failed attempts are rate-limited)")
    def issue_token(self, call: ApiCall):
        username, address = call.body["username"], call.client_address
        limits, now = settings.login_limits(self.config), accounts.now()
        with self.db.begin():
            wait = logins.retry_after(self.db, limits, username, address, now)
            account = accounts.find(self.db, username)
        if wait:  # refused unchecked: a guess answered 401 or 200 would still tell
            logins.LOGINS_REFUSED.labels("rate_limited").inc()
            raise ApiError(429, "too_many_attempts", f"too many failed sign-ins: try again in {wait} s",
                           {"retry_after": wait}, headers={"Retry-After": str(wait)})
        # the same argon2 work for unknown users, so timing does not tell who exists
        password_hash = account.password_hash if account else UNKNOWN_USER_HASH
        verified = eventlet.tpool.execute(auth.verify_password, password_hash, call.body["password"])
        signed_in = verified and account and account.active
        with self.db.begin():
            if signed_in:
                logins.forget_failures(self.db, username)
            else:
                logins.record_failure(self.db, limits, username, address, now)
        if not signed_in:
            logins.LOGINS_REFUSED.labels("wrong_credentials").inc()
            raise ApiError(401, "unauthorized", "wrong username or password")
        ttl = settings.token_ttl_seconds(self.config)
        token = auth.issue_token(settings.jwt_secret(self.config), account.username, account.roles, ttl)
        return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}

    @api("POST", "/api/v1/accounts", roles=ADMIN, body=AccountCreateSchema, response=AccountSchema, status=201,
         summary="Create a staff or integration account (publishes staff.account_created)")
    def create_account(self, call: ApiCall):
        body = dict(call.body)
        password_hash = eventlet.tpool.execute(auth.hash_password, body.pop("password"))
        with self.db.begin():
            account = accounts.create(self.db, password_hash=password_hash, **body)
            self.events.record(self.db, events.STAFF_ACCOUNT_CREATED, events.AGGREGATE, account.username, account)
        return shared(AccountSchema).dump(account)

    @api("GET", "/api/v1/accounts", roles=SUPERVISORS, response=AccountListSchema, summary="List accounts")
    def list_accounts(self, call: ApiCall):
        return shared(AccountListSchema).dump({"items": self.db.scalars(select(Account).order_by(Account.username))})

    @api("PATCH", "/api/v1/accounts/<username>", roles=SUPERVISORS, body=AccountUpdateSchema,
         response=AccountSchema, summary=(
             "Change an account: teams, skills, capacity (supervisors); roles, activation (admins). "
             "Deactivating revokes its tokens"))
    def update_account(self, call: ApiCall, username):
        if {"roles", "active"} & set(call.body) and "admin" not in call.principal.roles:
            raise ApiError(403, "forbidden", "only an admin changes roles or activation", {"roles": ["admin"]})
        return self.change_account(username, call.body)

    @api("GET", "/api/v1/me", roles=STAFF + ("integration",), response=AccountSchema,
         summary="The account the token belongs to")
    def me(self, call: ApiCall):
        return shared(AccountSchema).dump(accounts.get(self.db, call.principal.username))

    @api("PUT", "/api/v1/me/duty", roles=STAFF, body=DutySchema, response=AccountSchema,
         summary="Go on or off duty: routing only gives tickets to agents on duty")
    def set_duty(self, call: ApiCall):
        return self.change_account(call.principal.username, call.body)

    def change_account(self, username, changes):
        """Apply changes, publish the new snapshot if anything changed, and
        forget the cached token check (deactivation must bite at once)."""
        with self.db.begin():
            account = accounts.get(self.db, username)
            if accounts.update(account, changes):
                self.events.record(self.db, events.STAFF_ACCOUNT_UPDATED, events.AGGREGATE, username, account)
        self.account_store.forget(username)
        return shared(AccountSchema).dump(account)

    # -- ticketing ----------------------------------------------------------
    @api("POST", "/api/v1/tickets", roles=TICKET_WRITERS, body=TicketCreateSchema, response=TicketDetailSchema,
         status=201, idempotent=True, summary="Open a ticket (publishes ticket.created)")
    def create_ticket(self, call: ApiCall):
        # concurrent creations share one RPC and one transaction (group commit), each keeping its actor and id;
        # a key of our own when the client sent none: the RPC delivered again after a crash opens no second ticket
        request = {"ticket": shared(TicketCreateSchema).dump(call.body), "actor": call.principal.username,
                   "roles": list(call.principal.roles), "request_id": call.request_id,
                   "idempotency_key": call.idempotency_key or uuid.uuid4().hex}
        answer = self.ticket_creations.submit(request, self.ticketing.create_tickets)
        if "error" in answer:
            raise deserialize(answer["error"])
        return answer["ticket"]

    @api("POST", "/api/v1/tickets/import", roles=IMPORTERS, body=TicketImportSchema, response=ImportResultSchema,
         max_body=IMPORT_MAX_BYTES, summary=(
             "Import tickets from another help desk with their history at the original times "
             "(all or nothing; already imported ones are skipped)"))
    def import_tickets(self, call: ApiCall):
        return self.ticketing.import_tickets(shared(TicketImportSchema).dump(call.body))

    @api("POST", "/api/v1/tickets/<int:ticket_id>/merge", roles=TICKET_HANDLERS, body=MergeSchema,
         response=TicketDetailSchema, summary="Merge this duplicate into another ticket (it closes)")
    def merge_ticket(self, call: ApiCall, ticket_id):
        return self.ticketing.merge_ticket(ticket_id, shared(MergeSchema).dump(call.body))

    @api("GET", "/api/v1/tickets", roles=TICKET_READERS, query=TicketListQuerySchema, response=TicketPageSchema,
         summary="List tickets, newest first, with filters and a total (customers masked)")
    def list_tickets(self, call: ApiCall):
        return self.ticketing.list_tickets(shared(TicketListQuerySchema).dump(call.query))

    @api("GET", "/api/v1/tickets/<int:ticket_id>", roles=TICKET_READERS, response=TicketDetailSchema,
         summary="One ticket; its customer in full (recorded) except to an agent who does not own it")
    def get_ticket(self, call: ApiCall, ticket_id):
        return self.ticketing.get_ticket(ticket_id)

    @api("POST", "/api/v1/tickets/<int:ticket_id>/state", roles=TICKET_HANDLERS, body=StateChangeSchema,
         response=TicketDetailSchema, summary="Move a ticket to another state (409 names the allowed ones)")
    def change_ticket_state(self, call: ApiCall, ticket_id):
        return self.ticketing.change_state(ticket_id, shared(StateChangeSchema).dump(call.body))

    @api("POST", "/api/v1/tickets/<int:ticket_id>/assignment", roles=SUPERVISORS, body=AssignmentSchema,
         response=TicketDetailSchema, summary="Assign a ticket, or transfer it to another agent (counted)")
    def assign_ticket(self, call: ApiCall, ticket_id):
        return self.ticketing.assign(ticket_id, shared(AssignmentSchema).dump(call.body))

    @api("GET", "/api/v1/agents", roles=SUPERVISORS, response=AgentListSchema,
         summary="Agents routing knows: duty, clearance by training, open tickets, capacity")
    def list_agents(self, call: ApiCall):
        return self.ticketing.list_agents()

    @api("POST", "/api/v1/tickets/<int:ticket_id>/escalation", roles=TICKET_HANDLERS, body=EscalationSchema,
         response=TicketDetailSchema, summary="Escalate a ticket to a supervisor")
    def escalate_ticket(self, call: ApiCall, ticket_id):
        return self.ticketing.escalate_ticket(ticket_id, shared(EscalationSchema).dump(call.body))

    @api("GET", "/api/v1/sla/policies", roles=STAFF, response=SlaPolicyListSchema,
         summary="SLA policies in the order they are tried")
    def list_sla_policies(self, call: ApiCall):
        return self.ticketing.list_sla_policies()

    @api("POST", "/api/v1/sla/policies", roles=ADMIN, body=SlaPolicyCreateSchema, response=SlaPolicySchema,
         status=201, summary="Add an SLA policy: conditions, targets per clock, business calendar")
    def create_sla_policy(self, call: ApiCall):
        return self.ticketing.create_sla_policy(shared(SlaPolicyCreateSchema).dump(call.body))

    @api("POST", "/api/v1/tickets/<int:ticket_id>/messages", roles=TICKET_WRITERS, body=MessageCreateSchema,
         response=MessageSchema, status=201, summary="Add a public reply, an internal note or a customer message")
    def add_ticket_message(self, call: ApiCall, ticket_id):
        return self.ticketing.add_message(ticket_id, shared(MessageCreateSchema).dump(call.body))

    @api("GET", "/api/v1/tickets/<int:ticket_id>/messages", roles=TICKET_READERS, query=MessageListQuerySchema,
         response=MessageListSchema, summary="A ticket's conversation, oldest first")
    def list_ticket_messages(self, call: ApiCall, ticket_id):
        return self.ticketing.list_messages(ticket_id, shared(MessageListQuerySchema).dump(call.query))

    @api("GET", "/api/v1/tickets/<int:ticket_id>/history", roles=TICKET_READERS, response=HistorySchema,
         summary="Who changed what and when (append-only)")
    def ticket_history(self, call: ApiCall, ticket_id):
        return self.ticketing.ticket_history(ticket_id)

    @api("GET", "/api/v1/audit/customer-data", roles=ADMIN, query=CustomerAccessQuerySchema,
         response=CustomerAccessPageSchema, summary=(
             "Who stored or was shown tickets' customer details, and when, newest first (X6)"))
    def customer_data_access(self, call: ApiCall):
        return self.ticketing.customer_data_access(shared(CustomerAccessQuerySchema).dump(call.query))

    # -- complaints, ratings, callbacks, suggestions -------------------------
    @api("POST", "/api/v1/tickets/<int:ticket_id>/complaint", roles=TICKET_HANDLERS, body=ComplaintRecordSchema,
         response=ComplaintSchema, status=201, summary="Record a complaint: issue, demand, when; major ones escalate")
    def record_complaint(self, call: ApiCall, ticket_id):
        return self.ticketing.record_complaint(ticket_id, shared(ComplaintRecordSchema).dump(call.body))

    @api("GET", "/api/v1/tickets/<int:ticket_id>/complaint", roles=TICKET_READERS, response=ComplaintSchema,
         summary="A complaint with every coordination, result and verdict")
    def get_complaint(self, call: ApiCall, ticket_id):
        return self.ticketing.get_complaint(ticket_id)

    @api("POST", "/api/v1/tickets/<int:ticket_id>/complaint/coordination", roles=TICKET_HANDLERS,
         body=CoordinationSchema, response=ComplaintSchema, summary="Record coordination with a department")
    def coordinate_complaint(self, call: ApiCall, ticket_id):
        return self.ticketing.coordinate_complaint(ticket_id, shared(CoordinationSchema).dump(call.body))

    @api("POST", "/api/v1/tickets/<int:ticket_id>/complaint/result", roles=TICKET_HANDLERS,
         body=ComplaintResultSchema, response=ComplaintSchema,
         summary="Report the result to the customer (sent as a public reply)")
    def report_complaint_result(self, call: ApiCall, ticket_id):
        return self.ticketing.report_complaint_result(ticket_id, shared(ComplaintResultSchema).dump(call.body))

    @api("POST", "/api/v1/tickets/<int:ticket_id>/complaint/verdict", roles=TICKET_HANDLERS, body=VerdictSchema,
         response=ComplaintSchema, summary="The customer's verdict: satisfied settles, unsatisfied reopens")
    def complaint_verdict(self, call: ApiCall, ticket_id):
        return self.ticketing.complaint_verdict(ticket_id, shared(VerdictSchema).dump(call.body))

    @api("POST", "/api/v1/ratings/<token>", body=RatingSubmitSchema, response=RatingSchema, status=201,
         summary="The customer rates a resolution through its link (no account: the token is the key)")
    def submit_rating(self, call: ApiCall, token):
        return self.ticketing.submit_rating(token, shared(RatingSubmitSchema).dump(call.body))

    @api("POST", "/api/v1/tickets/<int:ticket_id>/callbacks", roles=TICKET_HANDLERS, body=CallbackCreateSchema,
         response=CallbackSchema, status=201, summary="Schedule a follow-up call")
    def schedule_callback(self, call: ApiCall, ticket_id):
        return self.ticketing.schedule_callback(ticket_id, shared(CallbackCreateSchema).dump(call.body))

    @api("GET", "/api/v1/callbacks", roles=TICKET_READERS, query=CallbackListQuerySchema,
         response=CallbackPageSchema, summary="Callbacks, soonest first; due_before lists the open ones due")
    def list_callbacks(self, call: ApiCall):
        return self.ticketing.list_callbacks(shared(CallbackListQuerySchema).dump(call.query))

    @api("POST", "/api/v1/callbacks/<int:callback_id>/outcome", roles=TICKET_HANDLERS, body=CallbackOutcomeSchema,
         response=CallbackSchema, summary="Record how a follow-up call went")
    def record_callback_outcome(self, call: ApiCall, callback_id):
        return self.ticketing.record_callback_outcome(callback_id, shared(CallbackOutcomeSchema).dump(call.body))

    @api("POST", "/api/v1/tickets/<int:ticket_id>/suggestion/forward", roles=TICKET_HANDLERS, body=ForwardSchema,
         response=SuggestionSchema, summary="Forward a suggestion to the department that owns it")
    def forward_suggestion(self, call: ApiCall, ticket_id):
        return self.ticketing.forward_suggestion(ticket_id, shared(ForwardSchema).dump(call.body))

    @api("POST", "/api/v1/tickets/<int:ticket_id>/suggestion/decision", roles=TICKET_HANDLERS,
         body=DecisionSchema, response=SuggestionSchema,
         summary="Record the department's decision; it is reported to the customer")
    def decide_suggestion(self, call: ApiCall, ticket_id):
        return self.ticketing.decide_suggestion(ticket_id, shared(DecisionSchema).dump(call.body))

    # -- webhooks for outside systems ---------------------------------------
    @api("POST", "/api/v1/webhooks", roles=INTEGRATORS, body=WebhookCreateSchema, response=WebhookCreatedSchema,
         status=201, summary="Subscribe a URL to ticketing events; the signing secret is shown only in this answer")
    def create_webhook(self, call: ApiCall):
        return self.ticketing.create_webhook(shared(WebhookCreateSchema).dump(call.body))

    @api("GET", "/api/v1/webhooks", roles=INTEGRATORS, response=WebhookListSchema, summary="Webhook subscriptions")
    def list_webhooks(self, call: ApiCall):
        return self.ticketing.list_webhooks()

    @api("DELETE", "/api/v1/webhooks/<int:webhook_id>", roles=INTEGRATORS, response=WebhookSchema,
         summary="Deactivate a webhook: no new deliveries, pending ones given up")
    def deactivate_webhook(self, call: ApiCall, webhook_id):
        return self.ticketing.deactivate_webhook(webhook_id)

    @api("GET", "/api/v1/webhooks/<int:webhook_id>/deliveries", roles=INTEGRATORS, query=DeliveryListQuerySchema,
         response=DeliveryPageSchema, summary="A webhook's delivery log: attempts, status codes, errors")
    def list_deliveries(self, call: ApiCall, webhook_id):
        return self.ticketing.list_deliveries(webhook_id, shared(DeliveryListQuerySchema).dump(call.query))

    # -- knowledge base -------------------------------------------------------
    @api("POST", "/api/v1/kb/articles", roles=KB_EDITORS, body=ArticleCreateSchema, response=ArticleSchema,
         status=201, summary="Write a knowledge-base article")
    def create_article(self, call: ApiCall):
        return self.ticketing.create_article(shared(ArticleCreateSchema).dump(call.body))

    @api("PUT", "/api/v1/kb/articles/<int:article_id>", roles=KB_EDITORS, body=ArticleCreateSchema,
         response=ArticleSchema, summary="Rewrite an article (re-indexed at once)")
    def update_article(self, call: ApiCall, article_id):
        return self.ticketing.update_article(article_id, shared(ArticleCreateSchema).dump(call.body))

    @api("GET", "/api/v1/kb/articles/<int:article_id>", roles=STAFF, response=ArticleSchema,
         summary="Open an article (counts a hit)")
    def get_article(self, call: ApiCall, article_id):
        return self.ticketing.get_article(article_id)

    @api("GET", "/api/v1/kb/search", roles=STAFF, query=ArticleSearchQuerySchema, response=ArticleSearchResultSchema,
         summary="Search articles in Chinese or English; a search that finds nothing is recorded as a gap")
    def search_articles(self, call: ApiCall):
        return self.ticketing.search_articles(shared(ArticleSearchQuerySchema).dump(call.query))

    @api("GET", "/api/v1/kb/gaps", roles=SUPERVISORS + ("trainer",), query=GapQuerySchema, response=GapListSchema,
         summary="What agents searched for and did not find, most asked first")
    def knowledge_gaps(self, call: ApiCall):
        return self.ticketing.knowledge_gaps(shared(GapQuerySchema).dump(call.query))

    # -- appraisal ----------------------------------------------------------
    @api("GET", "/api/v1/appraisal/ticket-counts", roles=APPRAISAL_READERS, query=TicketCountQuerySchema,
         response=TicketCountListSchema, summary="Tickets by UTC day (or month) of creation and owning agent")
    def ticket_counts(self, call: ApiCall):
        return self.appraisal.ticket_counts(shared(TicketCountQuerySchema).dump(call.query))

    @api("GET", "/api/v1/appraisal/kpis", roles=APPRAISAL_READERS, query=KpiQuerySchema, response=KpiValuesSchema,
         summary="KPIs of an agent or a team over days of ticket creation (agents: their own; supervisors: "
                 "their teams')")
    def kpis(self, call: ApiCall):
        scope = self.people_in_view(call.principal)
        if scope is not None:
            teams = set(accounts.get(self.db, call.principal.username).teams)
            allowed = (call.query.get("agent") in scope if "agent" in call.query
                       else "supervisor" in call.principal.roles and call.query.get("team") in teams)
            if not allowed:
                raise ApiError(403, "forbidden", "you may see your own KPIs and, as a supervisor, your teams'",
                               {"agent": ["outside what you may see"]})
        return self.appraisal.kpis(shared(KpiQuerySchema).dump(call.query))

    @api("POST", "/api/v1/appraisal/kpi-definitions", roles=COMMITTEE, body=KpiDefinitionCreateSchema,
         response=KpiDefinitionSchema, status=201, summary="Define a KPI: measured or rated, target, floor, direction")
    def create_kpi_definition(self, call: ApiCall):
        return self.appraisal.create_kpi_definition(shared(KpiDefinitionCreateSchema).dump(call.body))

    @api("GET", "/api/v1/appraisal/kpi-definitions", roles=APPRAISAL_READERS, response=KpiDefinitionListSchema,
         summary="KPI definitions")
    def list_kpi_definitions(self, call: ApiCall):
        return self.appraisal.list_kpi_definitions()

    @api("POST", "/api/v1/appraisal/templates", roles=COMMITTEE, body=TemplateCreateSchema, response=TemplateSchema,
         status=201, summary="A weighted template (weights sum to 100), reviewer weights and grade bands")
    def create_template(self, call: ApiCall):
        return self.appraisal.create_template(shared(TemplateCreateSchema).dump(call.body))

    @api("GET", "/api/v1/appraisal/templates", roles=APPRAISAL_READERS, response=TemplateListSchema,
         summary="Templates")
    def list_templates(self, call: ApiCall):
        return self.appraisal.list_templates()

    @api("POST", "/api/v1/appraisal/cycles", roles=COMMITTEE, body=CycleCreateSchema, response=CycleSchema,
         status=201, summary="Plan a monthly, quarterly or annual cycle of a template")
    def create_cycle(self, call: ApiCall):
        return self.appraisal.create_cycle(shared(CycleCreateSchema).dump(call.body))

    @api("GET", "/api/v1/appraisal/cycles", roles=APPRAISAL_READERS, response=CycleListSchema,
         summary="Cycles, latest period first")
    def list_cycles(self, call: ApiCall):
        return self.appraisal.list_cycles()

    @api("GET", "/api/v1/appraisal/cycles/<int:cycle_id>", roles=APPRAISAL_READERS, response=CycleSchema,
         summary="One cycle")
    def get_cycle(self, call: ApiCall, cycle_id):
        return self.appraisal.get_cycle(cycle_id)

    @api("POST", "/api/v1/appraisal/cycles/<int:cycle_id>/transitions", roles=COMMITTEE,
         body=CycleTransitionSchema, response=CycleSchema,
         summary="start, compute, review, publish (opens the appeal window) or close (applies outcomes)")
    def advance_cycle(self, call: ApiCall, cycle_id):
        return self.appraisal.advance_cycle(cycle_id, shared(CycleTransitionSchema).dump(call.body))

    @api("POST", "/api/v1/appraisal/ratings", roles=RATERS, body=ReviewRatingCreateSchema,
         response=ReviewRatingSchema,
         status=201, summary="Rate an agent as customer (integration), peer (agent), supervisor or quality "
                             "inspection (supervisor, committee)")
    def rate(self, call: ApiCall):
        allowed = set().union(*(REVIEWER_ROLES_OF.get(role, set()) for role in call.principal.roles))
        if call.body["reviewer_role"] not in allowed:
            raise ApiError(403, "forbidden", f"you may rate as {', '.join(sorted(allowed)) or 'nobody'}",
                           {"reviewer_role": [f"one of {sorted(allowed)}"]})
        return self.appraisal.rate(shared(ReviewRatingCreateSchema).dump(call.body))

    @api("GET", "/api/v1/appraisal/cycles/<int:cycle_id>/results", roles=("supervisor",) + COMMITTEE,
         response=ResultListSchema, summary="Results of a cycle (a supervisor sees their teams')")
    def list_results(self, call: ApiCall, cycle_id):
        results = self.appraisal.list_results(cycle_id)
        scope = self.people_in_view(call.principal)
        if scope is not None:
            results["items"] = [result for result in results["items"] if result["agent"] in scope]
        return results

    @api("GET", "/api/v1/appraisal/cycles/<int:cycle_id>/results/mine", roles=APPRAISAL_READERS,
         response=ResultSchema, summary="Your own result, once published")
    def my_result(self, call: ApiCall, cycle_id):
        return self.appraisal.my_result(cycle_id)

    @api("POST", "/api/v1/appraisal/cycles/<int:cycle_id>/appeals", roles=APPRAISAL_READERS,
         body=AppealCreateSchema, response=AppealSchema, status=201,
         summary="Appeal your own published result within the window, naming items and reasons")
    def file_appeal(self, call: ApiCall, cycle_id):
        return self.appraisal.file_appeal(cycle_id, shared(AppealCreateSchema).dump(call.body))

    @api("GET", "/api/v1/appraisal/appeals", roles=APPRAISAL_READERS, query=AppealQuerySchema,
         response=AppealListSchema, summary="Appeals (the committee sees all; anyone else their own)")
    def list_appeals(self, call: ApiCall):
        query = shared(AppealQuerySchema).dump(call.query)
        if not call.principal.has_any(COMMITTEE):
            query["agent"] = call.principal.username
        return self.appraisal.list_appeals(query)

    @api("POST", "/api/v1/appraisal/appeals/<int:appeal_id>/investigation", roles=COMMITTEE,
         body=AppealInvestigationSchema, response=AppealSchema, summary="The committee takes up an appeal")
    def investigate_appeal(self, call: ApiCall, appeal_id):
        return self.appraisal.investigate_appeal(appeal_id, shared(AppealInvestigationSchema).dump(call.body))

    @api("POST", "/api/v1/appraisal/appeals/<int:appeal_id>/decision", roles=COMMITTEE, body=AppealDecisionSchema,
         response=AppealSchema, summary="Decide an appeal: upheld, adjusted (new score) or rejected")
    def decide_appeal(self, call: ApiCall, appeal_id):
        return self.appraisal.decide_appeal(appeal_id, shared(AppealDecisionSchema).dump(call.body))

    @api("GET", "/api/v1/appraisal/cycles/<int:cycle_id>/audit", roles=COMMITTEE, response=AuditListSchema,
         summary="Every step of a cycle and its appeals: who, when, what")
    def audit_trail(self, call: ApiCall, cycle_id):
        return self.appraisal.audit_trail(cycle_id)

    @api("POST", "/api/v1/appraisal/replay", roles=ADMIN, response=ReplayResultSchema,
         summary="Rebuild every ticket record from the stored facts")
    def replay_appraisal(self, call: ApiCall):
        return self.appraisal.replay()

    # -- training -------------------------------------------------------------
    def people_in_view(self, principal):
        """Whose training and appraisal the caller may see: everyone's (None) for trainers, the
        committee and admins; a supervisor's own and their teams' agents';
        anyone else only their own."""
        roles = set(principal.roles)
        if roles & {"trainer", "committee", "admin"}:
            return None
        if "supervisor" not in roles:
            return [principal.username]
        teams = set(accounts.get(self.db, principal.username).teams)
        return sorted({principal.username} | {account.username for account in self.active_agents()
                                               if teams & set(account.teams)})

    def active_agents(self):
        return [account for account in self.db.scalars(select(Account).where(Account.active.is_(True)))
                if "agent" in account.roles]

    def agents_to_enrol(self, request):
        """One agent, or every active agent of a team, as account usernames."""
        if "agent" in request:
            if request["agent"] not in {account.username for account in self.active_agents()}:
                raise ApiError(400, "invalid_input", "no such active agent", {"agent": ["no active agent of that name"]})
            return [request["agent"]]
        members = sorted(a.username for a in self.active_agents() if request["team"] in a.teams)
        if not members:
            raise ApiError(400, "invalid_input", "the team has no active agents", {"team": ["no active agents"]})
        return members

    @api("POST", "/api/v1/training/courses", roles=TRAINERS, body=CourseCreateSchema, response=CourseSchema,
         status=201, summary="Create a course: kind, mode, duration, schedule, the certification it gives")
    def create_course(self, call: ApiCall):
        return self.training.create_course(shared(CourseCreateSchema).dump(call.body))

    @api("GET", "/api/v1/training/courses", roles=STAFF, query=CourseListQuerySchema, response=CoursePageSchema,
         summary="List courses")
    def list_courses(self, call: ApiCall):
        return self.training.list_courses(shared(CourseListQuerySchema).dump(call.query))

    @api("GET", "/api/v1/training/courses/<int:course_id>", roles=STAFF, response=CourseDetailSchema,
         summary="A course with its modules in order")
    def get_course(self, call: ApiCall, course_id):
        return self.training.get_course(course_id)

    @api("POST", "/api/v1/training/courses/<int:course_id>/modules", roles=TRAINERS, body=ModuleCreateSchema,
         response=ModuleSchema, status=201,
         summary="Append a module: content, a session, or an exam with its parts, draws and limits")
    def add_course_module(self, call: ApiCall, course_id):
        return self.training.add_module(course_id, shared(ModuleCreateSchema).dump(call.body))

    @api("POST", "/api/v1/training/courses/<int:course_id>/enrolments", roles=TRAINERS, body=EnrolRequestSchema,
         response=EnrolmentListSchema, status=201, summary=(
             "Enrol an agent or a whole team (publishes training.enrolled; already enrolled agents are left as "
             "they are, completed or failed ones start a new cycle)"))
    def enrol(self, call: ApiCall, course_id):
        agents = self.agents_to_enrol(call.body)
        return self.training.enrol(course_id, {"agents": agents, "reason": call.body["reason"]})

    @api("GET", "/api/v1/training/question-categories", roles=TRAINERS, response=CategoryListSchema,
         summary="Question bank categories with their active question counts")
    def list_question_categories(self, call: ApiCall):
        return self.training.list_categories()

    @api("POST", "/api/v1/training/question-categories", roles=TRAINERS, body=CategoryCreateSchema,
         response=CategorySchema, status=201, summary="Add a question bank category")
    def create_question_category(self, call: ApiCall):
        return self.training.create_category(shared(CategoryCreateSchema).dump(call.body))

    @api("GET", "/api/v1/training/questions", roles=TRAINERS, query=QuestionListQuerySchema,
         response=QuestionPageSchema, summary="Questions of the bank, with their keys")
    def list_questions(self, call: ApiCall):
        return self.training.list_questions(shared(QuestionListQuerySchema).dump(call.query))

    @api("POST", "/api/v1/training/questions", roles=TRAINERS, body=QuestionCreateSchema, response=QuestionSchema,
         status=201, summary="Add a question: single or multiple choice, true/false, or short answer")
    def create_question(self, call: ApiCall):
        return self.training.create_question(shared(QuestionCreateSchema).dump(call.body))

    @api("PUT", "/api/v1/training/questions/<int:question_id>/active", roles=TRAINERS, body=QuestionRetireSchema,
         response=QuestionSchema, summary="Retire a question from future draws, or bring it back")
    def set_question_active(self, call: ApiCall, question_id):
        return self.training.set_question_active(question_id, call.body)

    @api("GET", "/api/v1/training/enrolments", roles=STAFF, query=EnrolmentListQuerySchema,
         response=EnrolmentPageSchema, summary="Enrolments: an agent sees their own, a supervisor their teams'")
    def list_enrolments(self, call: ApiCall):
        return self.training.list_enrolments(shared(EnrolmentListQuerySchema).dump(call.query),
                                             self.people_in_view(call.principal))

    @api("GET", "/api/v1/training/enrolments/<int:enrolment_id>", roles=STAFF, response=EnrolmentDetailSchema,
         summary="An enrolment with each module's progress or attendance")
    def get_enrolment(self, call: ApiCall, enrolment_id):
        return self.training.get_enrolment(enrolment_id, self.people_in_view(call.principal))

    @api("POST", "/api/v1/training/enrolments/<int:enrolment_id>/attendance", roles=TRAINERS, body=AttendanceSchema,
         response=EnrolmentDetailSchema, summary="Record attendance of a session")
    def record_attendance(self, call: ApiCall, enrolment_id):
        return self.training.record_attendance(enrolment_id, call.body)

    @api("PUT", "/api/v1/training/enrolments/<int:enrolment_id>/progress", roles=("agent",) + TRAINERS,
         body=ProgressSchema, response=EnrolmentDetailSchema,
         summary="Progress through an online content module (an agent on their own enrolment)")
    def record_progress(self, call: ApiCall, enrolment_id):
        return self.training.record_progress(enrolment_id, call.body, self.people_in_view(call.principal))

    @api("POST", "/api/v1/training/enrolments/<int:enrolment_id>/overrides", roles=TRAINERS,
         body=OverrideCreateSchema, response=OverrideSchema, status=201,
         summary="Extra attempts at an exam for this agent, in the current cycle only")
    def grant_override(self, call: ApiCall, enrolment_id):
        return self.training.grant_override(enrolment_id, call.body)

    @api("POST", "/api/v1/training/enrolments/<int:enrolment_id>/attempts", roles=EXAM_TAKERS,
         body=AttemptStartSchema, response=AttemptSchema, status=201, summary=(
             "Start an exam attempt: questions drawn and frozen; 409 if too early, none left, or already passed"))
    def start_attempt(self, call: ApiCall, enrolment_id):
        return self.training.start_attempt(enrolment_id, call.body, self.people_in_view(call.principal))

    @api("GET", "/api/v1/training/attempts/<int:attempt_id>", roles=EXAM_TAKERS + TRAINERS, response=AttemptSchema,
         summary="An attempt as the agent saw it (no answer key), with marks once graded")
    def get_attempt(self, call: ApiCall, attempt_id):
        return self.training.get_attempt(attempt_id, self.people_in_view(call.principal))

    @api("PUT", "/api/v1/training/attempts/<int:attempt_id>/answers", roles=EXAM_TAKERS, body=AnswersSchema,
         response=AttemptSchema, summary="Save answers as you go (409 once submitted or out of time)")
    def save_answers(self, call: ApiCall, attempt_id):
        return self.training.save_answers(attempt_id, shared(AnswersSchema).dump(call.body),
                                          self.people_in_view(call.principal))

    @api("POST", "/api/v1/training/attempts/<int:attempt_id>/submission", roles=EXAM_TAKERS, body=AnswersSchema,
         response=AttemptSchema, summary=(
             "Submit an attempt with any last answers; after the time limit only answers saved in time count"))
    def submit_attempt(self, call: ApiCall, attempt_id):
        return self.training.submit_attempt(attempt_id, shared(AnswersSchema).dump(call.body),
                                            self.people_in_view(call.principal))

    @api("POST", "/api/v1/training/attempts/<int:attempt_id>/assessment", roles=TRAINERS, body=AssessmentSchema,
         response=AttemptSchema, summary="Score the practical and customer-evaluation parts and the short answers")
    def assess_attempt(self, call: ApiCall, attempt_id):
        return self.training.assess_attempt(attempt_id, shared(AssessmentSchema).dump(call.body))

    @api("GET", "/api/v1/training/certifications", roles=STAFF, query=CertificationListQuerySchema,
         response=CertificationPageSchema, summary="Certifications: an agent sees their own, a supervisor their teams'")
    def list_certifications(self, call: ApiCall):
        return self.training.list_certifications(shared(CertificationListQuerySchema).dump(call.query),
                                                 self.people_in_view(call.principal))

    @api("POST", "/api/v1/training/certifications/<int:certification_id>/revocation", roles=TRAINERS,
         body=RevocationSchema, response=CertificationSchema,
         summary="Revoke a certification (publishes training.certification_revoked; routing stops at once)")
    def revoke_certification(self, call: ApiCall, certification_id):
        return self.training.revoke_certification(certification_id, call.body)

    @api("GET", "/api/v1/training/career-levels", roles=STAFF, response=CareerLevelListSchema,
         summary="Career levels, specialist to director, and the certifications each requires")
    def list_career_levels(self, call: ApiCall):
        return self.training.list_career_levels()

    @api("PUT", "/api/v1/training/career-levels/<level>", roles=TRAINERS, body=CareerLevelUpdateSchema,
         response=CareerLevelSchema, summary="Set what a level requires; the specialist level's clear for duty")
    def set_career_level(self, call: ApiCall, level):
        return self.training.set_career_level(level, call.body)

    @api("GET", "/api/v1/training/agents/<username>/standing", roles=STAFF, response=StandingSchema,
         summary="An agent's certifications, whether they are cleared for duty, the levels they qualify for")
    def agent_standing(self, call: ApiCall, username):
        scope = self.people_in_view(call.principal)
        if scope is not None and username not in scope:
            raise ApiError(404, "not_found", f"no training standing of {username} for you")
        return self.training.agent_standing(username)

    # -- monitoring -----------------------------------------------------------
    @api("POST", "/api/v1/monitoring/posts", roles=POST_WRITERS, body=PostCreateSchema, response=PostSchema,
         status=201, alternatives={200: "A post already stored (same platform and external id): counts updated"},
         summary="Push a social-media post or comment (same external id updates its counts)")
    def ingest_post(self, call: ApiCall):
        result = self.monitoring.ingest_post(shared(PostCreateSchema).dump(call.body))
        return (201 if result["created"] else 200), result["post"]

    @api("GET", "/api/v1/monitoring/posts", roles=POST_READERS, query=PostListQuerySchema, response=PostPageSchema,
         summary="List posts")
    def list_posts(self, call: ApiCall):
        return self.monitoring.list_posts(shared(PostListQuerySchema).dump(call.query))

    @api("POST", "/api/v1/monitoring/posts/batch", roles=POST_WRITERS, body=PostBatchSchema,
         response=PostBatchResultSchema, max_body=IMPORT_MAX_BYTES, summary=(
             "Push up to 1,000 posts at once, analysed in one transaction (all or nothing; 400 names "
             "posts.<index>.<field>)"))
    def ingest_posts(self, call: ApiCall):
        return self.monitoring.ingest_posts(shared(PostBatchSchema).dump(call.body))

    @api("GET", "/api/v1/monitoring/posts/<int:post_id>", roles=POST_READERS, response=PostSchema,
         summary="One post with its topics, sentiment, cluster and severity")
    def get_post(self, call: ApiCall, post_id):
        return self.monitoring.get_post(post_id)

    @api("POST", "/api/v1/monitoring/posts/<int:post_id>/sentiment", roles=OPINION_HANDLERS, body=CorrectionSchema,
         response=PostSchema, summary="Correct a post's sentiment (kept; the next retraining learns from it)")
    def correct_sentiment(self, call: ApiCall, post_id):
        return self.monitoring.correct_sentiment(post_id, call.body)

    @api("POST", "/api/v1/monitoring/analyse", roles=OPINION_ANALYSTS, body=AnalyseSchema,
         response=AnalysisResultSchema, summary="Sentiment and crisis terms of up to 1,000 texts, in order; stores nothing")
    def analyse_texts(self, call: ApiCall):
        return self.monitoring.analyse(call.body)

    @api("GET", "/api/v1/monitoring/rules", roles=POST_READERS, response=WatchRuleListSchema,
         summary="Watch rules (topics)")
    def list_watch_rules(self, call: ApiCall):
        return self.monitoring.list_rules()

    @api("POST", "/api/v1/monitoring/rules", roles=SUPERVISORS, body=WatchRuleCreateSchema, response=WatchRuleSchema,
         status=201, summary="Add a topic: a boolean query (AND, OR, NOT, \"phrases\", parentheses) and filters")
    def create_watch_rule(self, call: ApiCall):
        return self.monitoring.create_rule(call.body)

    @api("PATCH", "/api/v1/monitoring/rules/<int:rule_id>", roles=SUPERVISORS, body=WatchRuleUpdateSchema,
         response=WatchRuleSchema, summary="Change a topic (applies to posts ingested from now on)")
    def update_watch_rule(self, call: ApiCall, rule_id):
        return self.monitoring.update_rule(rule_id, call.body)

    @api("GET", "/api/v1/monitoring/alerts", roles=POST_READERS, query=AlertListQuerySchema, response=AlertPageSchema,
         summary="Opinion alerts, newest first")
    def list_opinion_alerts(self, call: ApiCall):
        return self.monitoring.list_alerts(shared(AlertListQuerySchema).dump(call.query))

    @api("GET", "/api/v1/monitoring/alerts/<int:alert_id>", roles=POST_READERS, response=AlertDetailSchema,
         summary="An alert with everything done about it")
    def get_opinion_alert(self, call: ApiCall, alert_id):
        return self.monitoring.get_alert(alert_id)

    @api("POST", "/api/v1/monitoring/alerts/<int:alert_id>/state", roles=OPINION_HANDLERS, body=AlertStateSchema,
         response=AlertDetailSchema, summary="Acknowledge, respond to or resolve an alert (409 names the allowed states)")
    def change_opinion_alert_state(self, call: ApiCall, alert_id):
        return self.monitoring.change_alert_state(alert_id, call.body)

    @api("POST", "/api/v1/monitoring/alerts/<int:alert_id>/actions", roles=OPINION_HANDLERS, body=AlertActionSchema,
         response=AlertDetailSchema, summary="Record an action taken (reply/clarify, positive information, departments)")
    def add_opinion_alert_action(self, call: ApiCall, alert_id):
        return self.monitoring.add_alert_action(alert_id, call.body)

    @api("POST", "/api/v1/monitoring/alerts/<int:alert_id>/notes", roles=OPINION_HANDLERS, body=AlertNoteSchema,
         response=AlertDetailSchema, summary="Add a note to an alert")
    def add_opinion_alert_note(self, call: ApiCall, alert_id):
        return self.monitoring.add_alert_note(alert_id, call.body)

    @api("GET", "/api/v1/monitoring/reports/trend", roles=SUPERVISORS, query=ReportQuerySchema, response=ReportSchema,
         summary="Opinion by day or week: volume by sentiment and platform, topics, terms, clusters, alert handling")
    def opinion_report(self, call: ApiCall):
        return self.monitoring.report(shared(ReportQuerySchema).dump(call.query))

    @api("GET", "/api/v1/monitoring/reports/trend.csv", roles=SUPERVISORS, query=ReportQuerySchema,
         media_type="text/csv", summary="The opinion trend as CSV")
    def opinion_report_csv(self, call: ApiCall):
        return Response(self.monitoring.report_file(shared(ReportQuerySchema).dump(call.query), "csv"),
                        mimetype="text/csv")

    @api("GET", "/api/v1/monitoring/reports/trend.png", roles=SUPERVISORS, query=ReportQuerySchema,
         media_type="image/png", summary="The opinion trend as a chart (PNG)")
    def opinion_report_png(self, call: ApiCall):
        chart = self.monitoring.report_file(shared(ReportQuerySchema).dump(call.query), "png")
        return Response(base64.b64decode(chart), mimetype="image/png")
