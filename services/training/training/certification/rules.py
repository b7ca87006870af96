"""Certifications and career levels without a framework (R4, R5).

A certification is valid from issue until ``valid_until`` (none: no expiry)
unless revoked (``training.contract.is_valid``: every certification the API
shows says whether it is). An agent is cleared for duty while they hold a
valid certification the specialist level (the level agents on duty start
at) requires. Each higher level lists what it requires in turn; an agent
qualifies for a level holding all of it.
"""
from datetime import datetime, timedelta

from training.contract import CAREER_LEVELS

DUTY_LEVEL = "specialist"
EXPIRING_WITHIN = timedelta(days=30)


def valid_until(issued_at: datetime, validity_days) -> datetime | None:
    return issued_at + timedelta(days=validity_days) if validity_days else None


def clears_for_duty(certification: str, requirements: dict[str, list[str]]) -> bool:
    return certification in requirements.get(DUTY_LEVEL, ())


def qualified_levels(held: set[str], requirements: dict[str, list[str]]) -> list[str]:
    """The levels whose every required certification is held (a level that
    requires nothing is not a qualification)."""
    return [level for level in CAREER_LEVELS if requirements.get(level) and set(requirements[level]) <= held]
