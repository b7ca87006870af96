"""Mail in through the gateway: an MTA pipe posts a raw mail (message/rfc822) to a mailbox's inbound
route, which opens a ticket; the same mail again is a duplicate; a reply joins the ticket; the
route takes only that media type; mailboxes are admins' to manage."""
from pathlib import Path

MAIL = Path(__file__).resolve().parents[3] / "services/channels/tests/mail"
RAW = {"Content-Type": "message/rfc822"}


def test_a_piped_mail_opens_a_ticket_once_and_its_reply_joins_it(start_platform, client, make_account):
    start_platform("ticketing", "channels")
    admin = client.login()
    mailbox = admin.post(client.url("/api/v1/channels/mailboxes"), json={
        "address": "support@shop.example.com", "team": "billing", "kind": "complaint"})
    assert mailbox.status_code == 201, mailbox.text
    inbound = client.url(f"/api/v1/channels/mailboxes/{mailbox.json()['id']}/inbound")
    pipe = make_account("mta", ["integration"])

    first = (MAIL / "multipart_alternative.eml").read_bytes()
    taken = pipe.post(inbound, data=first, headers=RAW)
    assert taken.status_code == 201, taken.text
    assert (taken.json()["outcome"], taken.json()["duplicate"]) == ("opened", False)
    ticket = admin.get(client.url(f"/api/v1/tickets/{taken.json()['ticket_id']}")).json()
    assert (ticket["subject"], ticket["channel"], ticket["kind"], ticket["team"]) == \
        ("包裹破损，要求退款", "email", "complaint", "billing")

    again = pipe.post(inbound, data=first, headers=RAW)
    assert (again.status_code, again.json()["id"], again.json()["duplicate"]) == (200, taken.json()["id"], True)

    reply = pipe.post(inbound, headers=RAW, data=(
        "From: wang.fang@example.net\r\nTo: support@shop.example.com\r\nSubject: Re: 包裹破损\r\n"
        "Message-ID: <reply-1@example.net>\r\nIn-Reply-To: <CAF=first-mail-001@mail.example.net>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n照片已补充。\r\n\r\n"
        "------------------ 原始邮件 ------------------\r\n发件人: 客服\r\n").encode())
    assert reply.status_code == 201, reply.text
    assert (reply.json()["outcome"], reply.json()["ticket_id"]) == ("replied", taken.json()["ticket_id"])
    messages = admin.get(client.url(f"/api/v1/tickets/{taken.json()['ticket_id']}/messages")).json()["items"]
    assert [(m["kind"], m["body"]) for m in messages][-1] == ("customer", "照片已补充。")

    bounce = pipe.post(inbound, data=(MAIL / "dsn_bounce.eml").read_bytes(), headers=RAW)
    assert (bounce.status_code, bounce.json()["outcome"]) == (201, "bounce")

    wrong_type = pipe.post(inbound, json={"raw": "From: a@b"})
    assert wrong_type.status_code == 415 and wrong_type.json()["error"]["details"] == {
        "Content-Type": ["must be message/rfc822"]}
    empty = pipe.post(inbound, data=b"", headers=RAW)
    assert empty.status_code == 400
    assert pipe.get(client.url("/api/v1/channels/mailboxes")).status_code == 403
    log = admin.get(client.url("/api/v1/channels/inbound")).json()
    assert [m["outcome"] for m in log["items"]] == ["bounce", "replied", "opened"]


def test_an_outlook_mail_s_inline_image_shows_in_the_ticket_under_the_ticket_s_access_rules(
        start_platform, client, make_account):
    """multipart/related with an inline PNG (Content-ID) and a remote tracking image: the PNG becomes
    an attachment of the ticket and the HTML's cid: points at its download; the tracker is gone."""
    start_platform("ticketing", "channels")
    admin = client.login()
    mailbox = admin.post(client.url("/api/v1/channels/mailboxes"), json={
        "address": "support@shop.example.com", "team": "billing", "kind": "inquiry"}).json()
    inbound = client.url(f"/api/v1/channels/mailboxes/{mailbox['id']}/inbound")
    pipe = make_account("mta", ["integration"])
    agent = make_account("ann", ["agent"], teams=["billing"])
    outsider = make_account("bob", ["agent"], teams=["logistics"])

    taken = pipe.post(inbound, data=(MAIL / "inline_image.eml").read_bytes(), headers=RAW)
    assert (taken.status_code, taken.json()["outcome"]) == (201, "opened"), taken.text
    ticket_id = taken.json()["ticket_id"]
    ticket = agent.get(client.url(f"/api/v1/tickets/{ticket_id}"))
    assert ticket.status_code == 200, ticket.text
    [image] = ticket.json()["attachments"]
    assert (image["filename"], image["content_type"]) == ("image001.png", "image/png")
    html = ticket.json()["description_html"]
    assert f'src="{image["url"]}"' in html and 'alt="torn label"' in html
    assert "cid:" not in html and "track.mailer.example" not in html and "<style" not in html
    assert ticket.json()["description"].startswith("Hello,\n\nThe label on the box is torn")

    shown = agent.get(client.url(image["url"]))
    assert (shown.status_code, shown.headers["Content-Type"]) == (200, "image/png")
    assert shown.content.startswith(b"\x89PNG") and len(shown.content) == image["size"]
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert outsider.get(client.url(image["url"])).status_code == 404  # the ticket's rules, not the link's

    # the customer answers with another inline image: on their message, pointing at its own attachment
    reply = (MAIL / "inline_image.eml").read_bytes().replace(
        b"Message-ID: <DB9PR08MB6634E2A1C3F4B5D6A7B8C9D0E1F2A3B4@",
        b"In-Reply-To: <DB9PR08MB6634E2A1C3F4B5D6A7B8C9D0E1F2A3B4@DB9PR08MB6634.eurprd08.prod.outlook.example>\r\n"
        b"Message-ID: <DB9PR08MB6634REPLY@").replace(b"Order 20261207-5521.", b"Here it is again.")
    replied = pipe.post(inbound, data=reply, headers=RAW)
    assert (replied.status_code, replied.json()["outcome"], replied.json()["ticket_id"]) == \
        (201, "replied", ticket_id), replied.text
    message = agent.get(client.url(f"/api/v1/tickets/{ticket_id}/messages")).json()["items"][-1]
    assert (message["kind"], message["body"]) == ("customer", "Hello,\n\nThe label on the box is torn, see below. "
                                                  "Here it is again.\n\n[torn label]\n\nRegards,\nPriya Raman")
    [again] = message["attachments"]
    assert f'src="{again["url"]}"' in message["html"] and "cid:" not in message["html"]
    assert again["id"] != image["id"] and again["sha256"] == image["sha256"]  # the same file, stored once
