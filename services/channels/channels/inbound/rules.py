"""Mail in's rules in plain Python: which ticket a mail belongs to, which mail opens nothing
(loops), the per-sender limit, and what a new ticket or message says.

Threading, in this order, never by subject text alone:
1. ``reply_address``: a recipient is a signed per-ticket reply address
   ``local+t<ticket>.<mac>@domain`` (mac: the first 16 hex digits of HMAC-SHA256 of
   ``t<ticket>`` keyed with CHANNELS_REPLY_SECRET; mail out makes them, ``outbound``);
   without a secret this step is skipped;
2. ``references``: a Message-ID of In-Reply-To or References (latest first) is one we sent
   or received for a ticket (``thread_messages``), or the ticket's thread root
   ``<ticket-<id>@<the mailbox's domain>>`` mail out puts first in every References;
3. ``subject_token``: ``[#<ticket>]`` in the subject, from the ticket's own customer (anyone
   can write a token: from another sender it opens a new ticket; ``inbound.handlers``).
A mail none of them places, or placed on a ticket that takes no message (gone, merged away),
opens a new ticket.

Loops: a mail whose ``Auto-Submitted`` is anything but ``no``, which carries an
``X-Autoreply``/``X-Autorespond`` header or Exchange's ``X-Auto-Response-Suppress`` of
``All``/``OOF``, or comes from the null sender (``Return-Path: <>``) is an ``auto_reply``;
``Precedence: bulk|junk|list``, ``List-Id``, ``List-Unsubscribe`` or a ``Feedback-ID`` make
it ``bulk``; a delivery status notification is a ``bounce``. Mail from the mailbox's own
address is an ``auto_reply`` too (a loop through ourselves). None of them opens or joins a ticket.
"""
import hashlib
import re
from dataclasses import dataclass

from channels.outbound import addresses

_TOKEN = re.compile(r"\[#([1-9][0-9]{0,17})\]")
_ROOT = re.compile(r"^ticket-([1-9][0-9]{0,17})@(.+)$")
DEFAULT_SENDER_LIMIT_PER_HOUR = 20
MAX_SUBJECT = 200
MAX_BODY = 20000
MAX_HTML = 500_000  # ticketing's MAX_HTML_CHARS
NO_SUBJECT = "(no subject)"
NO_TEXT = "(no text)"
CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Placement:
    ticket_id: int
    threaded_by: str  # reply_address, references, subject_token


# -- threading ----------------------------------------------------------------------------
# the signed reply address is mail out's to make and verify (``outbound.addresses``): one implementation
reply_mac = addresses.mac
ticket_of_reply_address = addresses.ticket_of


def ticket_of_root(message_id: str, domain: str) -> int | None:
    """The ticket of a thread root ``ticket-<id>@<domain>`` of the mailbox's own domain."""
    found = _ROOT.match(message_id or "")
    return int(found.group(1)) if found and found.group(2).lower() == domain.lower() else None


def subject_token(subject: str) -> int | None:
    found = _TOKEN.search(subject or "")
    return int(found.group(1)) if found else None


def referenced_ids(in_reply_to, references) -> list[str]:
    """The Message-IDs a mail answers, the most recent first, each once."""
    seen, ordered = set(), []
    for message_id in [*in_reply_to, *reversed(references)]:
        if message_id and message_id not in seen:
            seen.add(message_id)
            ordered.append(message_id)
    return ordered


def place(recipients, referenced, known, domain, subject, secret) -> Placement | None:
    """The ticket a mail joins, by the first rule that places it (module notes); ``known``
    maps the Message-IDs we sent or received to their tickets."""
    for address in recipients:
        ticket_id = ticket_of_reply_address(address, secret)
        if ticket_id is not None:
            return Placement(ticket_id, "reply_address")
    for message_id in referenced:
        ticket_id = known.get(message_id) or ticket_of_root(message_id, domain)
        if ticket_id is not None:
            return Placement(ticket_id, "references")
    ticket_id = subject_token(subject)
    return Placement(ticket_id, "subject_token") if ticket_id is not None else None


# -- loops ----------------------------------------------------------------------------------
def automated(headers: dict, sender: str, mailbox_address: str, is_report: bool) -> tuple[str, str] | None:
    """(outcome, reason) for a mail that must open nothing, else None."""
    if is_report:
        return "bounce", "a delivery status notification"
    auto_submitted = headers.get("auto-submitted", "").strip().lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return "auto_reply", f"Auto-Submitted: {auto_submitted}"
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers:
            return "auto_reply", f"{name} header"
    suppress = {value.strip().lower() for value in headers.get("x-auto-response-suppress", "").split(",")}
    if suppress & {"all", "oof"}:
        return "auto_reply", "X-Auto-Response-Suppress: " + headers["x-auto-response-suppress"]
    if headers.get("return-path", "").strip() == "<>":
        return "auto_reply", "from the null sender (Return-Path: <>)"
    if not sender:
        return "auto_reply", "no sender address"
    if sender == mailbox_address.lower():
        return "auto_reply", "from the mailbox itself"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return "bulk", f"Precedence: {precedence}"
    for name in ("list-id", "list-unsubscribe", "feedback-id"):
        if name in headers:
            return "bulk", f"{name} header"
    return None


def over_limit(sent_in_the_last_hour: int, limit: int) -> bool:
    """Whether one more mail from this sender is beyond the hourly limit (0: no limit)."""
    return limit > 0 and sent_in_the_last_hour >= limit


# -- what the ticket says ------------------------------------------------------------------
def ticket_subject(subject: str) -> str:
    subject = " ".join((subject or "").split())
    return (subject[:MAX_SUBJECT - 1] + "…" if len(subject) > MAX_SUBJECT else subject) or NO_SUBJECT


def message_body(text: str) -> str:
    text = (text or "").strip()
    return (text[:MAX_BODY - 1] + "…" if len(text) > MAX_BODY else text) or NO_TEXT


def message_html(html: str | None) -> str | None:
    """The mail's sanitised HTML as the ticket keeps it (ticketing points its cid: images at the
    attachments), or None: none came, or it is longer than ticketing keeps (the text stands alone)."""
    return html if html and html.strip() and len(html) <= MAX_HTML else None


def customer_name(display_name: str, address: str) -> str:
    return (display_name or "").strip()[:200] or address.partition("@")[0][:200] or address[:200]


def customer_language(content_language: str | None, text: str) -> str | None:
    """zh-CN or en as the mail shows it: its Content-Language, else Chinese characters in it."""
    tag = (content_language or "").strip().lower()
    if tag.startswith("zh"):
        return "zh-CN"
    if tag.startswith("en"):
        return "en"
    if CJK.search(text or ""):
        return "zh-CN"
    return "en" if (text or "").strip() else None


def idempotency_key(message_id: str) -> str:
    """The key of the ticket a mail opens: the same mail taken twice opens one ticket."""
    return "mail-" + hashlib.sha256(message_id.encode()).hexdigest()
