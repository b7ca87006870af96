"""Monitoring against real RabbitMQ and a real database."""
import json

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from monitoring.ingest.import_posts import run
from monitoring.service import MonitoringService
from plumbing.errors import InvalidInput, NotFound
from plumbing.testing import call

NEW_POST = {
    "platform": "weibo",
    "external_id": "4990001",
    "url": "https://weibo.com/1234/4990001",
    "author": {"id": "1234", "name": "数码评测君", "followers": 250000, "verified": True, "kind": "kol"},
    "text": "买的耳机三天就坏了，客服也不回复",
    "language": "zh",
    "posted_at": "2026-05-01T10:00:00+08:00",
    "reposts": 10,
    "comments": 5,
    "likes": 100,
    "parent_external_id": None,
}


@pytest.fixture
def monitoring(start_service):
    return start_service(MonitoringService)


def test_ping(monitoring):
    assert call(monitoring, "ping") == "pong"


def test_ingest_get_and_list_a_post(monitoring):
    result = call(monitoring, "ingest_post", NEW_POST)
    post = result["post"]
    assert result["created"] is True
    assert {k: post[k] for k in NEW_POST if k != "posted_at"} == {k: v for k, v in NEW_POST.items() if k != "posted_at"}
    assert post["posted_at"] == "2026-05-01T02:00:00+00:00"
    assert post["received_at"] == post["updated_at"] and post["received_at"].endswith("+00:00")

    assert call(monitoring, "get_post", post["id"]) == post
    assert call(monitoring, "list_posts", {"platform": "weibo"}) == {
        "items": [post], "total": 1, "total_exact": True, "page": 1, "per_page": 20, "next_cursor": None}
    assert call(monitoring, "list_posts", {"platform": "douyin"})["total"] == 0


def test_a_re_seen_post_updates_its_counts_and_is_never_duplicated(monitoring):
    first = call(monitoring, "ingest_post", NEW_POST)["post"]
    again = call(monitoring, "ingest_post", dict(NEW_POST, reposts=25, comments=2, likes=180, text="edited"))
    assert again["created"] is False
    post = again["post"]
    assert post["id"] == first["id"]
    assert (post["reposts"], post["comments"], post["likes"]) == (25, 5, 180)
    assert post["text"] == first["text"] and post["received_at"] == first["received_at"]
    assert post["updated_at"] > first["updated_at"]
    assert call(monitoring, "get_post", first["id"]) == post
    assert call(monitoring, "list_posts")["total"] == 1


def test_a_stale_report_changes_nothing(monitoring):
    first = call(monitoring, "ingest_post", NEW_POST)["post"]
    again = call(monitoring, "ingest_post", dict(NEW_POST, reposts=0, comments=0, likes=0))
    assert again == {"post": first, "created": False}


def test_the_same_external_id_on_another_platform_is_another_post(monitoring):
    weibo = call(monitoring, "ingest_post", NEW_POST)["post"]
    douyin = call(monitoring, "ingest_post", dict(NEW_POST, platform="douyin"))
    assert douyin["created"] is True and douyin["post"]["id"] != weibo["id"]
    assert call(monitoring, "list_posts")["total"] == 2


def test_concurrent_ingests_of_one_post_make_one_row_with_the_highest_counts(monitoring, service_config):
    # over the broker, as entrypoint_hook cannot tell concurrent calls' results apart
    with ServiceRpcProxy("monitoring", service_config) as proxy:
        replies = [proxy.ingest_post.call_async(dict(NEW_POST, likes=likes)) for likes in range(100, 108)]
        results = [reply.result() for reply in replies]
    assert sum(result["created"] for result in results) == 1
    assert {result["post"]["id"] for result in results} == {results[0]["post"]["id"]}
    [post] = call(monitoring, "list_posts")["items"]
    assert post["likes"] == 107


def test_invalid_post_names_the_fields_and_writes_nothing(monitoring):
    bad = dict(NEW_POST, platform="myspace", posted_at="2026-05-01T10:00:00", likes=-1, surprise=1,
               author={"id": "1234", "name": "x", "kind": "bot", "followers": -5})
    del bad["text"]
    with pytest.raises(InvalidInput) as raised:
        call(monitoring, "ingest_post", bad)
    assert set(raised.value.details) == {"platform", "posted_at", "likes", "surprise", "author", "text"}
    assert set(raised.value.details["author"]) == {"kind", "followers"}
    assert call(monitoring, "list_posts")["total"] == 0


def test_unknown_post_is_not_found(monitoring):
    with pytest.raises(NotFound):
        call(monitoring, "get_post", 999)


def test_list_pages_newest_posted_first_with_a_total(monitoring):
    # ingested out of posting order: the list follows posted_at, not arrival
    days = [3, 1, 5, 2, 4]
    ids = {day: call(monitoring, "ingest_post", dict(NEW_POST, external_id=f"p{day}",
                                                     posted_at=f"2026-05-0{day}T08:00:00Z"))["post"]["id"]
           for day in days}
    page = call(monitoring, "list_posts", {"page": 2, "per_page": 2})
    assert (page["total"], page["page"], page["per_page"]) == (5, 2, 2)
    assert [p["id"] for p in page["items"]] == [ids[3], ids[2]]


def test_bad_list_query_names_the_fields(monitoring):
    with pytest.raises(InvalidInput) as raised:
        call(monitoring, "list_posts", {"page": 0, "per_page": 0, "platform": "myspace", "colour": "red"})
    assert set(raised.value.details) == {"page", "per_page", "platform", "colour"}


NOT_STORABLE = [  # (what a client sends, what it is told): as the gateway tells it
    (dict(NEW_POST, text="a\x00b"), {"text": ["must not contain NUL characters"]}),
    (dict(NEW_POST, author=dict(NEW_POST["author"], name="\ud800")),
     {"author": {"name": ["must not contain unpaired surrogates (not valid Unicode)"]}}),
    (dict(NEW_POST, author=dict(NEW_POST["author"], verified="yes")),
     {"author": {"verified": ["Not a valid boolean."]}}),
    (dict(NEW_POST, likes=2.5), {"likes": ["Not a valid integer."]}),
    (dict(NEW_POST, likes=float("nan")), {"likes": ["must be a finite number (NaN and Infinity are not JSON)"]}),
]


def test_input_by_rpc_gets_the_checks_it_gets_through_the_gateway(monitoring, service_config):
    with ServiceRpcProxy("monitoring", service_config) as proxy:  # over the broker, as JSON
        for post, details in NOT_STORABLE:
            with pytest.raises(InvalidInput) as refused:
                proxy.ingest_post(post)
            assert refused.value.details == details
            with pytest.raises(InvalidInput) as refused:
                proxy.ingest_posts({"posts": [NEW_POST, post]})
            assert refused.value.details == {"posts": {"1": details}}
    assert call(monitoring, "list_posts")["total"] == 0


def test_the_import_tool_reports_what_the_service_refuses_by_line(monitoring, service_config):
    with ServiceRpcProxy("monitoring", service_config) as proxy:
        for refused in (NOT_STORABLE[:2], NOT_STORABLE[2:4]):  # text first, as the gateway names it first
            said = []
            lines = [json.dumps(post) + "\n" for post, _ in refused]  # one batch: all or nothing
            assert run(lines, proxy.ingest_posts, said.append) == (0, 0, [1, 2])
            assert said[:2] == [f"line {number}: {details}" for number, (_, details) in enumerate(refused, start=1)]
        said = []
        assert run([json.dumps(NEW_POST).replace("100", "NaN")], proxy.ingest_posts, said.append) == (0, 0, [1])
    assert said[0] == "line 1: not JSON: NaN is not a JSON value"
    assert call(monitoring, "list_posts")["total"] == 0
