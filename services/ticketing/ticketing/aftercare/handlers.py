"""After-care use cases: complaints, ratings, callbacks and suggestions
(T5, T6, T7). The rules are in ``rules.py``."""
from sqlalchemy import func, select

from plumbing.db import get_or_not_found
from plumbing.errors import Conflict, InvalidInput, NotFound, load_or_invalid as load
from plumbing.paging import fetch_page
from plumbing.schemas import shared
from plumbing.text import with_article
from ticketing import events, metrics
from ticketing.aftercare import rules
from ticketing.contract import (
    REPLY, CallbackCreateSchema, CallbackListQuerySchema, CallbackOutcomeSchema, CallbackPageSchema, CallbackSchema,
    ComplaintRecordSchema, ComplaintResultSchema, ComplaintSchema, CoordinationSchema, DecisionSchema,
    ForwardSchema, RatingLinkSchema, RatingSchema, RatingSubmitSchema, SuggestionSchema, VerdictSchema,
)
from ticketing.models import Callback, Complaint, ComplaintStep, Rating, Suggestion, Ticket
from ticketing.tickets import steps


def conflict(exc):
    return Conflict(str(exc), {"_rule": [str(exc)]})


# -- complaints ----------------------------------------------------------------------------
def record_complaint(uow, ticket_id, data):
    fields = load(ComplaintRecordSchema, data)
    with uow.transaction():
        ticket = steps.locked(uow, ticket_id)
        if ticket.kind != "complaint":
            raise Conflict(f"ticket {ticket_id} is {with_article(ticket.kind)}, not a complaint",
                           {"kind": [ticket.kind]})
        if uow.session.get(Complaint, ticket_id) is not None:
            raise Conflict("the complaint is already recorded", {"ticket_id": ["already recorded"]})
        complaint = Complaint(ticket_id=ticket_id, **fields, recorded_by=uow.actor, recorded_at=uow.now(),
                              unsatisfied_verdicts=0)
        uow.session.add(complaint)
        steps.journal(uow, ticket, "complaint_recorded", {"severity": fields["severity"],
                                                          "category": fields["category"]})
        steps.publish(uow, events.COMPLAINT_RECORDED, ticket, severity=fields["severity"],
                      category=fields["category"])
        if rules.escalates(fields["severity"]):
            steps.escalate(uow, ticket, f"{fields['severity']} complaint: management is informed")
    return complaint_view(uow, ticket_id)


def coordinate_complaint(uow, ticket_id, data):
    fields = load(CoordinationSchema, data)
    with uow.transaction():
        ticket, _ = locked_complaint(uow, ticket_id)
        add_step(uow, ticket, "coordinated", fields["note"], department=fields["department"])
    return complaint_view(uow, ticket_id)


def report_complaint_result(uow, ticket_id, data, config):
    """Record what was done and tell the customer (a public reply)."""
    result = load(ComplaintResultSchema, data)["result"]
    with uow.transaction():
        ticket, complaint = locked_complaint(uow, ticket_id)
        complaint.result, complaint.result_reported_at = result, uow.now()
        add_step(uow, ticket, "result", result)
        steps.write_message(uow, ticket, REPLY, result, config)
    return complaint_view(uow, ticket_id)


def complaint_verdict(uow, ticket_id, data):
    """The customer's verdict on a resolved complaint: settle it or reopen it."""
    verdict = load(VerdictSchema, data)
    with uow.transaction():
        ticket, complaint = locked_complaint(uow, ticket_id)
        try:
            rules.check_verdict_allowed(complaint, ticket.state)
        except rules.RuleBroken as exc:
            raise conflict(exc) from None
        satisfied = verdict["satisfied"]
        add_step(uow, ticket, "verdict", verdict["comment"], satisfied=satisfied)
        if satisfied:
            complaint.settled_at = uow.now()
        else:
            complaint.unsatisfied_verdicts += 1
        steps.publish(uow, events.COMPLAINT_VERDICT, ticket, satisfied=satisfied,
                      unsatisfied_verdicts=complaint.unsatisfied_verdicts)
        steps.move(uow, ticket, steps.next_state(ticket, rules.verdict_outcome(satisfied)))
    return complaint_view(uow, ticket_id)


def get_complaint(uow, ticket_id):
    steps.readable(uow, ticket_id)
    return complaint_view(uow, ticket_id)


def locked_complaint(uow, ticket_id):
    ticket = steps.locked(uow, ticket_id)
    complaint = uow.session.get(Complaint, ticket_id)
    if complaint is None:
        raise NotFound(f"no complaint is recorded on ticket {ticket_id}")
    return ticket, complaint


def add_step(uow, ticket, step, note, department=None, satisfied=None):
    uow.session.add(ComplaintStep(ticket_id=ticket.id, step=step, note=note, department=department,
                                  satisfied=satisfied, actor=uow.actor, at=uow.now()))
    steps.journal(uow, ticket, f"complaint_{step}", {"department": department, "satisfied": satisfied})


def complaint_view(uow, ticket_id):
    complaint = uow.session.get(Complaint, ticket_id)
    if complaint is None:
        raise NotFound(f"no complaint is recorded on ticket {ticket_id}")
    complaint_steps = uow.session.scalars(select(ComplaintStep).where(ComplaintStep.ticket_id == ticket_id)
                                          .order_by(ComplaintStep.id)).all()
    view = {column.key: getattr(complaint, column.key) for column in Complaint.__table__.columns}
    return shared(ComplaintSchema).dump(dict(view, steps=complaint_steps))


# -- ratings ------------------------------------------------------------------------------------
def open_rating(uow, ticket, at):
    """A new resolution: a new one-time link for the customer to rate it; returns the link's token."""
    for earlier in uow.session.scalars(select(Rating).where(Rating.ticket_id == ticket.id, Rating.score.is_(None))):
        _, earlier.token_hash = rules.new_rating_token()  # one live link per ticket: the latest resolution's
    token, digest = rules.new_rating_token()
    resolution = uow.session.scalar(select(func.count()).select_from(Rating).where(Rating.ticket_id == ticket.id)) + 1
    uow.session.add(Rating(ticket_id=ticket.id, resolution=resolution, token_hash=digest,
                           expires_at=at + rules.RATING_LINK_VALID))
    return token


def issue_rating_link(uow, ticket_id):
    """A new one-time link to rate the ticket's latest resolution, for the customer's
    side to deliver; only its hash is kept, so the link issued before stops working."""
    with uow.transaction():
        ticket = steps.locked(uow, ticket_id)
        rating = uow.session.scalars(select(Rating).where(Rating.ticket_id == ticket.id)
                                     .order_by(Rating.resolution.desc()).with_for_update()).first()
        try:
            rules.check_link_renewable(rating, uow.now())
        except rules.RuleBroken as exc:
            raise conflict(exc) from None
        token, rating.token_hash = rules.new_rating_token()
        steps.journal(uow, ticket, "rating_link_issued", {"resolution": rating.resolution})
        return shared(RatingLinkSchema).dump({"ticket_id": ticket.id, "resolution": rating.resolution,
                                              "rating_token": token, "expires_at": rating.expires_at})


def replay_rating(uow, ticket, score, comment):
    """An imported rating fills the latest unrated resolution."""
    rating = uow.session.scalars(select(Rating).where(Rating.ticket_id == ticket.id, Rating.score.is_(None))
                                 .order_by(Rating.id.desc())).first()
    if rating is None:
        raise Conflict("a rating needs a resolution before it", {"history": ["rating before resolution"]})
    fill_rating(uow, ticket, rating, score, comment)


def fill_rating(uow, ticket, rating, score, comment):
    rating.score, rating.comment, rating.rated_at = score, comment, uow.now()
    if not uow.replaying:
        uow.after_commit(metrics.CSAT_RATINGS.labels(str(score), ticket.team or "").inc)
    steps.journal(uow, ticket, "rated", {"score": score, "resolution": rating.resolution})
    steps.publish(uow, events.TICKET_RATED, ticket, score=score, resolution=rating.resolution,
                  top_box=rules.top_box(score))


def submit_rating(uow, token, data):
    """The customer rates through the link; no account needed (T6)."""
    fields = load(RatingSubmitSchema, data)
    with uow.transaction():
        rating = uow.session.scalars(select(Rating).where(Rating.token_hash == rules.token_hash(token))
                                     .with_for_update()).first()
        try:
            rules.check_rating_allowed(rating, uow.now())
        except rules.RuleBroken as exc:
            if rating is None:
                raise NotFound(str(exc)) from None
            raise conflict(exc) from None
        fill_rating(uow, uow.session.get(Ticket, rating.ticket_id), rating, fields["score"], fields["comment"])
    return shared(RatingSchema).dump(rating)


def rating_link_state(uow, token):
    """Where a rating link stands, read only (its page shows the form or why not): ``{"state": "open" |
    "rated" | "expired"}``; an unknown or replaced token is NotFound, saying nothing of any ticket."""
    rating = uow.session.scalars(select(Rating).where(Rating.token_hash == rules.token_hash(token))).first()
    state = rules.rating_link_state(rating, uow.now())
    if state is None:
        raise NotFound("this rating link is not valid")
    return {"state": state}


# -- callbacks ------------------------------------------------------------------------------------
def schedule_callback(uow, ticket_id, data):
    fields = load(CallbackCreateSchema, data)
    problem = rules.callback_time_problem(fields["scheduled_for"], uow.now())
    if problem:
        raise InvalidInput(f"scheduled_for {problem}", {"scheduled_for": [problem]})
    with uow.transaction():
        ticket = steps.locked(uow, ticket_id)
        assignee = fields["assignee"] or ticket.assignee or uow.actor
        callback = Callback(ticket_id=ticket_id, scheduled_for=fields["scheduled_for"], assignee=assignee,
                            note=fields["note"], created_by=uow.actor, created_at=uow.now())
        uow.session.add(callback)
        uow.session.flush()
        steps.journal(uow, ticket, "callback_scheduled", {"callback_id": callback.id, "assignee": assignee})
        publish_callback(uow, events.CALLBACK_SCHEDULED, ticket, callback)
    return shared(CallbackSchema).dump(callback)


def record_callback_outcome(uow, callback_id, data):
    fields = load(CallbackOutcomeSchema, data)
    with uow.transaction():
        callback = get_or_not_found(uow.session, Callback, callback_id)
        try:
            ticket = steps.locked(uow, callback.ticket_id)  # a callback is within reach as its ticket is
        except NotFound:
            raise NotFound(f"callback {callback_id} does not exist") from None
        if callback.completed_at is not None:
            raise Conflict("this callback's outcome is already recorded", {"outcome": [callback.outcome]})
        callback.outcome, callback.outcome_note, callback.completed_at = fields["outcome"], fields["note"], uow.now()
        steps.journal(uow, ticket, "callback_completed", {"callback_id": callback.id, "outcome": callback.outcome})
        publish_callback(uow, events.CALLBACK_COMPLETED, ticket, callback)
    return shared(CallbackSchema).dump(callback)


def list_callbacks(uow, query):
    """The callbacks of the tickets the caller may read that match the query."""
    criteria = load(CallbackListQuerySchema, query or {})
    asked = dict(criteria)
    conditions = [Callback.ticket_id.in_(select(Ticket.id).where(steps.readable_condition(uow)))]
    if "due_before" in criteria:
        conditions += [Callback.completed_at.is_(None), Callback.scheduled_for <= criteria.pop("due_before")]
    page = fetch_page(uow.session, Callback, criteria, [Callback.scheduled_for, Callback.id], conditions,
                      query=asked)
    return shared(CallbackPageSchema).dump(page)


def publish_callback(uow, event_type, ticket, callback):
    steps.publish(uow, event_type, ticket, callback_id=callback.id, scheduled_for=callback.scheduled_for,
                  callback_assignee=callback.assignee, outcome=callback.outcome)


# -- suggestions ------------------------------------------------------------------------------------
def forward_suggestion(uow, ticket_id, data):
    department = load(ForwardSchema, data)["department"]
    with uow.transaction():
        ticket = steps.locked(uow, ticket_id)
        if ticket.kind != "suggestion":
            raise Conflict(f"ticket {ticket_id} is {with_article(ticket.kind)}, not a suggestion",
                           {"kind": [ticket.kind]})
        suggestion = uow.session.get(Suggestion, ticket_id)
        if suggestion is not None and suggestion.decided_at is not None:
            raise Conflict("the department has already decided", {"department": [suggestion.department]})
        if suggestion is None:
            suggestion = Suggestion(ticket_id=ticket_id)
            uow.session.add(suggestion)
        suggestion.department, suggestion.forwarded_at = department, uow.now()
        suggestion.forwarded_by = uow.actor
        steps.journal(uow, ticket, "suggestion_forwarded", {"department": department})
        steps.publish(uow, events.SUGGESTION_FORWARDED, ticket, department=department, adopted=None)
    return shared(SuggestionSchema).dump(suggestion)


def decide_suggestion(uow, ticket_id, data, config):
    """Record the department's decision and report it to the customer."""
    fields = load(DecisionSchema, data)
    with uow.transaction():
        ticket = steps.locked(uow, ticket_id)
        suggestion = uow.session.get(Suggestion, ticket_id)
        try:
            rules.check_decision_allowed(suggestion)
        except rules.RuleBroken as exc:
            raise conflict(exc) from None
        suggestion.adopted, suggestion.decision, suggestion.decided_at = (
            fields["adopted"], fields["decision"], uow.now())
        steps.journal(uow, ticket, "suggestion_decided", {"adopted": fields["adopted"]})
        steps.publish(uow, events.SUGGESTION_DECIDED, ticket, department=suggestion.department,
                      adopted=suggestion.adopted)
        steps.write_message(uow, ticket, REPLY, rules.decision_reply(fields["adopted"], fields["decision"]), config)
    return shared(SuggestionSchema).dump(suggestion)
