"""Monitoring through the gateway (M1-M7, X1): an integration pushes posts,
a supervisor sets topics, an agent handles the alert and corrects a post;
bad input is a 400 naming the field."""
from datetime import datetime, timedelta, timezone

import pytest

STORY = "某某外卖后厨卫生太差，操作台上有老鼠，顾客吃完身体不适，商家至今没有回应"


@pytest.fixture
def platform(start_platform):
    return start_platform("monitoring", "ticketing")


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def post(external_id, text, author=None, minutes_ago=1):
    return {"platform": "weibo", "external_id": external_id, "text": text,
            "author": author or {"id": f"u{external_id}", "name": "网友", "followers": 100},
            "posted_at": (datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)).isoformat()}


def test_posts_rules_alert_handling_correction_and_reports(platform, client, make_account):
    admin = client.login()
    ok(admin.post(client.url("/api/v1/monitoring/rules"), json={"name": "外卖", "query": "外卖 OR delivery"}), 201)
    media = {"id": "m1", "name": "都市快报", "followers": 3_000_000, "verified": True, "kind": "media"}
    batch = [dict(post("s0", STORY, media), reposts=120, comments=40, likes=300)] + [post(f"s{i}", f"转发微博 //@网友{i}: {STORY}") for i in range(1, 12)]
    result = ok(admin.post(client.url("/api/v1/monitoring/posts/batch"), json={"posts": batch + [post("x", "今天天气好")]}))
    assert (result["created"], result["updated"]) == (13, 0)
    first, off_topic = result["items"][0], result["items"][-1]
    assert (first["on_topic"], first["topics"], first["sentiment"]) == (True, ["外卖"], "negative")
    assert (off_topic["on_topic"], off_topic["sentiment"], off_topic["cluster_id"]) == (False, None, None)

    agent = make_account("ann", ["agent"])
    [alert] = ok(agent.get(client.url("/api/v1/monitoring/alerts")))["items"]
    assert (alert["level"], alert["cluster_size"], alert["state"]) == ("II", 12, "open")
    url = client.url(f"/api/v1/monitoring/alerts/{alert['id']}")
    ghost = agent.post(url + "/state", json={"state": "acknowledged", "owner": "ghost"})
    assert ghost.status_code == 400 and ghost.json()["error"]["details"] == {"owner": ["'ghost' is not an account"]}
    assert ok(agent.post(url + "/state", json={"state": "acknowledged"}))["owner"] == "ann"
    acted = ok(agent.post(url + "/actions", json={"action": "reply_clarify", "note": "replied under the post"}))
    assert acted["state"] == "responding"
    resolved = ok(agent.post(url + "/state", json={"state": "resolved", "note": "clarified"}))
    assert [e["kind"] for e in resolved["entries"]][-3:] == ["state", "action", "state"]
    refused = agent.post(url + "/state", json={"state": "acknowledged"})
    assert refused.status_code == 409 and refused.json()["error"]["details"]["allowed"] == []

    corrected = ok(agent.post(client.url(f"/api/v1/monitoring/posts/{first['id']}/sentiment"),
                              json={"sentiment": "neutral"}))
    assert (corrected["sentiment"], corrected["corrected"]) == ("neutral", True)

    since = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    until = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    query = {"since": since, "until": until}
    report = ok(admin.get(client.url("/api/v1/monitoring/reports/trend"), params=query))
    assert sum(point["total"] for point in report["trend"]) == 13 and report["alerts"]["raised"] == 1
    assert len(ok(admin.get(client.url("/api/v1/monitoring/reports/trend")))["trend"]) == 7  # the last 7 days
    assert report["top_negative_clusters"][0]["size"] == 12
    png = admin.get(client.url("/api/v1/monitoring/reports/trend.png"), params=query)
    assert png.headers["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    csv = admin.get(client.url("/api/v1/monitoring/reports/trend.csv"), params=query)
    assert csv.text.startswith("period_start,total,negative,neutral,positive,off_topic,negative_share")

    rules = client.url("/api/v1/monitoring/rules")
    [topic] = ok(admin.get(rules))["items"]
    assert ok(admin.patch(f"{rules}/{topic['id']}", json={"active": False}))["query"] == "外卖 OR delivery"
    assert admin.delete(f"{rules}/{topic['id']}").status_code == 409  # posts matched it
    spare = ok(admin.post(rules, json={"name": "spare", "query": "spare"}), 201)
    assert admin.delete(f"{rules}/{spare['id']}").status_code == 204
    assert admin.delete(f"{rules}/{spare['id']}").status_code == 404


def test_analyse_answers_in_order_and_stores_nothing(platform, client):
    admin = client.login()
    texts = ["等了三个小时外卖还没到，客服电话也打不通", "Great service, fixed in five minutes", "已经打了12315投诉"]
    results = ok(admin.post(client.url("/api/v1/monitoring/analyse"), json={"texts": texts}))["results"]
    assert [r["sentiment"] for r in results[:2]] == ["negative", "positive"]
    assert [r["language"] for r in results] == ["zh", "en", "zh"]
    assert (results[2]["crisis"], results[2]["crisis_terms"]) == (True, ["12315", "~regulator"])  # term, and reading
    assert set(results[0]) == {"sentiment", "score", "confidence", "language", "crisis", "crisis_terms", "model_version"}
    assert ok(admin.get(client.url("/api/v1/monitoring/posts")))["total"] == 0


@pytest.mark.parametrize("path, body, fields", [
    ("/api/v1/monitoring/analyse", {"texts": []}, {"texts"}),
    ("/api/v1/monitoring/analyse", {"texts": ["ok"] * 1001}, {"texts"}),
    ("/api/v1/monitoring/analyse", {"texts": ["", 5]}, {"texts"}),
    ("/api/v1/monitoring/rules", {"name": "x", "query": "(外卖 OR"}, {"query"}),
    ("/api/v1/monitoring/rules", {"name": "x", "query": " OR ".join(["a"] * 399)}, {"query"}),  # too many terms
    ("/api/v1/monitoring/rules", {"name": "", "query": "a", "platforms": ["myspace"]}, {"name", "platforms"}),
    ("/api/v1/monitoring/posts/batch", {"posts": []}, {"posts"}),
    ("/api/v1/monitoring/posts/batch", {"posts": [post("a", "外卖")] * 1001}, {"posts"}),
])
def test_bad_input_is_a_400_naming_the_field(platform, client, path, body, fields):
    client.login()
    response = client.post(client.url(path), json=body)
    assert response.status_code == 400, response.text
    assert set(response.json()["error"]["details"]) == fields


def test_a_bad_post_in_a_batch_is_named_by_its_position_and_nothing_is_stored(platform, client):
    client.login()
    bad = dict(post("b", "外卖"), platform="myspace")
    response = client.post(client.url("/api/v1/monitoring/posts/batch"), json={"posts": [post("a", "外卖"), bad]})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"posts": {"1": {"platform": ["Must be one of: weibo, wechat, "
                                                                               "douyin, xiaohongshu, twitter, facebook, "
                                                                               "forum, news, other."]}}}
    assert ok(client.get(client.url("/api/v1/monitoring/posts")))["total"] == 0


def test_roles(platform, client, make_account):
    agent = make_account("ann", ["agent"])
    assert agent.post(client.url("/api/v1/monitoring/posts/batch"), json={"posts": [post("a", "x")]}).status_code == 403
    assert agent.post(client.url("/api/v1/monitoring/rules"), json={"name": "x", "query": "x"}).status_code == 403
    assert agent.get(client.url("/api/v1/monitoring/reports/trend"),
                     params={"since": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00Z"}).status_code == 403


def test_the_review_queue_model_versions_and_rollback_through_the_gateway(platform, client, make_account):
    admin = client.login()
    ok(admin.post(client.url("/api/v1/monitoring/rules"), json={"name": "店", "query": "店 OR store"}), 201)
    texts = ["店里的东西还行吧，就那样", "The store is ok I guess, whatever", "Love this store, staff are wonderful"]
    ok(admin.post(client.url("/api/v1/monitoring/posts/batch"),
                  json={"posts": [post(f"q{i}", text) for i, text in enumerate(texts)]}))
    agent = make_account("ann", ["agent"])

    queue = ok(agent.get(client.url("/api/v1/monitoring/review-queue"), params={"below": 1}))
    confidences = [item["sentiment_confidence"] for item in queue["items"]]
    assert queue["total"] == 3 and confidences == sorted(confidences)
    assert {item["sentiment_model_version"] for item in queue["items"]} == {1}
    first = queue["items"][0]["id"]
    ok(agent.post(client.url(f"/api/v1/monitoring/posts/{first}/sentiment"), json={"sentiment": "neutral"}))
    assert ok(agent.get(client.url("/api/v1/monitoring/review-queue"), params={"below": 1}))["total"] == 2
    bad = agent.get(client.url("/api/v1/monitoring/review-queue"), params={"below": 3})
    assert bad.status_code == 400 and "below" in bad.text

    [analysis] = ok(agent.post(client.url("/api/v1/monitoring/analyse"), json={"texts": ["退货运费谁出？"]}))["results"]
    assert analysis["model_version"] == 1 and 0 < analysis["confidence"] <= 1
    [shipped] = ok(admin.get(client.url("/api/v1/monitoring/sentiment-models")))["items"]
    assert (shipped["version"], shipped["active"]) == (1, True) and {"zh", "en"} <= set(shipped["figures"])
    assert agent.get(client.url("/api/v1/monitoring/sentiment-models")).status_code == 403
    assert agent.post(client.url("/api/v1/monitoring/sentiment-models/rollback")).status_code == 403
    assert admin.post(client.url("/api/v1/monitoring/sentiment-models/rollback")).status_code == 409
