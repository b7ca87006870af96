"""Alerts and watch rules as agents and supervisors handle them (issue 24), on a unit of work over
SQLite: acknowledgement only when it happens, owners and notes in an alert's entries, the note a
ticket's resolution leaves on its alert, partial edits and deletion of watch rules."""
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY

from monitoring import models
from monitoring.alerts import handlers as alerts
from monitoring.watch_rules import handlers as watch_rules
from plumbing.errors import Conflict, InvalidInput, NotFound

RAISED = datetime.now(timezone.utc) - timedelta(minutes=30)


def raised_alert(unit, key="cluster/1", level="II"):
    u = unit()
    with u.transaction():
        alert = models.Alert(key=key, kind="cluster", level=level, severity=60.0, summary="外卖后厨有老鼠",
                             topics=["外卖"], crisis_terms=[], opens_ticket=True, state="open",
                             raised_at=RAISED, updated_at=RAISED)
        u.session.add(alert)
    return alert.id


def acknowledgements(level="II"):
    return REGISTRY.get_sample_value("csops_opinion_alert_acknowledge_seconds_count", {"level": level}) or 0


def state(unit, alert_id, actor="ann", **change):
    u = unit(actor)
    answer = alerts.change_alert_state(u, alert_id, change)
    u.run_after_commit()
    return answer


# -- 1. acknowledgement is recorded only when it happens --------------------------------------------------
def test_resolving_an_open_alert_leaves_it_unacknowledged_and_out_of_the_acknowledge_figures(unit):
    alert_id, counted = raised_alert(unit, level="I"), acknowledgements("I")
    resolved = state(unit, alert_id, state="resolved", note="a false alarm: the post was a joke")
    assert resolved["state"] == "resolved" and resolved["resolved_at"] is not None
    assert resolved["acknowledged_at"] is None and resolved["responding_at"] is None
    assert acknowledgements("I") == counted


def test_responding_straight_from_open_is_allowed_and_is_no_acknowledgement(unit):
    alert_id, counted = raised_alert(unit, level="I"), acknowledgements("I")
    u = unit("ann")
    responding = alerts.add_alert_action(u, alert_id, {"action": "reply_clarify"})
    u.run_after_commit()
    assert responding["state"] == "responding" and responding["responding_at"] is not None
    assert responding["acknowledged_at"] is None and acknowledgements("I") == counted


def test_an_acknowledgement_is_stamped_and_counted_once(unit):
    alert_id, counted = raised_alert(unit, level="III"), acknowledgements("III")
    acknowledged = state(unit, alert_id, state="acknowledged")
    assert acknowledged["acknowledged_at"] is not None and acknowledgements("III") == counted + 1
    resolved = state(unit, alert_id, state="resolved")
    assert resolved["acknowledged_at"] == acknowledged["acknowledged_at"] and acknowledgements("III") == counted + 1


# -- 2. owners and notes are in the alert's entries ---------------------------------------------------------
def test_a_change_of_owner_and_the_note_of_a_state_change_are_entries(unit):
    alert_id = raised_alert(unit)
    state(unit, alert_id, state="acknowledged", note="looking into it")
    handed = state(unit, alert_id, state="acknowledged", owner="bob", note="bob knows the shop")
    entries = [(e["kind"], e["actor"], e["note"], e["changes"]) for e in handed["entries"]]
    assert handed["owner"] == "bob"
    assert entries == [
        ("state", "ann", "looking into it", {"state": ["open", "acknowledged"], "owner": [None, "ann"]}),
        ("owner", "ann", "bob knows the shop", {"owner": ["ann", "bob"]}),
    ]
    again = state(unit, alert_id, state="acknowledged", owner="bob")  # nothing changes, nothing is written
    assert len(again["entries"]) == 2


# -- 3. a resolved or closed ticket notes it on its alert -------------------------------------------------
def ticket_event(event_type, ticket_id, alert_id, event_id=None, state_=None):
    return {"id": event_id or f"{event_type}-{ticket_id}", "type": event_type, "source": "/csops/ticketing",
            "data": {"ticket_id": ticket_id, "state": state_ or event_type.split(".")[1], "priority": "high",
                     "kind": "complaint", "channel": "social", "assignee": "cat", "team": None, "actor": "cat",
                     "opinion_alert_id": alert_id}}


def test_resolving_or_closing_an_alert_s_ticket_notes_it_on_the_alert_once(unit):
    alert_id = raised_alert(unit)
    alerts.ticket_settled(unit(None), ticket_event("ticket.resolved", 41, alert_id))
    alerts.ticket_settled(unit(None), ticket_event("ticket.resolved", 41, alert_id))  # redelivered
    alerts.ticket_settled(unit(None), ticket_event("ticket.closed", 41, alert_id))
    alerts.ticket_settled(unit(None), ticket_event("ticket.resolved", 42, None))  # no alert's ticket
    detail = alerts.get_alert(unit(), alert_id)
    assert detail["state"] == "open", "the alert is the monitoring team's to resolve: a note, not a change"
    assert [(e["kind"], e["actor"], e["changes"]) for e in detail["entries"]] == [
        ("ticket", "cat", {"ticket_id": 41, "ticket_state": "resolved"}),
        ("ticket", "cat", {"ticket_id": 41, "ticket_state": "closed"})]
    assert "ticket 41 was resolved by cat" in detail["entries"][0]["note"]


def test_a_ticket_event_for_an_alert_this_database_does_not_hold_is_ignored(unit):
    alerts.ticket_settled(unit(None), ticket_event("ticket.resolved", 41, 999))
    with pytest.raises(NotFound):
        alerts.get_alert(unit(), 999)


# -- 5. watch rules: partial edits and deletion -----------------------------------------------------------
def test_a_patch_changes_only_the_fields_it_names(unit):
    rule = watch_rules.create_rule(unit(), {"name": "外卖", "query": "外卖 OR delivery", "platforms": ["weibo"],
                                            "min_followers": 100})
    paused = watch_rules.update_rule(unit(), rule["id"], {"active": False})
    assert paused["active"] is False
    assert {k: paused[k] for k in ("name", "query", "platforms", "min_followers")} == {
        "name": "外卖", "query": "外卖 OR delivery", "platforms": ["weibo"], "min_followers": 100}
    renamed = watch_rules.update_rule(unit(), rule["id"], {"name": "delivery"})
    assert (renamed["name"], renamed["active"], renamed["platforms"]) == ("delivery", False, ["weibo"])
    with pytest.raises(InvalidInput) as refused:
        watch_rules.update_rule(unit(), rule["id"], {"query": "外卖 AND ("})
    assert "query" in refused.value.details


def test_a_rule_that_matched_nothing_is_deleted_and_one_that_did_is_refused(unit):
    unused = watch_rules.create_rule(unit(), {"name": "spare", "query": "spare"})
    used = watch_rules.create_rule(unit(), {"name": "外卖", "query": "外卖"})
    post = raised_post(unit)
    u = unit()
    with u.transaction():
        u.session.add(models.PostTopic(post_id=post, rule_id=used["id"]))
    watch_rules.delete_rule(unit(), unused["id"])
    assert [rule["name"] for rule in watch_rules.list_rules(unit())["items"]] == ["外卖"]
    with pytest.raises(NotFound):
        watch_rules.delete_rule(unit(), unused["id"])
    with pytest.raises(Conflict) as refused:
        watch_rules.delete_rule(unit(), used["id"])
    assert "active" in str(refused.value.details["rule"])


def raised_post(unit):
    u, now = unit(), datetime.now(timezone.utc)
    with u.transaction():
        post = models.Post(platform="weibo", external_id="p1", author_id="a", author_name="网友", author_followers=1,
                           author_verified=False, author_kind="person", text="外卖太慢", posted_at=now, reposts=0,
                           comments=0, likes=0, received_at=now, updated_at=now)
        u.session.add(post)
    return post.id
