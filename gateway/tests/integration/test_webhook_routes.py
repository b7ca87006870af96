"""Webhooks through the gateway (X1, X6): each integration sees and changes
its own webhooks only (another's id is 404, as if it did not exist), admins
all; a target off limits is 400 naming ``url``."""
import pytest

HOOK = {"url": "http://127.0.0.1:9/hook", "event_types": ["ticket.created"]}


@pytest.fixture
def integrations(start_platform, client, make_account):
    start_platform("ticketing")
    client.login()
    return {name: make_account(name, ["integration"]) for name in ("crm", "erp")}


def test_an_integration_sees_and_changes_only_its_own_webhooks(integrations, client):
    crm, erp = integrations["crm"], integrations["erp"]
    mine = crm.post(client.url("/api/v1/webhooks"), json=dict(HOOK, description="crm's")).json()
    theirs = erp.post(client.url("/api/v1/webhooks"), json=dict(HOOK, description="erp's")).json()

    assert [hook["description"] for hook in crm.get(client.url("/api/v1/webhooks")).json()["items"]] == ["crm's"]
    assert [hook["description"] for hook in client.get(client.url("/api/v1/webhooks")).json()["items"]] == [
        "crm's", "erp's"]
    for method, path in (("DELETE", f"/api/v1/webhooks/{theirs['id']}"),
                         ("GET", f"/api/v1/webhooks/{theirs['id']}/deliveries")):
        response = crm.request(method, client.url(path))
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    assert crm.get(client.url(f"/api/v1/webhooks/{mine['id']}/deliveries")).json()["total"] == 0
    assert crm.delete(client.url(f"/api/v1/webhooks/{mine['id']}")).json()["active"] is False
    assert client.delete(client.url(f"/api/v1/webhooks/{theirs['id']}")).json()["active"] is False


@pytest.mark.parametrize("url, reason", [
    ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
    ("https://10.0.0.7/hook", "10.0.0.7 is a private address"),
    ("https://hooks:secret@hooks.example.com/in", "must not carry a user name or password"),
])
def test_a_target_off_limits_is_400_naming_url(integrations, client, url, reason):
    response = integrations["crm"].post(client.url("/api/v1/webhooks"), json=dict(HOOK, url=url))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"] == {"url": [reason]}
