"""Weighted templates and the score they give (A2, A3, A6), with no framework.

A KPI definition turns a value into points (0-100): full points at ``target``
or better, none at ``floor`` or worse, a straight line between (the contract's
``definition_errors`` refuses a target no better than its floor). A measured
KPI takes its value from the KPIs of ``kpis/rules.py``; a rated one from ratings:
the mean score each reviewer role gave, combined with the template's weights
per role (over the roles that rated). Template item weights sum to 100; an
item with no value (no data: a KPI that is None, or a count such as volume
that is 0; or voided by an upheld appeal) is left out and the others share
its weight. An instant-fail item worse than its threshold
makes the score 0. The grade is the highest band whose minimum the score
reaches; the band says the outcome. Every number of the result is in its
breakdown, so each can be traced to its inputs.
"""
from dataclasses import dataclass, field

from appraisal.contract import HIGHER, MEASURED
from appraisal.kpis.rules import COUNTS

WEIGHT_TOTAL = 100
RATING_STATES = ("collecting", "computed")  # the cycle states in which ratings are taken


@dataclass(frozen=True)
class KpiDefinition:
    key: str
    category: str
    source: str
    measure: str       # a contract.KPI_KEYS key (measured) or a rating item such as "courtesy" (rated)
    direction: str
    target: float
    floor: float

    def points(self, value: float) -> float:
        share = (value - self.floor) / (self.target - self.floor)  # either direction: target != floor
        return round(100 * min(1.0, max(0.0, share)), 4)

    def worse_than(self, value: float, threshold: float) -> bool:
        return value < threshold if self.direction == HIGHER else value > threshold


@dataclass(frozen=True)
class Band:
    grade: str
    min_score: float
    bonus_tier: int | None = None
    promotion_eligible: bool = False
    warning: bool = False
    retraining_course_id: int | None = None


@dataclass(frozen=True)
class Template:
    items: tuple            # ((kpi key, weight, instant-fail threshold or None), ...)
    reviewer_weights: dict  # role -> weight
    bands: tuple            # Band, any order


def template_errors(items, reviewer_weights, bands, known_kpis) -> dict:
    """Why a template cannot be used, by field; empty when it can."""
    errors = {}
    total = sum(item["weight"] for item in items)
    if total != WEIGHT_TOTAL:
        errors["items"] = [f"weights must sum to {WEIGHT_TOTAL}, not {total:g}"]
    unknown = sorted({item["kpi"] for item in items} - set(known_kpis))
    if unknown:
        errors.setdefault("items", []).append(f"unknown KPI definitions: {', '.join(unknown)}")
    if len({item["kpi"] for item in items}) != len(items):
        errors.setdefault("items", []).append("a KPI appears twice")
    role_total = sum(reviewer_weights.values())
    if reviewer_weights and role_total != WEIGHT_TOTAL:
        errors["reviewer_weights"] = [f"weights must sum to {WEIGHT_TOTAL}, not {role_total:g}"]
    if not any(band["min_score"] == 0 for band in bands):
        errors["bands"] = ["one band must start at 0 so every score has a grade"]
    if len({band["grade"] for band in bands}) != len(bands):
        errors.setdefault("bands", []).append("a grade appears twice")
    return errors


def rated_value(scores_by_role: dict, reviewer_weights: dict):
    """(value, per-role means) from ``{role: [scores]}``; value None when nobody rated."""
    means = {role: sum(scores) / len(scores) for role, scores in scores_by_role.items() if scores}
    weighted = {role: reviewer_weights.get(role, 0) for role in means}
    total = sum(weighted.values())
    if not total:
        return None, means
    return sum(means[role] * weight for role, weight in weighted.items()) / total, means


@dataclass
class Score:
    score: float | None
    grade: str | None
    band: Band | None
    failed_by: list = field(default_factory=list)
    items: list = field(default_factory=list)


def score(template: Template, definitions: dict, measured: dict, ratings: dict, voided=frozenset()) -> Score:
    """The score of one agent: ``measured`` KPI values, ``ratings`` as
    ``{rating item: {role: [scores]}}``, ``voided`` KPI keys left out."""
    items, failed_by = [], []
    for key, weight, fail_threshold in template.items:
        definition = definitions[key]
        inputs = None
        if definition.source == MEASURED:
            value = measured.get(definition.measure)
        else:
            value, inputs = rated_value(ratings.get(definition.measure, {}), template.reviewer_weights)
        applicable = has_data(definition, value) and key not in voided
        points = definition.points(value) if applicable else None
        if applicable and fail_threshold is not None and definition.worse_than(value, fail_threshold):
            failed_by.append(key)
        items.append({"kpi": key, "source": definition.source, "measure": definition.measure, "value": value,
                      "points": points, "weight": weight, "applicable": applicable, "voided": key in voided,
                      "instant_fail_threshold": fail_threshold, "rated_by_role": inputs})
    applicable_weight = sum(item["weight"] for item in items if item["applicable"])
    for item in items:
        share = item["weight"] / applicable_weight if item["applicable"] else 0.0
        item["effective_weight"] = round(100 * share, 4)
        item["contribution"] = round(item["points"] * share, 4) if item["applicable"] else 0.0
    if not applicable_weight:
        return Score(None, None, None, failed_by, items)
    total = 0.0 if failed_by else round(sum(item["contribution"] for item in items), 2)
    band = grade_of(total, template.bands)
    return Score(total, band.grade, band, failed_by, items)


def has_data(definition: KpiDefinition, value) -> bool:
    """A measured count of 0 (volume: no tickets) is no data, like a KPI with no denominator (None)."""
    return value is not None and not (definition.source == MEASURED and definition.measure in COUNTS and not value)


def grade_of(total: float, bands) -> Band:
    return max((band for band in bands if total >= band.min_score), key=lambda band: band.min_score)
