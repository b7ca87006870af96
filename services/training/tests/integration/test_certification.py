"""Enrolment, certification and career levels against real RabbitMQ and a
real database (R2, R4, R5), and enrolment on appraisal's request."""
from datetime import datetime, timedelta, timezone

import eventlet
import pytest

from plumbing.errors import Conflict, InvalidInput, NotFound
from plumbing.testing import EventTap, call_as, publish_event, wait_for
from training.models import Certification
from training.service import TrainingService


def act(container, method, *args, actor="tina"):
    return call_as(actor, container, method, *args)


@pytest.fixture
def certified_course(training, build_course, answer_all):
    """``certify(agent)`` takes the onboarding exam right; returns the course."""
    course, module = build_course()

    def certify(agent):
        enrolment = act(training, "enrol", course["id"], {"agents": [agent]})["items"][0]
        attempt = act(training, "start_attempt", enrolment["id"], {"module_id": module["id"]}, [agent], actor=agent)
        act(training, "submit_attempt", attempt["id"], answer_all(attempt), [agent], actor=agent)
    certify.course = course
    return certify


class CertificationEvents:
    """The certification events among everything training publishes."""

    def __init__(self, amqp_uri):
        self.tap = EventTap(amqp_uri, "training", "training.#", name="certs")

    @staticmethod
    def about_certifications(envelopes):
        return [e for e in envelopes if e["type"].startswith("training.certif")]

    def take(self, count):
        found = []
        while len(found) < count:
            found += self.about_certifications(self.tap.take(1))
        return found

    def rest(self, quiet=1.0):
        return self.about_certifications(self.tap.rest(quiet))


@pytest.fixture
def tap(service_config):
    return CertificationEvents(service_config["AMQP_URI"])


def certificate(training, agent):
    [held] = act(training, "list_certifications", {"agent": agent})["items"]
    return held


def test_enrolling_a_team_twice_enrols_each_agent_once(training, build_course, service_config):
    course, _ = build_course()
    enrolled = EventTap(service_config["AMQP_URI"], "training", "training.enrolled")
    first = act(training, "enrol", course["id"], {"agents": ["ann", "bob", "ann"], "reason": "new hires"})["items"]
    again = act(training, "enrol", course["id"], {"agents": ["ann", "bob"]})["items"]
    assert [e["id"] for e in first] == [e["id"] for e in again] and [e["agent"] for e in first] == ["ann", "bob"]
    assert [e["data"]["agent"] for e in enrolled.take(2)] == ["ann", "bob"] and enrolled.rest(quiet=0.5) == []
    assert first[0]["enrolled_by"] == "tina" and first[0]["reason"] == "new hires"
    assert act(training, "list_enrolments", {"course_id": course["id"]}, ["bob"])["total"] == 1


def test_attendance_and_progress_make_the_completion(training, service_config):
    course = act(training, "create_course", {"title": "Service skills", "kind": "periodic", "mode": "online",
                                             "duration_hours": 2, "target_role": "agent", "sessions_per_month": 2})
    session = act(training, "add_module", course["id"], {
        "title": "Role play", "kind": "session", "scheduled_at": "2026-06-01T09:00:00+08:00"})
    reading = act(training, "add_module", course["id"], {"title": "Psychology", "kind": "content"})
    assert (session["position"], reading["position"], session["scheduled_at"]) == (1, 2, "2026-06-01T01:00:00+00:00")
    completed = EventTap(service_config["AMQP_URI"], "training", "training.completed")
    enrolment = act(training, "enrol", course["id"], {"agents": ["ann"]})["items"][0]
    detail = act(training, "record_progress", enrolment["id"], {"module_id": reading["id"], "percent": 50},
                 ["ann"], actor="ann")
    assert (detail["completion_percent"], detail["status"]) == (25, "enrolled")
    with pytest.raises(InvalidInput) as raised:
        act(training, "record_progress", enrolment["id"], {"module_id": session["id"], "percent": 100})
    assert raised.value.details == {"module_id": ["a session module, not a content module"]}
    act(training, "record_attendance", enrolment["id"], {"module_id": session["id"], "attended": True})
    detail = act(training, "record_progress", enrolment["id"], {"module_id": reading["id"], "percent": 100})
    assert (detail["completion_percent"], detail["status"]) == (100, "completed") and detail["completed_at"]
    assert [m["attended"] for m in detail["modules"]] == [True, None]
    assert completed.take(1)[0]["data"]["completed_at"] == detail["completed_at"]
    with pytest.raises(Conflict, match="the enrolment is completed"):
        act(training, "record_progress", enrolment["id"], {"module_id": reading["id"], "percent": 10})
    with pytest.raises(NotFound):
        act(training, "record_progress", enrolment["id"], {"module_id": reading["id"], "percent": 10}, ["bob"])


def test_passing_certifies_with_an_expiry_and_passing_again_renews_it(
        training, certified_course, tap, event_schemas):
    before = datetime.now(timezone.utc)
    certified_course("ann")
    held = certificate(training, "ann")
    valid_until = datetime.fromisoformat(held["valid_until"])
    assert held["valid"] and timedelta(days=365) <= valid_until - before < timedelta(days=365, minutes=1)
    [event] = tap.take(1)
    event_schemas.validate(event)
    assert event["data"] == {"agent": "ann", "certification": "onboarding", "valid_until": held["valid_until"],
                             "clears_for_duty": False}
    certified_course("ann")   # a new cycle, passed again
    renewed = certificate(training, "ann")
    assert renewed["id"] == held["id"] and renewed["issued_at"] > held["issued_at"]
    assert renewed["valid_until"] > held["valid_until"]
    assert tap.take(1)[0]["data"]["valid_until"] == renewed["valid_until"]


def test_revoking_ends_a_certification_once(training, certified_course, tap, event_schemas):
    certified_course("ann")
    tap.take(1)
    held = certificate(training, "ann")
    revoked = act(training, "revoke_certification", held["id"], {"reason": "breach of the privacy policy"})
    assert revoked["valid"] is False and revoked["revoked_reason"] == "breach of the privacy policy"
    [event] = tap.take(1)
    event_schemas.validate(event)
    assert (event["type"], event["data"]) == ("training.certification_revoked",
                                              {"agent": "ann", "certification": "onboarding"})
    with pytest.raises(Conflict, match="no longer valid"):
        act(training, "revoke_certification", held["id"], {"reason": "again"})
    with pytest.raises(InvalidInput) as raised:
        act(training, "revoke_certification", held["id"], {})
    assert set(raised.value.details) == {"reason"}
    with pytest.raises(NotFound):
        act(training, "revoke_certification", 999, {"reason": "x"})


def test_expiry_is_announced_once_and_counted(training, certified_course, tap, database_url, shift_back,
                                              event_schemas):
    from prometheus_client import REGISTRY
    certified_course("ann")
    certified_course("bob")
    tap.take(2)
    assert act(training, "sweep_expiry") == 0
    assert REGISTRY.get_sample_value("csops_training_certifications_valid", {"certification": "onboarding"}) == 2
    shift_back(Certification, "valid_until", certificate(training, "ann")["id"], seconds=1)
    shift_back(Certification, "valid_until", certificate(training, "bob")["id"], days=-10)   # 10 days left
    assert act(training, "sweep_expiry") == 1
    [event] = tap.take(1)
    event_schemas.validate(event)
    assert (event["type"], event["data"]["agent"]) == ("training.certification_expired", "ann")
    assert act(training, "sweep_expiry") == 0 and tap.rest(quiet=0.5) == []
    assert REGISTRY.get_sample_value("csops_training_certifications_valid", {"certification": "onboarding"}) == 1
    assert REGISTRY.get_sample_value("csops_training_certifications_expiring_soon",
                                     {"certification": "onboarding"}) == 1


def test_two_replicas_sweeping_at_once_announce_each_expiry_once(
        training, certified_course, start_service, tap, database_url, shift_back):
    if not database_url.startswith("postgresql"):
        pytest.skip("replicas share a PostgreSQL database; SQLite is for a single process")
    replica = start_service(TrainingService)
    agents = [f"agent{n}" for n in range(12)]
    for agent in agents:
        certified_course(agent)
        shift_back(Certification, "valid_until", certificate(training, agent)["id"], seconds=1)
    tap.take(len(agents))
    sweeps = [eventlet.spawn(act, container, "sweep_expiry") for container in (training, replica) for _ in range(3)]
    for sweep in sweeps:
        sweep.wait()
    assert sorted(e["data"]["agent"] for e in tap.take(len(agents))) == sorted(agents)
    assert tap.rest() == []


def test_the_specialist_level_decides_what_clears_for_duty(training, certified_course, tap):
    certified_course("ann")
    assert tap.take(1)[0]["data"]["clears_for_duty"] is False
    act(training, "set_career_level", "supervisor", {"certifications": ["onboarding", "coaching"]})
    assert tap.rest(quiet=0.5) == []           # only the specialist level clears for duty
    level = act(training, "set_career_level", "specialist", {"certifications": ["onboarding"]})
    assert level["certifications"] == ["onboarding"]
    [again] = tap.take(1)                        # ann's certification announced with its new standing
    assert again["data"] == {"agent": "ann", "certification": "onboarding",
                             "valid_until": certificate(training, "ann")["valid_until"], "clears_for_duty": True}
    standing = act(training, "agent_standing", "ann")
    assert standing["cleared_for_duty"] is True and standing["qualified_levels"] == ["specialist"]
    assert [lv["level"] for lv in act(training, "list_career_levels")["items"]] == [
        "specialist", "supervisor", "manager", "director"]
    with pytest.raises(NotFound):
        act(training, "set_career_level", "emperor", {"certifications": []})
    with pytest.raises(InvalidInput) as raised:
        act(training, "set_career_level", "manager", {"certifications": "onboarding"})
    assert set(raised.value.details) == {"certifications"}


def test_a_retraining_request_from_appraisal_enrols_the_agent_once(training, build_course, service_config):
    course, _ = build_course()
    enrolled = EventTap(service_config["AMQP_URI"], "training", "training.enrolled")
    request = publish_event(service_config["AMQP_URI"], "appraisal", "appraisal.retraining_requested",
                            {"agent": "ann", "course_id": course["id"], "reason": "CSAT below target"})
    [event] = enrolled.take(1)
    assert (event["data"]["enrolled_by"], event["data"]["reason"]) == ("appraisal", "CSAT below target")
    publish_event(service_config["AMQP_URI"], "appraisal", "appraisal.retraining_requested", request["data"],
                  event_id=request["id"])   # redelivered: changes nothing
    assert enrolled.rest(quiet=1.0) == []
    wait_for(lambda: act(training, "list_enrolments", {"agent": "ann"})["total"] == 1)
