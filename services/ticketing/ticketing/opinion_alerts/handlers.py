"""Opening a ticket for a public-opinion alert (M6); what it opens is in ``rules.py``.

The ``opinion_alert_tickets`` table holds one ticket per alert key."""
from marshmallow import fields

from plumbing.errors import load_event_data, load_or_invalid as load
from plumbing.schemas import TolerantSchema, shared
from ticketing.contract import NOTE, TicketCreateSchema
from ticketing.models import OpinionAlertTicket
from ticketing.opinion_alerts import rules
from ticketing.tickets import steps


class AlertPost(TolerantSchema):
    platform = fields.String(required=True)
    url = fields.String(allow_none=True, load_default=None)
    text = fields.String(required=True)
    author_name = fields.String(required=True)
    author_id = fields.String(required=True)


class OpinionAlert(TolerantSchema):
    alert_id = fields.Integer(required=True)
    key = fields.String(required=True)
    level = fields.String(required=True)
    summary = fields.String(required=True)
    topics = fields.List(fields.String(), load_default=list)
    crisis_terms = fields.List(fields.String(), load_default=list)
    cluster_size = fields.Integer(allow_none=True, load_default=None)
    opens_ticket = fields.Boolean(required=True)
    post = fields.Nested(AlertPost, allow_none=True, load_default=None)
    state = fields.String(load_default=None)
    change = fields.String(load_default=None, metadata={"description": "of opinion.alert_updated"})
    from_state = fields.String(allow_none=True, load_default=None)
    actor = fields.String(allow_none=True, load_default=None)


def ticket_for_alert(uow, event, config):
    """The alert's ticket, opened once per key when the alert says it opens one; the alert's resolution
    is noted on it (internal note), once per event. Resolving the alert leaves the ticket's state alone:
    the customer behind the post may still be waiting for an answer."""
    alert = load_event_data(shared(OpinionAlert), event)
    if not alert["opens_ticket"]:
        return
    with uow.transaction():
        # the key's row is the lock: a concurrent event for the same key fails on it and is retried
        if not uow.first_time(event):
            return
        linked = uow.session.get(OpinionAlertTicket, alert["key"])
        if linked is None:
            ticket = steps.open_ticket(uow, load(TicketCreateSchema, rules.ticket_request(alert)), config)
            uow.session.add(OpinionAlertTicket(alert_key=alert["key"], alert_id=alert["alert_id"],
                                               ticket_id=ticket.id, opened_at=uow.now()))
        elif rules.is_resolution(alert):
            steps.write_message(uow, steps.locked(uow, linked.ticket_id), NOTE, rules.resolution_note(alert), config)

