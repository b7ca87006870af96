"""Ticketing: what it answers over RPC. Rules live in ``tickets.py``.

Every change happens in one transaction that also appends the history and
records its events, so a change is never seen without its trail.
"""
import hashlib
import json
import logging
from contextlib import contextmanager
from datetime import datetime, timezone

from nameko.dependency_providers import Config
from nameko.exceptions import serialize
from sqlalchemy import exists, or_, select, update

from plumbing.context import CallContext, bind_request_id
from plumbing.db import get_or_not_found, upsert_insert
from plumbing.errors import Conflict, DomainError, InvalidInput, load_or_invalid as load
from plumbing.metrics import DatabaseGauges
from plumbing.outbox import Inbox, Outbox
from plumbing.paging import contains_text, fetch_page
from plumbing.schemas import shared
from plumbing.rpc import rpc
from plumbing.service import PlatformService
from ticketing import events, metrics, models, tickets
from ticketing.agents import AgentRegistry
from ticketing.care import Aftercare
from ticketing.kb import KnowledgeBase
from ticketing.models import (
    Agent, CustomerDataAccess, Ticket, TicketHistory, TicketImport, TicketMessage, TicketRequest, TicketTag,
)
from ticketing.opinion_alerts import OpinionAlertTickets
from ticketing.contract import (
    AssignmentSchema, CustomerAccessPageSchema, CustomerAccessQuerySchema, EscalationSchema, HistorySchema,
    ImportResultSchema, MergeSchema, MessageCreateSchema, MessageListQuerySchema, MessageListSchema, MessageSchema,
    SlaClockSchema, StateChangeSchema, TicketCreateSchema, TicketImportSchema, TicketListQuerySchema,
    TicketPageSchema, TicketSchema,
)
from ticketing.sla_clocks import SlaClocks, breached_condition, breaching_condition
from ticketing.webhook_delivery import WebhookDeliveries

log = logging.getLogger(__name__)


class TicketingService(PlatformService, AgentRegistry, SlaClocks, Aftercare, KnowledgeBase, WebhookDeliveries,
                       OpinionAlertTickets):
    name = "ticketing"

    events = Outbox(models.outbox)
    inbox = Inbox(models.inbox)
    config = Config()
    open_tickets = DatabaseGauges(metrics.OpenTickets)
    rating_token = None  # set when this call resolved the ticket: shown once, only its hash is kept
    customers_accessed = frozenset()  # tickets whose customer access this call has recorded
    replay_at = None     # while importing history: the original time and author of the step replayed
    replay_actor = None

    def now(self):
        return self.replay_at or datetime.now(timezone.utc)

    @property
    def actor(self):
        """Who is acting: the caller, or the original author of a replayed step."""
        return self.replay_actor if self.replay_at is not None else self.context.actor

    # -- entrypoints -------------------------------------------------------
    @rpc
    def create_ticket(self, data):
        with self.db.begin():
            return self.detail(self.open_ticket(self.accepted_ticket(data)))

    @rpc
    def create_tickets(self, requests):
        """Tickets asked for by concurrent callers, opened in one transaction
        (the gateway's group commit: one RPC and one commit for many).

        Each request is ``{"ticket": data, "actor", "request_id",
        "idempotency_key"}`` and keeps its own actor and request id in
        history, events and logs. A key the same actor sent before answers
        with the ticket opened then (a retry, or a request delivered again
        after a crash), never a second one. Answers come in order:
        ``{"ticket": detail}``, or ``{"error": exception}`` (nameko's
        serialised form) for a request refused on its own, which leaves the
        others untouched."""
        answers = []
        with self.db.begin():
            for request in requests:
                with self.acting_for(request):
                    try:
                        fields = self.accepted_ticket(request["ticket"])  # reads only: a refusal writes nothing
                        earlier = self.opened_for_key(request)  # nor here: a refused key was not taken
                    except DomainError as exc:
                        answers.append({"error": serialize(exc)})
                        continue
                    ticket = earlier or self.open_ticket(fields)
                    if earlier is None:
                        self.keep_key(request, ticket)
                    answers.append({"ticket": self.detail(ticket)})
        return answers

    @rpc
    def merge_ticket(self, ticket_id, data):
        """Merge a duplicate into another ticket: the duplicate closes, its
        conversation shows on the ticket it was merged into."""
        into = load(MergeSchema, data)["into"]
        if into == ticket_id:
            raise InvalidInput("a ticket cannot be merged into itself", {"into": ["must be another ticket"]})
        with self.db.begin():
            locked = {tid: self.locked(tid) for tid in sorted((ticket_id, into))}  # one lock order: no deadlock
            source, target = locked[ticket_id], locked[into]
            if source.merged_into_id is not None:
                raise Conflict(f"ticket {ticket_id} is already merged into {source.merged_into_id}",
                               {"into": ["already merged"]})
            if target.state == "closed" or target.merged_into_id is not None:
                raise Conflict(f"ticket {into} is closed or merged itself", {"into": ["not an open ticket"]})
            source.merged_into_id = target.id
            self.journal(source, "merged", {"into": target.id})
            self.journal(target, "absorbed", {"from": source.id})
            self.publish(events.TICKET_MERGED, source, merged_into=target.id)
            if source.state != "closed":
                self.move(source, "closed")
            return self.detail(target)

    @rpc
    def import_tickets(self, data):
        """Tickets from another help desk with their whole history, replayed
        at their original times so SLA clocks and events follow them. The
        batch is all or nothing; tickets imported before are skipped."""
        batch = load(TicketImportSchema, data)
        imported, skipped = [], []
        with self.db.begin():
            for index, fields in enumerate(batch["tickets"]):
                external_id = fields.pop("external_id")
                if self.db.get(TicketImport, (batch["source"], external_id)):
                    skipped.append(external_id)
                    continue
                try:
                    ticket = self.replay(fields)
                except (Conflict, InvalidInput) as exc:
                    raise type(exc)(f"ticket {index} ({external_id}): {exc.message}",
                                    {"tickets": {str(index): [exc.message]}}) from None
                self.db.add(TicketImport(source=batch["source"], external_id=external_id, ticket_id=ticket.id))
                imported.append({"external_id": external_id, "ticket_id": ticket.id})
                if len(imported) % 100 == 0:
                    log.info("import from %s: %s tickets replayed", batch["source"], len(imported))
        return shared(ImportResultSchema).dump({"imported": imported, "skipped": skipped})

    @rpc
    def get_ticket(self, ticket_id):
        with self.db.begin():  # showing the customer is recorded
            return self.detail(get_or_not_found(self.db, Ticket, ticket_id))

    @rpc
    def list_tickets(self, query=None):
        criteria = load(TicketListQuerySchema, query or {})
        conditions = []
        if "tag" in criteria:
            tag = criteria.pop("tag").strip().lower()
            conditions.append(exists().where(TicketTag.ticket_id == Ticket.id, TicketTag.tag == tag))
        if "text" in criteria:
            text = criteria.pop("text")
            conditions.append(or_(contains_text(Ticket.subject, text), contains_text(Ticket.description, text)))
        if "breached" in criteria:
            breached = breached_condition()
            conditions.append(breached if criteria.pop("breached") else ~breached)
        if "due_before" in criteria:
            conditions.append(breaching_condition(criteria.pop("due_before")))
        page = fetch_page(self.db, Ticket, criteria, [Ticket.id.desc()], conditions)
        return shared(TicketPageSchema).dump(page)

    @rpc
    def change_state(self, ticket_id, data):
        target = load(StateChangeSchema, data)["state"]
        with self.db.begin():
            ticket = self.locked(ticket_id)
            self.move(ticket, self.next_state(ticket, target))
            return self.detail(ticket)

    @rpc
    def assign(self, ticket_id, data):
        assignment = load(AssignmentSchema, data)
        with self.db.begin():
            ticket = self.locked(ticket_id)
            if ticket.state in tickets.REOPENABLE:
                raise Conflict(f"a {ticket.state} ticket cannot be assigned; reopen it first",
                               {"state": [ticket.state]})
            assignee, team = assignment["assignee"], assignment["team"] or ticket.team
            if (assignee, team) != (ticket.assignee, ticket.team):  # the same again stays a no-op
                self.check_assignable(assignee)
            self.hand_to(ticket, assignee, team)
            return self.detail(ticket)

    @rpc
    def escalate_ticket(self, ticket_id, data):
        reason = load(EscalationSchema, data)["reason"]
        with self.db.begin():
            ticket = self.locked(ticket_id)
            if ticket.state in tickets.REOPENABLE:
                raise Conflict(f"a {ticket.state} ticket cannot be escalated", {"state": [ticket.state]})
            self.escalate(ticket, reason)
            return self.detail(ticket)

    @rpc
    def add_message(self, ticket_id, data):
        fields = load(MessageCreateSchema, data)
        with self.db.begin():
            message = self.write_message(self.locked(ticket_id), fields["kind"], fields["body"])
        return shared(MessageSchema).dump(message)

    @rpc
    def list_messages(self, ticket_id, query=None):
        include_notes = load(MessageListQuerySchema, query or {})["include_notes"]
        get_or_not_found(self.db, Ticket, ticket_id)
        merged = select(Ticket.id).where(Ticket.merged_into_id == ticket_id)
        statement = select(TicketMessage).where(or_(TicketMessage.ticket_id == ticket_id,
                                                    TicketMessage.ticket_id.in_(merged)))
        if not include_notes:
            statement = statement.where(TicketMessage.kind != tickets.NOTE)
        messages = self.db.scalars(statement.order_by(TicketMessage.id)).all()
        return shared(MessageListSchema).dump({"items": messages})

    @rpc
    def customer_data_access(self, query=None):
        """The audit of customer data, newest first (X6)."""
        criteria = load(CustomerAccessQuerySchema, query or {})
        page = fetch_page(self.db, CustomerDataAccess, criteria, [CustomerDataAccess.id.desc()])
        return shared(CustomerAccessPageSchema).dump(page)

    @rpc
    def ticket_history(self, ticket_id):
        get_or_not_found(self.db, Ticket, ticket_id)
        entries = self.db.scalars(
            select(TicketHistory).where(TicketHistory.ticket_id == ticket_id).order_by(TicketHistory.id)).all()
        return shared(HistorySchema).dump({"items": entries})

    # -- the steps every change is made of ----------------------------------
    def accepted_ticket(self, data):
        """A new ticket's fields once valid, with an assignee who may take it."""
        fields = load(TicketCreateSchema, data)
        if fields["assignee"]:
            self.check_assignable(fields["assignee"])
        return fields

    def opened_for_key(self, request):
        """The ticket an earlier request with this one's idempotency key opened;
        None once this request has taken the key (a concurrent request with the
        same key waits here until this one's transaction ends). The same key
        for a different ticket is a Conflict."""
        key = self.request_key(request)
        if key is None:
            return None
        table = TicketRequest.__table__
        fingerprint = hashlib.sha256(json.dumps(request["ticket"], sort_keys=True).encode()).hexdigest()
        taken = self.db.execute(upsert_insert(self.db)(table).on_conflict_do_nothing().returning(table.c.actor),
                                dict(key, fingerprint=fingerprint, created_at=self.now())).first()
        if taken:
            return None
        earlier = self.db.execute(select(table.c.fingerprint, table.c.ticket_id).filter_by(**key)).one()
        if earlier.fingerprint != fingerprint:
            raise Conflict(f"Idempotency-Key {key['idempotency_key']!r} was sent before with another ticket",
                           {"idempotency_key": ["already used for another ticket"]})
        return self.db.get(Ticket, earlier.ticket_id)

    def keep_key(self, request, ticket):
        key = self.request_key(request)
        if key is not None:
            self.db.execute(update(TicketRequest).filter_by(**key).values(ticket_id=ticket.id))

    def request_key(self, request):
        """The caller's idempotency key as the key of its ``ticket_requests`` row; None without one."""
        if request.get("idempotency_key") is None:
            return None
        return dict(actor=self.context.actor or "", idempotency_key=request["idempotency_key"])

    @contextmanager
    def acting_for(self, request):
        """Work for a caller other than this worker's (a batched request):
        their actor and request id in history, events and log lines."""
        worker = self.context
        self.context = CallContext(request["request_id"], request["actor"], request.get("roles"))
        self.events.request_id = request["request_id"]
        bind_request_id(request["request_id"])
        try:
            yield
        finally:
            self.context = worker
            self.events.request_id = worker.request_id
            bind_request_id(worker.request_id)

    def open_ticket(self, fields):
        customer = fields.pop("customer")
        fields["tags"] = tickets.normalise_tags(fields["tags"])
        created = self.now()
        ticket = Ticket(**fields, state=tickets.initial_state(fields["assignee"]), transfer_count=0, reopen_count=0,
                        escalation_level=0, customer_name=customer["name"], customer_contact=customer["contact"],
                        created_at=created, updated_at=created)
        self.db.add(ticket)
        self.db.flush()
        self.events.new_aggregate(events.AGGREGATE, ticket.id)
        self.db.add_all(TicketTag(ticket_id=ticket.id, tag=tag) for tag in ticket.tags)
        self.journal(ticket, "created", {"state": [None, ticket.state], "assignee": [None, ticket.assignee]})
        self.record_customer_access(ticket, "created")
        self.publish(events.TICKET_CREATED, ticket)
        self.start_clocks(ticket, created)
        if self.replay_at is None:
            self.on_success(metrics.TICKETS_CREATED.labels(ticket.channel, ticket.kind, ticket.priority).inc)
            if ticket.assignee is None:
                self.route(ticket)
        return ticket

    def replay(self, fields):
        """Open an imported ticket and replay its history at the original times."""
        history = fields.pop("history")
        self.replay_at, self.replay_actor = fields.pop("created_at"), fields.pop("created_by")
        try:
            ticket = self.open_ticket(fields)
            for step in history:
                self.replay_at, self.replay_actor = step["at"], step.get("actor")
                if step["type"] == "message":
                    self.write_message(ticket, step["kind"], step["body"])
                elif step["type"] == "state":
                    self.move(ticket, self.next_state(ticket, step["state"]))
                elif step["type"] == "assignment":
                    self.hand_to(ticket, step["assignee"], step.get("team") or ticket.team)
                else:
                    self.replay_rating(ticket, step["score"], step.get("comment"))
        finally:
            self.replay_at = self.replay_actor = None
        return ticket

    def locked(self, ticket_id):
        """The ticket, locked until commit so concurrent changes queue."""
        return get_or_not_found(self.db, Ticket, ticket_id, lock=True)

    def next_state(self, ticket, target):
        try:
            return tickets.next_state(ticket.state, target, ticket.assignee)
        except tickets.InvalidTransition as exc:
            raise Conflict(str(exc), {"state": [str(exc)], "allowed": list(exc.allowed)}) from None
        except tickets.NeedsAssignee as exc:
            raise Conflict(str(exc), {"assignee": [str(exc)]}) from None

    def move(self, ticket, after):
        before = ticket.state
        if after == before:
            return
        changed = self.now()
        ticket.state, ticket.updated_at = after, changed
        reopened = tickets.is_reopen(before, after)
        if reopened:
            ticket.reopen_count += 1
            ticket.resolved_at = ticket.closed_at = None
        elif after == "resolved":
            ticket.resolved_at = changed
        elif after == "closed":
            ticket.closed_at = changed
        self.journal(ticket, "state_changed", {"state": [before, after]})
        self.publish(events.TICKET_STATUS_CHANGED, ticket, from_state=before)
        self.clocks_on_state(ticket, before, after, changed)
        if reopened:
            self.publish(events.TICKET_REOPENED, ticket)
        elif after == "resolved":
            self.rating_token = self.open_rating(ticket, changed)
            first_contact = tickets.first_contact_resolution(after, ticket.reopen_count, ticket.transfer_count)
            self.publish(events.TICKET_RESOLVED, ticket, rating_token=self.rating_token,
                         first_contact_resolution=first_contact)
            if self.replay_at is None:
                self.on_success(metrics.TICKETS_RESOLVED.labels(ticket.team or "", str(first_contact).lower()).inc)
        elif after == "closed":
            self.publish(events.TICKET_CLOSED, ticket)

    def hand_to(self, ticket, assignee, team):
        """Give the ticket to ``assignee``; callers have made sure they may take it."""
        previous, previous_team = ticket.assignee, ticket.team
        if (previous, previous_team) == (assignee, team):
            return
        agent = self.db.get(Agent, assignee)
        if agent is not None:
            agent.last_assigned_at = self.now()  # round-robin counts manual assignments too
        transferred = previous is not None and previous != assignee
        ticket.assignee, ticket.team, ticket.updated_at = assignee, team, self.now()
        if transferred:
            ticket.transfer_count += 1
        self.journal(ticket, "assigned", {"assignee": [previous, assignee], "team": [previous_team, team]})
        self.publish(events.TICKET_TRANSFERRED if transferred else events.TICKET_ASSIGNED, ticket,
                     previous_assignee=previous)
        if ticket.state == "new":
            self.move(ticket, "assigned")

    def write_message(self, ticket, kind, body):
        author = self.actor or "system"
        if kind == tickets.REPLY and ticket.assignee is None and self.not_assignable_reason(author) is None:
            self.hand_to(ticket, author, ticket.team)  # whoever answers a new ticket owns it, if cleared
        message = TicketMessage(ticket_id=ticket.id, kind=kind, author=author, body=body, created_at=self.now())
        self.db.add(message)
        self.db.flush()
        self.journal(ticket, "message_added", {"kind": kind, "message_id": message.id})
        if kind == tickets.REPLY:
            self.publish(events.TICKET_REPLIED, ticket, message_id=message.id, author=author)
            if ticket.first_responded_at is None:
                ticket.first_responded_at = message.created_at
                self.publish(events.TICKET_FIRST_RESPONDED, ticket, message_id=message.id, author=author)
            self.clocks_on_reply(ticket, message.created_at)
        elif kind == tickets.CUSTOMER:
            self.clocks_on_customer_message(ticket, message.created_at)
        self.move(ticket, tickets.state_after_message(ticket.state, kind, ticket.assignee))
        return message

    def escalate(self, ticket, reason):
        """Raise the ticket to its team's supervisors (all supervisors when it has no team)."""
        ticket.escalation_level += 1
        ticket.escalated_at = ticket.updated_at = self.now()
        supervisors = self.supervisors_of(ticket.team)
        self.journal(ticket, "escalated", {"reason": reason, "escalation_level": ticket.escalation_level,
                                           "supervisors": supervisors})
        self.publish(events.TICKET_ESCALATED, ticket, reason=reason, supervisors=supervisors)

    def detail(self, ticket):
        """The ticket with its SLA clocks (TicketDetailSchema)."""
        clocks = SlaClockSchema(many=True).dump(self.clock_views(ticket.id, self.now()))
        return dict(shared(TicketSchema).dump(ticket), customer=self.customer_for_caller(ticket), sla=clocks,
                    rating_token=self.rating_token)

    def customer_for_caller(self, ticket):
        """The customer in full where the caller may see them (recorded), else masked (X6)."""
        if not tickets.sees_customer(self.context.roles, self.context.actor, ticket.assignee):
            return tickets.customer(ticket.customer_name, ticket.customer_contact, masked=True)
        self.record_customer_access(ticket, "read")
        return tickets.customer(ticket.customer_name, ticket.customer_contact)

    def record_customer_access(self, ticket, action):
        """Audit who stored or was shown a ticket's customer details: once per
        ticket and call, by the caller (not an imported step's author), at the real time."""
        if ticket.id in self.customers_accessed:
            return
        self.customers_accessed |= {ticket.id}
        self.db.add(CustomerDataAccess(ticket_id=ticket.id, at=datetime.now(timezone.utc), actor=self.context.actor,
                                       action=action, request_id=self.context.request_id))

    def journal(self, ticket, action, changes):
        self.db.add(TicketHistory(ticket_id=ticket.id, at=self.now(), actor=self.actor, action=action,
                                  changes=changes))

    def publish(self, event_type, ticket, **extra):
        facts = {column.key: getattr(ticket, column.key) for column in Ticket.__table__.columns}
        self.record_event(event_type, events.AGGREGATE, ticket.id, dict(facts, actor=self.actor, **extra))

    def record_event(self, event_type, aggregate_type, aggregate_id, data):
        """An event into the outbox, and its webhook deliveries, in the change's transaction."""
        envelope = self.events.record(self.db, event_type, aggregate_type, aggregate_id, data, time=self.now())
        self.queue_webhooks(envelope)
