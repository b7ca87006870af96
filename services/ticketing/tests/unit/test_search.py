"""The search engine's pure parts: terms, documents and the query language."""
from datetime import datetime, timezone

import pytest

from ticketing.contract import SEARCH_SORT_COLUMNS
from ticketing.search import handlers, rules
from ticketing.search.rules import All, Any, Field, Not, QueryError, Text, document, parse, terms

CHOICES = {"state": ("new", "closed"), "priority": ("low", "high")}
FREE = ("assignee", "team", "tag")


def q(text):
    return parse(text, CHOICES, FREE)


def utc(*parts):
    return datetime(*parts, tzinfo=timezone.utc)


# --- terms and documents ------------------------------------------------------------------------
def test_a_two_character_chinese_word_is_one_term_found_inside_a_sentence():
    assert terms("退款") == ["退款"]
    assert "退款" in document("我上周申请的退款还没有到账")
    assert terms("退款到账") == ["退款", "款到", "到账"]


def test_mixed_chinese_english_and_numbers_without_spaces():
    assert terms("iPhone15屏幕碎了,订单10023") == ["iphone15", "屏幕", "幕碎", "碎了", "订单", "10023"]


def test_traditional_characters_fold_to_simplified():
    assert terms("退貨流程") == terms("退货流程") == ["退货", "货流", "流程"]
    assert terms("發票號碼") == terms("发票号码")


def test_full_width_and_case_fold():
    assert terms("ＲＥＦＵＮＤ Refunded") == ["refund", "refund"]


def test_a_document_ends_with_the_last_character_of_each_chinese_run_for_one_character_queries():
    assert document("申请退 王") == ["申请", "请退", "王", "退"]
    assert document("退款", None, "refunds") == ["退款", "refund", "款"]


def test_tsvector_text_has_weights_positions_and_each_term_once():
    assert rules.tsvector_literal([(["退货", "x200", "退货"], "A"), (["refund"], "D")]) == \
        "'refund':4D 'x200':2A '退货':1A,3A"


def test_tsvector_keeps_at_most_256_positions_of_a_term_and_caps_positions():
    literal = rules.tsvector_literal([(["spam"] * 20000, "D")])
    positions = literal.split(":", 1)[1].split(",")
    assert len(positions) == rules.MAX_POSITIONS and positions[-1] == "256D"
    assert rules.tsvector_literal([(["a1"] * 16390 + ["b2"], "D")]).startswith("'a1'") and "'b2':16383D" in \
        rules.tsvector_literal([(["a1"] * 16390 + ["b2"], "D")])


# --- the query language -------------------------------------------------------------------------
def test_words_are_all_required_and_a_chinese_word_is_its_bigrams():
    assert q("退款到账 refund") == All((Text(("退款", "款到", "到账")), Text(("refund",))))
    assert rules.tsquery(q("退款到账 refund")) == "(('退款' & '款到' & '到账') & 'refund')"


def test_a_quoted_phrase_is_adjacency():
    tree = q('"退款到账"')
    assert tree == Text(("退款", "款到", "到账"), phrase=True)
    assert rules.tsquery(tree) == "('退款' <-> '款到' <-> '到账')"
    assert rules.fts5_query(tree) == '"退款 款到 到账"'


def test_or_not_minus_and_parentheses():
    tree = q("(退款 OR refund) AND NOT spam -发票")
    assert tree == All((Any((Text(("退款",)), Text(("refund",)))), Not(Text(("spam",))), Not(Text(("发票",)))))
    assert rules.tsquery(tree) == "(('退款' | 'refund') & !('spam') & !('发票'))"


def test_and_binds_tighter_than_or():
    assert q("a1 b2 OR c3") == Any((All((Text(("a1",)), Text(("b2",)))), Text(("c3",))))


def test_one_chinese_character_is_a_prefix_query():
    assert rules.tsquery(q("王")) == "'王':*"
    assert rules.fts5_query(q("王")) == '"王"*'


def test_fields_are_checked_and_tags_lowercased():
    assert q("state:new priority:HIGH assignee:li.lei tag:VIP") == All((
        Field("state", "new"), Field("priority", "high"), Field("assignee", "li.lei"), Field("tag", "vip")))
    assert q('assignee:"li lei"') == Field("assignee", "li lei")


def test_dates_comparisons_and_ranges():
    assert q("created:2026-01-05") == Field("created", (utc(2026, 1, 5), utc(2026, 1, 6)))
    assert q("created:>=2026-01-05") == Field("created", (utc(2026, 1, 5), None))
    assert q("created:>2026-01-05") == Field("created", (utc(2026, 1, 6), None))
    assert q("updated:<2026-01-05") == Field("updated", (None, utc(2026, 1, 5)))
    assert q("created:2026-01-01..2026-01-31") == Field("created", (utc(2026, 1, 1), utc(2026, 2, 1)))
    assert q("created:..2026-01-31") == Field("created", (None, utc(2026, 2, 1)))
    assert q("created:>=2026-01-05T08:00+08:00").value[0] == utc(2026, 1, 5)


def test_stop_words_alone_are_dropped_but_an_empty_query_is_an_error():
    assert q("the refund") == Text(("refund",))
    with pytest.raises(QueryError, match="nothing to search for"):
        q("the of")


@pytest.mark.parametrize("query, position, reason", [
    ('"退款', 1, "quote is not closed"),
    ("(refund", 1, "'(' is not closed"),
    ("refund)", 7, "')' without its '('"),
    ("refund OR", 8, "OR needs something on both sides"),
    ("AND refund", 1, "unexpected 'AND' where a word was expected"),
    ("refund -", 8, "- needs something after it"),
    ("NOT", 1, "NOT needs something after it"),
    ("()", 1, "empty parentheses"),
    ("stat:new", 1, "unknown field 'stat'"),
    ("state:open", 7, "state is one of new, closed, not 'open'"),
    ("assignee:", 10, "assignee: needs a value"),
    ("created:2026-02-30", 9, "is not a date"),
    ("created:soon", 9, "is not a date, a comparison"),
    ("created:2026-02-01..2026-01-01", 9, "ends before it starts"),
])
def test_errors_name_the_position_and_the_reason(query, position, reason):
    with pytest.raises(QueryError) as raised:
        q(query)
    assert raised.value.position == position and reason in raised.value.reason


def test_a_query_has_a_size_limit():
    with pytest.raises(QueryError, match="more than"):
        q(" ".join(f"w{n}" for n in range(rules.MAX_QUERY_NODES + 1)))


def test_ranking_uses_the_words_outside_nots():
    assert rules.positive_texts(q("refund -spam state:new 退款")) == [Text(("refund",)), Text(("退款",))]


def test_every_sort_column_of_the_contract_has_an_order():
    assert set(handlers.SORTS) == set(SEARCH_SORT_COLUMNS)


def test_the_loosened_query_keeps_the_first_term_of_each_word_outside_nots():
    tree = q('退款到账 "refund not received" -"spam mail" 王')
    assert rules.tsquery(rules.loosened(tree)) == "('退款' & 'refund' & !(('spam' <-> 'mail')) & '王':*)"
