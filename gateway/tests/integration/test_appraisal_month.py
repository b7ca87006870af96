"""A scripted month through the HTTP API (A1, T9, issue 17): a help desk's history
of March 2026 imported through the ticket import route, replayed by ticketing at
its original times on the default SLA policy, and the KPIs appraisal makes of it
per agent, team and queue, against figures computed by hand from the
definitions of docs/appraisal.md.

The default policy's calendar: Asia/Shanghai, Monday-Friday 09:00-18:00, China's
holidays (none in March 2026); targets: first response 240 business minutes
(14400 s), resolution 1080 (64800 s). Times below are local (+08:00); 2 March
2026 is a Monday. Teams: ann and bob in billing, dan in refunds, from their
accounts' creation (the first snapshot of an account holds from the beginning)."""
import pytest

from plumbing.testing import wait_for

CUSTOMER = {"name": "Li Na", "contact": "li@example.com"}


def at(day, clock, month=3):
    return f"2026-{month:02}-{day:02}T{clock}:00+08:00"


def ticket(number, day, clock, team, assignee, *history, kind="inquiry"):
    return {"external_id": f"T{number}", "subject": f"Ticket {number}", "channel": "email", "kind": kind,
            "customer": CUSTOMER, "team": team, "assignee": assignee, "created_at": at(day, clock),
            "history": list(history)}


def reply(when, by):
    return {"at": when, "type": "message", "kind": "reply", "body": "Here is the answer", "actor": by}


def state(when, to, by=None):
    return {"at": when, "type": "state", "state": to, "actor": by}


HISTORY = [
    # T1 ann: reply 09:30 (first response 1800 s, met); resolved 11:00 (resolution 7200 s, met); rated 5
    ticket(1, 2, "09:00", "billing", "ann", reply(at(2, "09:30"), "ann"), state(at(2, "11:00"), "resolved", "ann"),
           {"at": at(2, "12:00"), "type": "rating", "score": 5}),
    # T2 received by ann Tue 17:00, transferred by ann to bob Wed 09:00; bob replies Wed 10:00 (17-18 + 9-10:
    # 7200 s, met) and resolves Wed 12:00 (1 h + 3 h = 14400 s, met)
    ticket(2, 3, "17:00", "billing", "ann",
           {"at": at(4, "09:00"), "type": "assignment", "assignee": "bob", "team": "billing", "actor": "ann"},
           reply(at(4, "10:00"), "bob"), state(at(4, "12:00"), "resolved", "bob")),
    # T3 ann: reply Thu 15:00 (6 h = 21600 s > 14400: breached); waiting on the customer from 16:00 (resolution
    # paused at 7 h); the customer writes Mon 9 10:00 (resumes; a follow-up clock starts: no target counted);
    # resolved Mon 11:00 (7 h + 1 h = 28800 s); reopened Tue 10 10:00 (inside the 7-day window); resolved
    # Tue 12:00 (28800 + 7200 = 36000 s)
    ticket(3, 5, "09:00", "billing", "ann", reply(at(5, "15:00"), "ann"),
           state(at(5, "16:00"), "waiting_customer", "ann"),
           {"at": at(9, "10:00"), "type": "message", "kind": "customer", "body": "Still broken"},
           state(at(9, "11:00"), "resolved", "ann"), state(at(10, "10:00"), "reopened"),
           state(at(10, "12:00"), "resolved", "ann")),
    # T4 in the billing queue, nobody's until sue assigns bob 09:10; bob replies 09:20 (1200 s) and resolves
    # 10:00 (3600 s); reopened Mon 16 10:00 (10 days: after the window, a new contact); resolved 11:00 (7200 s)
    ticket(4, 6, "09:00", "billing", None,
           {"at": at(6, "09:10"), "type": "assignment", "assignee": "bob", "team": "billing", "actor": "sue"},
           reply(at(6, "09:20"), "bob"), state(at(6, "10:00"), "resolved", "bob"),
           state(at(16, "10:00"), "reopened"), state(at(16, "11:00"), "resolved", "bob")),
    # T5 dan, a complaint in refunds: an internal note, resolved 10:00 with no reply (no first response; the
    # first-response clock is cancelled); resolution 3600 s; rated 2
    ticket(5, 9, "09:00", "refunds", "dan",
           {"at": at(9, "09:30"), "type": "message", "kind": "note", "body": "Refund issued", "actor": "dan"},
           state(at(9, "10:00"), "resolved", "dan"), {"at": at(9, "12:00"), "type": "rating", "score": 2},
           kind="complaint"),
    # T6 in the billing queue, dan's: reply 09:10 (600 s), then waiting on the customer for good
    ticket(6, 11, "09:00", "billing", "dan", reply(at(11, "09:10"), "dan"),
           state(at(11, "09:30"), "waiting_customer", "dan")),
    # T7 ann, created Tue 31 March 17:30 (March's volume); reply Wed 1 April 09:15 (30 + 15 min = 2700 s) and
    # resolved 10:00 (30 min + 1 h = 5400 s): April's
    ticket(7, 31, "17:30", "billing", "ann", reply(at(1, "09:15", 4), "ann"),
           state(at(1, "10:00", 4), "resolved", "ann")),
]

# Each fact for the agent responsible when it happened, in the period of its own instant (DECISIONS 6, 8).
ANN = {
    "volume": 4.0,                        # received T1, T2, T3, T7
    "first_response_mean": 11700.0,       # (1800 + 21600) / 2: T1, T3 (T2's first reply is bob's; T7's April's)
    "first_response_p50": 1800.0, "first_response_p90": 21600.0,  # nearest rank ceil(2*.5)=1, ceil(2*.9)=2
    "first_resolution_mean": 18000.0,     # (7200 + 28800) / 2
    "first_resolution_p50": 7200.0, "first_resolution_p90": 28800.0,
    "resolution_mean": 21600.0,           # full: T1 7200, T3 36000 (creation to its latest resolution)
    "resolution_p50": 7200.0, "resolution_p90": 36000.0,
    "sla_compliance": 0.75,               # met: T1 first response, T1 and T3 resolution = 3; breached: T3's first
                                          # response: 3 / 4
    "first_contact_rate": 0.5,            # contacts resolved T1, T3 = 2; T3 reopened inside the window: 1 / 2
    "resolution_rate": 0.5,               # first resolutions T1, T3 / handled T1, T2, T3, T7 = 2 / 4
    "reopen_rate": 1 / 3,                 # resolutions T1, T3, T3 again = 3; the first of T3 reopened: 1 / 3
    "transfer_rate": 0.25,                # she transferred T2: 1 / 4 received
    "complaint_rate": 0.0, "csat_mean": 5.0, "csat_top2": 1.0,  # T1 rated 5
    "exam_score": None,
}
BOB = {
    "volume": 1.0,                        # received T4 (its first owner)
    "first_response_mean": 4200.0,        # (7200 + 1200) / 2: T2, T4
    "first_response_p50": 1200.0, "first_response_p90": 7200.0,
    "first_resolution_mean": 9000.0,      # (14400 + 3600) / 2
    "first_resolution_p50": 3600.0, "first_resolution_p90": 14400.0,
    "resolution_mean": 10800.0,           # full: T2 14400, T4 7200
    "resolution_p50": 7200.0, "resolution_p90": 14400.0,
    "sla_compliance": 1.0,                # T2 and T4: first response and resolution met = 4 / 4
    "first_contact_rate": 2 / 3,          # contacts T2 (transferred: no), T4, T4 after the late reopen = 2 / 3
    "resolution_rate": 1.0,               # first resolutions T2, T4 / handled T2, T4
    "reopen_rate": 1 / 3,                 # resolutions T2, T4, T4 again; the first of T4 reopened
    "transfer_rate": 0.0, "complaint_rate": 0.0, "csat_mean": None, "csat_top2": None, "exam_score": None,
}
DAN = {
    "volume": 2.0,                        # T5, T6
    "first_response_mean": 600.0, "first_response_p50": 600.0, "first_response_p90": 600.0,  # T6 only
    "first_resolution_mean": 3600.0, "first_resolution_p50": 3600.0, "first_resolution_p90": 3600.0,
    "resolution_mean": 3600.0, "resolution_p50": 3600.0, "resolution_p90": 3600.0,
    "sla_compliance": 1.0,                # T5 resolution, T6 first response; T5's first response cancelled, T6 paused
    "first_contact_rate": 1.0, "resolution_rate": 0.5,  # T5 resolved of T5, T6 handled
    "reopen_rate": 0.0, "transfer_rate": 0.0, "complaint_rate": 0.5,  # T5 a complaint of 2
    "csat_mean": 2.0, "csat_top2": 0.0, "exam_score": None,
}
BILLING_TEAM = {  # ann's and bob's facts
    "volume": 5.0,
    "first_response_mean": 7950.0,        # (1800 + 21600 + 7200 + 1200) / 4; sorted 1200, 1800, 7200, 21600
    "first_response_p50": 1800.0, "first_response_p90": 21600.0,  # ranks ceil(4*.5)=2, ceil(4*.9)=4
    "first_resolution_mean": 13500.0,     # (7200 + 28800 + 14400 + 3600) / 4; sorted 3600, 7200, 14400, 28800
    "first_resolution_p50": 7200.0, "first_resolution_p90": 28800.0,
    "resolution_mean": 16200.0,           # (7200 + 36000 + 14400 + 7200) / 4; sorted 7200, 7200, 14400, 36000
    "resolution_p50": 7200.0, "resolution_p90": 36000.0,
    "sla_compliance": 0.875,              # met 3 + 4 = 7; breached 1: 7 / 8
    "first_contact_rate": 0.6,            # (1 + 2) / (2 + 3)
    "resolution_rate": 0.8,               # first resolutions 4 / tickets handled T1, T2, T3, T4, T7 = 5
    "reopen_rate": 1 / 3,                 # (1 + 1) / (3 + 3)
    "transfer_rate": 0.2,                 # 1 / 5 received
    "complaint_rate": 0.0, "csat_mean": 5.0, "csat_top2": 1.0, "exam_score": None,
}
BILLING_QUEUE = {  # the facts of T1, T2, T3, T4, T6 and T7 (dan's T6 too; he is not in the team)
    "volume": 6.0,
    "first_response_mean": 6480.0,        # (1800 + 7200 + 21600 + 1200 + 600) / 5; sorted 600, 1200, 1800, 7200, 21600
    "first_response_p50": 1800.0, "first_response_p90": 21600.0,  # ranks ceil(2.5)=3, ceil(4.5)=5
    "first_resolution_mean": 13500.0, "first_resolution_p50": 7200.0, "first_resolution_p90": 28800.0,
    "resolution_mean": 16200.0, "resolution_p50": 7200.0, "resolution_p90": 36000.0,
    "sla_compliance": 8 / 9,              # met 7 + T6's first response = 8; breached 1
    "first_contact_rate": 0.6, "resolution_rate": 4 / 6,  # first resolutions 4 / tickets handled 6
    "reopen_rate": 1 / 3, "transfer_rate": 1 / 6,
    "complaint_rate": 0.0, "csat_mean": 5.0, "csat_top2": 1.0, "exam_score": None,
}
REFUNDS_QUEUE = {  # T5 alone
    "volume": 1.0, "first_response_mean": None, "first_response_p50": None, "first_response_p90": None,
    "first_resolution_mean": 3600.0, "first_resolution_p50": 3600.0, "first_resolution_p90": 3600.0,
    "resolution_mean": 3600.0, "resolution_p50": 3600.0, "resolution_p90": 3600.0,
    "sla_compliance": 1.0, "first_contact_rate": 1.0, "resolution_rate": 1.0, "reopen_rate": 0.0,
    "transfer_rate": 0.0, "complaint_rate": 1.0, "csat_mean": 2.0, "csat_top2": 0.0, "exam_score": None,
}
MARCH = {"date_from": "2026-03-01", "date_to": "2026-03-31"}


@pytest.fixture
def platform_databases(postgres_platform_databases):
    """On PostgreSQL, as deployed (the worked examples of the definitions run on SQLite)."""
    return postgres_platform_databases


@pytest.fixture
def desk(start_platform, client, make_account):
    start_platform("ticketing", "appraisal")
    client.login()
    for name, team in (("ann", "billing"), ("bob", "billing"), ("dan", "refunds")):
        make_account(name, ["agent"], teams=[team])
    make_account("sue", ["supervisor"], teams=["billing"])
    return make_account("bridge", ["integration"])


def test_a_month_imported_through_the_api_gives_the_hand_computed_kpis_per_agent_team_and_queue(desk, client):
    imported = desk.post(client.url("/api/v1/tickets/import"), json={"source": "olddesk", "tickets": HISTORY})
    assert imported.status_code == 200, imported.text
    assert len(imported.json()["imported"]) == 7

    def kpis(**scope):
        response = client.get(client.url("/api/v1/appraisal/kpis"), params=dict(MARCH, **scope))
        assert response.status_code == 200, response.text
        return response.json()["kpis"]
    expected = {("agent", "ann"): ANN, ("agent", "bob"): BOB, ("agent", "dan"): DAN,
                ("team", "billing"): BILLING_TEAM, ("team", "refunds"): DAN,
                ("queue", "billing"): BILLING_QUEUE, ("queue", "refunds"): REFUNDS_QUEUE}
    for (scope, name), figures in expected.items():  # the facts come through many queues: wait for all of them
        wait_for(lambda: kpis(**{scope: name}) == pytest.approx(figures), timeout=60, message=f"{scope} {name}")
    april = client.get(client.url("/api/v1/appraisal/kpis"), params={
        "agent": "ann", "date_from": "2026-04-01", "date_to": "2026-04-30"}).json()["kpis"]
    assert (april["volume"], april["first_response_mean"], april["first_resolution_mean"]) == (0, 2700.0, 5400.0)
    counts = client.get(client.url("/api/v1/appraisal/ticket-counts"), params={"by": "month"}).json()["items"]
    assert counts == [{"agent": "ann", "day": "2026-03-01", "tickets": 4}, {"agent": "bob", "day": "2026-03-01",
                                                                            "tickets": 1},
                      {"agent": "dan", "day": "2026-03-01", "tickets": 2}]
    # the figures come from the stored facts alone
    assert client.post(client.url("/api/v1/appraisal/replay")).status_code == 200
    assert kpis(team="billing") == pytest.approx(BILLING_TEAM)
