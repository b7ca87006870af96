from datetime import datetime, timedelta, timezone

from training.certification import rules as c
from training.contract import is_valid

NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)
LEVELS = {"specialist": ["onboarding"], "supervisor": ["onboarding", "coaching"], "manager": []}


def test_validity_runs_from_issue_or_never_ends():
    assert c.valid_until(NOW, 365) == NOW + timedelta(days=365)
    assert c.valid_until(NOW, None) is None


def test_valid_until_revoked_or_past_its_date():
    assert is_valid(None, None, NOW)
    assert is_valid(NOW + timedelta(seconds=1), None, NOW)
    assert not is_valid(NOW, None, NOW)
    assert not is_valid(None, NOW, NOW)


def test_only_what_the_specialist_level_requires_clears_for_duty():
    assert c.clears_for_duty("onboarding", LEVELS)
    assert not c.clears_for_duty("coaching", LEVELS)
    assert not c.clears_for_duty("onboarding", {})


def test_a_level_is_qualified_with_all_it_requires_and_an_empty_level_never():
    assert c.qualified_levels({"onboarding"}, LEVELS) == ["specialist"]
    assert c.qualified_levels({"onboarding", "coaching"}, LEVELS) == ["specialist", "supervisor"]
    assert c.qualified_levels(set(), LEVELS) == []
