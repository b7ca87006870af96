"""Customer data through the gateway (X6): an agent sees the customers of
her own tickets only (her team's others masked); an admin reads who stored or saw them; a search for
a customer reaches the access log masked."""
import re

import pytest

from plumbing.testing import wait_for

TICKET = {"subject": "Refund not received", "channel": "email", "kind": "complaint", "team": "billing",
          "customer": {"name": "Wang Fang", "contact": "wang.fang@example.com"}}
MASKED = {"name": "W*", "contact": "w***@example.com"}


@pytest.fixture
def people(start_platform, client, make_account):
    start_platform("ticketing")
    client.login()
    return {name: make_account(name, roles, teams=["billing"]) for name, roles in (
        ("ann", ["agent"]), ("bob", ["agent"]), ("sue", ["supervisor"]))}


def test_agents_see_only_their_own_tickets_customers_and_admins_read_the_audit(people, client):
    ann, bob, sue = people["ann"], people["bob"], people["sue"]
    created = sue.post(client.url("/api/v1/tickets"), json=dict(TICKET, assignee="ann"))
    assert created.status_code == 201, created.text
    ticket = client.url(f"/api/v1/tickets/{created.json()['id']}")

    read = ann.get(ticket, headers={"X-Request-Id": "ann-opens-her-ticket"})
    assert read.json()["customer"] == TICKET["customer"]
    assert bob.get(ticket).json()["customer"] == MASKED
    assert [item["customer"] for item in bob.get(client.url("/api/v1/tickets")).json()["items"]] == [MASKED]

    audit = client.url("/api/v1/audit/customer-data")
    entries = client.get(audit, params={"ticket_id": created.json()["id"]}).json()["items"]
    assert [(e["actor"], e["action"], e["request_id"]) for e in entries] == [
        ("ann", "read", "ann-opens-her-ticket"), ("sue", "created", created.headers["X-Request-Id"])]
    assert sue.get(audit).status_code == 403


def test_a_search_for_a_customer_reaches_the_access_log_masked_with_its_status_and_size(people, client,
                                                                                        process_log):
    searches = {"tel:13800005678": "tel:138****5678", "138 0000 5678": "138****5678",
                "wang.fang@example.com": "w***@example.com"}
    for text in searches:
        assert people["sue"].get(client.url("/api/v1/tickets"), params={"text": text}).status_code == 200

    def searched():  # eventlet writes the access line once the answer is sent
        found = [line for line in process_log() if '"GET /api/v1/tickets?text=' in line]
        return found if len(found) == len(searches) else None
    lines = wait_for(searched, message="an access line for each search")
    assert [re.search(r"text=(\S*) ", line).group(1) for line in lines] == list(searches.values())
    assert all(re.search(r'HTTP/1\.1" 200 \d{3,} \d+\.\d{6}$', line) for line in lines), lines
    assert not any(secret in "\n".join(process_log()) for secret in ("13800005678", "138+0000", "wang.fang"))
