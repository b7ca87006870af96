"""Tickets for public-opinion alerts (M6): monitoring raises, ticketing works them.

Monitoring publishes ``opinion.alert_raised`` and ``opinion.alert_updated``
(an alert escalates, say from level III to II); when the data says
``opens_ticket`` (levels II and I, and crisis posts), this opens a social
complaint with the priority of the level. ``key`` names what the alert is
about (a cluster of near-duplicate posts, or a topic's spike), and the
``opinion_alert_tickets`` table holds one ticket per key: a wave of reposts,
the alert's later updates and a redelivered event all find the ticket there.
"""
from datetime import datetime

from marshmallow import EXCLUDE, Schema, fields
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from plumbing.consumer import event_handler
from plumbing.db import UTCDateTime
from plumbing.errors import load_event_data, load_or_invalid as load
from ticketing.models import Base
from ticketing.contract import TicketCreateSchema

PRIORITY_OF_LEVEL = {"I": "urgent", "II": "high", "III": "normal", "IV": "low"}
CRISIS_PRIORITY = "high"  # a crisis post at a low level still needs a quick look
SUBJECT_LENGTH = 200


class OpinionAlertTicket(Base):
    __tablename__ = "opinion_alert_tickets"

    alert_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    alert_id: Mapped[int] = mapped_column(Integer)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", name="fk_opinion_alert_tickets_ticket_id_tickets"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertPost(Schema):
    class Meta:
        unknown = EXCLUDE

    platform = fields.String(required=True)
    url = fields.String(allow_none=True, load_default=None)
    text = fields.String(required=True)
    author_name = fields.String(required=True)
    author_id = fields.String(required=True)


class OpinionAlert(Schema):
    class Meta:
        unknown = EXCLUDE

    alert_id = fields.Integer(required=True)
    key = fields.String(required=True)
    level = fields.String(required=True)
    summary = fields.String(required=True)
    topics = fields.List(fields.String(), load_default=list)
    crisis_terms = fields.List(fields.String(), load_default=list)
    cluster_size = fields.Integer(allow_none=True, load_default=None)
    opens_ticket = fields.Boolean(required=True)
    post = fields.Nested(AlertPost, allow_none=True, load_default=None)


def priority(level, crisis_terms):
    chosen = PRIORITY_OF_LEVEL.get(level, "normal")
    ranks = list(PRIORITY_OF_LEVEL.values())[::-1]  # low .. urgent
    if crisis_terms and ranks.index(chosen) < ranks.index(CRISIS_PRIORITY):
        return CRISIS_PRIORITY
    return chosen


def ticket_request(alert):
    """What TicketCreateSchema takes for this alert."""
    post = alert["post"]
    lines = [alert["summary"], ""]
    if post and post["url"]:
        lines.append(f"Post: {post['url']}")
    lines.append(f"Topics: {', '.join(alert['topics']) or '-'}")
    if alert["cluster_size"]:
        lines.append(f"Near-duplicate posts: {alert['cluster_size']}")
    if alert["crisis_terms"]:
        lines.append(f"Crisis terms: {', '.join(alert['crisis_terms'])}")
    lines.append(f"Opinion alert {alert['alert_id']} ({alert['key']}), level {alert['level']}")
    customer = ({"name": post["author_name"][:200], "contact": f"{post['platform']}:{post['author_id']}"[:200]}
                if post else {"name": "public opinion", "contact": "social media"})
    return {
        "subject": f"Opinion alert level {alert['level']}: {alert['summary']}"[:SUBJECT_LENGTH],
        "description": "\n".join(lines), "channel": "social", "kind": "complaint",
        "priority": priority(alert["level"], alert["crisis_terms"]), "customer": customer,
        "tags": ["opinion", f"level-{alert['level'].lower()}"] + (["crisis"] if alert["crisis_terms"] else []),
        "custom_fields": {"opinion_alert_id": alert["alert_id"], "opinion_alert_key": alert["key"]},
    }


class OpinionAlertTickets:
    """Mixed into TicketingService: needs its ``db``, ``inbox``, ``now`` and ``open_ticket``."""

    @event_handler("monitoring", "opinion.alert_raised")
    def on_opinion_alert_raised(self, event):
        self.ticket_for_alert(event)

    @event_handler("monitoring", "opinion.alert_updated")
    def on_opinion_alert_updated(self, event):
        self.ticket_for_alert(event)

    def ticket_for_alert(self, event):
        alert = load_event_data(OpinionAlert(), event)
        if not alert["opens_ticket"]:
            return
        with self.db.begin():
            # the key's row is the lock: a concurrent event for the same key fails on it and is retried
            if not self.inbox.first_time(self.db, event) or self.db.get(OpinionAlertTicket, alert["key"]):
                return
            ticket = self.open_ticket(load(TicketCreateSchema, ticket_request(alert)))
            self.db.add(OpinionAlertTicket(alert_key=alert["key"], alert_id=alert["alert_id"], ticket_id=ticket.id,
                                           opened_at=self.now()))
