"""Mail in's pure rules on the corpus under tests/mail: charsets, headers, HTML, quoted
history and signatures, attachments, bounces, loops, threading."""
from pathlib import Path

import pytest

from channels.inbound import mime, quotes, rules

MAIL = Path(__file__).parent.parent / "mail"
SECRET = "test-reply-secret-of-at-least-32-bytes!"
MAILBOX = "support@shop.example.com"


def parsed(name):
    return mime.parse((MAIL / name).read_bytes())


@pytest.mark.parametrize("name, sender, name_shown, subject, stored", [
    ("multipart_alternative.eml", "wang.fang@example.net", "王芳", "包裹破损，要求退款",
     "您好：\n\n我昨天收到的包裹外箱破损，里面的杯子碎了。订单号 20261206-8842。\n请尽快退款。\n\n王芳"),
    ("outlook_reply.eml", "john.smith@contoso.example", "John Smith", "RE: [#42] Parcel damaged",
     "Thanks, the photos are attached to my first mail. Please send a replacement rather than a refund.\n\n"
     "Best regards,\nJohn"),
    ("outlook_zh_reply.eml", "wangzhe@corp.example.cn", "王喆", "回复: [#57] 退货申请",
     "好的，我下午在家，可以安排上门取件。\n\n王喆"),
    ("foxmail_reply.eml", "lilei@foxmail.example", "李雷", "回复：[#61] 发票已开具", "收到，谢谢！"),
    ("netease_reply.eml", "hanmeimei@163.example", "hanmeimei", "Re:[#73] 退款进度", "已经收到退款，谢谢。"),
    ("gmail_reply.eml", "maria.garcia@gmail.example", "Maria Garcia", "Re: [#88] Where is my order?",
     "Yes, the tracking number is SF1234567890."),
    ("big5.eml", "chan.taiman@hinet.example", "陳大文", "查詢訂單",
     "你好，我在台北訂購的商品一直沒有收到，請幫忙查詢。\n\n陳大文"),
    ("html_only.eml", "reader@example.org", "Newsletter Reader", "Question about my invoice",
     "Hello,\n\nmy invoice INV-2026-117 shows the wrong address.\nPlease fix it.\nclick\nThanks\nAlex"),
])
def test_each_client_s_mail_reads_as_its_sender_wrote_it_without_the_quoted_history(
        name, sender, name_shown, subject, stored):
    mail = parsed(name)
    assert (mail.sender, mail.sender_name, mail.subject) == (sender, name_shown, subject)
    assert quotes.reply_text(mail.text) == stored
    assert "\ufffd" not in mail.text  # every charset decoded, none replaced


def test_the_whole_text_keeps_what_the_stored_text_strips():
    mail = parsed("outlook_zh_reply.eml")
    assert "王先生您好，请问您方便什么时间上门取件？" in mail.text  # GBK labelled gb2312, read as GB18030
    assert "王先生您好" not in quotes.reply_text(mail.text)


def test_html_is_sanitised_and_an_html_only_mail_is_stored_as_text():
    mail = parsed("html_only.eml")
    for unsafe in ("<script", "onclick", "onerror", "javascript:", "<style"):
        assert unsafe not in mail.html
    assert "<b>INV-2026-117</b>" in mail.html
    assert "alert" not in mail.text and "color:red" not in mail.text


def test_a_forward_keeps_what_it_forwards_and_attaches_the_original():
    mail = parsed("forwarded.eml")
    assert quotes.reply_text(mail.text).endswith("Your order 20261201-1234 has been delivered.")
    [original] = mail.attachments
    assert (original.filename, original.content_type) == ("shipped.eml", "message/rfc822")
    assert b"Message-ID: <shipped-1@shop.example.com>" in original.data


def test_attachments_keep_their_decoded_names_and_a_mail_without_message_id_gets_one_from_its_bytes():
    raw = (MAIL / "with_attachment.eml").read_bytes()
    mail = mime.parse(raw)
    [photo] = mail.attachments
    assert (photo.filename, photo.content_type, photo.data[:4]) == ("破损照片.png", "image/png", b"\x89PNG")
    assert mail.message_id == mime.synthetic_message_id(raw) == mime.parse(raw).message_id
    assert mail.message_id != mime.synthetic_message_id(raw + b"\r\n")


def test_a_dsn_names_the_mail_of_ours_that_bounced():
    mail = parsed("dsn_bounce.eml")
    assert mail.report == mime.DeliveryReport(
        original_message_id="t99.deadbeef@shop.example.com", recipient="nobody@gone.example", action="failed",
        status="5.1.1", diagnostic="smtp; 550 5.1.1 <nobody@gone.example>: Recipient address rejected: User unknown")
    assert rules.automated(mail.headers, mail.sender, MAILBOX, True)[0] == "bounce"


@pytest.mark.parametrize("name, outcome", [
    ("auto_reply.eml", "auto_reply"), ("bulk.eml", "bulk"), ("dsn_bounce.eml", "bounce"),
    ("multipart_alternative.eml", None), ("outlook_reply.eml", None), ("foxmail_reply.eml", None),
])
def test_auto_replies_bulk_mail_and_bounces_open_nothing(name, outcome):
    mail = parsed(name)
    found = rules.automated(mail.headers, mail.sender, MAILBOX, mail.report is not None)
    assert (found[0] if found else None) == outcome


@pytest.mark.parametrize("headers, outcome", [
    ({"auto-submitted": "no"}, None),
    ({"auto-submitted": "auto-generated"}, "auto_reply"),
    ({"x-autoreply": "yes"}, "auto_reply"),
    ({"x-auto-response-suppress": "DR, OOF"}, "auto_reply"),
    ({"return-path": "<>"}, "auto_reply"),
    ({"precedence": "junk"}, "bulk"),
    ({"precedence": "list"}, "bulk"),
    ({"list-id": "<deals.marketing.example>"}, "bulk"),
])
def test_each_loop_header(headers, outcome):
    found = rules.automated(headers, "someone@example.com", MAILBOX, False)
    assert (found[0] if found else None) == outcome
    assert rules.automated({}, MAILBOX, MAILBOX, False)[0] == "auto_reply"  # from ourselves


@pytest.mark.parametrize("text, stored", [
    ("Fine.\n\nOn Mon, Dec 7, 2026 at 10:02 AM Support <support@shop.example.com> wrote:\n> old", "Fine."),
    ("好的\n\n在 2026-12-07 10:02:11，\"客服\" <support@shop.example.com> 写道：\n>旧的", "好的"),
    ("好的\n\n客服 <support@shop.example.com> 于2026年12月7日周一 10:02写道：\n> 旧的", "好的"),
    ("可以\n\n------------------ Original ------------------\nFrom: x", "可以"),
    ("可以\n\n--- 原始邮件 ---\n发件人：客服", "可以"),
    ("OK\n\nFrom: Support <support@shop.example.com>\nDate: Mon\nTo: me\nSubject: x\n\nold", "OK"),
    ("OK\n\n发件人: 客服\n日期: 2026年12月7日\n收件人: 我\n主题: x\n\nold", "OK"),
    ("Thanks\n-- \nJohn Smith\nACME Corp", "Thanks"),
    ("谢谢\n\n发自我的iPhone", "谢谢"),
    ("Thanks\n\nSent from my iPhone", "Thanks"),
    ("> only a quote\n> nothing else", "> only a quote\n> nothing else"),  # nothing left: kept whole
    ("From: the start of a sentence, not a header block", "From: the start of a sentence, not a header block"),
])
def test_quote_and_signature_rules(text, stored):
    assert quotes.reply_text(text) == stored


def test_a_signed_reply_address_names_its_ticket_only_with_the_right_mac():
    mac = rules.reply_mac(42, SECRET)
    assert rules.ticket_of_reply_address(f"support+t42.{mac}@shop.example.com", SECRET) == 42
    assert rules.ticket_of_reply_address(f"<Support+T42.{mac.upper()}@shop.example.com>", SECRET) == 42
    assert rules.ticket_of_reply_address(f"support+t43.{mac}@shop.example.com", SECRET) is None
    assert rules.ticket_of_reply_address(f"support+t42.{mac}@shop.example.com", "another secret") is None
    assert rules.ticket_of_reply_address(f"support+t42.{mac}@shop.example.com", None) is None
    assert rules.ticket_of_reply_address("support@shop.example.com", SECRET) is None


def test_threading_order_reply_address_then_references_then_subject_token_never_subject_text():
    mac = rules.reply_mac(5, SECRET)
    place = rules.place
    known = {"t7.abc@shop.example.com": 7}
    assert place([f"support+t5.{mac}@shop.example.com"], ["t7.abc@shop.example.com"], known, "shop.example.com",
                 "Re: [#9] x", SECRET) == rules.Placement(5, "reply_address")
    assert place(["support@shop.example.com"], ["unknown@elsewhere", "t7.abc@shop.example.com"], known,
                 "shop.example.com", "Re: [#9] x", SECRET) == rules.Placement(7, "references")
    assert place([], ["ticket-11@shop.example.com"], {}, "shop.example.com", "", SECRET) == \
        rules.Placement(11, "references")
    assert place([], ["ticket-11@evil.example"], {}, "shop.example.com", "", SECRET) is None
    assert place([], [], {}, "shop.example.com", "Re: [#9] x", SECRET) == rules.Placement(9, "subject_token")
    assert place([], [], {}, "shop.example.com", "Re: Parcel damaged", SECRET) is None


def test_the_corpus_replies_thread_by_what_they_carry():
    gmail = parsed("gmail_reply.eml")
    referenced = rules.referenced_ids(gmail.in_reply_to, gmail.references)
    assert referenced == ["t88.aaaa1111@shop.example.com", "ticket-88@shop.example.com"]
    assert rules.place(gmail.recipients, referenced, {"t88.aaaa1111@shop.example.com": 88}, "shop.example.com",
                       gmail.subject, SECRET) == rules.Placement(88, "references")
    netease = parsed("netease_reply.eml")  # no threading headers: its subject token
    assert rules.place(netease.recipients, [], {}, "shop.example.com", netease.subject, SECRET) == \
        rules.Placement(73, "subject_token")


def test_the_sender_limit_and_what_a_ticket_says():
    assert not rules.over_limit(19, 20) and rules.over_limit(20, 20) and not rules.over_limit(500, 0)
    assert rules.ticket_subject("") == rules.NO_SUBJECT and len(rules.ticket_subject("x" * 500)) == 200
    assert rules.message_body("  ") == rules.NO_TEXT and len(rules.message_body("y" * 30000)) == 20000
    assert rules.customer_name("", "wang@example.net") == "wang"
    assert rules.customer_language(None, "您好") == "zh-CN" and rules.customer_language("en-US", "您好") == "en"
    assert rules.idempotency_key("a@b") == rules.idempotency_key("a@b") != rules.idempotency_key("a@c")


def test_raw_8bit_gbk_headers_and_broken_charsets_still_read():
    raw = ("From: 张三 <zhangsan@example.cn>\r\nTo: support@shop.example.com\r\nSubject: 发票\r\n"
           "Message-ID: <raw8bit@example.cn>\r\nContent-Type: text/plain; charset=x-unknown-charset\r\n\r\n"
           "你好").encode("gbk")
    mail = mime.parse(raw)
    assert (mail.sender_name, mail.subject, mail.text) == ("张三", "发票", "你好")
