"""Appraisal through the gateway with ticketing publishing the facts (A1-A5, X1):
real tickets become KPIs; the committee runs a cycle; an agent sees only
their own result, appeals, and sees the adjusted score."""
from datetime import date

import pytest

from plumbing.testing import wait_for

TICKET = {"subject": "Invoice copy", "channel": "email", "kind": "inquiry", "team": "billing",
          "customer": {"name": "Li Na", "contact": "li@example.com"}}


@pytest.fixture
def platform(start_platform):
    return start_platform("ticketing", "appraisal")


@pytest.fixture
def people(platform, client, make_account):
    """Sessions: ann and bob (agents of billing), sue (supervisor of billing), cleo (committee)."""
    client.login()
    sessions = {name: make_account(name, roles) for name, roles in (
        ("ann", ["agent"]), ("bob", ["agent"]), ("sue", ["supervisor"]), ("cleo", ["committee"]))}
    for name in ("ann", "bob", "sue"):
        assert client.patch(client.url(f"/api/v1/accounts/{name}"), json={"teams": ["billing"]}).status_code == 200
    return sessions


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def this_month():
    today = date.today()
    return {"date_from": today.replace(day=1).isoformat(), "date_to": today.isoformat()}


def test_tickets_worked_in_ticketing_become_an_agents_kpis_which_only_they_and_their_supervisor_see(people, client):
    ann, bob, sue = people["ann"], people["bob"], people["sue"]
    for n in range(2):
        ticket = ok(sue.post(client.url("/api/v1/tickets"), json=dict(TICKET, assignee="ann")), 201)
        base = client.url(f"/api/v1/tickets/{ticket['id']}")
        ok(ann.post(base + "/messages", json={"kind": "reply", "body": "Sent"}), 201)
        if n == 0:
            ok(ann.post(base + "/state", json={"state": "resolved"}))
    mine = {"agent": "ann", **this_month()}
    values = wait_for(lambda: (lambda k: k if k["volume"] == 2 and k["resolution_rate"] == 0.5 else None)(
        ok(ann.get(client.url("/api/v1/appraisal/kpis"), params=mine))["kpis"]), message="ann's KPIs")
    assert values["sla_compliance"] == 1.0 and values["first_contact_rate"] == 1.0
    assert values["first_response_mean"] is not None and values["csat_mean"] is None
    assert ok(sue.get(client.url("/api/v1/appraisal/kpis"), params=mine))["kpis"]["volume"] == 2  # her supervisor
    assert ok(sue.get(client.url("/api/v1/appraisal/kpis"), params={"team": "billing", **this_month()}))[
        "kpis"]["volume"] == 2
    assert bob.get(client.url("/api/v1/appraisal/kpis"), params=mine).status_code == 403
    assert bob.get(client.url("/api/v1/appraisal/kpis"), params={"team": "billing", **this_month()}).status_code == 403
    assert ok(sue.get(client.url("/api/v1/appraisal/kpis"), params={"queue": "billing", **this_month()}))[
        "kpis"]["volume"] == 2  # the billing queue's tickets
    assert bob.get(client.url("/api/v1/appraisal/kpis"), params={"queue": "billing", **this_month()}).status_code == 403
    assert sue.get(client.url("/api/v1/appraisal/kpis"), params={"queue": "refunds", **this_month()}).status_code == 403


def test_the_committee_runs_a_cycle_and_an_agent_appeals_and_sees_the_adjusted_score(people, client):
    ann, bob, sue, cleo = people["ann"], people["bob"], people["sue"], people["cleo"]
    ok(cleo.post(client.url("/api/v1/appraisal/kpi-definitions"), json={
        "key": "courtesy", "name": "Courtesy", "category": "attitude", "source": "rated", "measure": "courtesy",
        "direction": "higher_better", "target": 100, "floor": 0}), 201)
    refused = cleo.post(client.url("/api/v1/appraisal/templates"), json={
        "name": "t", "role": "agent", "period_type": "monthly", "items": [{"kpi": "courtesy", "weight": 90}],
        "bands": [{"grade": "A", "min_score": 0}]})
    assert refused.status_code == 400 and refused.json()["error"]["details"]["items"]
    template = ok(cleo.post(client.url("/api/v1/appraisal/templates"), json={
        "name": "Agents monthly", "role": "agent", "period_type": "monthly",
        "items": [{"kpi": "courtesy", "weight": 100}], "reviewer_weights": {"supervisor": 100},
        "bands": [{"grade": "A", "min_score": 80}, {"grade": "B", "min_score": 0}]}), 201)
    assert ann.post(client.url("/api/v1/appraisal/templates"), json={}).status_code == 403
    cycle = ok(cleo.post(client.url("/api/v1/appraisal/cycles"), json={
        "template_id": template["id"], "period_start": date.today().replace(day=1).isoformat()}), 201)
    step = client.url(f"/api/v1/appraisal/cycles/{cycle['id']}/transitions")
    ok(cleo.post(step, json={"action": "start"}))
    rating = {"cycle_id": cycle["id"], "agent": "ann", "reviewer_role": "supervisor", "scores": {"courtesy": 70}}
    assert bob.post(client.url("/api/v1/appraisal/ratings"), json=rating).status_code == 403  # agents rate as peers
    ok(sue.post(client.url("/api/v1/appraisal/ratings"), json=rating), 201)
    ok(sue.post(client.url("/api/v1/appraisal/ratings"), json=dict(rating, agent="bob", scores={"courtesy": 90})), 201)
    for action in ("compute", "review", "publish"):
        ok(cleo.post(step, json={"action": action}))

    results = client.url(f"/api/v1/appraisal/cycles/{cycle['id']}/results")
    assert ann.get(results).status_code == 403
    assert [(r["agent"], r["score"], r["grade"]) for r in ok(sue.get(results))["items"]] == [
        ("ann", 70.0, "B"), ("bob", 90.0, "A")]
    assert ok(ann.get(results + "/mine"))["score"] == 70.0
    assert ok(bob.get(results + "/mine"))["score"] == 90.0   # each agent gets their own, never another's
    appeal = ok(ann.post(client.url(f"/api/v1/appraisal/cycles/{cycle['id']}/appeals"),
                         json={"items": ["courtesy"], "reason": "the call sampled was a fraud attempt"}), 201)
    assert [a["id"] for a in ok(bob.get(client.url("/api/v1/appraisal/appeals")))["items"]] == []
    decision = client.url(f"/api/v1/appraisal/appeals/{appeal['id']}/decision")
    assert ann.post(decision, json={"decision": "rejected", "reason": "mine"}).status_code == 403
    missing = cleo.post(decision, json={"decision": "adjusted", "reason": "partly right"})
    assert missing.status_code == 400 and "new_score" in missing.json()["error"]["details"]
    ok(cleo.post(client.url(f"/api/v1/appraisal/appeals/{appeal['id']}/investigation"), json={}))
    ok(cleo.post(decision, json={"decision": "adjusted", "new_score": 82, "reason": "partly right"}))
    mine = ok(ann.get(results + "/mine"))
    assert (mine["score"], mine["grade"], mine["adjusted"]) == (82.0, "A", True)
    audit = ok(cleo.get(client.url(f"/api/v1/appraisal/cycles/{cycle['id']}/audit")))["items"]
    assert [(entry["actor"], entry["action"]) for entry in audit][-3:] == [
        ("ann", "appeal_filed"), ("cleo", "appeal_investigation_started"), ("cleo", "appeal_decided")]
    assert ann.get(client.url(f"/api/v1/appraisal/cycles/{cycle['id']}/audit")).status_code == 403


def refused(response, rule, status=403):
    """Refused with ``status``, its message naming the rule broken."""
    assert response.status_code == status and rule in response.json()["error"]["message"], response.text


def test_who_may_rate_whom_and_a_new_rating_replaces_the_reviewers_old_one(people, client, make_account):
    ann, bob, sue, cleo = people["ann"], people["bob"], people["sue"], people["cleo"]
    admin = client.login()
    zed, ivy = make_account("zed", ["agent"]), make_account("ivy", ["integration"])
    sam = make_account("sam", ["supervisor", "agent"])
    for name, team in (("zed", "sales"), ("sam", "billing")):
        ok(admin.patch(client.url(f"/api/v1/accounts/{name}"), json={"teams": [team]}))
    tickets = {agent: ok(admin.post(client.url("/api/v1/tickets"), json=dict(TICKET, assignee=agent)), 201)["id"]
               for agent in ("ann", "bob")}
    wait_for(lambda: {row["agent"] for row in ok(admin.get(client.url("/api/v1/appraisal/ticket-counts")))["items"]}
             == {"ann", "bob"}, message="appraisal knows whose tickets they are")
    ok(cleo.post(client.url("/api/v1/appraisal/kpi-definitions"), json={
        "key": "courtesy", "name": "Courtesy", "category": "attitude", "source": "rated", "measure": "courtesy",
        "direction": "higher_better", "target": 100, "floor": 0}), 201)
    template = ok(cleo.post(client.url("/api/v1/appraisal/templates"), json={
        "name": "Rated", "role": "agent", "period_type": "monthly", "items": [{"kpi": "courtesy", "weight": 100}],
        "reviewer_weights": {"customer": 25, "peer": 25, "supervisor": 25, "quality": 25},
        "bands": [{"grade": "A", "min_score": 0}]}), 201)
    cycle = ok(cleo.post(client.url("/api/v1/appraisal/cycles"), json={
        "template_id": template["id"], "period_start": date.today().replace(day=1).isoformat()}), 201)
    ok(cleo.post(client.url(f"/api/v1/appraisal/cycles/{cycle['id']}/transitions"), json={"action": "start"}))
    ratings = client.url("/api/v1/appraisal/ratings")

    def rating(agent, role, **more):
        return dict({"cycle_id": cycle["id"], "agent": agent, "reviewer_role": role, "scores": {"courtesy": 80}},
                    **more)
    refused(zed.post(ratings, json=rating("ann", "peer")), "agents of your own teams")
    first = ok(bob.post(ratings, json=rating("ann", "peer")), 201)
    again = ok(bob.post(ratings, json=rating("ann", "peer", scores={"courtesy": 0})), 200)  # replaces the first
    assert (again["id"], again["scores"]) == (first["id"], {"courtesy": 0.0})
    ok(sue.post(ratings, json=rating("ann", "supervisor")), 201)
    for role in ("supervisor", "quality"):
        refused(sue.post(ratings, json=rating("zed", role)), "agents of your own teams")
    ok(cleo.post(ratings, json=rating("zed", "quality")), 201)                  # the committee rates anyone
    refused(ann.post(ratings, json=rating("ann", "peer")), "separation of duties: nobody may rate themselves")
    refused(sam.post(ratings, json=rating("sam", "supervisor")), "separation of duties: nobody may rate themselves")
    refused(admin.post(ratings, json=rating("ann", "customer", ticket_id=tickets["ann"])), "you may rate as")
    ok(ivy.post(ratings, json=rating("ann", "customer", ticket_id=tickets["ann"])), 201)
    refused(ivy.post(ratings, json=rating("ann", "customer", ticket_id=tickets["bob"])), "not a ticket of ann", 400)
    refused(ivy.post(ratings, json=rating("ann", "customer")), "validation", 400)


def test_ticket_counts_are_scoped_as_kpis_are(people, client, make_account):
    ann, sue, cleo = people["ann"], people["sue"], people["cleo"]
    admin = client.login()
    make_account("zed", ["agent"])
    ok(admin.patch(client.url("/api/v1/accounts/zed"), json={"teams": ["sales"]}))
    for agent in ("ann", "bob", "zed"):
        ok(admin.post(client.url("/api/v1/tickets"), json=dict(TICKET, assignee=agent)), 201)
    counts = client.url("/api/v1/appraisal/ticket-counts")

    def agents(session, **query):
        return {row["agent"] for row in ok(session.get(counts, params=query))["items"]}
    wait_for(lambda: agents(cleo) == {"ann", "bob", "zed"}, message="every ticket counted")
    assert out_of_view(ann.get(counts, params={"agent": "bob"}))
    assert agents(ann, agent="ann") == agents(ann) == {"ann"}
    assert out_of_view(sue.get(counts, params={"agent": "zed"}))
    assert agents(sue) == {"ann", "bob"} and agents(admin, agent="zed") == {"zed"}


def out_of_view(response):
    return response.status_code == 403 and response.json()["error"]["details"] == {
        "agent": ["outside what you may see"]}
