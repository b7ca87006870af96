"""Attachments on a unit of work over SQLite, with a blob store in a temporary directory: a message
or a new ticket keeps references to files the store holds (checked), answers list them, events
carry the references and never the content, and an attachment is read only through its ticket."""
import io
import json

import pytest

from plumbing.blobs import BlobStore
from plumbing.errors import InvalidInput, NotFound
from ticketing.contract import MAX_ATTACHMENTS
from ticketing.tickets import handlers as tickets

TICKET = {"subject": "Parcel arrived damaged", "channel": "email", "kind": "complaint",
          "customer": {"name": "Liu Yang", "contact": "liu@example.com"}}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"photo of the parcel" * 10
PDF = b"%PDF-1.7\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 5 + b"%%EOF\n"


@pytest.fixture
def config(tmp_path):
    return {"REQUIRE_CERTIFICATION": "false", "BLOB_DIR": str(tmp_path / "blobs")}


@pytest.fixture
def stored(config):
    """``stored(content, filename)``: the content put in the blob store, as a reference to attach."""
    store = BlobStore.from_config(config)

    def put(content, filename):
        return dict(store.put(io.BytesIO(content), max_bytes=1 << 20).as_dict(), filename=filename)
    return put


def test_a_reply_keeps_its_files_lists_them_and_its_events_carry_only_references(unit, published, config, stored):
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), config)
    photo, report = stored(PNG, "C:\\Users\\liu\\parcel 13800005678.png"), stored(PDF, "report.pdf")
    message = tickets.add_message(unit(), ticket["id"], {"kind": "reply", "body": "Photo and report attached",
                                                         "attachments": [photo, report]}, config)

    listed = [(a["filename"], a["content_type"], a["size"], a["sha256"]) for a in message["attachments"]]
    assert listed == [("parcel 13800005678.png", "image/png", len(PNG), photo["sha256"]),
                      ("report.pdf", "application/pdf", len(PDF), report["sha256"])]
    first = message["attachments"][0]
    assert first["url"] == f"/api/v1/tickets/{ticket['id']}/attachments/{first['id']}"
    assert (first["ticket_id"], first["message_id"]) == (ticket["id"], message["id"])
    [conversation] = tickets.list_messages(unit(), ticket["id"], None)["items"]
    assert conversation["attachments"] == message["attachments"]

    replied = [event for event in published() if event["type"] in ("ticket.replied", "ticket.first_responded")]
    assert len(replied) == 2
    for event in replied:
        assert event["dataversion"] == 1
        assert [(a["attachment_id"], a["sha256"], a["content_type"], a["size"]) for a in event["data"]["attachments"]] \
            == [(a["id"], a["sha256"], a["content_type"], a["size"]) for a in message["attachments"]]
        assert event["data"]["attachments"][0]["filename"] != "parcel 13800005678.png"  # masked like free text
        assert "13800005678" not in json.dumps(event)
    assert not any(b"photo of the parcel".decode() in json.dumps(event) for event in published())
    history = tickets.ticket_history(unit(), ticket["id"])["items"]
    assert {"kind": "reply", "message_id": message["id"], "attachments": [a["id"] for a in message["attachments"]]} \
        in [entry["changes"] for entry in history]


def test_the_same_file_twice_is_two_attachments_of_one_blob(unit, config, stored):
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), config)
    message = tickets.add_message(unit(), ticket["id"], {"kind": "note", "body": "twice", "attachments": [
        stored(PNG, "a.png"), stored(PNG, "b.png")]}, config)
    first, second = message["attachments"]
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    assert len([path for path in BlobStore.from_config(config).root.rglob("*") if path.is_file()]) == 1


def test_a_new_ticket_keeps_its_files_on_the_ticket_and_announces_them(unit, published, config, stored):
    ticket = tickets.create_ticket(unit(actor="crm", roles=["integration"]), dict(
        TICKET, attachments=[stored(PDF, "invoice.pdf")]), config)
    [attached] = ticket["attachments"]
    assert (attached["filename"], attached["message_id"], attached["ticket_id"]) == ("invoice.pdf", None, ticket["id"])
    assert tickets.get_ticket(unit(actor="crm", roles=["integration"]), ticket["id"])["attachments"] == [attached]
    [created] = [event for event in published() if event["type"] == "ticket.created"]
    assert [a["attachment_id"] for a in created["data"]["attachments"]] == [attached["id"]]
    plain = tickets.create_ticket(unit(actor="crm", roles=["integration"]), TICKET, config)
    assert plain["attachments"] == []


@pytest.mark.parametrize("change, reason", [
    (lambda ref: dict(ref, sha256="0" * 64), "no such file in the blob store"),
    (lambda ref: dict(ref, size=ref["size"] + 1), "bytes, not"),
    (lambda ref: dict(ref, content_type="text/plain"), "the stored file is image/png, not text/plain"),
])
def test_a_reference_the_store_does_not_hold_as_described_is_refused_and_nothing_is_written(
        unit, config, stored, change, reason):
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), config)
    good = stored(PDF, "ok.pdf")
    with pytest.raises(InvalidInput) as refused:
        tickets.add_message(unit(), ticket["id"], {"kind": "reply", "body": "see attached",
                                                   "attachments": [good, change(stored(PNG, "x.png"))]}, config)
    [problem] = refused.value.details["attachments"]["1"]["sha256"]
    assert reason in problem
    assert tickets.list_messages(unit(), ticket["id"], None)["items"] == []
    with pytest.raises(InvalidInput):
        tickets.create_ticket(unit(), dict(TICKET, attachments=[change(stored(PNG, "x.png"))]), config)


def test_at_most_twenty_files_a_message_and_each_field_is_checked(unit, config, stored):
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), config)
    ref = stored(PNG, "x.png")
    with pytest.raises(InvalidInput) as refused:
        tickets.add_message(unit(), ticket["id"], {"kind": "note", "body": "many",
                                                   "attachments": [ref] * (MAX_ATTACHMENTS + 1)}, config)
    assert "attachments" in refused.value.details
    assert len(tickets.add_message(unit(), ticket["id"], {"kind": "note", "body": "twenty",
                                                          "attachments": [ref] * MAX_ATTACHMENTS}, config)
               ["attachments"]) == MAX_ATTACHMENTS
    with pytest.raises(InvalidInput) as refused:
        tickets.add_message(unit(), ticket["id"], {"kind": "note", "body": "bad", "attachments": [
            dict(ref, sha256="../../etc/passwd", content_type="image", size=-1)]}, config)
    assert set(refused.value.details["attachments"]["0"]) == {"sha256", "content_type", "size"}


def test_an_attachment_is_read_through_its_ticket_and_outside_the_callers_scope_is_not_found(unit, config, stored):
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), config)
    other = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), config)
    [attached] = tickets.add_message(unit(), ticket["id"], {"kind": "reply", "body": "photo",
                                                            "attachments": [stored(PNG, "p.png")]}, config)["attachments"]
    found = tickets.get_attachment(unit(actor="alice", roles=["agent"]), ticket["id"], attached["id"])
    assert found == attached
    with pytest.raises(NotFound):  # an attachment of another ticket, through a ticket she reads
        tickets.get_attachment(unit(actor="alice", roles=["agent"]), other["id"], attached["id"])
    with pytest.raises(NotFound):  # a ticket she may not read
        tickets.get_attachment(unit(actor="bob", roles=["agent"]), ticket["id"], attached["id"])
    with pytest.raises(NotFound):
        tickets.get_attachment(unit(actor="alice", roles=["agent"]), ticket["id"], attached["id"] + 100)
