"""Customers through the gateway (docs/customers.md), on SQLite and PostgreSQL: one customer record
found by any of their contacts however written, from the API, a mail and an import alike; agents
see it masked unless a ticket of the customer is theirs; duplicates merge (the old id redirects);
an erasure removes the customer's data from ticketing and from channels' mail, and leaves every
figure (SLA clocks, the agent's KPIs, the rating's score) as it was."""
import json
from datetime import date, datetime, timedelta, timezone

import pytest

from plumbing.testing import wait_for

RAW = {"Content-Type": "message/rfc822"}
ERASED, REMOVED = "[erased]", "[removed at the customer's request]"


@pytest.fixture(params=["sqlite", "postgres"])
def platform_databases(request):
    return request.getfixturevalue("postgres_platform_databases") if request.param == "postgres" else {}


def ok(response, status=200):
    assert response.status_code == status, (response.request.method, response.request.url, response.text)
    return response.json() if response.content else None


def mail(sender, message_id, body, attachment=None):
    head = (f"From: Wang Fang <{sender}>\r\nTo: support@shop.example.com\r\nSubject: Refund for order 77\r\n"
            f"Message-ID: <{message_id}>\r\n")
    if attachment is None:
        return (head + f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()
    return (head + 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n--b\r\n"
            'Content-Type: text/plain; name="receipt.txt"\r\nContent-Disposition: attachment; filename="receipt.txt"'
            f"\r\n\r\n{attachment}\r\n--b--\r\n").encode()


def this_month():
    today = date.today()
    return {"date_from": today.replace(day=1).isoformat(), "date_to": today.isoformat()}


def test_one_customer_is_found_by_any_contact_from_the_api_mail_and_imports_and_merges(
        start_platform, client, make_account):
    start_platform("ticketing", "channels")
    admin = client.login()
    ann = make_account("ann", ["agent"], teams=["billing"])
    pipe = make_account("mta", ["integration"])
    acme = ok(admin.post(client.url("/api/v1/organisations"), json={
        "name": "Acme", "domains": ["Acme.example"], "tier": "gold"}), 201)
    assert (acme["domains"], acme["customers"]) == (["acme.example"], 0)

    li = ok(ann.post(client.url("/api/v1/customers"), json={"name": "Li Lei", "language": "zh-CN", "contacts": [
        {"kind": "phone", "value": "+86 138 0000 5678"}, {"kind": "email", "value": "Li.Lei@ACME.example"}]}), 201)
    assert (li["organisation_id"], li["effective_tier"], li["tier"]) == (acme["id"], "gold", None)  # by its domain
    assert [c["normalised"] for c in li["contacts"]] == ["+8613800005678", "li.lei@acme.example"]
    taken = admin.post(client.url("/api/v1/customers"), json={"name": "Lei Li", "contacts": [
        {"kind": "phone", "value": "13800005678"}]})
    assert taken.status_code == 409 and taken.json()["error"]["details"] == {
        "contacts": {"0": [f"held by customer {li['id']}"]}}
    bad = admin.post(client.url("/api/v1/customers"), json={"name": "x", "contacts": [{"kind": "email",
                                                                                        "value": "not-an-address"}]})
    assert bad.status_code == 400 and bad.json()["error"]["details"] == {"contacts": {"0": {"value": [
        "not an email address"]}}}

    # the API, a mail and an import, each with the contact written its own way, find the same customer
    by_api = ok(admin.post(client.url("/api/v1/tickets"), json={
        "subject": "Invoice", "channel": "phone", "kind": "inquiry", "team": "billing",
        "customer": {"name": "Li", "contact": "138-0000-5678"}}), 201)
    assert (by_api["customer_id"], by_api["customer_tier"]) == (li["id"], "gold")  # the tier from the record
    mailbox = ok(admin.post(client.url("/api/v1/channels/mailboxes"), json={"address": "support@shop.example.com",
                                                                            "team": "billing"}), 201)
    by_mail = ok(pipe.post(client.url(f"/api/v1/channels/mailboxes/{mailbox['id']}/inbound"), headers=RAW,
                           data=mail("LI.LEI@acme.example", "m1@acme.example", "Where is my refund?")), 201)
    imported = ok(admin.post(client.url("/api/v1/tickets/import"), json={"source": "old-desk", "tickets": [{
        "external_id": "A-1", "subject": "Old", "channel": "email", "kind": "inquiry",
        "created_at": (datetime.now(timezone.utc) - timedelta(days=30)).isoformat(),
        "customer": {"name": "Li Lei", "contact": "0086 13800005678"}}]}))["imported"][0]
    tickets = ok(admin.get(client.url(f"/api/v1/customers/{li['id']}/tickets")))
    assert [t["id"] for t in tickets["items"]] == [imported["ticket_id"], by_mail["ticket_id"], by_api["id"]]
    assert tickets["items"][0]["customer"] == {"name": "L*", "contact": "008****5678"}  # a list masks, as every list

    found = ok(ann.get(client.url("/api/v1/customers"), params={"contact": "+86 13800005678"}))
    assert [(c["id"], c["masked"], c["name"]) for c in found["items"]] == [(li["id"], True, "L*")]  # none is hers
    assert ok(ann.get(client.url("/api/v1/customers"), params={"contact": "li.lei@Acme.Example"}))["total"] == 1
    assert ok(ann.get(client.url("/api/v1/customers"), params={"contact": "nobody@acme.example"}))["total"] == 0
    ok(admin.post(client.url(f"/api/v1/tickets/{by_api['id']}/assignment"), json={"assignee": "ann"}))
    assert ok(ann.get(client.url(f"/api/v1/customers/{li['id']}")))["name"] == "Li Lei"  # now one ticket is hers
    audit = ok(admin.get(client.url("/api/v1/audit/customer-data"), params={"customer_id": li["id"]}))["items"]
    assert [(e["actor"], e["action"], e["ticket_id"]) for e in audit] == [("ann", "read", None),
                                                                          ("ann", "created", None)]

    # a duplicate made by another channel merges into the record that stays; its id redirects there
    dup = ok(admin.post(client.url("/api/v1/customers"), json={"name": "Li Lei (WeChat)", "contacts": [
        {"kind": "social", "value": "wechat:@LiLei88"}]}), 201)
    on_wechat = ok(admin.post(client.url("/api/v1/tickets"), json={
        "subject": "Chat", "channel": "social", "kind": "inquiry",
        "customer": {"name": "LL", "contact": "wechat:lilei88"}}), 201)
    assert on_wechat["customer_id"] == dup["id"]
    assert ann.post(client.url(f"/api/v1/customers/{dup['id']}/merge"), json={"into": li["id"]}).status_code == 403
    merged = ok(admin.post(client.url(f"/api/v1/customers/{dup['id']}/merge"), json={"into": li["id"]}))
    assert [c["normalised"] for c in merged["contacts"]] == ["+8613800005678", "li.lei@acme.example",
                                                             "wechat:lilei88"]
    moved = admin.get(client.url(f"/api/v1/customers/{dup['id']}"), allow_redirects=False)
    assert (moved.status_code, moved.headers["Location"]) == (301, f"/api/v1/customers/{li['id']}")
    assert ok(admin.get(client.url(f"/api/v1/customers/{dup['id']}")))["id"] == li["id"]  # followed
    assert ok(admin.get(client.url(f"/api/v1/tickets/{on_wechat['id']}")))["customer_id"] == li["id"]
    history = ok(admin.get(client.url(f"/api/v1/tickets/{on_wechat['id']}/history")))["items"]
    assert history[-1]["action"] == "customer_merged" and history[-1]["changes"] == {
        "customer_id": [dup["id"], li["id"]]}
    assert admin.post(client.url(f"/api/v1/customers/{dup['id']}/merge"), json={"into": li["id"]}).status_code == 409
    again = ok(admin.post(client.url("/api/v1/tickets"), json={
        "subject": "Again", "channel": "social", "kind": "inquiry",
        "customer": {"name": "LL", "contact": "wechat:LILEI88"}}), 201)
    assert again["customer_id"] == li["id"]
    assert ok(admin.get(client.url(f"/api/v1/organisations/{acme['id']}")))["customers"] == 1
    assert admin.delete(client.url(f"/api/v1/organisations/{acme['id']}")).status_code == 409


def test_an_erasure_removes_the_customers_data_everywhere_and_keeps_every_figure(
        start_platform, client, make_account):
    start_platform("ticketing", "channels", "appraisal")
    admin = client.login()
    ann = make_account("ann", ["agent"], teams=["billing"])
    crm = make_account("crm", ["integration"])
    mailbox = ok(admin.post(client.url("/api/v1/channels/mailboxes"), json={"address": "support@shop.example.com",
                                                                            "team": "billing"}), 201)
    inbound = client.url(f"/api/v1/channels/mailboxes/{mailbox['id']}/inbound")
    opened = ok(crm.post(inbound, headers=RAW, data=mail("wang.fang@example.net", "w1@example.net",
                                                         "My parcel is broken, call me on 139 1234 5678.",
                                                         attachment="order 77, Wang Fang")), 201)
    ticket_id = opened["ticket_id"]
    base = client.url(f"/api/v1/tickets/{ticket_id}")
    ok(admin.post(base + "/assignment", json={"assignee": "ann"}))
    ok(ann.post(base + "/messages", json={"kind": "reply", "body": "Dear Wang Fang, a refund is on its way."}), 201)
    ok(ann.post(base + "/state", json={"state": "resolved"}))


    def rated():  # channels' survey mail may ask for a link of its own meanwhile, which replaces this one
        token = ok(crm.post(base + "/rating-link"), 201)["rating_token"]
        return client.post(client.url(f"/api/v1/ratings/{token}"), json={"score": 4, "comment": "Thanks, Wang Fang"}
                           ).status_code == 201
    wait_for(rated, message="the customer's rating")
    mine = {"agent": "ann", **this_month()}
    kpis = wait_for(lambda: (lambda k: k if k["volume"] == 1 and k["csat_mean"] == 4 else None)(
        ok(ann.get(client.url("/api/v1/appraisal/kpis"), params=mine))["kpis"]), message="ann's KPIs")
    before = ok(admin.get(base))
    [customer] = ok(admin.get(client.url("/api/v1/customers"), params={"contact": "Wang.Fang@example.net"}))["items"]
    [attachment] = before["attachments"]
    assert ok(admin.get(client.url("/api/v1/channels/inbound")))["items"][0]["sender"] == "wang.fang@example.net"

    assert admin.post(client.url(f"/api/v1/customers/{customer['id']}/erasure"), json={}).status_code == 400
    assert ann.post(client.url(f"/api/v1/customers/{customer['id']}/erasure"), json={"confirm": True}
                    ).status_code == 403
    erased = ok(admin.post(client.url(f"/api/v1/customers/{customer['id']}/erasure"), json={"confirm": True}))
    assert (erased["customer_id"], erased["reason"], erased["actor"], erased["tickets"], erased["messages"],
            erased["attachments"], erased["contacts"], erased["ticket_ids"]) == (
        customer["id"], "request", "admin", 1, 0, 1, 1, [ticket_id])

    after = ok(admin.get(base))
    assert (after["customer"], after["subject"], after["description"]) == (
        {"name": ERASED, "contact": ERASED}, ERASED, REMOVED)
    assert after["erased_at"] is not None
    for figure in ("sla", "state", "created_at", "resolved_at", "first_responded_at", "first_contact_resolution",
                   "reopen_count", "transfer_count", "assignee", "team", "customer_tier", "channel", "kind"):
        assert after[figure] == before[figure], figure
    [reply] = ok(admin.get(base + "/messages"))["items"]
    assert reply["body"] == f"Dear {ERASED}, a refund is on its way."
    assert admin.get(client.url(f"/api/v1/tickets/{ticket_id}/attachments/{attachment['id']}")).status_code == 404
    record = ok(admin.get(client.url(f"/api/v1/customers/{customer['id']}")))
    assert (record["name"], record["contacts"], record["erased_at"] is not None) == (ERASED, [], True)
    assert ok(admin.get(client.url("/api/v1/customers"), params={"contact": "wang.fang@example.net"}))["total"] == 0
    assert admin.post(client.url(f"/api/v1/customers/{customer['id']}/erasure"), json={"confirm": True}
                      ).status_code == 409

    # channels erases its copy of the mail on customer.erased
    mails = wait_for(lambda: (lambda items: items if items[0]["sender"] == ERASED else None)(
        ok(admin.get(client.url("/api/v1/channels/inbound")))["items"]), message="the mail erased")
    assert (mails[0]["subject"], mails[0]["text"], mails[0]["outcome"], mails[0]["ticket_id"]) == (
        "", "", "opened", ticket_id)
    # the figures: the agent's KPIs, the ticket counted, its clocks (above) as they were
    assert ok(ann.get(client.url("/api/v1/appraisal/kpis"), params=mine))["kpis"] == kpis
    assert ok(admin.get(client.url("/api/v1/tickets")))["total"] == 1
    # the audit says who erased whom and how much, and nothing of the customer
    audit = ok(admin.get(client.url("/api/v1/audit/erasures")))
    assert [(e["customer_id"], e["actor"]) for e in audit["items"]] == [(customer["id"], "admin")]
    written = json.dumps(audit) + json.dumps(ok(admin.get(client.url("/api/v1/audit/customer-data"))))
    assert not any(secret in written.lower() for secret in ("wang", "fang", "example.net", "1234"))
    # a new mail from the erased address is a new customer: nothing links it to the old one
    ok(crm.post(inbound, headers=RAW, data=mail("wang.fang@example.net", "w2@example.net", "Hello again")), 201)
    [anew] = ok(admin.get(client.url("/api/v1/customers"), params={"contact": "wang.fang@example.net"}))["items"]
    assert anew["id"] != customer["id"]
