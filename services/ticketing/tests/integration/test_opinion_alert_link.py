"""An opinion alert and its ticket note each other's ending (issue 24), on a unit of work over SQLite:
resolving the alert leaves an internal note on its ticket (once), and the ticket's resolution and
closing tell monitoring which alert the ticket was opened for."""
from ticketing.opinion_alerts import handlers as opinion_alerts
from ticketing.tickets import handlers as tickets

CONFIG = {"REQUIRE_CERTIFICATION": "false"}
ALERT = {"alert_id": 7, "key": "cluster/3", "kind": "cluster", "level": "II", "severity": 65.0,
         "summary": "某某外卖后厨有老鼠", "topics": ["外卖"], "cluster_id": 3, "cluster_size": 12, "crisis_terms": [],
         "opens_ticket": True, "state": "open", "owner": None, "raised_at": "2026-05-04T09:00:00+00:00",
         "post": None}


def event(event_id, event_type="opinion.alert_updated", **data):
    return {"id": event_id, "type": event_type, "source": "/csops/monitoring", "data": dict(ALERT, **data)}


def alert_ticket(unit):
    opinion_alerts.ticket_for_alert(unit(actor=None), event("raised", "opinion.alert_raised"), CONFIG)
    [ticket] = tickets.list_tickets(unit(), {})["items"]
    return ticket["id"]


def notes(unit, ticket_id):
    return [m["body"] for m in tickets.list_messages(unit(), ticket_id, {"include_notes": True})["items"]
            if m["kind"] == "note"]


def test_resolving_an_alert_notes_it_on_its_ticket_once(unit):
    ticket_id = alert_ticket(unit)
    opinion_alerts.ticket_for_alert(unit(actor=None), event("u1", change="note", actor="ann"), CONFIG)
    opinion_alerts.ticket_for_alert(unit(actor=None), event("u2", change="state", state="acknowledged",
                                                            from_state="open", actor="ann"), CONFIG)
    assert notes(unit, ticket_id) == []
    resolved = event("u3", change="state", state="resolved", from_state="acknowledged", actor="ann", owner="ann")
    opinion_alerts.ticket_for_alert(unit(actor=None), resolved, CONFIG)
    opinion_alerts.ticket_for_alert(unit(actor=None), resolved, CONFIG)  # redelivered
    [note] = notes(unit, ticket_id)
    assert "Opinion alert 7 (cluster/3) was resolved by ann" in note
    assert tickets.get_ticket(unit(), ticket_id)["state"] != "resolved", "the ticket is its handler's to resolve"


def test_an_alert_resolved_before_it_needed_a_ticket_notes_nothing(unit):
    quiet = event("u9", change="state", state="resolved", from_state="open", actor="ann", opens_ticket=False)
    opinion_alerts.ticket_for_alert(unit(actor=None), quiet, CONFIG)
    assert tickets.list_tickets(unit(), {})["total"] == 0


def test_an_alert_s_ticket_says_which_alert_when_resolved_and_closed(unit, published):
    ticket_id = alert_ticket(unit)
    other = tickets.create_ticket(unit(), {"subject": "Refund", "channel": "email", "kind": "inquiry",
                                           "customer": {"name": "Liu", "contact": "liu@example.com"}}, CONFIG)["id"]
    for ticket in (ticket_id, other):
        tickets.change_state(unit(), ticket, {"state": "resolved"})
        tickets.change_state(unit(), ticket, {"state": "closed"})
    told = {(e["type"], e["data"]["ticket_id"]): e["data"]["opinion_alert_id"] for e in published()
            if e["type"] in ("ticket.resolved", "ticket.closed")}
    assert told == {("ticket.resolved", ticket_id): 7, ("ticket.closed", ticket_id): 7,
                    ("ticket.resolved", other): None, ("ticket.closed", other): None}
