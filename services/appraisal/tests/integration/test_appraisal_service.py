"""Appraisal against a real broker and database: facts from events, KPIs,
replay, and a whole cycle with ratings and an appeal (A1-A6, X2)."""
from datetime import date, datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import update

from appraisal.models import Cycle
from appraisal.service import AppraisalService
from plumbing import deadletter
from plumbing.errors import Conflict, InvalidInput, NotFound
from plumbing.testing import EventTap, call, call_as, publish_event, publish_raw, wait_for

QUEUE = "evt-ticketing-ticket.created--appraisal.on_ticket_created"
MARCH = {"date_from": "2026-03-01", "date_to": "2026-03-31"}


class Ticket:
    """Publishes one ticket's events the way ticketing does: one sequence per ticket, the n-th
    event n minutes after the ticket's creation."""

    def __init__(self, uri, ticket_id, assignee="alice", team="billing", kind="inquiry", at="2026-03-02T09:00:00+00:00"):
        self.uri, self.sequence, self.at = uri, 0, datetime.fromisoformat(at)
        self.facts = {"ticket_id": ticket_id, "assignee": assignee, "team": team, "kind": kind,
                      "priority": "normal", "channel": "email", "state": "assigned", "actor": None}
        self.publish("ticket.created", subject="s", tags=[], created_at=at)

    def publish(self, event_type, source="ticketing", version=1, **data):
        self.sequence += 1
        return publish_event(self.uri, source, event_type, dict(self.facts, **data),
                             subject=f"ticket/{self.facts['ticket_id']}", sequence=self.sequence, data_version=version,
                             time=self.at + timedelta(minutes=self.sequence))

    def resolve(self, version=2, **counts):
        """ticket.resolved as ticketing publishes it (version 2), or as it did (1: with the rating link token)."""
        data = dict({"first_contact_resolution": True, "reopen_count": 0, "transfer_count": 0}, **counts)
        if version == 1:
            data["rating_token"] = "t"
        return self.publish("ticket.resolved", version=version, **data)

    def clock(self, name, seconds, met=True):
        return self.publish("sla.clock_stopped", clock=name, business_seconds=seconds, met=met, target_seconds=600,
                            started_at="2026-03-02T09:00:00+00:00", stopped_at="2026-03-02T10:00:00+00:00")


@pytest.fixture
def appraisal(start_service):
    return start_service(AppraisalService)


@pytest.fixture
def uri(service_config):
    return service_config["AMQP_URI"]


def kpis_of(container, **query):
    return call(container, "kpis", dict(MARCH, **query))["kpis"]


def counts(container, **query):
    return call(container, "ticket_counts", query)["items"]


def a_month_of_work(uri):
    """Alice receives tickets 1 and 3 and resolves 1 (rated 5); bob receives 2 (a complaint, answered late)
    and 4, and transfers 2 to alice, who resolves it (rated 2). Alice is in the billing team."""
    publish_event(uri, "gateway", "staff.account_created", {"username": "alice", "teams": ["billing"]},
                  subject="staff/alice", time=datetime(2026, 3, 1, tzinfo=timezone.utc))
    one = Ticket(uri, 1)
    one.clock("first_response", 100.0)
    one.clock("resolution", 1000.0)  # ticketing stops the clock, then says resolved
    one.resolve()
    one.publish("ticket.rated", score=5, top_box=True, resolution=1)
    two = Ticket(uri, 2, assignee="bob", kind="complaint")
    two.clock("first_response", 300.0, met=False)
    two.facts["assignee"] = "alice"
    two.publish("ticket.transferred", previous_assignee="bob", transfer_count=1)
    two.clock("resolution", 3000.0)
    two.resolve(first_contact_resolution=False, transfer_count=1)
    two.publish("ticket.rated", score=2, top_box=False, resolution=1)
    Ticket(uri, 3).clock("first_response", 200.0)
    Ticket(uri, 4, assignee="bob")
    Ticket(uri, 5, at="2026-04-01T00:00:00+00:00")  # April: outside March
    publish_event(uri, "training", "training.exam_passed", {"agent": "alice", "score": 80.0},
                  time=datetime(2026, 3, 10, 8, tzinfo=timezone.utc), subject="training/alice")
    return 17  # facts published


# each fact for the agent responsible when it happened: alice replied first on 1 (100 s) and 3 (200 s), resolved
# 1 (1000 s) and 2 (3000 s), every clock of hers met (2 first responses, 2 resolutions: 4 / 4); FCR: 1 of her
# 2 contacts resolved (2 was transferred); 2 first resolutions / 3 tickets handled (1, 3 and 2 from bob);
# ratings 5 and 2
ALICE_IN_MARCH = {
    "first_response_mean": 150.0, "first_response_p50": 100.0, "first_response_p90": 200.0,
    "first_resolution_mean": 2000.0, "first_resolution_p50": 1000.0, "first_resolution_p90": 3000.0,
    "resolution_mean": 2000.0, "resolution_p50": 1000.0, "resolution_p90": 3000.0,
    "sla_compliance": 1.0, "first_contact_rate": 0.5, "resolution_rate": 2 / 3, "reopen_rate": 0.0,
    "transfer_rate": 0.0, "complaint_rate": 0.0, "csat_mean": 3.5, "csat_top2": 0.5, "volume": 2.0,
    "exam_score": 80.0}


def wait_for_the_month(appraisal):
    """Until every fact of ``a_month_of_work`` is in (they come through ten queues)."""
    wait_for(lambda: kpis_of(appraisal, agent="alice") == ALICE_IN_MARCH and counts(appraisal, by="month") == [
        {"agent": "alice", "day": "2026-03-01", "tickets": 2}, {"agent": "bob", "day": "2026-03-01", "tickets": 2},
        {"agent": "alice", "day": "2026-04-01", "tickets": 1}], message="the month's facts")


def test_a_month_of_events_gives_the_hand_computed_kpis_per_agent_and_team(appraisal, uri):
    a_month_of_work(uri)
    wait_for_the_month(appraisal)  # alice's figures and the counts per month are checked here
    bob = kpis_of(appraisal, agent="bob")
    # bob: received 2 and 4; his late first reply on 2 (300 s, breached: 0 met / 1); transferred 2 (1 / 2)
    assert (bob["volume"], bob["first_response_mean"], bob["sla_compliance"], bob["transfer_rate"]) == (
        2.0, 300.0, 0.0, 0.5)
    assert (bob["csat_mean"], bob["complaint_rate"], bob["exam_score"]) == (None, 0.5, None)
    assert kpis_of(appraisal, queue="billing")["volume"] == 4.0  # every ticket of March in the billing queue
    wait_for(lambda: kpis_of(appraisal, team="billing")["volume"] == 2.0, message="alice's team")  # bob is in none
    assert counts(appraisal, agent="alice", date_from="2026-03-02", date_to="2026-03-02") == [
        {"agent": "alice", "day": "2026-03-02", "tickets": 2}]


def test_replaying_the_stored_facts_rebuilds_identical_figures(appraisal, uri):
    facts = a_month_of_work(uri)
    wait_for_the_month(appraisal)
    before = {who: kpis_of(appraisal, agent=who) for who in ("alice", "bob")}
    assert call(appraisal, "replay") == {"tickets": 5, "facts": facts}
    assert {who: kpis_of(appraisal, agent=who) for who in ("alice", "bob")} == before


def test_redelivered_and_out_of_order_events_count_once(appraisal, uri):
    ticket = Ticket(uri, 1)
    resolved = ticket.resolve(version=1)  # published before version 2: still counted
    publish_raw(uri, "ticketing", "ticket.resolved", resolved)  # the same envelope again: same id
    late = Ticket.__new__(Ticket)  # a ticket whose resolution arrives before its creation
    late.uri, late.sequence, late.at, late.facts = uri, 1, ticket.at, dict(ticket.facts, ticket_id=2)
    late.resolve()
    late.sequence = 0
    late.publish("ticket.created", subject="s", tags=[], created_at="2026-03-03T09:00:00+00:00")
    wait_for(lambda: kpis_of(appraisal, agent="alice")["volume"] == 2, message="both tickets")
    assert kpis_of(appraisal, agent="alice")["resolution_rate"] == 1.0
    assert call(appraisal, "replay")["facts"] == 4


def test_an_event_whose_data_breaks_the_schema_is_dead_lettered_and_counts_nothing(appraisal, uri):
    publish_event(uri, "ticketing", "ticket.created", {"subject": "no id, no time"})
    Ticket(uri, 7)
    wait_for(lambda: counts(appraisal) == [{"agent": "alice", "day": "2026-03-02", "tickets": 1}], message="count")
    [letter] = wait_for(lambda: deadletter.peek(QUEUE + ".dlq", uri=uri), message="the dead letter")
    assert "ticket_id" in letter["reason"] and "created_at" in letter["reason"]


def test_bad_queries_name_the_fields(appraisal):
    with pytest.raises(InvalidInput) as raised:
        call(appraisal, "kpis", {"date_from": "2026-03-31", "date_to": "2026-03-01", "agent": "a", "team": "b"})
    assert set(raised.value.details) == {"date_to", "team"}
    with pytest.raises(InvalidInput) as raised:
        call(appraisal, "kpis", {"date_from": "March", "colour": "red"})
    assert set(raised.value.details) == {"date_from", "date_to", "colour"}


# -- a whole cycle ------------------------------------------------------------------
DEFINITIONS = [
    {"key": "speed", "name": "First response", "category": "efficiency", "source": "measured",
     "measure": "first_response_mean", "direction": "lower_better", "target": 60, "floor": 600},
    {"key": "satisfaction", "name": "CSAT", "category": "quality", "source": "measured", "measure": "csat_mean",
     "direction": "higher_better", "target": 5, "floor": 1},
    {"key": "courtesy", "name": "Courtesy phrases", "category": "attitude", "source": "rated",
     "measure": "courtesy", "direction": "higher_better", "target": 100, "floor": 0},
]
TEMPLATE = {
    "name": "Agents monthly", "role": "agent", "period_type": "monthly",
    "items": [{"kpi": "speed", "weight": 40}, {"kpi": "satisfaction", "weight": 30}, {"kpi": "courtesy", "weight": 30}],
    "reviewer_weights": {"supervisor": 60, "quality": 40},
    "bands": [{"grade": "A", "min_score": 85, "bonus_tier": 1, "promotion_eligible": True},
              {"grade": "B", "min_score": 60, "bonus_tier": 2},
              {"grade": "C", "min_score": 0, "warning": True, "retraining_course_id": 42}],
}


def set_up_cycle(appraisal):
    for definition in DEFINITIONS:
        call_as("carla", appraisal, "create_kpi_definition", definition)
    template = call_as("carla", appraisal, "create_template", TEMPLATE, [])  # training has course 42
    return call_as("carla", appraisal, "create_cycle", {"template_id": template["id"], "period_start": "2026-03-01"})


def advance(appraisal, cycle, action):
    return call_as("carla", appraisal, "advance_cycle", cycle["id"], {"action": action})


def test_a_template_whose_weights_do_not_sum_to_100_is_refused(appraisal):
    for definition in DEFINITIONS:
        call(appraisal, "create_kpi_definition", definition)
    with pytest.raises(InvalidInput) as raised:
        call(appraisal, "create_template", dict(TEMPLATE, items=[{"kpi": "speed", "weight": 40},
                                                                 {"kpi": "nope", "weight": 50}]), [])
    assert raised.value.details == {"items": ["weights must sum to 100, not 90", "unknown KPI definitions: nope"]}
    assert call(appraisal, "list_templates")["items"] == []


def test_a_cycle_runs_to_publication_an_agent_appeals_and_sees_the_adjusted_score(appraisal, uri, database_url):
    a_month_of_work(uri)
    wait_for_the_month(appraisal)
    tap = EventTap(uri, "appraisal", "appraisal.#")
    cycle = set_up_cycle(appraisal)
    assert (cycle["state"], cycle["period_end"]) == ("planned", "2026-03-31")
    with pytest.raises(Conflict):
        advance(appraisal, cycle, "publish")
    advance(appraisal, cycle, "start")
    call_as("sue", appraisal, "rate", {"cycle_id": cycle["id"], "agent": "alice", "reviewer_role": "supervisor",
                                       "scores": {"courtesy": 90}})
    call_as("quinn", appraisal, "rate", {"cycle_id": cycle["id"], "agent": "alice", "reviewer_role": "quality",
                                         "scores": {"courtesy": 60}})
    call_as("sue", appraisal, "rate", {"cycle_id": cycle["id"], "agent": "bob", "reviewer_role": "supervisor",
                                       "scores": {"courtesy": 20}})
    assert advance(appraisal, cycle, "compute")["state"] == "computed"
    [alice, bob] = call(appraisal, "list_results", cycle["id"])["items"]
    # speed: mean first response 150 s -> (600-150)/(600-60) = 83.3333 points; CSAT 3.5 -> 62.5;
    # courtesy (90*60 + 60*40)/100 = 78 -> 78 points; 83.3333*0.4 + 62.5*0.3 + 78*0.3 = 75.48
    assert (alice["agent"], alice["score"], alice["grade"], alice["team"]) == ("alice", 75.48, "B", "billing")
    items = {item["kpi"]: item for item in alice["breakdown"]["items"]}
    assert items["courtesy"]["rated_by_role"] == {"supervisor": 90.0, "quality": 60.0}
    assert items["speed"]["value"] == 150.0 and items["satisfaction"]["value"] == 3.5
    # bob: first response 300 s -> (600-300)/540 = 55.5556 points; no customer rating: speed and courtesy
    # share the weight, 40 and 30 of 70: 55.5556*4/7 + 20*3/7 = 31.746 + 8.5714 = 40.32
    assert (bob["score"], bob["grade"], bob["outcome"]["retraining_course_id"]) == (40.32, "C", 42)
    with pytest.raises(NotFound):
        call_as("alice", appraisal, "my_result", cycle["id"])  # not published yet

    advance(appraisal, cycle, "review")
    published = advance(appraisal, cycle, "publish")
    assert published["appeal_deadline"] > published["published_at"][:10]
    assert call_as("alice", appraisal, "my_result", cycle["id"])["score"] == 75.48
    appeal = call_as("alice", appraisal, "file_appeal", cycle["id"],
                     {"items": ["speed"], "reason": "ticket 2 was transferred to me late"})
    assert appeal["state"] == "filed" and not appeal["overdue"]
    gauge = REGISTRY.get_sample_value
    assert (gauge("csops_appraisal_appeals_open"), gauge("csops_appraisal_appeals_overdue")) == (1, 0)
    assert (gauge("csops_appraisal_cycles", {"state": "published"}), gauge("csops_appraisal_cycles",
                                                                          {"state": "closed"})) == (1, 0)
    with pytest.raises(InvalidInput):
        call_as("bob", appraisal, "file_appeal", cycle["id"], {"items": ["attendance"], "reason": "?"})
    with pytest.raises(Conflict):
        advance(appraisal, cycle, "close")  # the window is open and an appeal is undecided

    call_as("carla", appraisal, "investigate_appeal", appeal["id"], {"note": "checking ticket 2"})
    decided = call_as("carla", appraisal, "decide_appeal", appeal["id"],
                      {"decision": "adjusted", "new_score": 88, "reason": "the transfer delay was not hers"})
    assert (decided["score_before"], decided["score_after"], decided["decision"]) == (75.48, 88.0, "adjusted")
    mine = call_as("alice", appraisal, "my_result", cycle["id"])
    assert (mine["score"], mine["grade"], mine["adjusted"], mine["outcome"]["bonus_tier"]) == (88.0, "A", True, 1)

    close_the_window(database_url, cycle["id"])
    with pytest.raises(Conflict) as late:
        call_as("bob", appraisal, "file_appeal", cycle["id"], {"items": ["speed"], "reason": "too late"})
    assert "appeal window closed" in late.value.message
    assert advance(appraisal, cycle, "close")["state"] == "closed"

    published_events = tap.take(5)
    assert tap.rest() == []
    assert [e["type"] for e in published_events] == [
        "appraisal.published", "appraisal.published", "appraisal.appeal_filed", "appraisal.appeal_decided",
        "appraisal.retraining_requested"]
    retraining = [e["data"] for e in published_events if e["type"] == "appraisal.retraining_requested"]
    assert retraining == [{"agent": "bob", "course_id": 42, "cycle_id": cycle["id"],
                           "reason": f"appraisal cycle {cycle['id']} (2026-03-01): grade C"}]
    trail = [entry["action"] for entry in call(appraisal, "audit_trail", cycle["id"])["items"]]
    assert trail == ["cycle_planned", "cycle_start", "rating_entered", "rating_entered", "rating_entered",
                     "cycle_compute",
                     "cycle_review", "cycle_publish", "appeal_filed", "appeal_investigation_started",
                     "appeal_decided", "cycle_close"]


def close_the_window(database_url, cycle_id):
    """Move the appeal deadline into the past, as the calendar would after N working days."""
    from sqlalchemy import create_engine
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(update(Cycle).where(Cycle.id == cycle_id)
                           .values(appeal_deadline=date.today() - timedelta(days=1)))
    engine.dispose()
