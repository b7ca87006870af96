"""Issue 20's "Done when", end to end: a customer mails the support mailbox (IMAP APPEND to a real
Dovecot, which channels polls) and gets the acknowledgement (a real SMTP server on loopback takes
every mail); the agent answers through the gateway's API with a photo attached and the customer's
mail carries it; the customer replies from Outlook and from Foxmail quoting the answer and both join
the ticket with the quote stripped; the resolution sends the survey, whose rating link works once;
a complaint's result and a suggestion's decision reach the customer; a bounce and an auto-reply open
nothing, the bounce failing the delivery it names. Gateway, ticketing and channels in-process, on
SQLite files, a real broker; poll and send timers at a tenth of a second. The survey's link is the
gateway's rating page (CHANNELS_RATING_URL's default, docs/operations.md): the customer opens it
(GET) and sends its form (POST)."""
import re
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
import requests

from plumbing.testing import wait_for

PASSWORD = "imap-password-of-the-e2e-test"
SECRET = "e2e-reply-secret"
SUPPORT = "support@shop.example.com"
CUSTOMER = "wang.fang@example.net"
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 8 + b"\xff\xd9"


@pytest.fixture
def dovecot_mailbox(dovecot, monkeypatch):
    monkeypatch.setenv("SUPPORT_IMAP_PASSWORD", PASSWORD)
    dovecot.user("support", PASSWORD)
    return dovecot


@pytest.fixture
def gateway_config(gateway_config, smtp_server, base_url_for_rating):
    return dict(gateway_config, **smtp_server.config(), CHANNELS_POLL_SECONDS=0.1, CHANNELS_SEND_SECONDS=0.1,
                CHANNELS_REPLY_SECRET=SECRET, CHANNELS_FROM_ADDRESS=SUPPORT, CHANNELS_RATING_URL=base_url_for_rating)


@pytest.fixture
def base_url_for_rating(web_config):
    return f"http://{web_config['WEB_SERVER_ADDRESS']}/rate/{{token}}"


def first_mail():
    message = EmailMessage()
    message["From"] = f"王芳 <{CUSTOMER}>"
    message["To"] = f"商城客服 <{SUPPORT}>"
    message["Subject"] = "包裹破损，要求换货"
    message["Date"] = "Mon, 07 Dec 2026 09:58:00 +0800"
    message["Message-ID"] = "<CAF=first-e2e-001@mail.example.net>"
    message.set_content("你好，\n\n昨天收到的杯子碎了，外箱也压扁了。请尽快给我换一个新的。\n\n王芳\n")
    return message.as_bytes()


def outlook_reply(answer):
    """Outlook (English UI) answering our mail: to its signed Reply-To, the answer quoted under
    "-----Original Message-----", quoted-printable."""
    message = EmailMessage()
    message["From"] = f"Wang Fang <{CUSTOMER}>"
    message["To"] = f'"Shop Support" <{answer["Reply-To"]}>'
    message["Subject"] = f"RE: {answer['Subject']}"
    message["Date"] = "Mon, 07 Dec 2026 11:30:00 +0000"
    message["Message-ID"] = "<DM6PR01MB1234E2E.namprd01.prod.outlook.com>"
    message["In-Reply-To"] = answer["Message-ID"]
    message["References"] = f"{answer['References']} {answer['Message-ID']}"
    message["Thread-Topic"] = answer["Subject"]
    message["X-MS-Has-Attach"] = ""
    message.set_content(
        "Thanks, the photo helps. Please send the replacement to my office address this time.\n\n"
        "Best regards,\nWang Fang\n\n"
        "-----Original Message-----\n"
        f"From: Shop Support <{SUPPORT}>\nSent: Monday, December 7, 2026 10:02 AM\n"
        f"To: Wang Fang <{CUSTOMER}>\nSubject: {answer['Subject']}\n\n"
        "新的杯子今天寄出，附上打包照片。\n", charset="utf-8", cte="quoted-printable")
    return message.as_bytes()


def foxmail_reply(answer):
    """Foxmail / QQ Mail: GBK text and HTML, the answer quoted under "原始邮件", In-Reply-To only."""
    quoted = (f"------------------ 原始邮件 ------------------\n发件人: \"商城客服\"<{SUPPORT}>;\n"
              f"发送时间: 2026年12月7日(星期一) 上午10:02\n收件人: \"王芳\"<{CUSTOMER}>;\n"
              f"主题: {answer['Subject']}\n\n新的杯子今天寄出，附上打包照片。\n")
    message = EmailMessage()
    message["From"] = f"王芳 <{CUSTOMER}>"
    message["To"] = f"商城客服 <{SUPPORT}>"
    message["Subject"] = f"回复：{answer['Subject']}"
    message["Date"] = "Mon, 7 Dec 2026 12:20:05 +0800"
    message["Message-ID"] = "<tencent_3F2E1D0CE2E@qq.com>"
    message["X-Mailer"] = "Foxmail 7.2.25.228[cn]"
    message["In-Reply-To"] = answer["Message-ID"]
    message.set_content("收到，谢谢！另外发票也请一起寄来。\n\n" + quoted, charset="gb18030", cte="base64")
    html = ("<div>收到，谢谢！另外发票也请一起寄来。</div><div><br></div>"
            "<div style=\"font-size: 12px;font-family: Arial Narrow;padding:2px 0 2px 0;\">"
            "------------------&nbsp;原始邮件&nbsp;------------------</div>"
            f"<div style=\"font-size: 12px;background:#efefef;padding:8px;\"><div><b>发件人:</b>&nbsp;{SUPPORT}</div>"
            "</div><div><br></div>新的杯子今天寄出，附上打包照片。")
    message.add_alternative(html, subtype="html", charset="gb18030", cte="base64")
    return message.as_bytes()


def bounce(message_id, recipient):
    return (f"Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.shop.example.com (Mail Delivery System)\r\n"
            f"To: {SUPPORT}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            f"Message-Id: {make_msgid(domain='mx.shop.example.com')}\r\nAuto-Submitted: auto-replied\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
            "--B\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nyour message could not be delivered.\r\n\r\n"
            f"<{recipient}>: host mx.gone.example said: 550 5.1.1 User unknown\r\n\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.shop.example.com\r\n\r\n"
            f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
            f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: {SUPPORT}\r\nTo: {recipient}\r\n"
            f"Message-ID: {message_id}\r\n\r\n--B--\r\n").encode()


def auto_reply(answer):
    return (f"From: Wang Fang <{CUSTOMER}>\r\nTo: {SUPPORT}\r\nSubject: Automatic reply: {answer['Subject']}\r\n"
            "Message-ID: <ooo-e2e-0001@example.net>\r\nAuto-Submitted: auto-replied\r\n"
            f"In-Reply-To: {answer['Message-ID']}\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=UTF-8\r\n\r\n我正在休假，12月14日返回。\r\n").encode()


def test_a_customer_and_the_agent_talk_by_mail_from_first_mail_to_survey(
        dovecot_mailbox, smtp_server, start_platform, client):
    dovecot = dovecot_mailbox
    start_platform("ticketing", "channels")
    admin = client.login()

    def api(method, path, status=200, **kwargs):
        response = admin.request(method, client.url(path), **kwargs)
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def mails_to(address):
        return [mail for mail in smtp_server.mails() if mail["To"] == address]

    def inbound():
        return api("GET", "/api/v1/channels/inbound", params={"per_page": 100})["items"]

    def deliveries(ticket_id):
        return api("GET", f"/api/v1/tickets/{ticket_id}/deliveries")["items"]

    def messages(ticket_id):
        return api("GET", f"/api/v1/tickets/{ticket_id}/messages")["items"]

    api("POST", "/api/v1/channels/mailboxes", 201, json={
        "address": SUPPORT, "name": "商城客服", "team": "billing", "kind": "complaint", "imap_host": dovecot.host,
        "imap_port": dovecot.port, "imap_tls": False, "imap_user": "support",
        "imap_password_secret": "SUPPORT_IMAP_PASSWORD"})

    # 1. the customer's mail opens a ticket; the acknowledgement answers it, threaded
    dovecot.append("support", PASSWORD, first_mail())
    [opened] = wait_for(lambda: [m for m in inbound() if m["outcome"] == "opened"], message="the first mail polled")
    ticket_id = opened["ticket_id"]
    [acknowledgement] = wait_for(lambda: mails_to(CUSTOMER), message="the acknowledgement")
    assert acknowledgement["In-Reply-To"] == "<CAF=first-e2e-001@mail.example.net>"
    assert acknowledgement["Subject"] == f"[#{ticket_id}] 我们已收到您的来信：包裹破损，要求换货"
    assert acknowledgement["Auto-Submitted"] == "auto-replied"
    assert api("GET", f"/api/v1/tickets/{ticket_id}")["kind"] == "complaint"

    # 2. the agent answers with a photo (multipart); the customer's mail carries it
    posted = admin.post(client.url(f"/api/v1/tickets/{ticket_id}/messages"),
                        data={"kind": "reply", "body": "新的杯子今天寄出，附上打包照片。"},
                        files={"attachments": ("打包.jpg", PHOTO, "application/octet-stream")})
    assert posted.status_code == 201, posted.text
    answer = wait_for(lambda: mails_to(CUSTOMER)[1:], message="the agent's answer")[0]
    assert answer["In-Reply-To"] == acknowledgement["Message-ID"]
    assert answer["References"].split()[-1] == acknowledgement["Message-ID"]
    assert answer["Subject"] == f"Re: [#{ticket_id}] 包裹破损，要求换货"
    assert "新的杯子今天寄出" in answer.get_body(("plain",)).get_content()
    [photo] = list(answer.iter_attachments())
    assert (photo.get_content_type(), photo.get_filename(), photo.get_content()) == ("image/jpeg", "打包.jpg", PHOTO)

    # 3. the customer answers from Outlook and from Foxmail, quoting us: both join, the quote stripped
    dovecot.append("support", PASSWORD, outlook_reply(answer))
    dovecot.append("support", PASSWORD, foxmail_reply(answer))
    replies = wait_for(lambda: [m for m in inbound() if m["outcome"] == "replied"][1:] and
                       [m for m in inbound() if m["outcome"] == "replied"], message="both replies")
    assert {(m["ticket_id"], m["threaded_by"]) for m in replies} == {(ticket_id, "reply_address"),
                                                                     (ticket_id, "references")}
    customer_said = [m["body"] for m in messages(ticket_id) if m["kind"] == "customer"]
    assert customer_said == ["Thanks, the photo helps. Please send the replacement to my office address this time."
                             "\n\nBest regards,\nWang Fang", "收到，谢谢！另外发票也请一起寄来。"]
    assert len(mails_to(CUSTOMER)) == 2  # no acknowledgement of a reply

    # 4. the complaint's result (a public reply), the resolution's survey, the verdict's result
    api("POST", f"/api/v1/tickets/{ticket_id}/complaint", 201, json={
        "issue": "cup broken in transit", "demand": "a replacement", "occurred_at": "2026-12-06T10:00:00+08:00",
        "category": "delivery"})
    api("POST", f"/api/v1/tickets/{ticket_id}/complaint/result", 200, json={"result": "已补发新杯子并附发票。"})
    api("POST", f"/api/v1/tickets/{ticket_id}/state", 200, json={"state": "resolved"})
    survey = wait_for(lambda: [m for m in mails_to(CUSTOMER) if "rate/" in m.get_body(("plain",)).get_content()],
                      message="the survey")[0]
    wait_for(lambda: [m for m in mails_to(CUSTOMER) if "已补发新杯子并附发票。" in m.get_body(("plain",)).get_content()],
             message="the complaint's result, a public reply")
    link = re.search(r"http://\S+/rate/[\w-]+", survey.get_body(("plain",)).get_content())[0]
    customer = requests.Session()  # no account: the link is the key
    opened = customer.get(link, headers={"Accept-Language": "zh-CN"})
    assert opened.status_code == 200 and 'name="score"' in opened.text, opened.text
    rated = customer.post(link, data={"score": "5", "comment": "很快"}, headers={"Accept-Language": "zh-CN"})
    assert rated.status_code == 200 and "感谢" in rated.text, rated.text
    again = customer.post(link, data={"score": "1"})
    assert again.status_code == 409, again.text  # the link works once
    assert api("GET", f"/api/v1/tickets/{ticket_id}")["state"] == "resolved"
    api("POST", f"/api/v1/tickets/{ticket_id}/complaint/verdict", 200, json={"satisfied": True})
    wait_for(lambda: "complaint_result" in [d["kind"] for d in deliveries(ticket_id) if d["status"] == "sent"],
             message="the complaint's result mailed")
    result = mails_to(CUSTOMER)[-1]
    assert result["References"].startswith(f"<ticket-{ticket_id}@") and f"[#{ticket_id}]" in result["Subject"]

    # 5. a suggestion's decision reaches its customer
    suggestion = api("POST", "/api/v1/tickets", 201, json={
        "subject": "希望增加晚间配送", "channel": "email", "kind": "suggestion",
        "customer": {"name": "王芳", "contact": CUSTOMER}})
    api("POST", f"/api/v1/tickets/{suggestion['id']}/suggestion/forward", 200, json={"department": "logistics"})
    api("POST", f"/api/v1/tickets/{suggestion['id']}/suggestion/decision", 200,
        json={"adopted": True, "decision": "下月起提供晚间配送。"})
    decision = wait_for(lambda: [m for m in mails_to(CUSTOMER) if f"[#{suggestion['id']}]" in m["Subject"]],
                        timeout=15, message="the decision")[0]
    assert "下月起提供晚间配送。" in decision.get_body(("plain",)).get_content()

    # 6. a bounce of one of our mails and an auto-reply open nothing; the bounce fails its delivery
    gone = api("POST", "/api/v1/tickets", 201, json={
        "subject": "发票", "channel": "email", "kind": "inquiry", "customer": {"name": "李雷", "contact": "lilei@gone.example"}})
    api("POST", f"/api/v1/tickets/{gone['id']}/messages", 201, json={"kind": "reply", "body": "发票已开具。"})
    [sent] = wait_for(lambda: [d for d in deliveries(gone["id"]) if d["status"] == "sent"], message="the mail to bounce")
    tickets_before = api("GET", "/api/v1/tickets", params={"per_page": 100})["total"]
    dovecot.append("support", PASSWORD, bounce(sent["message_id"], "lilei@gone.example"))
    dovecot.append("support", PASSWORD, auto_reply(answer))
    wait_for(lambda: {"bounce", "auto_reply"} <= {m["outcome"] for m in inbound()}, message="bounce and auto-reply")
    # the bounce is logged against the ticket of the mail it returns, the auto-reply against none
    assert {m["outcome"]: m["ticket_id"] for m in inbound() if m["outcome"] in ("bounce", "auto_reply")} == \
        {"bounce": gone["id"], "auto_reply": None}
    [failed] = wait_for(lambda: [d for d in deliveries(gone["id"]) if d["status"] == "failed"],
                        message="the bounced delivery failed")
    assert failed["message_id"] == sent["message_id"] and "5.1.1" in failed["last_error"]
    wait_for(lambda: [m for m in messages(gone["id"]) if m["kind"] == "note" and "5.1.1" in m["body"]],
             message="the bounce noted on its ticket")
    assert api("GET", "/api/v1/tickets", params={"per_page": 100})["total"] == tickets_before
