import pytest

from monitoring.watch_rules import rules
from monitoring.watch_rules.rules import RuleSyntaxError, WatchRule, matching_rules, normalise, parse


def matches(query, text):
    return parse(query).matches(normalise(text))


@pytest.mark.parametrize("query, text, expected", [
    ("refund", "Where is my REFUND?", True),
    ("refund", "refunded", False),                       # a whole word unless written refund*
    ("refund*", "refunded twice", True),
    ("car", "that scared me", False),
    ("外卖", "美团外卖太慢了", True),                       # Chinese needs no spaces
    ("外卖 退款", "外卖的退款还没到", True),                # adjacent terms are ANDed
    ("外卖 AND 退款", "外卖送到了", False),
    ("外卖 OR 快递", "快递丢了", True),
    ("外卖 NOT 招聘", "外卖骑手招聘", False),
    ("外卖 NOT 招聘", "外卖又洒了", True),
    ('"late again"', "the train is late again", True),
    ('"late again"', "again it is late", False),
    ('"late  again"', "late\tagain", True),             # runs of white space are one
    ("(外卖 OR 快递) AND (慢 OR 丢)", "快递又丢了", True),
    ("(外卖 OR 快递) AND (慢 OR 丢)", "快递到了", False),
    ("NOT 广告", "普通的帖子", True),
    ("a OR b c", "c only", False),                      # AND binds tighter than OR: a OR (b AND c)
    ("a OR b c", "a", True),
    ("ＡＰＰ", "the app crashed", True),                  # full-width letters are NFKC-folded
    ("iPhone 15", "my iphone 15 broke", True),
    ("and", "this and that", True),                      # lower-case operators are words
    ("NOT NOT refund", "refund please", True),
])
def test_matching(query, text, expected):
    assert matches(query, text) is expected


@pytest.mark.parametrize("query, position", [
    ("", 0), ("   ", 0), ("(外卖", 3), ("外卖)", 2), ('"unclosed', 0), ("a AND", 5), ("OR a", 0),
    ("a OR OR b", 5), ("()", 1), ("*", 0), ("NOT", 3),
])
def test_bad_queries_say_where(query, position):
    with pytest.raises(RuleSyntaxError) as raised:
        parse(query)
    assert raised.value.position == position


def test_nesting_and_length_are_bounded():
    with pytest.raises(RuleSyntaxError, match="nested deeper"):
        parse("(" * 30 + "a" + ")" * 30)
    with pytest.raises(RuleSyntaxError, match="longer than"):
        parse("a " * rules.MAX_QUERY_LENGTH)
    assert matches("(" * 20 + "a" + ")" * 20, "a")


def test_terms_leave_out_what_must_not_be_said():
    assert list(parse('(外卖 OR "food delivery") NOT 招聘 refund*').terms()) == ["外卖", "food delivery", "refund"]


def post(platform="weibo", kind="person", verified=False, followers=10, text="外卖又洒了"):
    return {"platform": platform, "text": text,
            "author": {"kind": kind, "verified": verified, "followers": followers}}


def test_filters_on_platform_and_author():
    rule = WatchRule(1, "delivery", parse("外卖"), platforms=("weibo",), author_kinds=("media", "kol"),
                     verified_only=True, min_followers=1000)
    assert matching_rules([rule], post(kind="media", verified=True, followers=5000)) == [rule]
    for other in (post(platform="douyin", kind="media", verified=True, followers=5000),
                  post(kind="person", verified=True, followers=5000),
                  post(kind="media", verified=False, followers=5000),
                  post(kind="media", verified=True, followers=999),
                  post(kind="media", verified=True, followers=5000, text="快递到了")):
        assert matching_rules([rule], other) == []


def test_a_post_matching_no_rule_is_off_topic_and_several_rules_can_match():
    delivery, refunds = WatchRule(1, "delivery", parse("外卖")), WatchRule(2, "refunds", parse("退款"))
    assert matching_rules([delivery, refunds], post(text="外卖退款")) == [delivery, refunds]
    assert matching_rules([delivery, refunds], post(text="今天天气好")) == []
