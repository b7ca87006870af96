"""Templates, scores, grades, cycles and working-day deadlines, by hand-computed cases."""
from datetime import date, datetime, timezone

import pytest

from appraisal.contract import CYCLE_ACTIONS, CYCLE_STATES, definition_errors
from appraisal.cycles import rules as cycles
from appraisal.reviews import rules as scoring
from appraisal.reviews.rules import Band, KpiDefinition, Template

DEFINITIONS = {
    "speed": KpiDefinition("speed", "efficiency", "measured", "first_response_mean", "lower_better", 600, 3600),
    "compliance": KpiDefinition("compliance", "quality", "measured", "sla_compliance", "higher_better", 0.95, 0.5),
    "courtesy": KpiDefinition("courtesy", "attitude", "rated", "courtesy", "higher_better", 90, 50),
}
BANDS = (Band("A", 90, bonus_tier=1, promotion_eligible=True), Band("B", 75, bonus_tier=2), Band("C", 60),
         Band("D", 0, warning=True, retraining_course_id=7))
TEMPLATE = Template(items=(("speed", 40, None), ("compliance", 30, 0.6), ("courtesy", 30, None)),
                    reviewer_weights={"supervisor": 50, "quality": 30, "peer": 20}, bands=BANDS)


@pytest.mark.parametrize("definition, value, points", [
    ("speed", 600, 100.0), ("speed", 300, 100.0), ("speed", 3600, 0.0), ("speed", 2100, 50.0),
    ("compliance", 0.95, 100.0), ("compliance", 0.725, 50.0), ("compliance", 0.2, 0.0),
])
def test_points_run_straight_from_floor_to_target_in_either_direction(definition, value, points):
    assert DEFINITIONS[definition].points(value) == points


def test_a_score_weighs_measured_and_rated_items_and_keeps_every_input():
    measured = {"first_response_mean": 2100, "sla_compliance": 0.95}
    ratings = {"courtesy": {"supervisor": [80, 100], "quality": [70]}}  # 90 and 70 -> (90*50 + 70*30) / 80 = 82.5
    result = scoring.score(TEMPLATE, DEFINITIONS, measured, ratings)
    items = {item["kpi"]: item for item in result.items}
    assert items["courtesy"]["value"] == 82.5 and items["courtesy"]["rated_by_role"] == {"supervisor": 90, "quality": 70}
    assert items["courtesy"]["points"] == 81.25
    # 50 * 0.4 + 100 * 0.3 + 81.25 * 0.3
    assert result.score == 74.38 and result.grade == "C"
    assert sum(item["contribution"] for item in result.items) == pytest.approx(74.375)


def test_items_without_data_leave_and_the_others_share_their_weight():
    result = scoring.score(TEMPLATE, DEFINITIONS, {"first_response_mean": 600, "sla_compliance": None}, {})
    assert result.score == 100.0 and result.grade == "A"
    assert [item["effective_weight"] for item in result.items] == [100.0, 0.0, 0.0]


def test_an_upheld_appeal_voids_items():
    measured = {"first_response_mean": 3600, "sla_compliance": 0.95}
    assert scoring.score(TEMPLATE, DEFINITIONS, measured, {}).score == pytest.approx(42.86, abs=0.01)
    assert scoring.score(TEMPLATE, DEFINITIONS, measured, {}, voided={"speed"}).score == 100.0


def test_an_instant_fail_item_worse_than_its_threshold_zeroes_the_score():
    result = scoring.score(TEMPLATE, DEFINITIONS, {"first_response_mean": 600, "sla_compliance": 0.55}, {})
    assert result.failed_by == ["compliance"] and result.score == 0.0 and result.grade == "D"
    assert result.band.retraining_course_id == 7 and result.band.warning


def test_nothing_applicable_gives_no_score():
    result = scoring.score(TEMPLATE, DEFINITIONS, {}, {})
    assert (result.score, result.grade) == (None, None)


def test_template_weights_must_sum_to_100_and_name_known_kpis():
    items = [{"kpi": "speed", "weight": 60}, {"kpi": "ghost", "weight": 30}]
    errors = scoring.template_errors(items, {"peer": 50}, [{"grade": "A", "min_score": 50}], DEFINITIONS)
    assert errors == {"items": ["weights must sum to 100, not 90", "unknown KPI definitions: ghost"],
                      "reviewer_weights": ["weights must sum to 100, not 50"],
                      "bands": ["one band must start at 0 so every score has a grade"]}
    ok = [{"kpi": "speed", "weight": 60}, {"kpi": "courtesy", "weight": 40}]
    assert scoring.template_errors(ok, {}, [{"grade": "A", "min_score": 0}], DEFINITIONS) == {}


def test_a_definition_must_point_from_its_floor_towards_its_target():
    assert definition_errors("lower_better", 600, 3600) == {}
    assert definition_errors("lower_better", 3600, 600) == {"floor": ["must be above target for lower_better"]}
    assert definition_errors("higher_better", 1, 1) == {"floor": ["must differ from target"]}


def test_cycle_steps_follow_plan_collect_compute_review_publish_close():
    state = "planned"
    for action, expected in [("start", "collecting"), ("compute", "computed"), ("compute", "computed"),
                             ("review", "review"), ("publish", "published"), ("close", "closed")]:
        state = cycles.next_state(state, action)
        assert state == expected
    with pytest.raises(cycles.CycleConflict, match="cannot publish a cycle that is computed; it must be review"):
        cycles.next_state("computed", "publish")
    assert tuple(cycles.TRANSITIONS) == CYCLE_ACTIONS  # every action the contract accepts has its step
    assert {target for _, target in cycles.TRANSITIONS.values()} == set(CYCLE_STATES) - {"planned"}


@pytest.mark.parametrize("period_type, start, end", [
    ("monthly", date(2026, 2, 1), date(2026, 2, 28)), ("quarterly", date(2026, 10, 1), date(2026, 12, 31)),
    ("annual", date(2026, 1, 1), date(2026, 12, 31))])
def test_periods(period_type, start, end):
    assert cycles.period_of(period_type, start) == (start, end)


@pytest.mark.parametrize("period_type, start", [("monthly", date(2026, 2, 2)), ("quarterly", date(2026, 2, 1)),
                                                ("annual", date(2026, 4, 1))])
def test_periods_start_on_their_first_day(period_type, start):
    with pytest.raises(cycles.CycleConflict):
        cycles.period_of(period_type, start)


CN = cycles.WorkingDays("CN")


@pytest.mark.parametrize("start, days, expected", [
    (date(2026, 3, 2), 5, date(2026, 3, 9)),     # Monday + 5 working days: next Monday
    (date(2026, 3, 6), 1, date(2026, 3, 9)),     # Friday + 1: over the weekend
    (date(2026, 9, 30), 1, date(2026, 10, 8)),   # National Day: 1-7 October off
    (date(2026, 9, 30), 3, date(2026, 10, 10)),  # ... and Saturday 10 October a make-up working day
    (date(2026, 9, 19), 1, date(2026, 9, 20)),   # Sunday 20 September is one too
    (date(2026, 9, 24), 1, date(2026, 9, 28)),   # Mid-Autumn Festival, Friday 25 September
])
def test_working_days_skip_weekends_and_public_holidays_and_keep_make_up_days(start, days, expected):
    assert CN.add(start, days) == expected


def test_configured_holidays_and_working_weekend_days_count():
    custom = cycles.WorkingDays(None, extra_holidays=frozenset({date(2026, 3, 3)}),
                                working_weekend_days=frozenset({date(2026, 3, 7)}))
    assert custom.add(date(2026, 3, 2), 3) == date(2026, 3, 6)   # Tue off: Wed, Thu, Fri
    assert custom.add(date(2026, 3, 6), 1) == date(2026, 3, 7)   # a working Saturday


def test_an_appeal_after_the_deadline_is_refused_with_the_date():
    cycles.check_appeal_allowed("published", date(2026, 3, 9), date(2026, 3, 9))
    with pytest.raises(cycles.CycleConflict, match="closed at the end of 2026-03-09"):
        cycles.check_appeal_allowed("published", date(2026, 3, 9), date(2026, 3, 10))
    with pytest.raises(cycles.CycleConflict, match="only while published"):
        cycles.check_appeal_allowed("closed", date(2026, 3, 9), date(2026, 3, 1))


def test_a_count_of_zero_is_no_data_and_leaves_the_score():
    volume = KpiDefinition("volume", "volume", "measured", "volume", "higher_better", 200, 0)
    template = Template(items=(("volume", 30, None), ("courtesy", 70, None)), reviewer_weights={"supervisor": 100},
                        bands=BANDS)
    ratings = {"courtesy": {"supervisor": [70]}}  # (70 - 50) / (90 - 50) = 50 points
    none = scoring.score(template, dict(DEFINITIONS, volume=volume), {"volume": 0}, ratings)
    assert (none.score, [item["applicable"] for item in none.items]) == (50.0, [False, True])
    some = scoring.score(template, dict(DEFINITIONS, volume=volume), {"volume": 100}, ratings)
    assert some.score == 50.0  # 0.3 * 50 + 0.7 * 50


def test_a_result_without_tickets_takes_the_team_joined_last_then_the_first_by_name():
    march = datetime(2026, 3, 10, tzinfo=timezone.utc)
    assert cycles.latest_team([(None, "tech"), (march, "billing")]) == "billing"
    assert cycles.latest_team([(None, "tech"), (None, "billing")]) == "billing"
