from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from ticketing.aftercare import rules as aftercare

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def test_only_major_complaints_escalate():
    assert aftercare.escalates("major")
    assert not aftercare.escalates("serious") and not aftercare.escalates("normal")


def test_a_verdict_needs_a_reported_result_and_a_resolved_ticket():
    with pytest.raises(aftercare.RuleBroken, match="no complaint"):
        aftercare.check_verdict_allowed(None, "resolved")
    with pytest.raises(aftercare.RuleBroken, match="report the result"):
        aftercare.check_verdict_allowed(SimpleNamespace(result=None), "resolved")
    with pytest.raises(aftercare.RuleBroken, match="the ticket is in_progress"):
        aftercare.check_verdict_allowed(SimpleNamespace(result="refunded"), "in_progress")
    aftercare.check_verdict_allowed(SimpleNamespace(result="refunded"), "resolved")


def test_satisfied_settles_and_unsatisfied_reopens():
    assert aftercare.verdict_outcome(True) == "closed"
    assert aftercare.verdict_outcome(False) == "reopened"


def test_rating_tokens_are_random_and_only_their_hash_is_kept():
    token, digest = aftercare.new_rating_token()
    other, _ = aftercare.new_rating_token()
    assert token != other and len(token) >= 32
    assert digest == aftercare.token_hash(token) and token not in digest


def test_a_rating_links_page_shows_the_form_only_while_it_may_be_rated():
    assert aftercare.rating_link_state(SimpleNamespace(score=None, expires_at=NOW + timedelta(days=1)), NOW) == "open"
    assert aftercare.rating_link_state(SimpleNamespace(score=3, expires_at=NOW + timedelta(days=1)), NOW) == "rated"
    assert aftercare.rating_link_state(SimpleNamespace(score=None, expires_at=NOW - timedelta(seconds=1)), NOW) \
        == "expired"
    assert aftercare.rating_link_state(None, NOW) is None


def test_a_rating_link_works_once_and_not_after_it_expires():
    fresh = SimpleNamespace(score=None, expires_at=NOW + timedelta(days=1))
    aftercare.check_rating_allowed(fresh, NOW)
    with pytest.raises(aftercare.RuleBroken, match="already rated"):
        aftercare.check_rating_allowed(SimpleNamespace(score=4, expires_at=NOW + timedelta(days=1)), NOW)
    with pytest.raises(aftercare.RuleBroken, match="expired"):
        aftercare.check_rating_allowed(SimpleNamespace(score=None, expires_at=NOW - timedelta(seconds=1)), NOW)
    with pytest.raises(aftercare.RuleBroken, match="not valid"):
        aftercare.check_rating_allowed(None, NOW)


@pytest.mark.parametrize("score, top", [(1, False), (3, False), (4, True), (5, True)])
def test_top_two_box(score, top):
    assert aftercare.top_box(score) is top


def test_a_decision_needs_a_forwarded_undecided_suggestion():
    with pytest.raises(aftercare.RuleBroken, match="forward"):
        aftercare.check_decision_allowed(None)
    with pytest.raises(aftercare.RuleBroken, match="already decided"):
        aftercare.check_decision_allowed(SimpleNamespace(forwarded_at=NOW, decided_at=NOW))
    aftercare.check_decision_allowed(SimpleNamespace(forwarded_at=NOW, decided_at=None))


def test_the_decision_reply_tells_the_customer_the_outcome():
    assert aftercare.decision_reply(True, "It ships in May.") == (
        "Thank you for your suggestion: it has been adopted. It ships in May.")
    assert "not adopted" in aftercare.decision_reply(False, "Too costly.")


def test_a_callback_in_the_past_is_refused_beyond_a_minute_of_clock_skew():
    assert aftercare.callback_time_problem(NOW + timedelta(hours=1), NOW) is None
    assert aftercare.callback_time_problem(NOW - timedelta(seconds=60), NOW) is None
    problem = aftercare.callback_time_problem(NOW - timedelta(seconds=61), NOW)
    assert problem.startswith("is in the past") and "60 seconds of clock skew" in problem
