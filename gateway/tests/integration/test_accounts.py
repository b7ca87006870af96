"""Who may change whose account (X1, X6): team membership gives a supervisor her view of agents'
KPIs, results and training records, so a supervisor's teams are an admin's decision; a supervisor
keeps the routing profile (teams, skills, capacity) of the agents in her teams, within her teams."""
import pytest


@pytest.fixture
def people(start_platform, client, make_account):
    """Sessions of sue (supervisor of billing), ann (agent of billing), bob (agent of refunds),
    sam (supervisor of refunds) and the admin."""
    start_platform("ticketing")
    sessions = {name: make_account(name, roles) for name, roles in (
        ("sue", ["supervisor"]), ("ann", ["agent"]), ("bob", ["agent"]), ("sam", ["supervisor"]))}
    sessions["admin"] = client.login()
    for name, teams in (("sue", ["billing"]), ("ann", ["billing"]), ("bob", ["refunds"]), ("sam", ["refunds"])):
        assert patch(sessions["admin"], name, {"teams": teams}).status_code == 200
    return sessions


def patch(session, username, changes):
    return session.patch(session.url(f"/api/v1/accounts/{username}"), json=changes)


def teams_of(session, username):
    return {account["username"]: account["teams"] for account in
            session.get(session.url("/api/v1/accounts")).json()["items"]}[username]


def test_a_supervisor_cannot_add_herself_to_teams(people):
    sue, admin = people["sue"], people["admin"]
    refused = patch(sue, "sue", {"teams": ["billing", "refunds"]})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["details"] == {"teams": ["a supervisor's teams are changed by an admin"]}
    assert patch(sue, "sam", {"teams": ["billing"]}).status_code == 404   # another supervisor: not hers to see
    assert teams_of(admin, "sue") == ["billing"] and teams_of(admin, "sam") == ["refunds"]
    assert patch(sue, "sue", {"skills": ["en"], "capacity": 3}).status_code == 200   # the rest of her profile

    assert patch(admin, "sue", {"teams": ["billing", "refunds"]}).status_code == 200   # an admin's decision
    assert teams_of(admin, "sue") == ["billing", "refunds"]


def test_a_supervisor_moves_her_teams_agents_within_her_teams_only(people):
    sue, admin = people["sue"], people["admin"]
    assert patch(sue, "bob", {"teams": ["billing"]}).status_code == 404   # another team's agent: as if absent
    assert patch(sue, "bob", {"skills": ["zh"]}).status_code == 404
    outside = patch(sue, "ann", {"teams": ["billing", "refunds"]})
    assert outside.status_code == 403
    assert outside.json()["error"]["details"] == {"teams": ["you may add or remove only your teams: billing"]}
    assert teams_of(admin, "ann") == ["billing"] and teams_of(admin, "bob") == ["refunds"]

    assert patch(admin, "sue", {"teams": ["billing", "vip"]}).status_code == 200
    moved = patch(sue, "ann", {"teams": ["vip"], "skills": ["zh"], "capacity": 5})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["teams"], moved.json()["skills"], moved.json()["capacity"]) == (["vip"], ["zh"], 5)
    assert patch(sue, "ann", {"teams": []}).status_code == 200   # out of her teams, and out of her hands
    assert patch(sue, "ann", {"teams": ["billing"]}).status_code == 404
