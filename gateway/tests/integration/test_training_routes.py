"""Training through the gateway, with ticketing listening (R1-R4, X1): a
trainer builds an onboarding course with a random-draw theory exam and a
practical part; an agent fails it, retakes it, passes and is certified;
only then will ticketing give them tickets."""
import pytest
import requests

from plumbing.testing import wait_for

TICKET = {"subject": "Parcel lost", "channel": "chat", "kind": "inquiry", "team": "billing",
          "customer": {"name": "Li Na", "contact": "li@example.com"}}


@pytest.fixture
def platform(start_platform):
    return start_platform("ticketing", "training")


@pytest.fixture
def accounts(platform, client):
    """Sessions for tom (trainer), ann (agent in billing) and sue (supervisor of billing), none certified."""
    admin = client.login()
    return {username: signed_in(admin, client, username, roles, [] if username == "bob" else ["billing"])
            for username, roles in (("tom", ["trainer"]), ("ann", ["agent"]), ("sue", ["supervisor"]),
                                    ("bob", ["agent"]))}


def signed_in(admin, client, username, roles, teams):
    """A new account (made by ``admin``) and a session signed in as it."""
    created = admin.post(client.url("/api/v1/accounts"), json={
        "username": username, "password": "password-123", "roles": roles, "teams": teams})
    assert created.status_code == 201, created.text
    session = requests.Session()
    token = session.post(client.url("/api/v1/auth/token"),
                         json={"username": username, "password": "password-123"}).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def test_an_agent_fails_retakes_passes_and_only_then_gets_tickets(accounts, client):
    tom, ann, sue = accounts["tom"], accounts["ann"], accounts["sue"]
    url = client.url
    ok(tom.put(url("/api/v1/training/career-levels/specialist"), json={"certifications": ["onboarding"]}))
    policy = ok(tom.post(url("/api/v1/training/question-categories"), json={"name": "policy"}), 201)["id"]
    manners = ok(tom.post(url("/api/v1/training/question-categories"), json={"name": "manners"}), 201)["id"]
    for n in range(3):
        ok(tom.post(url("/api/v1/training/questions"), json={
            "category_id": policy, "kind": "true_false", "prompt": f"Refunds within {n + 7} days?", "correct": True}),
            201)
        ok(tom.post(url("/api/v1/training/questions"), json={
            "category_id": manners, "kind": "multiple_choice", "prompt": f"Polite openings {n}",
            "options": ["Hello", "How may I help?", "What now?"], "correct": [0, 1], "marks": 2}), 201)
    course = ok(tom.post(url("/api/v1/training/courses"), json={
        "title": "Onboarding", "kind": "onboarding", "mode": "in_person", "duration_hours": 24,
        "target_role": "agent", "certification": "onboarding", "certification_validity_days": 365}), 201)
    exam = ok(tom.post(url(f"/api/v1/training/courses/{course['id']}/modules"), json={
        "title": "Final exam", "kind": "exam", "exam": {
            "parts": [{"kind": "theory", "weight": 70, "draws": [{"category_id": policy, "count": 2},
                                                                {"category_id": manners, "count": 2}]},
                      {"kind": "practical", "weight": 30}],
            "pass_mark": 80, "max_attempts": 2, "time_limit_minutes": 30}}), 201)
    [enrolment] = ok(tom.post(url(f"/api/v1/training/courses/{course['id']}/enrolments"),
                              json={"team": "billing", "reason": "new hire"}), 201)["items"]
    assert enrolment["agent"] == "ann"           # sue supervises billing, she is not an agent

    ok(ann.put(url("/api/v1/me/duty"), json={"on_duty": True}))
    ticket = ok(sue.post(url("/api/v1/tickets"), json=TICKET), 201)
    assert ticket["assignee"] is None            # nobody cleared for duty yet
    refused = sue.post(url(f"/api/v1/tickets/{ticket['id']}/assignment"), json={"assignee": "ann"})
    assert refused.status_code == 409 and "no valid certification" in refused.json()["error"]["message"]

    def sit(right, practical):
        attempt = ok(ann.post(url(f"/api/v1/training/enrolments/{enrolment['id']}/attempts"),
                              json={"module_id": exam["id"]}), 201)
        answers = {str(q["question_id"]): (right if q["kind"] == "true_false" else [0, 1] if right else [2])
                   for q in attempt["questions"]}
        submitted = ok(ann.post(url(f"/api/v1/training/attempts/{attempt['id']}/submission"),
                                json={"answers": answers}))
        assert submitted["status"] == "awaiting_assessment"
        return ok(tom.post(url(f"/api/v1/training/attempts/{attempt['id']}/assessment"),
                           json={"parts": {"practical": practical}}))

    assert sit(right=False, practical=60)["grade"] == 18
    assert ok(ann.get(url(f"/api/v1/training/enrolments/{enrolment['id']}")))["status"] == "enrolled"
    assert sit(right=True, practical=90)["grade"] == 97
    assert ok(ann.get(url("/api/v1/training/enrolments")))["items"][0]["status"] == "completed"
    standing = ok(sue.get(url("/api/v1/training/agents/ann/standing")))
    assert standing["cleared_for_duty"] and standing["certifications"][0]["name"] == "onboarding"

    wait_for(lambda: sue.post(url(f"/api/v1/tickets/{ticket['id']}/assignment"),
                              json={"assignee": "ann"}).status_code == 200, message="ann assignable")
    assert ok(sue.post(url("/api/v1/tickets"), json=TICKET), 201)["assignee"] == "ann"   # routed to her now


def test_roles_scopes_and_bad_input(accounts, client):
    tom, ann, sue, bob = accounts["tom"], accounts["ann"], accounts["sue"], accounts["bob"]
    url = client.url
    course = ok(tom.post(url("/api/v1/training/courses"), json={
        "title": "Products", "kind": "special", "mode": "online", "duration_hours": 1, "target_role": "agent"}), 201)
    forbidden = ann.post(url("/api/v1/training/courses"), json={})
    assert forbidden.status_code == 403
    bad = tom.post(url(f"/api/v1/training/courses/{course['id']}/modules"), json={
        "title": "Exam", "kind": "exam", "exam": {"parts": [], "pass_mark": -1, "surprise": 1}})
    assert bad.status_code == 400
    assert set(bad.json()["error"]["details"]["exam"]) == {"parts", "pass_mark", "surprise"}
    both = tom.post(url(f"/api/v1/training/courses/{course['id']}/enrolments"), json={"agent": "ann", "team": "x"})
    assert both.status_code == 400 and set(both.json()["error"]["details"]) == {"agent", "team"}
    nobody = tom.post(url(f"/api/v1/training/courses/{course['id']}/enrolments"), json={"team": "nowhere"})
    assert nobody.status_code == 400 and set(nobody.json()["error"]["details"]) == {"team"}
    assert tom.post(url("/api/v1/training/courses/999/enrolments"), json={"agent": "ann"}).status_code == 404
    for agent in ("ann", "bob"):
        ok(tom.post(url(f"/api/v1/training/courses/{course['id']}/enrolments"), json={"agent": agent}), 201)
    assert [e["agent"] for e in ok(ann.get(url("/api/v1/training/enrolments")))["items"]] == ["ann"]
    assert [e["agent"] for e in ok(sue.get(url("/api/v1/training/enrolments")))["items"]] == ["ann"]
    assert ok(tom.get(url("/api/v1/training/enrolments")))["total"] == 2
    bobs = ok(bob.get(url("/api/v1/training/enrolments")))["items"][0]["id"]
    assert ann.get(url(f"/api/v1/training/enrolments/{bobs}")).status_code == 404
    assert sue.get(url("/api/v1/training/agents/bob/standing")).status_code == 404
    assert tom.put(url("/api/v1/training/career-levels/emperor"), json={"certifications": []}).status_code == 404


def refused(response, rule):
    """A 403 whose message names the rule broken."""
    assert response.status_code == 403 and rule in response.json()["error"]["message"], response.text


def test_separation_of_duties_and_nobody_sits_anothers_exam(accounts, client):
    """tia trains and is an agent, sal supervises billing and is an agent: neither acts on their own
    training as its trainer, and sal does not sit or work through ann's (her subordinate's)."""
    tom, ann, bob = accounts["tom"], accounts["ann"], accounts["bob"]
    tia = signed_in(client, client, "tia", ["trainer", "agent"], ["billing"])
    sal = signed_in(client, client, "sal", ["supervisor", "agent"], ["billing"])
    url = client.url
    course = ok(tom.post(url("/api/v1/training/courses"), json={
        "title": "Returns", "kind": "special", "mode": "in_person", "duration_hours": 2, "target_role": "agent"}), 201)
    modules = {kind: ok(tom.post(url(f"/api/v1/training/courses/{course['id']}/modules"), json=dict(
        {"title": kind, "kind": kind}, **({"exam": {"parts": [{"kind": "practical", "weight": 100}],
                                                     "pass_mark": 60}} if kind == "exam" else {}))), 201)["id"]
        for kind in ("content", "session", "exam")}
    enrolled = {agent: ok(tom.post(url(f"/api/v1/training/courses/{course['id']}/enrolments"),
                                   json={"agent": agent}), 201)["items"][0]["id"] for agent in ("ann", "tia")}
    anns, tias = (url(f"/api/v1/training/enrolments/{enrolled[agent]}") for agent in ("ann", "tia"))

    exam = {"module_id": modules["exam"]}
    refused(sal.post(anns + "/attempts", json=exam), "sits their own exams")     # she sees ann's enrolment
    assert bob.post(anns + "/attempts", json=exam).status_code == 404            # bob does not
    attempt = ok(ann.post(anns + "/attempts", json=exam), 201)
    refused(sal.put(url(f"/api/v1/training/attempts/{attempt['id']}/answers"), json={"answers": {}}),
            "sits their own exams")
    refused(sal.post(url(f"/api/v1/training/attempts/{attempt['id']}/submission"), json={"answers": {}}),
            "sits their own exams")
    refused(sal.put(anns + "/progress", json={"module_id": modules["content"], "percent": 100}),
            "their own progress")
    ok(ann.put(anns + "/progress", json={"module_id": modules["content"], "percent": 100}))

    refused(tia.post(tias + "/attendance", json={"module_id": modules["session"], "attended": True}),
            "separation of duties: nobody may record their own attendance")
    ok(tom.post(tias + "/attendance", json={"module_id": modules["session"], "attended": True}))
    refused(tia.post(tias + "/overrides", json={"module_id": modules["exam"], "reason": "one more"}),
            "separation of duties: nobody may grant themselves extra attempts")
    own = ok(tia.post(tias + "/attempts", json=exam), 201)
    ok(tia.post(url(f"/api/v1/training/attempts/{own['id']}/submission"), json={"answers": {}}))
    refused(tia.post(url(f"/api/v1/training/attempts/{own['id']}/assessment"), json={"parts": {"practical": 100}}),
            "separation of duties: nobody may assess their own exam attempt")
    assert ok(tom.post(url(f"/api/v1/training/attempts/{own['id']}/assessment"),
                       json={"parts": {"practical": 70}}))["grade"] == 70
    ok(tia.post(anns + "/attendance", json={"module_id": modules["session"], "attended": True}))  # another's: fine
