"""Mail out, the pure part: templates, language, threading headers, retries, who hears of what."""
import smtplib
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy

import pytest

from channels.outbound import addresses
from channels.outbound import rules

AT = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("kind", rules.KINDS)
@pytest.mark.parametrize("language", rules.LANGUAGES)
def test_every_kind_renders_in_both_languages_with_its_sample(kind, language):
    rendered = rules.render(kind, language, rules.SAMPLES[kind])
    assert rendered.subject and "\n" not in rendered.subject
    assert rendered.text.strip() and "{{" not in rendered.text
    assert rendered.html.startswith("<!DOCTYPE html>") and f'lang="{language}"' in rendered.html


def test_languages_differ_and_text_is_not_escaped_while_html_is():
    context = dict(rules.SAMPLES[rules.REPLY], body="<b>Tom & Jerry</b>")
    zh, en = rules.render(rules.REPLY, rules.ZH_CN, context), rules.render(rules.REPLY, rules.EN, context)
    assert "客服中心" in zh.text and "Customer Service" in en.text
    assert "<b>Tom & Jerry</b>" in en.text
    assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in en.html and "<b>Tom" not in en.html


def test_a_missing_variable_is_an_error_not_an_empty_link():
    context = dict(rules.SAMPLES[rules.SURVEY])
    del context["rating_url"]
    with pytest.raises(Exception, match="rating_url"):
        rules.render(rules.SURVEY, rules.EN, context)


def test_unknown_kind_or_language_is_refused():
    with pytest.raises(rules.UnknownTemplate):
        rules.render("newsletter", rules.EN, {})
    with pytest.raises(rules.UnknownTemplate):
        rules.render(rules.REPLY, "fr", rules.SAMPLES[rules.REPLY])


def test_survey_carries_the_link_and_complaint_result_says_what_became_of_it():
    survey = rules.render(rules.SURVEY, rules.ZH_CN, rules.SAMPLES[rules.SURVEY])
    assert "https://support.example.com/rate/abc123" in survey.text
    assert 'href="https://support.example.com/rate/abc123"' in survey.html
    settled = rules.render(rules.COMPLAINT_RESULT, rules.EN, dict(rules.SAMPLES[rules.COMPLAINT_RESULT], satisfied=True))
    reopened = rules.render(rules.COMPLAINT_RESULT, rules.EN, rules.SAMPLES[rules.COMPLAINT_RESULT])
    assert "settled" in settled.subject and "reopened" in reopened.subject


@pytest.mark.parametrize("ticket, mailbox, expected", [
    ("en-GB", "zh-CN", "en"), ("zh-TW", "en", "zh-CN"), ("zh", None, "zh-CN"), (None, "en-US", "en"),
    ("fr", "en", "en"), (None, None, "zh-CN"), ("", "de", "zh-CN"),
])
def test_language_is_the_customers_then_the_mailboxs_then_chinese(ticket, mailbox, expected):
    assert rules.choose_language(ticket, mailbox) == expected


def test_threading_headers_start_at_the_ticket_root_and_answer_the_latest_mail():
    root = rules.thread_root(42, "example.com")
    own = rules.new_message_id(42, "example.com")
    in_reply_to, references = rules.threading_headers(root, ["<a@x>", "<b@y>", "<a@x>", own], own)
    assert root == "<ticket-42@example.com>"
    assert in_reply_to == "<b@y>"
    assert references == "<ticket-42@example.com> <a@x> <b@y>"
    assert rules.threading_headers(root, [], own) == (root, root)


def test_references_keep_the_root_and_the_latest_ones():
    root = rules.thread_root(1, "example.com")
    earlier = [f"<m{n}@x>" for n in range(50)]
    _, references = rules.threading_headers(root, earlier, "<own@x>")
    ids = references.split()
    assert len(ids) == rules.MAX_REFERENCES and ids[0] == root and ids[-1] == "<m49@x>"


def test_message_ids_are_new_each_time_and_name_the_ticket():
    first, second = rules.new_message_id(42, "example.com"), rules.new_message_id(42, "example.com")
    assert first != second and first.startswith("<t42.") and first.endswith("@example.com>")


@pytest.mark.parametrize("subject, bare", [
    ("Re: [#42] Parcel", "Parcel"), ("回复：RE: Fwd: 包裹破损", "包裹破损"), ("Parcel re: refund", "Parcel re: refund"),
    ("  AW:  WG: x ", "x"),
])
def test_bare_subject_drops_reply_prefixes_and_our_token(subject, bare):
    assert rules.bare_subject(subject) == bare


def test_subject_token_is_added_once():
    assert rules.subject_with_token("Parcel", 42) == "[#42] Parcel"
    assert rules.subject_with_token("Re: [#42] Parcel", 42) == "Re: [#42] Parcel"


def test_the_built_message_carries_threading_headers_and_both_parts():
    rendered = rules.render(rules.REPLY, rules.ZH_CN, dict(rules.SAMPLES[rules.REPLY], subject="包裹破损"))
    envelope = rules.Envelope(
        sender="support@example.com", sender_name="客服中心", recipient="kehu@example.net",
        message_id="<t42.abc@example.com>", reply_to=addresses.reply_address(42, "s3cret", "support@example.com"),
        in_reply_to="<c1@example.net>", references="<ticket-42@example.com> <c1@example.net>",
        language=rules.ZH_CN, auto_submitted=rules.auto_submitted(rules.REPLY))
    raw = rules.build_message(envelope, rendered, AT).as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Message-ID"] == "<t42.abc@example.com>"
    assert parsed["In-Reply-To"] == "<c1@example.net>"
    assert parsed["References"] == "<ticket-42@example.com> <c1@example.net>"
    assert parsed["Subject"] == "Re: [#42] 包裹破损"
    assert addresses.ticket_of(str(parsed["Reply-To"]), "s3cret") == 42
    assert parsed["Auto-Submitted"] == "no" and parsed["Content-Language"] == "zh-CN"
    assert parsed.get_content_type() == "multipart/alternative"
    assert "A replacement is on its way" in parsed.get_body(("plain",)).get_content()
    assert "<div" in parsed.get_body(("html",)).get_content()


def test_notices_are_marked_automatic_so_nobody_auto_replies_to_them():
    assert rules.auto_submitted(rules.ACKNOWLEDGEMENT) == "auto-replied"
    assert rules.auto_submitted(rules.SLA_BREACH) == "auto-generated"
    assert rules.auto_submitted(rules.SUGGESTION_DECISION) == "no"


@pytest.mark.parametrize("level, change, due", [
    ("II", None, True), ("I", "raised", True), ("I", "escalated", True), ("III", None, False),
    ("IV", "escalated", False), ("II", "state", False), ("I", "note", False),
])
def test_opinion_alerts_of_level_two_and_one_are_mailed_when_raised_or_escalated(level, change, due):
    assert rules.alert_notice_due(level, change) is due


def test_sla_notices_go_to_the_owner_and_the_supervisors_once_each():
    assert rules.sla_recipients("li.na", {"wang", "li.na", "zhao"}) == ["li.na", "wang", "zhao"]
    assert rules.sla_recipients(None, ["wang"]) == ["wang"]


def test_a_person_gets_notices_unless_switched_off_and_never_without_an_address():
    assert rules.wants({"email": "a@x", "kinds": {}}, rules.ASSIGNMENT)
    assert not rules.wants({"email": "a@x", "kinds": {rules.ASSIGNMENT: False}}, rules.ASSIGNMENT)
    assert not rules.wants({"email": None, "kinds": {}}, rules.ASSIGNMENT)
    assert not rules.wants(None, rules.ASSIGNMENT)


def test_retries_back_off_then_fail():
    assert [rules.retry_delay(n, 10) for n in (1, 2, 3, 9)] == [
        timedelta(seconds=10), timedelta(seconds=30), timedelta(seconds=120), timedelta(seconds=1800)]
    assert rules.after_failure(1, False, AT, 10) == (rules.QUEUED, AT + timedelta(seconds=10))
    assert rules.after_failure(rules.MAX_ATTEMPTS, False, AT) == (rules.FAILED, None)
    assert rules.after_failure(1, True, AT) == (rules.FAILED, None)


def test_smtp_failures_are_permanent_on_5xx_only():
    assert rules.smtp_failure(smtplib.SMTPRecipientsRefused({"a@x": (550, b"no such user")})) == (
        True, "550 no such user")
    assert rules.smtp_failure(smtplib.SMTPDataError(451, b"try later")) == (False, "451 try later")
    permanent, reason = rules.smtp_failure(ConnectionRefusedError(111, "Connection refused"))
    assert not permanent and "ConnectionRefusedError" in reason


def test_reply_addresses_verify_only_with_their_own_mac():
    address = addresses.reply_address(42, "s3cret", "support+old@example.com")
    assert address.startswith("support+t42.") and address.endswith("@example.com")
    assert addresses.ticket_of(address, "s3cret") == 42
    assert addresses.ticket_of(address.upper(), "s3cret") == 42  # clients change case
    assert addresses.ticket_of(address, "other") is None
    forged = address.replace("+t42.", "+t43.")
    assert addresses.ticket_of(forged, "s3cret") is None
    assert addresses.ticket_of("support@example.com", "s3cret") is None
    assert addresses.ticket_of("<" + address + ">", "s3cret") == 42
