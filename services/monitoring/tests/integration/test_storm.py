"""Done when (issue 6): a storm of near-duplicate negative posts from a
verified media account over a quiet baseline raises one level-II alert and
one ticket in ticketing; a steady trickle of mixed posts raises none."""
import time
from datetime import datetime, timedelta, timezone

from prometheus_client import REGISTRY

from plumbing.testing import call, call_as, wait_for

MEDIA = {"id": "m-1", "name": "都市快报", "followers": 3_000_000, "verified": True, "kind": "media"}

STORY = "某某外卖后厨卫生太差，操作台上有老鼠，顾客吃完身体不适，商家至今没有回应"
MIXED = ["点了某某外卖，送得挺快，味道不错", "某某外卖今天上线新菜单", "某某外卖送餐晚了半小时，有点不爽",
         "某某外卖的骑手很有礼貌", "某某外卖这次少送了一份米饭"]


def post(external_id, text, posted_at, author, **counts):
    return dict({"platform": "weibo", "external_id": external_id, "author": author, "text": text,
                 "posted_at": posted_at.isoformat()}, **counts)


def quiet_baseline(monitoring, now, days=3):
    """One mixed post an hour by ordinary people over the last days."""
    posts = [post(f"base-{hour}", MIXED[hour % len(MIXED)], now - timedelta(hours=hour, minutes=30),
                  author={"id": f"p{hour}", "name": f"路人{hour}", "followers": 300})
             for hour in range(1, 24 * days)]
    call(monitoring, "ingest_posts", {"posts": posts})


def trickle(monitoring, now, count=6):
    for index in range(count):
        call(monitoring, "ingest_post", post(f"trickle-{index}", MIXED[index % len(MIXED)],
                                             now - timedelta(minutes=50 - 8 * index),
                                             author={"id": f"t{index}", "name": f"网友{index}", "followers": 800}))


def tickets(ticketing):
    return call(ticketing, "list_tickets")["items"]


def test_a_storm_raises_one_level_two_alert_and_one_ticket(monitoring, ticketing, topic):
    now = datetime.now(timezone.utc)
    quiet_baseline(monitoring, now)
    at = now - timedelta(minutes=1)
    call(monitoring, "ingest_post", post("storm-0", STORY, at, author=MEDIA, reposts=120, comments=40, likes=300))
    for start in range(1, 41, 10):  # reposts arrive in batches, as integrations push them
        call(monitoring, "ingest_posts", {"posts": [
            post(f"storm-{index}", f"转发微博 //@网友{index}: {STORY}", at + timedelta(seconds=index),
                 author={"id": f"r{index}", "name": f"网友{index}", "followers": 50 + index})
            for index in range(start, start + 10)]})

    [alert] = call(monitoring, "list_alerts")["items"]
    assert (alert["kind"], alert["level"], alert["opens_ticket"], alert["cluster_size"]) == ("cluster", "II", True, 41)
    detail = call(monitoring, "get_alert", alert["id"])
    assert [entry["kind"] for entry in detail["entries"]][:2] == ["raised", "escalated"]
    assert "spike" in [entry["kind"] for entry in detail["entries"]]  # the spike joined the alert: no second one
    assert REGISTRY.get_sample_value("csops_opinion_alerts_open", {"level": "II", "state": "open"}) == 1

    [ticket] = wait_for(lambda: tickets(ticketing), message="a ticket for the alert")
    assert (ticket["channel"], ticket["kind"], ticket["priority"]) == ("social", "complaint", "high")
    assert ticket["custom_fields"] == {"opinion_alert_id": alert["id"], "opinion_alert_key": alert["key"]}
    assert call(ticketing, "get_ticket", ticket["id"])["customer"] == {"name": MEDIA["name"], "contact": "weibo:m-1"}
    time.sleep(1.5)  # later updates of the same alert (the spike, redeliveries) must not open another
    assert len(tickets(ticketing)) == 1

    # the two ends note each other's ending, through the broker, and leave each other's state alone (issue 24)
    call_as("cat", ticketing, "change_state", ticket["id"], {"state": "resolved"}, roles=["admin"])
    noted = wait_for(lambda: [e for e in call(monitoring, "get_alert", alert["id"])["entries"] if e["kind"] == "ticket"],
                     message="the ticket's resolution on the alert")
    assert noted[0]["changes"] == {"ticket_id": ticket["id"], "ticket_state": "resolved"} and noted[0]["actor"] == "cat"
    call_as("ann", monitoring, "change_alert_state", alert["id"], {"state": "resolved", "note": "clarified"})
    notes = wait_for(lambda: [m for m in call_as("sue", ticketing, "list_messages", ticket["id"], {"include_notes": True},
                                                  roles=["admin"])["items"] if m["kind"] == "note"],
                     message="the alert's resolution on the ticket")
    assert f"Opinion alert {alert['id']} ({alert['key']}) was resolved by ann" in notes[0]["body"]
    assert call(ticketing, "get_ticket", ticket["id"])["state"] == "resolved"


def test_a_steady_trickle_of_mixed_posts_raises_nothing(monitoring, ticketing, topic):
    now = datetime.now(timezone.utc)
    quiet_baseline(monitoring, now)
    trickle(monitoring, now)
    assert call(monitoring, "list_posts", {"on_topic": True})["total"] == 3 * 24 - 1 + 6
    assert call(monitoring, "list_alerts")["total"] == 0
    assert sum(REGISTRY.get_sample_value("csops_opinion_alerts_open", {"level": level, "state": "open"})
               for level in ("IV", "III", "II", "I")) == 0
    time.sleep(1.5)
    assert tickets(ticketing) == []
