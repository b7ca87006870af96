"""Customer data in ticketing (X6): shown in full only to whom may see it,
every full view and every write audited, and kept out of events."""
import json

import pytest

from plumbing.testing import EventTap, call_as

CONTACT = "+86 138 0000 5678"
TICKET = {"subject": "Parcel arrived damaged", "channel": "phone", "kind": "complaint", "team": "billing",
          "customer": {"name": "Li Lei", "contact": CONTACT}}
MASKED = {"name": "L*", "contact": "+86 138****5678"}
FULL = TICKET["customer"]
SUPERVISOR, AGENT, ADMIN = ["supervisor"], ["agent"], ["admin"]


@pytest.fixture
def database_url(sqlite_url):
    """SQLite only: nothing here depends on the database (the audit is plain inserts and a paged query)."""
    return sqlite_url


def as_(actor, roles, container, method, *args):
    """As a member of billing, the tickets' team."""
    return call_as(actor, container, method, *args, roles=roles, teams=["billing"])


def audit(container, **query):
    page = as_("admin", ADMIN, container, "customer_data_access", query)
    return [(entry["actor"], entry["action"]) for entry in page["items"]]


def test_an_agent_sees_only_their_own_tickets_customers_and_every_full_view_is_recorded(ticketing):
    created = as_("sue", SUPERVISOR, ticketing, "create_ticket", dict(TICKET, assignee="alice"))
    ticket_id = created["id"]
    assert created["customer"] == FULL
    assert as_("alice", AGENT, ticketing, "get_ticket", ticket_id)["customer"] == FULL        # her ticket
    assert as_("bob", AGENT, ticketing, "get_ticket", ticket_id)["customer"] == MASKED        # not his
    assert [t["customer"] for t in as_("sue", SUPERVISOR, ticketing, "list_tickets", {})["items"]] == [MASKED]
    assert audit(ticketing, ticket_id=ticket_id) == [("alice", "read"), ("sue", "created")]

    as_("sue", SUPERVISOR, ticketing, "assign", ticket_id, {"assignee": "bob"})
    assert as_("bob", AGENT, ticketing, "get_ticket", ticket_id)["customer"] == FULL          # now it is his
    assert as_("alice", AGENT, ticketing, "get_ticket", ticket_id)["customer"] == MASKED
    assert as_("mei", ADMIN, ticketing, "get_ticket", ticket_id)["customer"] == FULL
    assert audit(ticketing, ticket_id=ticket_id)[:3] == [("mei", "read"), ("bob", "read"), ("sue", "read")]
    assert audit(ticketing, actor="bob") == [("bob", "read")]
    assert audit(ticketing, action="created") == [("sue", "created")]

    queued = as_("sue", SUPERVISOR, ticketing, "create_ticket", TICKET)["id"]   # billing's queue: nobody's yet
    moved = as_("bob", AGENT, ticketing, "escalate_ticket", queued, {"reason": "a supervisor, please"})
    assert moved["customer"] == MASKED                        # an answer to a change shows no more than a read


def test_the_audit_records_who_imported_customer_details_and_when_not_the_imported_author(ticketing):
    result = as_("crm", ["integration"], ticketing, "import_tickets", {"source": "old-desk", "tickets": [
        dict(TICKET, external_id="A-1", created_at="2025-01-02T03:04:05+00:00", created_by="someone", history=[])]})
    [entry] = as_("admin", ADMIN, ticketing, "customer_data_access", {})["items"]
    assert (entry["ticket_id"], entry["actor"], entry["action"]) == (result["imported"][0]["ticket_id"], "crm",
                                                                    "created")
    assert entry["at"] > "2026"


def test_events_carry_no_customer_details_and_mask_what_a_customer_wrote(ticketing, service_config, event_schemas):
    tap = EventTap(service_config["AMQP_URI"], "ticketing", "#", name="privacy")
    ticket = as_("sue", SUPERVISOR, ticketing, "create_ticket", dict(
        TICKET, subject="Call me on 13900001111 or li.lei@example.com", assignee="alice"))
    as_("alice", AGENT, ticketing, "add_message", ticket["id"], {"kind": "reply", "body": f"We call {CONTACT}"})
    as_("alice", AGENT, ticketing, "escalate_ticket", ticket["id"], {"reason": "customer at li.lei@example.com"})
    as_("alice", AGENT, ticketing, "change_state", ticket["id"], {"state": "resolved"})
    as_("alice", AGENT, ticketing, "search_articles", {"q": "refund for 13900001111"})

    events = tap.take(1)
    while events[-1]["type"] != "kb.search_missed":  # the last change's only event
        events += tap.take(1)
    assert {event["type"] for event in events} >= {"ticket.created", "ticket.replied", "ticket.escalated",
                                                   "ticket.resolved", "sla.clock_stopped"}
    for event in events:
        event_schemas.validate(event)
        text = json.dumps(event, ensure_ascii=False)
        for secret in ("Li Lei", CONTACT, "13800005678", "13900001111", "li.lei@example.com"):
            assert secret not in text, (event["type"], secret)
    data = {event["type"]: event["data"] for event in events}
    assert data["ticket.created"]["subject"] == "Call me on 139****1111 or l***@example.com"
    assert data["ticket.escalated"]["reason"] == "customer at l***@example.com"
    assert data["kb.search_missed"]["query"] == "refund for 139****1111"


def test_an_import_logs_its_source_without_the_credentials_in_it(ticketing, process_log):
    source = "https://ops:s3cret@old-desk.example.com/api?token=t0k3n"
    tickets = [dict(TICKET, external_id=f"A-{n}", created_at="2025-01-02T03:04:05+00:00", history=[])
               for n in range(100)]  # the import logs its progress every 100 tickets
    as_("crm", ["integration"], ticketing, "import_tickets", {"source": source, "tickets": tickets})
    [line] = [line for line in process_log() if "import from" in line]
    assert line.endswith("import from https://***@old-desk.example.com/api?token=***: 100 tickets replayed")
    assert not any(secret in "\n".join(process_log()) for secret in ("ops:", "s3cret", "t0k3n"))
