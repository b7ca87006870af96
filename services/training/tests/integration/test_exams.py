"""Taking exams against real RabbitMQ and a real database (R3): draws frozen
per attempt, grading, time limits, attempts, delays, overrides, assessment."""
import pytest
from prometheus_client import REGISTRY

from plumbing.errors import Conflict, InvalidInput, NotFound
from plumbing.events import sequence_number
from plumbing.testing import EventTap, call_as
from training.models import Attempt


def act(container, method, *args, actor="tina"):
    return call_as(actor, container, method, *args)


def enrol(training, course, agent="ann"):
    return act(training, "enrol", course["id"], {"agents": [agent]})["items"][0]


def start(training, enrolment, module, agent="ann"):
    return act(training, "start_attempt", enrolment["id"], {"module_id": module["id"]}, [agent], actor=agent)


@pytest.fixture
def sit(training, answer_all):
    """``sit(enrolment, module, right)``: the agent starts an attempt and submits it, all right or all wrong."""
    def sit(enrolment, module, right, agent="ann"):
        attempt = start(training, enrolment, module, agent)
        return act(training, "submit_attempt", attempt["id"], answer_all(attempt, right), [agent], actor=agent)
    return sit


@pytest.fixture
def notices(service_config):
    """``notices()``: the exam_passed and exam_failed events published since the last call."""
    tap = EventTap(service_config["AMQP_URI"], "training", "training.#", name="notices")
    return lambda: [e for e in tap.rest(quiet=1.0) if e["type"].startswith("training.exam_")]


def test_a_theory_exam_is_drawn_per_category_graded_at_once_and_completes_the_course(
        training, build_course, answer_all, service_config, event_schemas):
    everything = EventTap(service_config["AMQP_URI"], "training", "training.#", name="all")
    course, module = build_course()
    enrolment = enrol(training, course)
    attempt = start(training, enrolment, module)
    assert [q["kind"] for q in attempt["questions"]] == ["true_false", "true_false", "single_choice"]
    assert all("correct" not in q for q in attempt["questions"])
    graded = act(training, "submit_attempt", attempt["id"], answer_all(attempt), ["ann"], actor="ann")
    assert (graded["status"], graded["grade"], graded["part_percents"]) == ("graded", 100, {"theory": 100})
    assert act(training, "get_enrolment", enrolment["id"])["status"] == "completed"
    published = everything.take(4)
    assert [e["type"] for e in published] == [
        "training.enrolled", "training.exam_passed", "training.completed", "training.certified"]
    assert published[1]["data"] == {
        "agent": "ann", "course_id": course["id"], "enrolment_id": enrolment["id"], "module_id": module["id"],
        "cycle": 1, "score": 100.0, "pass_mark": 60.0, "attempts_used": 1, "grade_method": "highest"}
    assert {e["subject"] for e in published} == {"training/ann"}
    assert [sequence_number(e) for e in published] == [1, 2, 3, 4]
    for envelope in published:
        event_schemas.validate(envelope)


def test_questions_retired_later_do_not_change_what_an_attempt_showed_or_how_it_grades(
        training, build_course, answer_all):
    course, module = build_course()
    attempt = start(training, enrol(training, course), module)
    for question in attempt["questions"]:
        act(training, "set_question_active", question["question_id"], {"active": False})
    assert act(training, "get_attempt", attempt["id"])["questions"] == attempt["questions"]
    assert act(training, "submit_attempt", attempt["id"], answer_all(attempt), ["ann"], actor="ann")["grade"] == 100
    retired = {q["question_id"] for q in attempt["questions"]}
    later = start(training, enrol(training, course, "bob"), module, "bob")
    assert retired.isdisjoint(q["question_id"] for q in later["questions"])


def test_a_second_attempt_draws_again(training, build_course, sit):
    course, module = build_course(max_attempts=30)
    enrolment = enrol(training, course)
    drawn = set()
    for _ in range(10):
        attempt = sit(enrolment, module, right=False)
        drawn.add(tuple(q["question_id"] for q in attempt["questions"][:2]))
    assert len(drawn) > 1


@pytest.mark.parametrize("method, grades, expected_status", [
    ("highest", (False, True), "completed"),
    ("last", (True,), "completed"),
    ("first", (False,), "retake"),
])
def test_grade_methods_decide_the_outcome(training, build_course, sit, notices, method, grades, expected_status):
    course, module = build_course(grade_method=method, max_attempts=3)
    enrolment = enrol(training, course)
    for right in grades:
        sit(enrolment, module, right)
    assert act(training, "get_enrolment", enrolment["id"])["status"] == expected_status
    [event] = notices()
    assert event["data"]["grade_method"] == method and event["data"]["attempts_used"] == len(grades)


def test_average_of_a_failed_and_a_full_attempt_passes_at_a_pass_mark_of_50(training, build_course, sit, notices):
    course, module = build_course(grade_method="average", pass_mark=50)
    enrolment = enrol(training, course)
    taken, passed_before = attempt_counts(course)
    sit(enrolment, module, right=False)
    sit(enrolment, module, right=True)
    [passed] = notices()
    assert (passed["type"], passed["data"]["score"]) == ("training.exam_passed", 50.0)
    assert attempt_counts(course) == (taken + 2, passed_before + 1)


def attempt_counts(course):
    """(attempts graded, attempts passed) of the course, as Prometheus would scrape them."""
    labels = {"course": str(course["id"])}
    return tuple(REGISTRY.get_sample_value(f"csops_training_exam_attempts{kind}_total", labels) or 0
                 for kind in ("", "_passed"))


def test_the_last_attempt_failed_sets_retake_and_says_so_once(training, build_course, sit, notices, event_schemas):
    course, module = build_course(max_attempts=2)
    enrolment = enrol(training, course)
    sit(enrolment, module, right=False)
    assert act(training, "get_enrolment", enrolment["id"])["status"] == "enrolled"
    assert notices() == []     # a failed attempt with one left is no notice
    sit(enrolment, module, right=False)
    [failed] = notices()
    event_schemas.validate(failed)
    assert failed["data"]["outcome"] == "retake" and failed["data"]["attempts_used"] == 2
    assert act(training, "get_enrolment", enrolment["id"])["status"] == "retake"
    with pytest.raises(Conflict, match="the enrolment is retake"):
        start(training, enrolment, module)
    assert notices() == []


def test_retrain_starts_the_course_over_retake_keeps_the_other_modules(training, build_course, sit):
    for outcome, content_kept in (("retake", 100), ("retrain", 0)):
        course, module = build_course(after_final_failure=outcome, max_attempts=1)
        content = act(training, "add_module", course["id"], {"title": "Policies", "kind": "content"})
        enrolment = enrol(training, course)
        act(training, "record_progress", enrolment["id"], {"module_id": content["id"], "percent": 100})
        sit(enrolment, module, right=False)
        again = enrol(training, course)
        assert (again["status"], again["cycle"], again["completion_percent"]) == ("enrolled", 2, content_kept / 2)
        sit(again, module, right=True)   # the attempts of the first cycle no longer count


def test_too_early_and_no_attempts_left_are_conflicts(training, build_course, sit, shift_back):
    course, module = build_course(max_attempts=2, minutes_between_attempts=60)
    enrolment = enrol(training, course)
    first = sit(enrolment, module, right=False)
    with pytest.raises(Conflict, match="the next attempt may start at"):
        start(training, enrolment, module)
    shift_back(Attempt, "submitted_at", first["id"], minutes=61)
    sit(enrolment, module, right=False)
    with pytest.raises(Conflict, match="the enrolment is retake"):
        start(training, enrolment, module)


def test_an_override_gives_an_extra_attempt_in_its_cycle_only(training, build_course, sit, notices):
    course, module = build_course(max_attempts=1)
    enrolment = enrol(training, course)
    sit(enrolment, module, right=False)
    assert [e["type"] for e in notices()] == ["training.exam_failed"]
    override = act(training, "grant_override", enrolment["id"],
                   {"module_id": module["id"], "reason": "fire alarm during the exam"})
    assert (override["cycle"], override["extra_attempts"], override["granted_by"]) == (1, 1, "tina")
    assert act(training, "get_enrolment", enrolment["id"])["status"] == "enrolled"
    sit(enrolment, module, right=False)
    [failed] = notices()   # the extra attempt was the last one now: one more notice
    assert failed["data"]["attempts_used"] == 2
    again = enrol(training, course)
    sit(again, module, right=False)
    with pytest.raises(Conflict, match="the enrolment is retake"):
        start(training, again, module)          # cycle 2 has its own single attempt


def test_time_running_out_submits_with_the_answers_saved_in_time(
        training, build_course, answer_all, shift_back):
    course, module = build_course(time_limit_minutes=10)
    attempt = start(training, enrol(training, course), module)
    answers = answer_all(attempt)["answers"]
    first_id = next(iter(answers))
    act(training, "save_answers", attempt["id"], {"answers": {first_id: answers[first_id]}}, ["ann"], actor="ann")
    assert act(training, "sweep_deadlines") == 0
    shift_back(Attempt, "deadline", attempt["id"], minutes=1)
    with pytest.raises(Conflict, match="the time limit has run out"):
        act(training, "save_answers", attempt["id"], answer_all(attempt), ["ann"], actor="ann")
    assert act(training, "sweep_deadlines") == 1
    closed = act(training, "get_attempt", attempt["id"])
    assert closed["status"] == "graded" and closed["auto_submitted"] is True
    assert closed["submitted_at"] == closed["deadline"]
    assert [q["answer"] is not None for q in closed["questions"]].count(True) == 1
    assert 0 < closed["grade"] < 100
    assert act(training, "sweep_deadlines") == 0
    with pytest.raises(Conflict, match="already submitted"):
        act(training, "submit_attempt", attempt["id"], {}, ["ann"], actor="ann")


def test_a_late_submission_counts_only_answers_saved_before_the_deadline(
        training, build_course, answer_all, shift_back):
    course, module = build_course(time_limit_minutes=10)
    attempt = start(training, enrol(training, course), module)
    shift_back(Attempt, "deadline", attempt["id"], seconds=1)
    late = act(training, "submit_attempt", attempt["id"], answer_all(attempt), ["ann"], actor="ann")
    assert (late["auto_submitted"], late["grade"], late["submitted_at"]) == (True, 0, late["deadline"])


def test_practical_part_waits_for_the_assessor(training, build_course, sit, notices):
    course, module = build_course(practical=True)
    enrolment = enrol(training, course)
    attempt = sit(enrolment, module, right=True)
    assert attempt["status"] == "awaiting_assessment" and attempt["grade"] is None
    with pytest.raises(Conflict, match="not graded yet"):
        start(training, enrolment, module)
    with pytest.raises(InvalidInput) as raised:
        act(training, "assess_attempt", attempt["id"], {"parts": {"customer_evaluation": 90}, "marks": {"7": 1}})
    assert set(raised.value.details) == {"parts", "marks"}
    graded = act(training, "assess_attempt", attempt["id"], {"parts": {"practical": 50}})
    assert (graded["grade"], graded["part_percents"]) == (80.0, {"theory": 100.0, "practical": 50.0})
    assert [e["type"] for e in notices()] == ["training.exam_passed"]
    with pytest.raises(Conflict, match="the attempt is graded"):
        act(training, "assess_attempt", attempt["id"], {"parts": {"practical": 100}})


def test_a_short_answer_is_marked_by_the_assessor(training, bank):
    category = act(training, "create_category", {"name": "writing"})["id"]
    question = act(training, "create_question", {"category_id": category, "kind": "short_answer",
                                                 "prompt": "Apologise for a late parcel", "marks": 4})
    course = act(training, "create_course", {"title": "Writing", "kind": "special", "mode": "online",
                                             "duration_hours": 1, "target_role": "agent"})
    module = act(training, "add_module", course["id"], {"title": "Exam", "kind": "exam", "exam": {
        "parts": [{"kind": "theory", "weight": 1, "draws": [{"category_id": category, "count": 1}]}],
        "pass_mark": 50}})
    enrolment = enrol(training, course)
    attempt = start(training, enrolment, module)
    key = str(question["id"])
    submitted = act(training, "submit_attempt", attempt["id"], {"answers": {key: "We are sorry..."}}, ["ann"],
                    actor="ann")
    assert submitted["status"] == "awaiting_assessment"
    with pytest.raises(InvalidInput) as raised:
        act(training, "assess_attempt", attempt["id"], {"marks": {key: 5}})
    assert raised.value.details == {"marks": {key: ["at most 4.0"]}}
    assert act(training, "assess_attempt", attempt["id"], {"marks": {key: 3}})["grade"] == 75


def test_answers_are_checked_against_the_attempt(training, build_course):
    course, module = build_course()
    attempt = start(training, enrol(training, course), module)
    single = next(q for q in attempt["questions"] if q["kind"] == "single_choice")
    with pytest.raises(InvalidInput) as raised:
        act(training, "save_answers", attempt["id"], {"answers": {"999999": True, str(single["question_id"]): 5}},
            ["ann"], actor="ann")
    assert raised.value.details == {"answers": {"999999": ["not a question of this attempt"],
                                                str(single["question_id"]): ["the position of one option"]}}
    assert all(q["answer"] is None for q in act(training, "get_attempt", attempt["id"])["questions"])


def test_someone_elses_enrolment_or_attempt_is_not_found(training, build_course):
    course, module = build_course()
    enrolment = enrol(training, course)
    with pytest.raises(NotFound):
        start(training, enrolment, module, agent="bob")
    attempt = start(training, enrolment, module)
    with pytest.raises(NotFound):
        act(training, "get_attempt", attempt["id"], ["bob"], actor="bob")


def test_bad_exam_settings_name_the_fields_and_write_nothing(training, bank):
    course = act(training, "create_course", {"title": "x", "kind": "special", "mode": "online",
                                             "duration_hours": 1, "target_role": "agent"})
    with pytest.raises(InvalidInput) as raised:
        act(training, "add_module", course["id"], {"title": "Exam", "kind": "exam", "exam": {
            "parts": [{"kind": "oral", "weight": 0}], "pass_mark": 101, "grade_method": "best", "max_attempts": 0}})
    assert set(raised.value.details["exam"]) == {"parts", "pass_mark", "grade_method", "max_attempts"}
    with pytest.raises(InvalidInput) as raised:
        act(training, "add_module", course["id"], {"title": "Exam", "kind": "exam", "exam": {
            "parts": [{"kind": "theory", "weight": 1, "draws": [{"category_id": 999, "count": 1}]}], "pass_mark": 1}})
    assert raised.value.details == {"exam": {"parts": {"0": {"draws": {"0": {"category_id": ["does not exist"]}}}}}}
    with pytest.raises(InvalidInput) as raised:
        act(training, "add_module", course["id"], {"title": "Exam", "kind": "exam"})
    assert set(raised.value.details) == {"exam"}
    assert act(training, "get_course", course["id"])["modules"] == []
