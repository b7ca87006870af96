import pytest

from ticketing.opinion_alerts.rules import priority, ticket_request
from ticketing.contract import TicketCreateSchema

ALERT = {"alert_id": 7, "key": "cluster/3", "level": "II", "summary": "某某外卖后厨有老鼠" * 30, "topics": ["外卖"],
         "crisis_terms": [], "cluster_size": 41, "opens_ticket": True,
         "post": {"platform": "weibo", "url": "https://weibo.com/1/2", "text": "…", "author_name": "都市快报",
                  "author_id": "m-1"}}


@pytest.mark.parametrize("level, crisis_terms, expected", [
    ("I", [], "urgent"), ("II", [], "high"), ("III", [], "normal"), ("IV", [], "low"),
    ("IV", ["起诉"], "high"), ("I", ["起诉"], "urgent"),
])
def test_priority_by_level_and_crisis(level, crisis_terms, expected):
    assert priority(level, crisis_terms) == expected


def test_the_ticket_is_a_social_complaint_the_create_schema_accepts():
    request = ticket_request(ALERT)
    loaded = TicketCreateSchema().load(request)
    assert (loaded["channel"], loaded["kind"], loaded["priority"]) == ("social", "complaint", "high")
    assert len(loaded["subject"]) == 200 and loaded["subject"].startswith("Opinion alert level II: ")
    assert loaded["customer"] == {"name": "都市快报", "contact": "weibo:m-1"}
    assert loaded["tags"] == ["opinion", "level-ii"]
    assert loaded["custom_fields"] == {"opinion_alert_id": 7, "opinion_alert_key": "cluster/3"}
    assert "https://weibo.com/1/2" in loaded["description"] and "Near-duplicate posts: 41" in loaded["description"]


def test_a_spike_alert_has_no_post_and_a_crisis_is_tagged():
    loaded = TicketCreateSchema().load(ticket_request(dict(ALERT, post=None, cluster_size=None, crisis_terms=["诈骗"])))
    assert loaded["customer"] == {"name": "public opinion", "contact": "social media"}
    assert "crisis" in loaded["tags"] and "Crisis terms: 诈骗" in loaded["description"]
