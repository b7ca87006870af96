import random

import pytest
from marshmallow import ValidationError

from monitoring.contract import WatchRuleCreateSchema
from monitoring.watch_rules import rules
from monitoring.watch_rules.rules import RuleSyntaxError, WatchRule, matching_rules, normalise, parse


def matches(query, text):
    return parse(query).matches(rules.Text(text))


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


# -- bounded work (issue 16): rule size and matching cost ------------------------------------
def test_a_rule_of_more_terms_than_the_limit_is_refused_naming_query_and_the_limit():
    with pytest.raises(ValidationError) as refused:
        WatchRuleCreateSchema().load({"name": "x", "query": " OR ".join(["a"] * 399)})
    [message] = refused.value.messages["query"]
    assert f"{rules.MAX_TERMS} terms" in message
    with pytest.raises(RuleSyntaxError, match=f"more than {rules.MAX_TERMS} terms"):
        parse(" ".join(["外卖"] * (rules.MAX_TERMS + 1)))  # repeats count: each is evaluated


def test_not_counts_towards_the_depth():
    with pytest.raises(RuleSyntaxError, match="nested deeper"):
        parse("NOT " * (rules.MAX_DEPTH + 1) + "a")
    with pytest.raises(RuleSyntaxError, match="nested deeper"):
        parse("(NOT " * 11 + "a" + ")" * 11)
    assert matches("NOT " * rules.MAX_DEPTH + "a", "a") is True


def term_found_as_before(term, text):
    """The matcher before matching was bounded, kept as the reference: every occurrence tried in turn."""
    start = text.find(term.text)
    while start != -1:
        end = start + len(term.text)
        left_ok = not rules.is_word_char(term.text[0]) or start == 0 or not rules.is_word_char(text[start - 1])
        right_ok = (term.prefix or not rules.is_word_char(term.text[-1]) or end == len(text)
                    or not rules.is_word_char(text[end]))
        if left_ok and right_ok:
            return True
        start = text.find(term.text, start + 1)
    return False


def matches_as_before(node, text):
    if isinstance(node, rules.Term):
        return term_found_as_before(node, text)
    if isinstance(node, rules.Not):
        return not matches_as_before(node.operand, text)
    combine = all if isinstance(node, rules.All) else any
    return combine(matches_as_before(operand, text) for operand in node.operands)


VOCABULARY = ["外卖", "退款", "招聘", "car", "refund*", "app", "ＡＰＰ", '"food delivery"', '"late again"', '"iphone 15"',
              "c++", "a", "b1", "12315", "客服", "scare*", "美团"]
NOISE = ["scared", "refunded", "carpet", "美团外卖太慢", "food  delivery", "the app", "c++ code", "b12", "a1", "late\tagain",
         "客服不回复", "12315投诉", "招聘骑手", "iphone 15 pro", "!", "car.", "Refund", "今天天气好", "hello", "ok"]


def rule_at_the_limit(randomness):
    """A query of exactly MAX_TERMS terms (repeats among them): groups of terms ANDed, some NOT, ORed."""
    groups, written = [], 0
    while written < rules.MAX_TERMS:
        size = min(randomness.randint(1, 4), rules.MAX_TERMS - written)
        terms = [randomness.choice(VOCABULARY)] + [("NOT " if randomness.random() < 0.3 else "") +
                                                   randomness.choice(VOCABULARY) for _ in range(size - 1)]
        joiner = randomness.choice([" AND ", " "])
        groups.append(f"({joiner.join(terms)})" if size > 1 else terms[0])
        written += size
    return " OR ".join(groups)


def test_a_rule_at_the_limit_is_accepted_and_matches_the_same_posts_as_before():
    randomness = random.Random(16)
    outcomes = set()
    for _ in range(20):
        query = rule_at_the_limit(randomness)
        assert WatchRuleCreateSchema().load({"name": "x", "query": query})["query"] == query
        with pytest.raises(RuleSyntaxError, match=f"more than {rules.MAX_TERMS} terms"):
            parse(query + " OR a")  # at the limit: one more is too many
        tree = parse(query)
        words = [randomness.choices(randomness.choice([VOCABULARY + NOISE, NOISE]), k=randomness.randint(1, 4))
                 for _ in range(100)]
        texts = [" ".join(some).replace('"', "") for some in words]
        found = [tree.matches(rules.Text(text)) for text in texts]
        assert found == [matches_as_before(tree, normalise(text)) for text in texts]
        outcomes.update(found)
    assert outcomes == {True, False}, "the posts should include some the rules match and some they do not"


def test_each_distinct_term_is_searched_once_per_post_however_often_rules_repeat_it():
    post = "b " * 5000  # 10,000 characters that hold none of the terms: every term must be looked for
    repeated = parse(" OR ".join(["a"] * rules.MAX_TERMS))
    distinct = parse(" OR ".join(f"a{n}" for n in range(rules.MAX_TERMS)))
    text = rules.Text(post)
    assert repeated.matches(text) is False and len(text.searched) == 1
    assert parse("a AND NOT (a OR a)").matches(text) is False and len(text.searched) == 1  # another rule, same term
    text = rules.Text(post)
    assert distinct.matches(text) is False and len(text.searched) == rules.MAX_TERMS
    assert repeated == parse("a") and parse("(a b) OR c OR (a b)") == parse("(a b) OR c")  # evaluated once too
