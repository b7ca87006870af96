"""Ticketing opens one ticket per opinion alert key, from monitoring's events (M6)."""
import time

from plumbing.testing import call, publish_event, wait_for

ALERT = {"alert_id": 7, "key": "cluster/3", "kind": "cluster", "level": "III", "severity": 55.0,
         "summary": "某某外卖后厨有老鼠", "topics": ["外卖"], "cluster_id": 3, "cluster_size": 1, "crisis_terms": [],
         "opens_ticket": False, "state": "open", "owner": None, "raised_at": "2026-05-04T09:00:00+00:00",
         "post": {"id": 1, "platform": "weibo", "external_id": "1", "url": None, "text": "…",
                  "author_name": "都市快报", "author_id": "m-1", "author_kind": "media"}}


def test_one_ticket_per_key_once_an_alert_needs_one(ticketing, service_config):
    uri = service_config["AMQP_URI"]
    publish_event(uri, "monitoring", "opinion.alert_raised", ALERT, subject="opinion/alert-7")
    time.sleep(1)
    assert call(ticketing, "list_tickets")["total"] == 0  # level III: watched, not a ticket
    escalated = dict(ALERT, level="II", cluster_size=12, opens_ticket=True, change="escalated")
    envelope = publish_event(uri, "monitoring", "opinion.alert_updated", escalated, subject="opinion/alert-7",
                             sequence=2)
    [ticket] = wait_for(lambda: call(ticketing, "list_tickets")["items"], message="the alert's ticket")
    assert (ticket["channel"], ticket["kind"], ticket["priority"]) == ("social", "complaint", "high")
    # the same event redelivered, and later updates of the alert, open nothing more
    publish_event(uri, "monitoring", "opinion.alert_updated", escalated, subject="opinion/alert-7", sequence=2,
                  event_id=envelope["id"])
    publish_event(uri, "monitoring", "opinion.alert_updated", dict(escalated, level="I", change="escalated"),
                  subject="opinion/alert-7", sequence=3)
    time.sleep(1.5)
    assert call(ticketing, "list_tickets")["total"] == 1
