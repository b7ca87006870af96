"""The knowledge base through the service (T8): index, search, hits, gaps."""
import pytest

from plumbing.errors import InvalidInput, NotFound
from plumbing.testing import EventTap, call_as

ARTICLES = [
    {"title": "如何办理退货", "body": "退货流程：在订单页面申请退货，7天内寄回商品，审核后退款。", "category": "售后",
     "tags": ["退货"]},
    {"title": "Refund timing", "body": "Refunds are paid to the original card within 5 working days.",
     "category": "billing", "tags": ["refund"]},
    {"title": "发票开具", "body": "电子发票在订单完成后开具，可在个人中心下载。", "category": "billing", "tags": []},
]


def act(container, method, *args, actor="alice"):
    return call_as(actor, container, method, *args)


@pytest.fixture
def articles(ticketing):
    return [act(ticketing, "create_article", article, actor="tina") for article in ARTICLES]


def test_chinese_and_english_searches_find_the_right_article_with_a_snippet(ticketing, articles):
    [hit] = act(ticketing, "search_articles", {"q": "退货流程"})["items"]
    assert (hit["id"], hit["title"]) == (articles[0]["id"], "如何办理退货")
    assert "退货流程" in hit["snippet"]
    [hit] = act(ticketing, "search_articles", {"q": "when is my refund paid"})["items"]
    assert hit["id"] == articles[1]["id"]
    billing = act(ticketing, "search_articles", {"q": "发票", "category": "billing"})["items"]
    assert [h["id"] for h in billing] == [articles[2]["id"]]
    assert act(ticketing, "search_articles", {"q": "发票", "category": "售后"})["items"] == []


def test_a_search_that_finds_nothing_is_a_recorded_gap_and_an_event(ticketing, articles, service_config):
    tap = EventTap(service_config["AMQP_URI"], "ticketing", "kb.#")
    for _ in range(2):
        result = act(ticketing, "search_articles", {"q": "会员积分兑换礼品"})
        assert result == {"items": [], "gap": True}
    act(ticketing, "search_articles", {"q": "warranty repair"})
    act(ticketing, "search_articles", {"q": "退货"})
    gaps = act(ticketing, "knowledge_gaps")["items"]
    assert [(g["query"], g["searches"]) for g in gaps] == [("会员积分兑换礼品", 2), ("warranty repair", 1)]
    missed = tap.take(3)
    assert [e["data"] for e in missed][0] == {"query": "会员积分兑换礼品", "actor": "alice"}


def test_opening_an_article_counts_a_hit(ticketing, articles):
    act(ticketing, "get_article", articles[1]["id"])
    assert act(ticketing, "get_article", articles[1]["id"])["hits"] == 2
    with pytest.raises(NotFound):
        act(ticketing, "get_article", 9999)


def test_an_edited_article_is_found_by_its_new_words_only(ticketing, articles):
    changed = dict(ARTICLES[1], body="Refunds go back to the original card within 3 working days.")
    act(ticketing, "update_article", articles[1]["id"], dict(changed, title="Refund period"))
    assert act(ticketing, "search_articles", {"q": "refund period"})["items"][0]["id"] == articles[1]["id"]
    assert act(ticketing, "search_articles", {"q": "timing"})["gap"] is True


def test_an_article_needs_a_title_body_and_category(ticketing):
    with pytest.raises(InvalidInput) as raised:
        act(ticketing, "create_article", {"title": ""})
    assert set(raised.value.details) == {"title", "body", "category"}


def test_the_index_ranks_a_title_hit_above_a_body_hit_and_either_script_finds_an_article(ticketing, articles):
    body_only = act(ticketing, "create_article", {"title": "开票须知", "body": "退货的订单不能再开发票，请先完成退货。",
                                                  "category": "billing", "tags": []}, actor="tina")
    hits = [h["id"] for h in act(ticketing, "search_articles", {"q": "退货"})["items"]]
    assert hits == [articles[0]["id"], body_only["id"]]
    assert [h["id"] for h in act(ticketing, "search_articles", {"q": "退貨流程"})["items"]] == [articles[0]["id"]]
    assert [h["id"] for h in act(ticketing, "search_articles", {"q": "REFUNDED"})["items"]] == [articles[1]["id"]]
