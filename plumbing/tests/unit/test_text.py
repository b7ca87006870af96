"""Text no database stores, found wherever it hides in JSON; and a or an before a word."""
import pytest

from plumbing import text
from plumbing.events import envelope_problems, make_envelope
from plumbing.text import first_text_problem, text_problem


def test_nul_and_unpaired_surrogates_are_problems_and_everything_else_is_text():
    assert text_problem("a\x00b") == "must not contain NUL characters"
    assert text_problem("\ud800") == "must not contain unpaired surrogates (not valid Unicode)"
    for fine in ["", "退货 🎉", "\u202eRTL\u200f", "\ufeffBOM", "e\u0301", "\U0001F469\u200d\U0001F4BB"]:
        assert text_problem(fine) is None


def test_the_first_problem_is_named_by_its_path_keys_included():
    assert first_text_problem({"a": [1, {"b": "x\x00"}]}) == "a.1.b must not contain NUL characters"
    assert first_text_problem({"a": {"\udfff": 1}}).startswith("a key in a must not contain unpaired")
    assert first_text_problem("\x00") == "the value must not contain NUL characters"
    assert first_text_problem({"a": ["fine", 1.5, None, True]}) is None


def test_any_depth_is_walked_without_recursion():
    deep = "\x00"
    for _ in range(10_000):
        deep = [deep]
    assert first_text_problem(deep).endswith("must not contain NUL characters")


def test_an_envelope_carrying_such_text_is_unusable():
    event = make_envelope(service="s", event_type="t.x", subject="t/1", data={"name": "a\x00"}, sequence=1)
    assert envelope_problems(event, "t.x", (1,)) == [
        "text no database stores: data.name must not contain NUL characters"]


@pytest.mark.parametrize("word, phrase", [
    ("exam", "an exam"), ("in_progress", "an in_progress"), ("inquiry", "an inquiry"), ("alert", "an alert"),
    ("urgent", "an urgent"), ("open", "an open"), ("int", "an int"), ("unassigned", "an unassigned"),
    ("resolved", "a resolved"), ("complaint", "a complaint"), ("new", "a new"), ("quarterly", "a quarterly"),
    ("list", "a list"), ("single_choice", "a single_choice"),
    # a vowel letter sounding like "you" or "w", a silent h, a spelled-out abbreviation
    ("user", "a user"), ("unique", "a unique"), ("unit", "a unit"), ("usual", "a usual"), ("one-off", "a one-off"),
    ("hour", "an hour"), ("SLA", "an SLA"), ("KPI", "a KPI"),
])
def test_with_article_picks_a_or_an_by_the_sound(word, phrase):
    assert text.with_article(word) == phrase


def test_with_article_can_start_a_sentence():
    assert text.with_article("exam", capital=True) == "An exam"
    assert text.with_article("multiple_choice", capital=True) == "A multiple_choice"
