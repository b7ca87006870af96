"""Customers in ticketing's handlers, on SQLite without a container: tickets find their customer by any
contact (one record for concurrent tickets of a new contact), an erasure replaces the customer's words
and files and keeps every figure, and the retention sweep purges tickets closed long enough ago in
bounded batches (off unless configured)."""
import io
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from plumbing.blobs import BlobStore
from ticketing import models
from ticketing.aftercare import handlers as aftercare
from ticketing.customers import handlers as customers
from ticketing.customers.rules import ERASED, REMOVED
from ticketing.edits import handlers as edits
from ticketing.tickets import handlers as tickets

TICKET = {"subject": "Refund for 13800005678", "channel": "email", "kind": "complaint", "assignee": "alice",
          "description": "Li Lei here, my parcel broke", "customer": {"name": "Li Lei", "contact": "li@example.com"}}
ADMIN = {"actor": "admin", "roles": ["admin"]}
NOW = datetime.now(timezone.utc)


def config_for(tmp_path, **more):
    return {"REQUIRE_CERTIFICATION": "false", "BLOB_DIR": str(tmp_path / "blobs"), **more}


def test_concurrent_tickets_of_a_new_contact_share_one_customer_and_the_contact_finds_it(unit, tmp_path):
    config = config_for(tmp_path)
    contacts = ("LI@example.com", "li@Example.com ", "+86 138 0000 5678")
    answers = tickets.create_tickets(unit(), [
        {"ticket": dict(TICKET, customer={"name": "Li", "contact": contact}), "actor": "crm", "request_id": str(n),
         "idempotency_key": None} for n, contact in enumerate(contacts)], config)
    ids = [answer["ticket"]["customer_id"] for answer in answers]
    assert ids[0] == ids[1] != ids[2]
    found = customers.list_customers(unit(**ADMIN), {"contact": "li@EXAMPLE.com"}, config)
    assert [(c["id"], c["name"], [x["normalised"] for x in c["contacts"]]) for c in found["items"]] == [
        (ids[0], "Li", ["li@example.com"])]


def test_an_erasure_replaces_the_customers_words_and_files_and_keeps_the_figures(unit, database, published, tmp_path):
    config = config_for(tmp_path)
    store = BlobStore(tmp_path / "blobs")
    photo = store.put(io.BytesIO(b"a photo of the parcel"), 1 << 20).as_dict()
    shared = store.put(io.BytesIO(b"the shop's logo"), 1 << 20).as_dict()
    ticket = tickets.create_ticket(unit(), dict(TICKET, attachments=[dict(photo, filename="li-lei.jpg")]), config)
    other = tickets.create_ticket(unit(), dict(TICKET, customer={"name": "Wang", "contact": "wang@example.com"},
                                               attachments=[dict(shared, filename="logo.png")]), config)
    tid = ticket["id"]
    tickets.add_message(unit(roles=None), tid, {"kind": "customer", "body": "Call me: 13800005678, Li Lei",
                                                "attachments": [dict(shared, filename="logo.png")]}, config)
    tickets.add_message(unit(), tid, {"kind": "reply", "body": "Dear Li Lei, we wrote to li@example.com."}, config)
    edits.edit_ticket(unit(), tid, {"subject": "Zeppelin refund for Li Lei"}, "*", config)
    assert [t["id"] for t in tickets.list_tickets(unit(**ADMIN), {"q": "zeppelin"})["items"]] == [tid]
    resolved = tickets.change_state(unit(), tid, {"state": "resolved"})
    aftercare.submit_rating(unit(roles=None), resolved["rating_token"], {"score": 2, "comment": "Li Lei is upset"})
    before = tickets.get_ticket(unit(**ADMIN), tid)

    erasing = unit(**ADMIN)
    erased = customers.erase_customer(erasing, ticket["customer_id"], {"confirm": True}, config)
    erasing.run_after_commit()  # as the worker does once the call has ended: the files go
    assert (erased["tickets"], erased["messages"], erased["attachments"], erased["contacts"]) == (1, 1, 2, 1)

    after = tickets.get_ticket(unit(**ADMIN), tid)
    assert (after["customer"], after["subject"], after["description"]) == ({"name": ERASED, "contact": ERASED},
                                                                          ERASED, REMOVED)
    assert tickets.list_tickets(unit(**ADMIN), {"q": "zeppelin"})["items"] == []  # nor found by the old words
    assert [e["changes"] for e in tickets.ticket_history(unit(**ADMIN), tid)["items"] if e["action"] == "edited"] == [
        {"subject": [ERASED, ERASED]}]
    assert (after["sla"], after["first_responded_at"], after["resolved_at"]) == (
        before["sla"], before["first_responded_at"], before["resolved_at"])
    messages = tickets.list_messages(unit(**ADMIN), tid, {})["items"]
    assert [(m["kind"], m["body"]) for m in messages] == [
        ("customer", REMOVED), ("reply", f"Dear {ERASED}, we wrote to {ERASED}.")]
    assert [(a["filename"], a["size"]) for a in messages[0]["attachments"]] == [(ERASED, len(b"the shop's logo"))]
    with database() as session:
        [rating] = session.scalars(select(models.Rating).where(models.Rating.ticket_id == tid)).all()
        assert (rating.score, rating.comment) == (2, REMOVED)
    assert not store.exists(photo["sha256"])  # the customer's file is gone
    assert store.exists(shared["sha256"])  # another ticket still names this one
    assert tickets.get_ticket(unit(**ADMIN), other["id"])["customer"]["name"] == "Wang"

    [event] = [e for e in published() if e["type"] == "customer.erased"]
    assert event["data"] == {"customer_id": ticket["customer_id"], "ticket_ids": [tid], "reason": "request",
                             "customer_erased": True, "actor": "admin"}
    assert event["subject"] == f"customer/{ticket['customer_id']}"


def test_retention_purges_tickets_closed_longer_ago_in_batches_and_is_off_unless_configured(
        unit, published, tmp_path, caplog):
    config = config_for(tmp_path)

    def closed(contact, days_ago):
        at = NOW - timedelta(days=days_ago)
        made = tickets.create_ticket(unit(clock=lambda: at), dict(TICKET, customer={"name": "C", "contact": contact}),
                                     config)
        tickets.change_state(unit(clock=lambda: at), made["id"], {"state": "closed"})
        return made

    old = [closed("old@example.com", 400), closed("old@example.com", 300)]  # both long closed
    mixed = [closed("mixed@example.com", 250), closed("mixed@example.com", 10)]  # one recent
    still_open = tickets.create_ticket(unit(clock=lambda: NOW - timedelta(days=500)),
                                       dict(TICKET, customer={"name": "O", "contact": "open@example.com"}), config)

    assert customers.sweep_retention(unit(actor=None), config) == 0  # off by default
    assert tickets.get_ticket(unit(**ADMIN), old[0]["id"])["erased_at"] is None

    six_months = dict(config, RETENTION_MONTHS="6", RETENTION_BATCH="2")
    with caplog.at_level("INFO", logger="ticketing.customers.handlers"):
        assert customers.sweep_retention(unit(actor=None), six_months) == 3
    assert [line for line in caplog.messages if line.startswith("retention:")][0].startswith(
        "retention: 2 tickets closed before")  # a batch of two, then one
    erased = {t["id"]: tickets.get_ticket(unit(**ADMIN), t["id"])["erased_at"] is not None
              for t in old + mixed + [still_open]}
    assert erased == {old[0]["id"]: True, old[1]["id"]: True, mixed[0]["id"]: True, mixed[1]["id"]: False,
                      still_open["id"]: False}
    records = {c: customers.get_customer(unit(**ADMIN), t["customer_id"]) for c, t in (("old", old[0]),
                                                                                     ("mixed", mixed[0]))}
    assert records["old"]["erased_at"] is not None and records["old"]["contacts"] == []  # nothing of theirs left
    assert records["mixed"]["erased_at"] is None and records["mixed"]["name"] == "C"  # a recent ticket remains
    audit = customers.list_erasures(unit(**ADMIN), {"reason": "retention"})["items"]
    assert sorted((e["customer_id"], e["actor"], e["tickets"], e["customer_erased"]) for e in audit) == sorted([
        (old[0]["customer_id"], None, 2, True), (mixed[0]["customer_id"], None, 1, False)])
    assert {tuple(e["data"]["ticket_ids"]) for e in published() if e["type"] == "customer.erased"} == {
        (old[0]["id"], old[1]["id"]), (mixed[0]["id"],)}
    assert customers.sweep_retention(unit(actor=None), six_months) == 0  # nothing left to purge
