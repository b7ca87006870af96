"""Alerts: reading them, agents moving them through their lifecycle, and raising, escalating
and publishing them for the pipeline (``ingest``) and spike detection (``spikes``)."""
from marshmallow import fields
from sqlalchemy import select

from monitoring import events, metrics
from monitoring.alerts import rules as alerts
from monitoring.contract import (
    AlertActionSchema, AlertDetailSchema, AlertListQuerySchema, AlertNoteSchema, AlertPageSchema,
    AlertStateChangeSchema,
)
from monitoring.ingest import severity
from monitoring.models import Alert, AlertEntry, Cluster, Post
from plumbing.db import get_or_not_found
from plumbing.errors import Conflict, load_event_data, load_or_invalid as load
from plumbing.paging import fetch_page
from plumbing.schemas import TolerantSchema, shared


def list_alerts(uow, query=None):
    criteria = load(AlertListQuerySchema, query or {})
    page = fetch_page(uow.session, Alert, criteria, [Alert.raised_at.desc(), Alert.id.desc()])
    page["items"] = [alert_view(uow, alert) for alert in page["items"]]
    return shared(AlertPageSchema).dump(page)


def get_alert(uow, alert_id):
    alert = get_or_not_found(uow.session, Alert, alert_id)
    entries = uow.session.scalars(select(AlertEntry).where(AlertEntry.alert_id == alert_id).order_by(AlertEntry.id))
    return shared(AlertDetailSchema).dump(dict(alert_view(uow, alert), entries=list(entries)))


def change_alert_state(uow, alert_id, data):
    """Move the alert, hand it to ``owner`` (default: whoever acknowledges an unowned alert), with a note:
    one entry says what changed and why; asking for what already is writes nothing."""
    change = load(AlertStateChangeSchema, data)
    with uow.transaction():
        alert = locked_alert(uow, alert_id)
        before = alert.state
        owner = change["owner"] or (uow.actor if alert.owner is None and change["state"] == "acknowledged" else None)
        changes = {"owner": [alert.owner, owner]} if owner and owner != alert.owner else {}
        if change["state"] != alert.state:
            move_alert(uow, alert, change["state"], note=change["note"], publish=False, also=changes)
            kind = "state"
        elif changes:
            journal(uow, alert, "owner", note=change["note"], changes=changes)
            kind = "owner"
        elif change["note"]:
            journal(uow, alert, "note", note=change["note"])
            kind = "note"
        else:
            kind = None
        if changes:
            alert.owner = owner
        if kind:
            alert.updated_at = uow.now()
            publish_update(uow, alert, kind, from_state=before if kind == "state" else None)
    return get_alert(uow, alert_id)


def add_alert_action(uow, alert_id, data):
    action = load(AlertActionSchema, data)
    with uow.transaction():
        alert = locked_alert(uow, alert_id)
        try:
            after = alerts.state_after_action(alert.state)
        except alerts.InvalidTransition as exc:
            raise Conflict(str(exc), {"state": [alert.state]}) from None
        owned = {"owner": [None, uow.actor]} if alert.owner is None and uow.actor else {}
        if owned:
            alert.owner = uow.actor
        move_alert(uow, alert, after, publish=False)
        journal(uow, alert, "action", action=action["action"], note=action["note"], changes=owned)
        publish_update(uow, alert, "action")
    return get_alert(uow, alert_id)


def add_alert_note(uow, alert_id, data):
    note = load(AlertNoteSchema, data)["note"]
    with uow.transaction():
        alert = locked_alert(uow, alert_id)
        journal(uow, alert, "note", note=note)
        alert.updated_at = uow.now()
        publish_update(uow, alert, "note")
    return get_alert(uow, alert_id)


class SettledTicket(TolerantSchema):
    """What monitoring reads of ticketing's ticket.resolved and ticket.closed."""
    ticket_id = fields.Integer(required=True)
    actor = fields.String(allow_none=True, load_default=None)
    opinion_alert_id = fields.Integer(allow_none=True, load_default=None)


def ticket_settled(uow, event):
    """The ticket opened for an alert was resolved or closed: a ``ticket`` entry on the alert says so,
    once per event. The alert's state is left alone: the ticket is the customer's side of the
    story, the alert the public's, and whether the storm is over is for its handlers to say."""
    ticket = load_event_data(shared(SettledTicket), event)
    if ticket["opinion_alert_id"] is None:
        return
    with uow.transaction():
        if not uow.first_time(event):
            return
        alert = uow.session.get(Alert, ticket["opinion_alert_id"], with_for_update=True)
        if alert is None:  # a ticket opened for another installation's alert (a restored database)
            return
        settled = event["type"].split(".")[-1]  # resolved, closed
        by = f" by {ticket['actor']}" if ticket["actor"] else ""
        uow.session.add(AlertEntry(
            alert_id=alert.id, at=uow.now(), actor=ticket["actor"], kind="ticket",
            note=f"ticket {ticket['ticket_id']} was {settled}{by}; the alert stays {alert.state}",
            changes={"ticket_id": ticket["ticket_id"], "ticket_state": settled}))
        alert.updated_at = uow.now()


def locked_alert(uow, alert_id):
    return get_or_not_found(uow.session, Alert, alert_id, lock=True)


def move_alert(uow, alert, after, note=None, publish=True, also=None):
    """Only the move it names is stamped: resolving or responding from ``open`` is allowed (a false
    alarm, an answer given at once) and leaves ``acknowledged_at`` null, so the time-to-acknowledge
    figures count real acknowledgements only. ``also``: other changes of the same entry (the owner)."""
    before = alert.state
    if after == before:
        return
    try:
        alerts.check_transition(before, after)
    except alerts.InvalidTransition as exc:
        raise Conflict(str(exc), {"state": [str(exc)], "allowed": list(exc.allowed)}) from None
    now = uow.now()
    alert.state, alert.updated_at = after, now
    stamp = alerts.stamp_of(after)
    if getattr(alert, stamp) is None:
        setattr(alert, stamp, now)
        observed = {"acknowledged_at": metrics.TIME_TO_ACKNOWLEDGE, "resolved_at": metrics.TIME_TO_RESOLVE}.get(stamp)
        if observed is not None:
            uow.after_commit(observed.labels(alert.level).observe, (now - alert.raised_at).total_seconds())
    journal(uow, alert, "state", note=note, changes={"state": [before, after], **(also or {})})
    if publish:
        publish_update(uow, alert, "state", from_state=before)


def alert_view(uow, alert, cluster_size=None):
    size = cluster_size
    if size is None and alert.cluster_id:
        size = uow.session.get(Cluster, alert.cluster_id).size
    return {column.key: getattr(alert, column.key) for column in Alert.__table__.columns} | {"cluster_size": size}


def journal(uow, alert, kind, action=None, note=None, changes=None):
    uow.session.add(AlertEntry(alert_id=alert.id, at=uow.now(), actor=uow.actor, kind=kind,
                               action=action, note=note, changes=changes or {}))


def escalate(uow, alert, cluster, crisis_terms, now):
    """The cluster of an alert grew graver or brought new crisis terms: the alert follows."""
    alert.severity = max(alert.severity, cluster.severity)
    new_terms = sorted(set(crisis_terms) - set(alert.crisis_terms))
    escalated = severity.graver(cluster.level, alert.level) != alert.level
    if not (escalated or new_terms):
        return
    before = alert.level
    alert.level = severity.graver(cluster.level, alert.level)
    alert.crisis_terms = sorted(set(alert.crisis_terms) | set(new_terms))
    alert.opens_ticket = alert.opens_ticket or alerts.opens_ticket(alert.level, bool(alert.crisis_terms))
    alert.updated_at = now
    journal(uow, alert, "escalated", changes={"level": [before, alert.level], "crisis_terms": new_terms})
    publish_update(uow, alert, "escalated", from_level=before)


def new_alert(uow, key, kind, level, score, lead, cluster, topics, crisis_terms, now):
    """An alert added to the session; ``announce`` it once flushed."""
    summary = (lead.text if lead is not None else f"spike of negative posts on {', '.join(topics)}")[:500]
    alert = Alert(key=key, kind=kind, level=level, severity=score, summary=summary, topics=topics,
                  cluster_id=cluster.id if cluster else None, post_id=lead.id if lead else None,
                  crisis_terms=crisis_terms, opens_ticket=alerts.opens_ticket(level, bool(crisis_terms)),
                  state="open", raised_at=now, updated_at=now)
    uow.session.add(alert)
    return alert


def announce(uow, alert, lead, cluster_size):
    """Journal and publish a new alert (flushed: it has its id)."""
    uow.new_aggregate(events.AGGREGATE, f"alert-{alert.id}")
    journal(uow, alert, "raised", changes={"level": [None, alert.level]})
    uow.record(events.ALERT_RAISED, events.AGGREGATE, f"alert-{alert.id}", alert_facts(uow, alert, lead, cluster_size))
    uow.after_commit(metrics.ALERTS_RAISED.labels(alert.kind, alert.level).inc)


def publish_update(uow, alert, change, from_level=None, from_state=None):
    uow.record(events.ALERT_UPDATED, events.AGGREGATE, f"alert-{alert.id}", dict(
        alert_facts(uow, alert), change=change, actor=uow.actor, from_level=from_level, from_state=from_state))


def alert_facts(uow, alert, lead=None, cluster_size=None):
    """What alert events carry; ``lead`` and ``cluster_size`` where the caller has them at hand."""
    if lead is None and alert.post_id:
        lead = uow.session.get(Post, alert.post_id)
    return dict(alert_view(uow, alert, cluster_size), alert_id=alert.id, post=lead)
