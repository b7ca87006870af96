"""Mail out: which mail, in which language, to whom, with which headers, and when to try again.

Plain Python (Jinja2 and the standard library's ``email``), no nameko and no
database: ``outbound/handlers.py`` does the I/O.

Kinds
    To the customer: ``acknowledgement`` (a new ticket, when its mailbox has it
    on), ``reply`` (an agent's public reply), ``complaint_result`` (T5: the
    complaint settled, or reopened on an unsatisfied verdict),
    ``suggestion_decision`` (T7), ``survey`` (T6: the CSAT survey with the
    one-time rating link). To staff: ``assignment``, ``sla_warning``,
    ``sla_breach``, ``opinion_alert`` (levels II and I, M6), ``mention`` (an
    internal note mentioned them) and ``following`` (news of a ticket they
    follow: a public reply, a state milestone, a new owner; docs/workspace.md).

Language
    The customer's language as the inbound mail showed it (stored per ticket),
    else the mailbox's default, else zh-CN (:func:`choose_language`). Staff
    notifications use the person's own setting.

Threading
    Every mail about a ticket belongs to one thread: its ``References`` start
    with the ticket's root id ``<ticket-<id>@<domain>>`` (never sent as a
    Message-ID itself, so no client mistakes another mail for it) followed by
    the Message-IDs of the ticket's mails so far, inbound and outbound, the
    latest ``MAX_REFERENCES``; ``In-Reply-To`` is the latest of them (the
    customer's last mail when there is one). The subject carries the ticket
    token ``[#<id>]`` and ``Reply-To`` the signed per-ticket address
    (``outbound.addresses``), so a reply finds its ticket whichever of the
    three its client keeps. A delivery's Message-ID is made once, when the
    delivery is, so every attempt, a resend after a crash included, carries
    the same one and the customer's client shows it once.

Retries
    A delivery is attempted up to ``MAX_ATTEMPTS`` (6) times; after failed
    attempt *n* the next waits ``retry_delay(n)``: base x 1, 3, 12, 60, 180
    (30 s, 90 s, 6 min, 30 min, 1 h 30 min with the default base of 30 s).
    A permanent refusal (an SMTP 5xx for the recipient) fails it at once;
    either way a failed delivery keeps the reason.
"""
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

ACKNOWLEDGEMENT, REPLY, COMPLAINT_RESULT, SUGGESTION_DECISION, SURVEY = (
    "acknowledgement", "reply", "complaint_result", "suggestion_decision", "survey")
ASSIGNMENT, SLA_WARNING, SLA_BREACH, OPINION_ALERT = "assignment", "sla_warning", "sla_breach", "opinion_alert"
MENTION, FOLLOWING = "mention", "following"
CUSTOMER_KINDS = (ACKNOWLEDGEMENT, REPLY, COMPLAINT_RESULT, SUGGESTION_DECISION, SURVEY)
STAFF_KINDS = (ASSIGNMENT, SLA_WARNING, SLA_BREACH, OPINION_ALERT, MENTION, FOLLOWING)
KINDS = CUSTOMER_KINDS + STAFF_KINDS

QUEUED, SENT, FAILED = "queued", "sent", "failed"
STATUSES = (QUEUED, SENT, FAILED)

ZH_CN, EN = "zh-CN", "en"
LANGUAGES = (ZH_CN, EN)
DEFAULT_LANGUAGE = ZH_CN

ALERT_LEVELS_NOTIFIED = ("II", "I")  # monitoring's levels are IV (least grave) .. I
MAX_REFERENCES = 20
MAX_ATTEMPTS = 6
DEFAULT_RETRY_BASE_SECONDS = 30
RETRY_SCHEDULE = (1, 3, 12, 60, 180)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_LANGUAGE_TAG = re.compile(r"^\s*([a-zA-Z]{2,3})(?:[-_]([a-zA-Z0-9]{2,8}))?")
_SUBJECT_TOKEN = "[#{ticket_id}]"
# what clients put before a subject they answer or forward (English, Chinese, German), and our token
_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|wg|回复|答复|转发)\s*[:：]\s*|\[#\d+\]\s*)", re.IGNORECASE)


class UnknownTemplate(ValueError):
    """No template of that kind, or a language we do not write."""


# -- language -----------------------------------------------------------------------
def language_of(tag) -> str | None:
    """One of ``LANGUAGES`` for a language tag (``Content-Language``, a mail client's
    locale, a charset's hint): any Chinese is zh-CN, any English en, else None."""
    found = _LANGUAGE_TAG.match(tag or "")
    if found is None:
        return None
    primary = found.group(1).lower()
    return {"zh": ZH_CN, "en": EN}.get(primary)


def choose_language(ticket_language=None, mailbox_language=None) -> str:
    """The customer's language if known, else the mailbox's default, else zh-CN."""
    return language_of(ticket_language) or language_of(mailbox_language) or DEFAULT_LANGUAGE


# -- threading ------------------------------------------------------------------------
def domain_of(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


def new_message_id(ticket_id, domain: str) -> str:
    """A Message-ID of ours, made once per delivery (RFC 5322 msg-id)."""
    subject = f"t{int(ticket_id)}" if ticket_id is not None else "n"
    return f"<{subject}.{uuid.uuid4().hex}@{domain}>"


def thread_root(ticket_id, domain: str) -> str:
    return f"<ticket-{int(ticket_id)}@{domain}>"


def threading_headers(root: str, earlier: list[str], own: str) -> tuple[str, str]:
    """(In-Reply-To, References) of a mail about a ticket whose mails so far, oldest
    first, had the Message-IDs ``earlier``; ``own`` is this mail's, never referenced."""
    seen, chain = {root, own}, []
    for message_id in earlier:
        if message_id and message_id not in seen:
            seen.add(message_id)
            chain.append(message_id)
    chain = chain[-(MAX_REFERENCES - 1):]
    references = [root, *chain]
    return references[-1], " ".join(references)


def bare_subject(subject: str) -> str:
    """The subject without reply prefixes and ticket tokens, for a template to put its own around:
    ``Re: 回复: [#42] Parcel`` -> ``Parcel``."""
    subject = " ".join((subject or "").split())
    while True:
        stripped = _PREFIX.sub("", subject, count=1)
        if stripped == subject:
            return subject
        subject = stripped


def subject_with_token(subject: str, ticket_id) -> str:
    """The subject with the ticket token, once: ``[#42] Parcel damaged``."""
    token = _SUBJECT_TOKEN.format(ticket_id=int(ticket_id))
    subject = " ".join((subject or "").split())
    return subject if token in subject else f"{token} {subject}".strip()


# -- templates ------------------------------------------------------------------------
@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def environment(directory=TEMPLATES) -> Environment:
    """Templates ``<kind>.<language>.txt`` and ``.html``; each text template sets ``mail_subject``. HTML is autoescaped
    and text is not; an unknown variable is an error, not an empty string."""
    return Environment(loader=FileSystemLoader(str(directory)), undefined=StrictUndefined,
                       autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
                       keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


_ENVIRONMENT = None


def render(kind: str, language: str, context: dict, env=None) -> Rendered:
    """The mail of ``kind`` in ``language`` with ``context`` (see ``SAMPLES`` for what each needs)."""
    global _ENVIRONMENT
    if kind not in KINDS or language not in LANGUAGES:
        raise UnknownTemplate(f"no template {kind!r} in {language!r}")
    if env is None:
        _ENVIRONMENT = _ENVIRONMENT or environment()
        env = _ENVIRONMENT
    text = env.get_template(f"{kind}.{language}.txt").make_module(context)
    html = env.get_template(f"{kind}.{language}.html").render(context)
    subject = " ".join(str(getattr(text, "mail_subject", "")).split())
    return Rendered(subject=subject, text=str(text).strip() + "\n", html=html)


SAMPLES = {
    ACKNOWLEDGEMENT: {"ticket_id": 42, "subject": "Parcel arrived damaged"},
    REPLY: {"ticket_id": 42, "subject": "Parcel arrived damaged", "author": "li.na",
            "body": "We are sorry. A replacement is on its way.\nTracking: SF1234567890"},
    COMPLAINT_RESULT: {"ticket_id": 42, "subject": "Parcel arrived damaged", "satisfied": False,
                       "unsatisfied_verdicts": 1},
    SUGGESTION_DECISION: {"ticket_id": 42, "subject": "Evening delivery slots", "adopted": True,
                          "department": "logistics", "body": "Adopted: evening slots start next month."},
    SURVEY: {"ticket_id": 42, "subject": "Parcel arrived damaged",
             "rating_url": "https://support.example.com/rate/abc123", "expires_at": "2026-12-14 10:00 UTC"},
    ASSIGNMENT: {"ticket_id": 42, "subject": "Parcel arrived damaged", "priority": "high", "kind": "complaint",
                 "team": "returns", "actor": "wang.wei", "ticket_url": "https://support.example.com/tickets/42"},
    SLA_WARNING: {"ticket_id": 42, "subject": "Parcel arrived damaged", "clock": "first_response",
                  "due_at": "2026-12-07 18:00 UTC", "owner": "li.na", "priority": "high",
                  "ticket_url": "https://support.example.com/tickets/42"},
    SLA_BREACH: {"ticket_id": 42, "subject": "Parcel arrived damaged", "clock": "resolution",
                 "due_at": "2026-12-07 18:00 UTC", "owner": "li.na", "priority": "high",
                 "ticket_url": "https://support.example.com/tickets/42"},
    OPINION_ALERT: {"alert_id": 7, "level": "II", "summary": "Many posts about crushed parcels in Shanghai",
                    "topics": ["delivery", "damage"], "change": "raised", "cluster_size": 35,
                    "alert_url": "https://support.example.com/opinion/alerts/7"},
    MENTION: {"ticket_id": 42, "subject": "Parcel arrived damaged", "priority": "high", "kind": "complaint",
              "team": "returns", "actor": "wang.wei", "ticket_url": "https://support.example.com/tickets/42"},
    FOLLOWING: {"ticket_id": 42, "subject": "Parcel arrived damaged", "priority": "high", "kind": "complaint",
                "team": "returns", "actor": "wang.wei", "change": "state", "state": "resolved", "assignee": "li.na",
                "ticket_url": "https://support.example.com/tickets/42"},
}


# -- the message ----------------------------------------------------------------------
@dataclass(frozen=True)
class Envelope:
    """Who from and to, and the headers fixed when the delivery was made."""
    sender: str            # the mailbox's address (From)
    sender_name: str
    recipient: str
    message_id: str
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: str | None = None
    language: str = DEFAULT_LANGUAGE
    auto_submitted: str = "auto-generated"  # RFC 3834; an agent's reply is "no"


def build_message(envelope: Envelope, rendered: Rendered, at: datetime, files=()) -> EmailMessage:
    """multipart/alternative (text, then HTML) with the threading headers; with ``files``
    ((filename, content type, bytes): an agent's attachments) multipart/mixed, the text first."""
    message = EmailMessage()
    message["From"] = formataddr((envelope.sender_name, envelope.sender)) if envelope.sender_name else envelope.sender
    message["To"] = envelope.recipient
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(at)
    message["Message-ID"] = envelope.message_id
    if envelope.reply_to:
        message["Reply-To"] = envelope.reply_to
    if envelope.in_reply_to:
        message["In-Reply-To"] = envelope.in_reply_to
    if envelope.references:
        message["References"] = envelope.references
    message["Auto-Submitted"] = envelope.auto_submitted
    if envelope.auto_submitted != "no":
        message["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office answers to notices
    message.set_content(rendered.text, subtype="plain", charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    for filename, content_type, data in files:
        maintype, _, subtype = (content_type or "application/octet-stream").partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
    message["Content-Language"] = envelope.language  # after the content: set_content drops Content-* headers
    return message


def auto_submitted(kind: str) -> str:
    """RFC 3834: an agent's words are not automatic; the acknowledgement answers the customer's mail."""
    if kind in (REPLY, COMPLAINT_RESULT, SUGGESTION_DECISION):
        return "no"
    return "auto-replied" if kind == ACKNOWLEDGEMENT else "auto-generated"


# -- who hears of what ----------------------------------------------------------------
_EMAIL = re.compile(r"^[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+\.[^@\s<>(),;:\"]+$")


def email_address(contact) -> str | None:
    """The customer's contact if it is a mail address (a phone number is not: nothing to send)."""
    contact = (contact or "").strip()
    return contact if _EMAIL.match(contact) else None


def bounce_note(kind: str, reason: str | None) -> str:
    """The note a bounce leaves on the ticket: what did not arrive and why, not the address."""
    return (f"The {kind.replace('_', ' ')} mail to the customer bounced ({reason or 'no reason given'}). "
            "Reach them another way, or correct their address.")



def alert_notice_due(level, change=None) -> bool:
    """An opinion alert is mailed to the on-call list when raised at level II or I, or
    escalated into one of them (``change`` of opinion.alert_updated is ``escalated``)."""
    if level not in ALERT_LEVELS_NOTIFIED:
        return False
    return change in (None, "raised", "escalated")


def sla_recipients(owner, supervisors) -> list[str]:
    """An SLA warning or breach goes to the ticket's owner and its team's supervisors, once each."""
    names = [owner, *sorted(supervisors or ())]
    return list(dict.fromkeys(name for name in names if name))


FOLLOWED_STATES = ("waiting_customer", "resolved", "closed")


def followed_state_change(before, after) -> bool:
    """A state change a ticket's followers hear of: waiting on the customer, resolved, closed, or reopened
    (the moves to assigned and in_progress come with an assignment or a reply, whose mail tells them)."""
    return after in FOLLOWED_STATES or before in ("resolved", "closed")


def wants(preference, kind: str) -> bool:
    """Whether a person gets a notification of ``kind``: on unless they switched it off
    (``preference`` maps kinds to booleans), and never without an address."""
    if preference is None or not preference.get("email"):
        return False
    return bool(preference.get("kinds", {}).get(kind, True))


# -- retries --------------------------------------------------------------------------
def retry_delay(attempt: int, base_seconds: float = DEFAULT_RETRY_BASE_SECONDS) -> timedelta:
    """The wait after failed attempt ``attempt`` (1-based)."""
    step = RETRY_SCHEDULE[min(max(attempt, 1), len(RETRY_SCHEDULE)) - 1]
    return timedelta(seconds=base_seconds * step)


def after_failure(attempts: int, permanent: bool, at: datetime, base_seconds=DEFAULT_RETRY_BASE_SECONDS):
    """(status, next attempt time or None) after a failed attempt, ``attempts`` counting it."""
    if permanent or attempts >= MAX_ATTEMPTS:
        return FAILED, None
    return QUEUED, at + retry_delay(attempts, base_seconds)


def smtp_failure(exc) -> tuple[bool, str]:
    """(permanent, reason) of what an SMTP attempt raised: a 5xx answer is permanent,
    a 4xx, a dropped connection or a refused one is worth another try."""
    code, error = getattr(exc, "smtp_code", None), getattr(exc, "smtp_error", None)
    refused = getattr(exc, "recipients", None)  # SMTPRecipientsRefused: {address: (code, text)}
    if code is None and isinstance(refused, dict) and refused:
        code, error = next(iter(refused.values()))
    if isinstance(error, bytes):
        error = error.decode("utf-8", "replace")
    if code is not None:
        return 500 <= int(code) < 600, f"{code} {error or ''}".strip()[:500]
    if type(exc).__name__ == "ServerDown":  # the reason of the connection that failed before, as it was
        return False, str(exc)[:500]
    return False, (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)[:500]
