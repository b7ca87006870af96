"""Complaints, ratings, callbacks and suggestions: the ticketing service's
after-care entrypoints (T5, T6, T7). Rules live in ``aftercare.py``."""
from sqlalchemy import func, select

from plumbing.db import get_or_not_found
from plumbing.errors import Conflict, NotFound, load_or_invalid as load
from plumbing.paging import fetch_page
from plumbing.schemas import shared
from plumbing.rpc import rpc
from ticketing import aftercare, events, metrics, tickets
from ticketing.models import Callback, Complaint, ComplaintStep, Rating, Suggestion, Ticket
from ticketing.contract import (
    CallbackCreateSchema, CallbackListQuerySchema, CallbackOutcomeSchema, CallbackPageSchema, CallbackSchema,
    ComplaintRecordSchema, ComplaintResultSchema, ComplaintSchema, CoordinationSchema, DecisionSchema,
    ForwardSchema, RatingSchema, RatingSubmitSchema, SuggestionSchema, VerdictSchema,
)



def conflict(exc):
    return Conflict(str(exc), {"_rule": [str(exc)]})


class Aftercare:
    """Mixed into TicketingService: uses its ticket steps (locked, move, write_message, publish, ...)."""

    # -- complaints ----------------------------------------------------------------
    @rpc
    def record_complaint(self, ticket_id, data):
        fields = load(ComplaintRecordSchema, data)
        with self.db.begin():
            ticket = self.locked(ticket_id)
            if ticket.kind != "complaint":
                raise Conflict(f"ticket {ticket_id} is a {ticket.kind}, not a complaint", {"kind": [ticket.kind]})
            if self.db.get(Complaint, ticket_id) is not None:
                raise Conflict("the complaint is already recorded", {"ticket_id": ["already recorded"]})
            complaint = Complaint(ticket_id=ticket_id, **fields, recorded_by=self.actor, recorded_at=self.now(),
                                  unsatisfied_verdicts=0)
            self.db.add(complaint)
            self.journal(ticket, "complaint_recorded", {"severity": fields["severity"], "category": fields["category"]})
            self.publish(events.COMPLAINT_RECORDED, ticket, severity=fields["severity"], category=fields["category"])
            if aftercare.escalates(fields["severity"]):
                self.escalate(ticket, f"{fields['severity']} complaint: management is informed")
        return self.complaint_view(ticket_id)

    @rpc
    def coordinate_complaint(self, ticket_id, data):
        fields = load(CoordinationSchema, data)
        with self.db.begin():
            ticket, _ = self.locked_complaint(ticket_id)
            self.add_step(ticket, "coordinated", fields["note"], department=fields["department"])
        return self.complaint_view(ticket_id)

    @rpc
    def report_complaint_result(self, ticket_id, data):
        """Record what was done and tell the customer (a public reply)."""
        result = load(ComplaintResultSchema, data)["result"]
        with self.db.begin():
            ticket, complaint = self.locked_complaint(ticket_id)
            complaint.result, complaint.result_reported_at = result, self.now()
            self.add_step(ticket, "result", result)
            self.write_message(ticket, tickets.REPLY, result)
        return self.complaint_view(ticket_id)

    @rpc
    def complaint_verdict(self, ticket_id, data):
        """The customer's verdict on a resolved complaint: settle it or reopen it."""
        verdict = load(VerdictSchema, data)
        with self.db.begin():
            ticket, complaint = self.locked_complaint(ticket_id)
            try:
                aftercare.check_verdict_allowed(complaint, ticket.state)
            except aftercare.RuleBroken as exc:
                raise conflict(exc) from None
            satisfied = verdict["satisfied"]
            self.add_step(ticket, "verdict", verdict["comment"], satisfied=satisfied)
            if satisfied:
                complaint.settled_at = self.now()
            else:
                complaint.unsatisfied_verdicts += 1
            self.publish(events.COMPLAINT_VERDICT, ticket, satisfied=satisfied,
                         unsatisfied_verdicts=complaint.unsatisfied_verdicts)
            self.move(ticket, self.next_state(ticket, aftercare.verdict_outcome(satisfied)))
        return self.complaint_view(ticket_id)

    @rpc
    def get_complaint(self, ticket_id):
        return self.complaint_view(ticket_id)

    def locked_complaint(self, ticket_id):
        ticket = self.locked(ticket_id)
        complaint = self.db.get(Complaint, ticket_id)
        if complaint is None:
            raise NotFound(f"no complaint is recorded on ticket {ticket_id}")
        return ticket, complaint

    def add_step(self, ticket, step, note, department=None, satisfied=None):
        self.db.add(ComplaintStep(ticket_id=ticket.id, step=step, note=note, department=department,
                                  satisfied=satisfied, actor=self.actor, at=self.now()))
        self.journal(ticket, f"complaint_{step}", {"department": department, "satisfied": satisfied})

    def complaint_view(self, ticket_id):
        complaint = self.db.get(Complaint, ticket_id)
        if complaint is None:
            raise NotFound(f"no complaint is recorded on ticket {ticket_id}")
        steps = self.db.scalars(select(ComplaintStep).where(ComplaintStep.ticket_id == ticket_id)
                                .order_by(ComplaintStep.id)).all()
        view = {column.key: getattr(complaint, column.key) for column in Complaint.__table__.columns}
        return shared(ComplaintSchema).dump(dict(view, steps=steps))

    # -- ratings ------------------------------------------------------------------------
    def open_rating(self, ticket, at):
        """A new resolution: a new one-time link for the customer to rate it."""
        token, digest = aftercare.new_rating_token()
        resolution = self.db.scalar(select(func.count()).select_from(Rating).where(Rating.ticket_id == ticket.id)) + 1
        self.db.add(Rating(ticket_id=ticket.id, resolution=resolution, token_hash=digest,
                           expires_at=at + aftercare.RATING_LINK_VALID))
        return token

    def replay_rating(self, ticket, score, comment):
        """An imported rating fills the latest unrated resolution."""
        rating = self.db.scalars(select(Rating).where(Rating.ticket_id == ticket.id, Rating.score.is_(None))
                                 .order_by(Rating.id.desc())).first()
        if rating is None:
            raise Conflict("a rating needs a resolution before it", {"history": ["rating before resolution"]})
        self.fill_rating(ticket, rating, score, comment)

    def fill_rating(self, ticket, rating, score, comment):
        rating.score, rating.comment, rating.rated_at = score, comment, self.now()
        if self.replay_at is None:
            self.on_success(metrics.CSAT_RATINGS.labels(str(score), ticket.team or "").inc)
        self.journal(ticket, "rated", {"score": score, "resolution": rating.resolution})
        self.publish(events.TICKET_RATED, ticket, score=score, resolution=rating.resolution,
                     top_box=aftercare.top_box(score))

    @rpc
    def submit_rating(self, token, data):
        """The customer rates through the link; no account needed (T6)."""
        fields = load(RatingSubmitSchema, data)
        with self.db.begin():
            rating = self.db.scalars(select(Rating).where(Rating.token_hash == aftercare.token_hash(token))
                                     .with_for_update()).first()
            try:
                aftercare.check_rating_allowed(rating, self.now())
            except aftercare.RuleBroken as exc:
                if rating is None:
                    raise NotFound(str(exc)) from None
                raise conflict(exc) from None
            self.fill_rating(self.db.get(Ticket, rating.ticket_id), rating, fields["score"], fields["comment"])
        return shared(RatingSchema).dump(rating)

    # -- callbacks -------------------------------------------------------------------------
    @rpc
    def schedule_callback(self, ticket_id, data):
        fields = load(CallbackCreateSchema, data)
        with self.db.begin():
            ticket = self.locked(ticket_id)
            assignee = fields["assignee"] or ticket.assignee or self.actor
            callback = Callback(ticket_id=ticket_id, scheduled_for=fields["scheduled_for"], assignee=assignee,
                                note=fields["note"], created_by=self.actor, created_at=self.now())
            self.db.add(callback)
            self.db.flush()
            self.journal(ticket, "callback_scheduled", {"callback_id": callback.id, "assignee": assignee})
            self.publish_callback(events.CALLBACK_SCHEDULED, ticket, callback)
        return shared(CallbackSchema).dump(callback)

    @rpc
    def record_callback_outcome(self, callback_id, data):
        fields = load(CallbackOutcomeSchema, data)
        with self.db.begin():
            callback = get_or_not_found(self.db, Callback, callback_id)
            if callback.completed_at is not None:
                raise Conflict("this callback's outcome is already recorded", {"outcome": [callback.outcome]})
            ticket = self.locked(callback.ticket_id)
            callback.outcome, callback.outcome_note, callback.completed_at = fields["outcome"], fields["note"], self.now()
            self.journal(ticket, "callback_completed", {"callback_id": callback.id, "outcome": callback.outcome})
            self.publish_callback(events.CALLBACK_COMPLETED, ticket, callback)
        return shared(CallbackSchema).dump(callback)

    @rpc
    def list_callbacks(self, query=None):
        criteria = load(CallbackListQuerySchema, query or {})
        conditions = []
        if "due_before" in criteria:
            conditions += [Callback.completed_at.is_(None), Callback.scheduled_for <= criteria.pop("due_before")]
        page = fetch_page(self.db, Callback, criteria, [Callback.scheduled_for, Callback.id], conditions)
        return shared(CallbackPageSchema).dump(page)

    def publish_callback(self, event_type, ticket, callback):
        self.publish(event_type, ticket, callback_id=callback.id, scheduled_for=callback.scheduled_for,
                     callback_assignee=callback.assignee, outcome=callback.outcome)

    # -- suggestions ----------------------------------------------------------------------------
    @rpc
    def forward_suggestion(self, ticket_id, data):
        department = load(ForwardSchema, data)["department"]
        with self.db.begin():
            ticket = self.locked(ticket_id)
            if ticket.kind != "suggestion":
                raise Conflict(f"ticket {ticket_id} is a {ticket.kind}, not a suggestion", {"kind": [ticket.kind]})
            suggestion = self.db.get(Suggestion, ticket_id)
            if suggestion is not None and suggestion.decided_at is not None:
                raise Conflict("the department has already decided", {"department": [suggestion.department]})
            if suggestion is None:
                suggestion = Suggestion(ticket_id=ticket_id)
                self.db.add(suggestion)
            suggestion.department, suggestion.forwarded_at = department, self.now()
            suggestion.forwarded_by = self.actor
            self.journal(ticket, "suggestion_forwarded", {"department": department})
            self.publish(events.SUGGESTION_FORWARDED, ticket, department=department, adopted=None)
        return shared(SuggestionSchema).dump(suggestion)

    @rpc
    def decide_suggestion(self, ticket_id, data):
        """Record the department's decision and report it to the customer."""
        fields = load(DecisionSchema, data)
        with self.db.begin():
            ticket = self.locked(ticket_id)
            suggestion = self.db.get(Suggestion, ticket_id)
            try:
                aftercare.check_decision_allowed(suggestion)
            except aftercare.RuleBroken as exc:
                raise conflict(exc) from None
            suggestion.adopted, suggestion.decision, suggestion.decided_at = (
                fields["adopted"], fields["decision"], self.now())
            self.journal(ticket, "suggestion_decided", {"adopted": fields["adopted"]})
            self.publish(events.SUGGESTION_DECIDED, ticket, department=suggestion.department,
                         adopted=suggestion.adopted)
            self.write_message(ticket, tickets.REPLY, aftercare.decision_reply(fields["adopted"], fields["decision"]))
        return shared(SuggestionSchema).dump(suggestion)
