"""Ticketing's handlers on a unit of work over SQLite, without a container or
a broker: what a call produces stays in its own unit, a replayed history
keeps its times and authors while the audit names the real caller, and a
batch keeps each request's caller."""
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from plumbing.errors import Conflict, NotFound
from ticketing import models
from ticketing.aftercare import handlers as aftercare
from ticketing.aftercare import rules as aftercare_rules
from ticketing.sla import handlers as sla
from ticketing.tickets import handlers as tickets
from ticketing.webhooks import handlers as webhooks

CONFIG = {"REQUIRE_CERTIFICATION": "false"}  # nobody is cleared for duty in a bare database
TICKET = {"subject": "Refund not received", "channel": "email", "kind": "complaint",
          "customer": {"name": "Liu Yang", "contact": "liu@example.com"}}


def test_the_rating_link_shows_only_in_the_answer_of_the_call_that_resolved(unit):
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), CONFIG)
    assert ticket["rating_token"] is None
    resolved = tickets.change_state(unit(), ticket["id"], {"state": "resolved"})
    assert resolved["state"] == "resolved" and resolved["rating_token"]
    assert tickets.get_ticket(unit(), ticket["id"])["rating_token"] is None


def test_the_rating_link_is_kept_only_as_its_hash_and_no_event_or_webhook_body_carries_it(unit, database, published):
    webhooks.create_webhook(unit(actor="crm", roles=["integration"]),
                            {"url": "http://127.0.0.1:9/hook", "event_types": ["ticket.*"]},
                            {"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"})
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), CONFIG)
    token = tickets.change_state(unit(), ticket["id"], {"state": "resolved"})["rating_token"]

    [resolved] = [event for event in published() if event["type"] == "ticket.resolved"]
    assert resolved["dataversion"] == 2 and "rating_token" not in resolved["data"]
    with database() as session:
        stored = {table.name: [tuple(row) for row in session.execute(select(table))]
                  for table in models.Base.metadata.sorted_tables}
        assert session.scalars(select(models.Rating.token_hash)).all() == [aftercare_rules.token_hash(token)]
    assert stored["webhook_deliveries"] and stored["outbox"]
    assert [name for name, rows in stored.items() if token in repr(rows)] == []


def test_a_new_rating_link_replaces_the_one_before_until_the_resolution_is_rated(unit):
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), CONFIG)
    crm = dict(actor="crm", roles=["integration"])
    with pytest.raises(Conflict, match="no resolution to rate"):
        aftercare.issue_rating_link(unit(**crm), ticket["id"])
    first = tickets.change_state(unit(), ticket["id"], {"state": "resolved"})["rating_token"]
    link = aftercare.issue_rating_link(unit(**crm), ticket["id"])
    assert link["resolution"] == 1 and link["rating_token"] != first
    with pytest.raises(NotFound):
        aftercare.submit_rating(unit(actor=None), first, {"score": 1})
    assert aftercare.submit_rating(unit(actor=None), link["rating_token"], {"score": 4})["score"] == 4
    with pytest.raises(Conflict, match="already rated"):
        aftercare.issue_rating_link(unit(**crm), ticket["id"])


def test_an_import_replays_times_and_authors_but_audits_the_real_caller_and_counts_nothing(unit, published):
    created = dict(channel="email", kind="complaint", priority="normal")
    counted = REGISTRY.get_sample_value("csops_tickets_created_total", created) or 0.0
    importing = unit(actor="crm", roles=["integration"], request_id="import-1")
    result = tickets.import_tickets(importing, {"source": "old-desk", "tickets": [dict(
        TICKET, external_id="A-1", created_at="2025-01-02T03:04:05+00:00", created_by="someone", history=[
            {"at": "2025-01-02T04:00:00+00:00", "type": "message", "kind": "reply", "body": "Sent", "actor": "bob"},
            {"at": "2025-01-02T05:00:00+00:00", "type": "state", "state": "resolved", "actor": "bob"}])]}, CONFIG)
    importing.run_after_commit()
    assert (REGISTRY.get_sample_value("csops_tickets_created_total", created) or 0.0) == counted
    [imported] = result["imported"]

    history = tickets.ticket_history(unit(), imported["ticket_id"])["items"]
    assert [(entry["action"], entry["actor"]) for entry in history][:2] == [("created", "someone"),
                                                                           ("assigned", "bob")]
    assert history[0]["at"].startswith("2025-01-02T03:04:05") and history[-1]["at"].startswith("2025-01-02T05:00")
    assert {event["time"][:10] for event in published()} == {"2025-01-02"}
    [access] = tickets.customer_data_access(unit(actor="admin", roles=["admin"]), {})["items"]
    assert (access["actor"], access["action"], access["request_id"]) == ("crm", "created", "import-1")
    assert access["at"] > "2026"


def test_each_request_of_a_batch_is_its_callers_own(unit, published):
    def creation(actor, request_id):
        return {"ticket": TICKET, "actor": actor, "request_id": request_id, "idempotency_key": "k-1"}

    answers = tickets.create_tickets(unit(actor=None), [creation("alice", "r-1"), creation("bob", "r-2"),
                                                        creation("alice", "r-3")], CONFIG)
    alice, bob, again = (answer["ticket"]["id"] for answer in answers)
    assert alice == again != bob
    assert tickets.ticket_history(unit(), bob)["items"][0]["actor"] == "bob"
    assert [(event["data"]["actor"], event["requestid"]) for event in published()
            if event["type"] == "ticket.created"] == [("alice", "r-1"), ("bob", "r-2")]


def test_the_sweep_reads_the_units_clock(unit, published):
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), CONFIG)
    month_later = datetime.now(timezone.utc) + timedelta(days=30)
    assert sla.sweep_sla(unit(clock=lambda: month_later)) == 4   # a warning and a breach of both clocks
    assert sla.sweep_sla(unit(clock=lambda: month_later)) == 0
    assert tickets.get_ticket(unit(), ticket["id"])["escalation_level"] == 2
    assert [event["type"] for event in published()].count("sla.breached") == 2


def test_a_tickets_summary_masks_the_customer_reads_nothing_of_them_and_keeps_to_the_callers_scope(unit):
    ticket = tickets.create_ticket(unit(actor="admin", roles=["admin"]), dict(TICKET, team="billing"), CONFIG)
    accessed = tickets.customer_data_access(unit(actor="admin", roles=["admin"]), {})["total"]

    summary = tickets.ticket_summary(unit(actor="channels"), ticket["id"])  # a service: every ticket
    assert summary["id"] == ticket["id"] and summary["subject"] == TICKET["subject"]
    assert summary["customer"]["contact"] != TICKET["customer"]["contact"]  # masked
    assert tickets.customer_data_access(unit(actor="admin", roles=["admin"]), {})["total"] == accessed
    with pytest.raises(NotFound):
        tickets.ticket_summary(unit(actor="bob", roles=["agent"], teams=["tech"]), ticket["id"])
    assert tickets.ticket_summary(unit(actor="sue", roles=["supervisor"], teams=["billing"]), ticket["id"])
