"""What a new department tripped over in its first week (issue 24), on appraisal's handlers over SQLite:
an item with no data, the order of an appeal's steps, a result's team, references a template names,
outcomes that could not be applied, and KPI definitions and templates that can be changed and retired."""
from datetime import datetime, timezone

import pytest

from appraisal.cycles import handlers as cycles
from appraisal.cycles.rules import WorkingDays
from appraisal.facts import handlers as facts
from appraisal.reviews import handlers as reviews
from plumbing.errors import Conflict, InvalidInput, NotFound
from plumbing.events import make_envelope

MARCH_2 = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
FRIDAY = datetime(2026, 4, 3, 12, tzinfo=timezone.utc)
NO_HOLIDAYS = WorkingDays(None)
VOLUME = {"key": "volume", "name": "Tickets received", "category": "efficiency", "source": "measured",
          "measure": "volume", "direction": "higher_better", "target": 200, "floor": 0}
COURTESY = {"key": "courtesy", "name": "Courtesy", "category": "attitude", "source": "rated", "measure": "courtesy",
            "direction": "higher_better", "target": 90, "floor": 50}
# docs/appraisal.md's worked example: volume 30, courtesy 70; D sends to retraining
TEMPLATE = {"name": "New team monthly", "role": "agent", "period_type": "monthly",
            "items": [{"kpi": "volume", "weight": 30}, {"kpi": "courtesy", "weight": 70}],
            "reviewer_weights": {"supervisor": 100},
            "bands": [{"grade": "A", "min_score": 80}, {"grade": "C", "min_score": 20},
                      {"grade": "D", "min_score": 0, "warning": True}]}


NONE_MISSING = []  # training's missing_courses, as the gateway passes it on: it has every course named


def staff(username, teams, sequence=1):
    return make_envelope(service="gateway", event_type="staff.account_created", subject=f"staff/{username}",
                         data={"username": username, "teams": teams}, sequence=sequence, time=MARCH_2)


@pytest.fixture
def cycle(run):
    for definition in (VOLUME, COURTESY):
        run(reviews.create_kpi_definition, definition, actor="carla")
    template = run(reviews.create_template, TEMPLATE, NONE_MISSING, actor="carla")
    cycle = run(cycles.create_cycle, {"template_id": template["id"], "period_start": "2026-03-01"}, actor="carla")
    run(cycles.advance_cycle, cycle["id"], {"action": "start"}, NO_HOLIDAYS, actor="carla")
    return cycle


def advance(run, cycle, *actions, at=FRIDAY):
    for action in actions:
        answer = run(cycles.advance_cycle, cycle["id"], {"action": action}, NO_HOLIDAYS, actor="carla", at=at)
    return answer


def result_of(run, cycle, agent):
    return run(cycles.list_results, cycle["id"], {"agent": agent})["items"][0]


def published_with_appeal(run, cycle, agent="dee", courtesy=60):
    run(reviews.rate, {"cycle_id": cycle["id"], "agent": agent, "reviewer_role": "supervisor",
                       "scores": {"courtesy": courtesy}}, actor="sue")
    advance(run, cycle, "compute", "review", "publish")
    return run(cycles.file_appeal, cycle["id"], {"items": ["courtesy"], "reason": "one call"}, NO_HOLIDAYS,
               actor=agent, at=FRIDAY)


# -- 4: a measured item with no data is not applicable ---------------------------------------------
def test_volume_with_no_tickets_is_not_applicable_and_an_upheld_appeal_on_the_only_rated_item_moves_the_score(
        run, cycle):
    appeal = published_with_appeal(run, cycle)
    dee = result_of(run, cycle, "dee")
    volume, courtesy = dee["breakdown"]["items"]
    # volume 0 tickets: no data, not 0 points; courtesy 60 -> (60 - 50) / (90 - 50) = 25 points, all the weight
    assert (volume["value"], volume["applicable"], volume["points"]) == (0, False, None)
    assert (courtesy["points"], courtesy["effective_weight"]) == (25.0, 100.0)
    assert (dee["score"], dee["grade"], dee["outcome"]["warning"]) == (25.0, "C", False)
    run(cycles.investigate_appeal, appeal["id"], {"note": "the call was a fraud attempt"}, actor="carla", at=FRIDAY)
    decided = run(cycles.decide_appeal, appeal["id"], {"decision": "upheld", "reason": "fraud call"},
                  actor="carla", at=FRIDAY)
    assert (decided["score_before"], decided["score_after"]) == (25.0, None)
    dee = result_of(run, cycle, "dee")
    # nothing left applies: no score, no grade, no outcome (no warning, no retraining)
    assert (dee["score"], dee["grade"], dee["outcome"], dee["adjusted"]) == (None, None, {}, True)


# -- 5: investigate, then decide ----------------------------------------------------------------------
def test_a_decision_is_refused_until_an_investigation_is_recorded(run, cycle):
    appeal = published_with_appeal(run, cycle)
    with pytest.raises(Conflict, match="investigate first") as refused:
        run(cycles.decide_appeal, appeal["id"], {"decision": "rejected", "reason": "as rated"}, actor="carla",
            at=FRIDAY)
    assert refused.value.details == {"state": ["appeal is filed: investigate first"]}
    run(cycles.investigate_appeal, appeal["id"], {"note": "listened to the call"}, actor="carla", at=FRIDAY)
    assert run(cycles.decide_appeal, appeal["id"], {"decision": "rejected", "reason": "as rated"}, actor="carla",
               at=FRIDAY)["state"] == "decided"


# -- 6: a result's team ------------------------------------------------------------------------------
def test_an_agent_without_tickets_has_the_team_of_their_account(run, cycle):
    run(facts.take_staff_facts, [staff("dee", ["billing"]), staff("eve", [])])
    for agent in ("dee", "eve"):
        run(reviews.rate, {"cycle_id": cycle["id"], "agent": agent, "reviewer_role": "supervisor",
                           "scores": {"courtesy": 80}}, actor="sue")
    advance(run, cycle, "compute")
    assert (result_of(run, cycle, "dee")["team"], result_of(run, cycle, "eve")["team"]) == ("billing", None)


# -- 2: a template names a course training has; an outcome that could not apply is on the cycle --------
def test_a_template_whose_band_names_a_course_training_does_not_have_is_refused(run):
    for definition in (VOLUME, COURTESY):
        run(reviews.create_kpi_definition, definition, actor="carla")
    bands = [dict(band, retraining_course_id=7) if band["grade"] == "D" else band for band in TEMPLATE["bands"]]
    with pytest.raises(InvalidInput, match="course 7") as refused:
        run(reviews.create_template, dict(TEMPLATE, bands=bands), [7], actor="carla")
    assert refused.value.details == {"bands": {"2": {"retraining_course_id": ["course 7 does not exist in training"]}}}
    assert run(reviews.list_templates)["items"] == []
    assert run(reviews.create_template, dict(TEMPLATE, bands=bands), NONE_MISSING, actor="carla")["id"]


def test_an_enrolment_training_refused_is_on_the_cycle_for_the_committee(run, cycle):
    refused = make_envelope(service="training", event_type="training.retraining_refused", subject="training/dee",
                            data={"agent": "dee", "course_id": 7, "cycle_id": cycle["id"],
                                  "reason": "course 7 does not exist"}, sequence=1, time=FRIDAY)
    other = make_envelope(service="training", event_type="training.retraining_refused", subject="training/eve",
                          data={"agent": "eve", "course_id": 7, "cycle_id": cycle["id"], "reason": "gone"},
                          sequence=1, time=FRIDAY)
    run(cycles.take_refused_outcomes, [refused, refused, other])
    run(cycles.take_refused_outcomes, [refused])  # a redelivery
    assert run(cycles.get_cycle, cycle["id"])["outcome_failures"] == [
        {"agent": "dee", "course_id": 7, "reason": "course 7 does not exist", "at": refused["time"]},
        {"agent": "eve", "course_id": 7, "reason": "gone", "at": other["time"]}]
    assert run(cycles.audit_trail, cycle["id"])["items"][-1]["action"] == "outcome_failed"


# -- 3: KPI definitions and templates are edited and retired; cycles keep the rule they were planned with ---
def test_a_kpi_definition_is_edited_retired_and_an_unused_one_deleted_so_its_key_is_free(run, cycle):
    edited = run(reviews.update_kpi_definition, "courtesy", {"name": "Courtesy phrases", "target": 100},
                 actor="carla")
    assert (edited["name"], edited["target"], edited["floor"], edited["retired_at"]) == (
        "Courtesy phrases", 100.0, 50.0, None)
    with pytest.raises(InvalidInput) as refused:
        run(reviews.update_kpi_definition, "courtesy", {"floor": 120}, actor="carla")
    assert refused.value.details == {"floor": ["must be below target for higher_better"]}
    with pytest.raises(NotFound):
        run(reviews.update_kpi_definition, "nope", {"name": "x"}, actor="carla")
    # a typo in a key nobody uses: deleted, and the key is free again
    run(reviews.create_kpi_definition, dict(COURTESY, key="curtesy"), actor="carla")
    run(reviews.delete_kpi_definition, "curtesy", actor="carla")
    assert run(reviews.create_kpi_definition, dict(COURTESY, key="curtesy"), actor="carla")["key"] == "curtesy"
    # one a template names is not deleted: it is retired, and no new template may name it
    with pytest.raises(Conflict, match="New team monthly"):
        run(reviews.delete_kpi_definition, "volume", actor="carla")
    assert run(reviews.update_kpi_definition, "volume", {"retired": True}, actor="carla")["retired_at"]
    with pytest.raises(InvalidInput) as refused:
        run(reviews.create_template, dict(TEMPLATE, name="Another"), NONE_MISSING, actor="carla")
    assert refused.value.details == {"items": ["retired KPI definitions: volume"]}


def test_an_edited_or_retired_template_leaves_the_cycles_planned_with_it_as_they_were(run, cycle):
    template_id = cycle["template_id"]
    edited = run(reviews.update_template, template_id, {
        "name": "New team monthly v2", "items": [{"kpi": "courtesy", "weight": 100}]}, NONE_MISSING,
        actor="carla")
    assert (edited["name"], [i["kpi"] for i in edited["items"]], edited["retired_at"]) == (
        "New team monthly v2", ["courtesy"], None)
    run(reviews.update_kpi_definition, "courtesy", {"target": 70}, actor="carla")
    # the cycle planned before scores with the template and definitions as they were then
    run(reviews.rate, {"cycle_id": cycle["id"], "agent": "dee", "reviewer_role": "supervisor",
                       "scores": {"courtesy": 60}}, actor="sue")
    advance(run, cycle, "compute")
    items = result_of(run, cycle, "dee")["breakdown"]["items"]
    assert [(i["kpi"], i["points"]) for i in items] == [("volume", None), ("courtesy", 25.0)]
    with pytest.raises(InvalidInput) as refused:
        run(reviews.update_template, template_id, {"items": [{"kpi": "courtesy", "weight": 90}]}, NONE_MISSING,
            actor="carla")
    assert refused.value.details == {"items": ["weights must sum to 100, not 90"]}
    assert run(reviews.update_template, template_id, {"retired": True}, NONE_MISSING, actor="carla")["retired_at"]
    with pytest.raises(Conflict, match="retired") as refused:
        run(cycles.create_cycle, {"template_id": template_id, "period_start": "2026-04-01"}, actor="carla")
    assert "template_id" in refused.value.details
    # names are editable, a retired template's too: renamed, its name is free for a new template
    run(reviews.update_template, template_id, {"name": "New team monthly (retired)"}, NONE_MISSING, actor="carla")
    assert run(reviews.create_template, dict(TEMPLATE, name="New team monthly v2"), NONE_MISSING,
               actor="carla")["id"] != template_id

