"""A webhook belongs to the account that made it (X1, X6): an integration
lists, deactivates and reads the delivery log of its own webhooks only; an
admin all of them. Another's webhook answers as if it did not exist."""
import pytest

from plumbing.errors import NotFound
from plumbing.testing import call_as

HOOK = {"url": "http://127.0.0.1:9/hook", "event_types": ["ticket.created"]}


def as_integration(container, name, method, *args):
    return call_as(name, container, method, *args, roles=["integration"])


def as_admin(container, method, *args):
    return call_as("root", container, method, *args, roles=["admin"])


@pytest.fixture
def hooks(ticketing):
    """One webhook of crm's, one of erp's, one of the admin's."""
    return {owner: call_as(owner, ticketing, "create_webhook", dict(HOOK, description=f"of {owner}"), roles=[role])
            for owner, role in (("crm", "integration"), ("erp", "integration"), ("root", "admin"))}


def test_an_integration_lists_its_own_webhooks_and_an_admin_all(ticketing, hooks):
    def listed(items):
        return [item["description"] for item in items["items"]]
    assert listed(as_integration(ticketing, "crm", "list_webhooks")) == ["of crm"]
    assert listed(as_integration(ticketing, "erp", "list_webhooks")) == ["of erp"]
    assert listed(as_admin(ticketing, "list_webhooks")) == ["of crm", "of erp", "of root"]
    assert hooks["crm"]["created_by"] == "crm"


def test_another_integrations_webhook_is_not_found_and_stays_active(ticketing, hooks):
    erp = hooks["erp"]["id"]
    with pytest.raises(NotFound):
        as_integration(ticketing, "crm", "deactivate_webhook", erp)
    with pytest.raises(NotFound):
        as_integration(ticketing, "crm", "list_deliveries", erp, {})
    with pytest.raises(NotFound):
        as_integration(ticketing, "crm", "list_deliveries", hooks["root"]["id"], {})
    assert [hook["active"] for hook in as_admin(ticketing, "list_webhooks")["items"]] == [True, True, True]


def test_the_owner_and_an_admin_deactivate_and_read_the_log(ticketing, hooks):
    crm = hooks["crm"]["id"]
    assert as_integration(ticketing, "crm", "list_deliveries", crm, {})["total"] == 0
    assert as_integration(ticketing, "crm", "deactivate_webhook", crm)["active"] is False
    assert as_admin(ticketing, "list_deliveries", hooks["erp"]["id"], {})["total"] == 0
    assert as_admin(ticketing, "deactivate_webhook", hooks["erp"]["id"])["active"] is False
