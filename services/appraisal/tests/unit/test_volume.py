from datetime import date

import pytest

from appraisal import volume


def test_day_is_the_utc_calendar_day_of_creation():
    assert volume.day_of("2026-11-23T07:30:00+08:00") == date(2026, 11, 22)
    assert volume.day_of("2026-11-23T00:00:00+00:00") == date(2026, 11, 23)


def test_a_time_without_zone_is_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="no time zone"):
        volume.day_of("2026-11-23T07:30:00")


def test_unassigned_tickets_have_a_key_of_their_own_that_reads_back_as_none():
    assert volume.agent_key(None) == volume.UNASSIGNED
    assert volume.agent_of(volume.agent_key(None)) is None
    assert volume.agent_of(volume.agent_key("alice")) == "alice"
