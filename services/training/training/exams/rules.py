"""Exam rules with no framework: parts and weights, random draws frozen per
attempt, time limits, attempt limits and delays, grading across attempts and
when the outcome is settled (R3). Every time is passed in, so tests need no
clock. What a well-formed exam is, the schemas say
(``training.contract.exam_errors``)."""
import random
from datetime import datetime, timedelta
from statistics import mean

from training.contract import GRADED

PASSED, FAILED, OPEN = "passed", "failed", "open"


class AttemptRefused(Exception):
    """A new attempt may not start now; the message says why."""


def draw_questions(bank: dict[int, list], draws: list[dict], rng: random.Random) -> list:
    """N questions at random from each category, in the order of ``draws``.
    ``bank`` maps a category to its active questions."""
    chosen = []
    for draw in draws:
        available = bank.get(draw["category_id"], [])
        if len(available) < draw["count"]:
            raise AttemptRefused(f"category {draw['category_id']} has {len(available)} active questions, "
                                 f"the exam draws {draw['count']}")
        chosen.extend(rng.sample(available, draw["count"]))
    return chosen


def deadline(started_at: datetime, time_limit_minutes) -> datetime | None:
    return started_at + timedelta(minutes=time_limit_minutes) if time_limit_minutes else None


def counts(answered_at: datetime, deadline_at: datetime | None) -> bool:
    """An answer saved after the time ran out does not count."""
    return deadline_at is None or answered_at <= deadline_at


def attempts_allowed(max_attempts: int, extra_attempts: int) -> int:
    return max_attempts + extra_attempts


def refuse_attempt(exam, attempts, allowed, now: datetime) -> None:
    """Raise AttemptRefused unless a new attempt may start at ``now``.
    ``attempts`` are this cycle's, oldest first: (status, submitted_at, grade)."""
    if any(status != GRADED for status, _, _ in attempts):
        raise AttemptRefused("the previous attempt is not graded yet")
    if outcome(exam, [grade for _, _, grade in attempts], allowed) == PASSED:
        raise AttemptRefused("the exam is already passed")
    if len(attempts) >= allowed:
        raise AttemptRefused(f"no attempts left ({len(attempts)} of {allowed} used)")
    if attempts and exam["grade_method"] == "first":
        raise AttemptRefused("only the first attempt counts (grade method first)")
    if attempts:
        ready_at = attempts[-1][1] + timedelta(minutes=exam["minutes_between_attempts"])
        if now < ready_at:
            raise AttemptRefused(f"the next attempt may start at {ready_at.isoformat()}")


def part_percent(earned: float, available: float) -> float:
    return 100.0 * earned / available if available else 0.0


def attempt_grade(parts, part_percents: dict[str, float]) -> float:
    """The weighted mean of the parts' percentages, 0-100."""
    total_weight = sum(part["weight"] for part in parts)
    return round(sum(part["weight"] * part_percents[part["kind"]] for part in parts) / total_weight, 2)


def exam_grade(method: str, grades: list[float]) -> float | None:
    """The grade across graded attempts (oldest first) by the exam's method."""
    if not grades:
        return None
    if method == "highest":
        return max(grades)
    if method == "last":
        return grades[-1]
    if method == "first":
        return grades[0]
    return round(mean(grades), 2)


def outcome(exam, grades: list[float], allowed: int) -> str:
    """PASSED when the grade across attempts reaches the pass mark; FAILED
    when nothing left can change that (no attempts left, or the first attempt
    decided it); OPEN otherwise."""
    grade = exam_grade(exam["grade_method"], grades)
    if grade is not None and grade >= exam["pass_mark"]:
        return PASSED
    if grades and (len(grades) >= allowed or exam["grade_method"] == "first"):
        return FAILED
    return OPEN
