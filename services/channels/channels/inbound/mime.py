"""A raw mail read into what mail in needs: plain Python over the standard library's ``email``
(policy.default) and nh3, no nameko, no database.

Charsets: what a part declares, with the aliases mail clients get wrong mapped to the codec
that reads what they really send (GB2312 and GBK as GB18030, its superset; Big5 as
Big5-HKSCS); a part that does not decode in its charset is tried as UTF-8, then GB18030,
then read with replacement characters, so a mislabelled mail is never refused. Headers'
encoded words get the same mapping, and raw 8-bit headers (some clients send GBK bytes) are
decoded the same way. HTML is sanitised with nh3 and turned into text; a mail with no text
part is stored as that text.
"""
import email
import email.header
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from html.parser import HTMLParser

import nh3

CHARSET_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "euc-cn": "gb18030",
    "gb_2312-80": "gb18030", "big5": "big5hkscs", "x-big5": "big5hkscs", "cn-big5": "big5hkscs",
    "unicode-1-1-utf-7": "utf-7", "ks_c_5601-1987": "cp949",
}
FALLBACK_CHARSETS = ("utf-8", "gb18030")
SYNTHETIC_DOMAIN = "channels.invalid"


@dataclass(frozen=True)
class DeliveryReport:
    """A bounce (RFC 3464): which of our messages failed to reach whom, and why."""
    original_message_id: str | None
    recipient: str | None
    action: str | None
    status: str | None
    diagnostic: str


@dataclass(frozen=True)
class Part:
    """An attached (or inline) file of a mail."""
    filename: str
    content_type: str
    data: bytes
    content_id: str | None
    inline: bool


@dataclass
class ParsedMail:
    message_id: str  # without <>; synthesised from the raw bytes' hash when the mail has none
    sender: str  # the address, lower case
    sender_name: str
    recipients: list[str]  # To, Cc and the envelope's (Delivered-To, X-Original-To, Envelope-To)
    subject: str
    in_reply_to: list[str]
    references: list[str]
    text: str  # the whole body as text (plain part, else the HTML's text)
    html: str | None  # sanitised
    headers: dict[str, str]  # the loop-relevant headers, names lower case, values decoded
    content_language: str | None
    report: DeliveryReport | None
    attachments: list[Part] = field(default_factory=list)


# -- decoding -----------------------------------------------------------------------------
def codec(charset):
    name = (charset or "").strip().strip('"').lower()
    return CHARSET_ALIASES.get(name, name) or "utf-8"


def decode_bytes(data: bytes, charset=None) -> str:
    """``data`` in its declared charset (mapped by CHARSET_ALIASES), else the fallbacks, else
    UTF-8 with replacement characters."""
    tried = []
    for name in (codec(charset) if charset else None, *FALLBACK_CHARSETS):
        if not name or name in tried:
            continue
        tried.append(name)
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", errors="replace")


def unescaped(value: str) -> str:
    """A header the bytes parser read with surrogate escapes (raw 8-bit bytes) decoded properly."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    return decode_bytes(value.encode("utf-8", errors="surrogateescape"))


def header_text(raw) -> str:
    """A raw header value with its encoded words decoded (charset aliases applied), unfolded."""
    if raw is None:
        return ""
    raw = str(raw)
    try:
        chunks = email.header.decode_header(raw)
    except Exception:  # a malformed encoded word: the raw text is the best there is
        return " ".join(unescaped(raw).split())
    text = "".join(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else unescaped(chunk)
                   for chunk, charset in chunks)
    return " ".join(text.split())


def raw_headers(message):
    """(name lower case, raw value) of every header as it came (policy.default keeps the source)."""
    return [(name.lower(), str(value)) for name, value in message.raw_items()]


def first(headers, name):
    return next((value for key, value in headers if key == name), None)


MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def message_ids(raw) -> list[str]:
    """The Message-IDs a header lists (In-Reply-To, References), without <>, in order."""
    if not raw:
        return []
    found = MESSAGE_ID.findall(raw)
    if not found and raw.strip() and " " not in raw.strip():
        found = [raw.strip()]  # a bare id some clients write without brackets
    return [normal_message_id(value) for value in found]


def normal_message_id(value) -> str:
    """A Message-ID as stored and compared: without <> or whitespace (case kept, RFC 5322)."""
    return (value or "").strip().strip("<>").strip()[:500]


def synthetic_message_id(raw: bytes) -> str:
    return f"sha256-{hashlib.sha256(raw).hexdigest()}@{SYNTHETIC_DOMAIN}"


def addresses(values) -> list[tuple[str, str]]:
    """(display name decoded, address lower case) of each address in the raw header values."""
    found = []
    for name, address in email.utils.getaddresses([unescaped(value) for value in values if value]):
        if "@" in address:
            found.append((header_text(name), address.strip().lower()))
    return found


# -- HTML ---------------------------------------------------------------------------------
SAFE_TAGS = {"a", "b", "blockquote", "br", "div", "em", "h1", "h2", "h3", "h4", "hr", "i", "img", "li", "ol", "p",
             "pre", "span", "strong", "table", "tbody", "td", "th", "thead", "tr", "u", "ul", "font", "center"}
SAFE_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}, "div": {"class", "id"},
                   "blockquote": {"class", "type"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}


def sanitised(html: str) -> str:
    """HTML with no script, style, event handler or form: what an agent's browser may show."""
    return nh3.clean(html, tags=SAFE_TAGS, attributes=SAFE_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto", "cid"}, link_rel="noopener noreferrer")


BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "hr", "table", "ul", "ol", "pre", "center"}
QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix")
QUOTE_IDS = ("divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container", "isforwardcontent",
             "origbody")


class _TextOf(HTMLParser):
    """Text of sanitised HTML: blocks become lines, a blockquote's lines (and what a client's
    quote container holds) are prefixed with ``> ``, so quote stripping treats them as quoted."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines, self.current, self.quote_depth, self.stack = [], [], 0, []

    def newline(self):
        line = "".join(self.current).replace("\xa0", " ").rstrip()
        self.lines.append(("> " * self.quote_depth) + line.strip() if line.strip() else "")
        self.current = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        quoting = tag == "blockquote" or any(
            name in (attributes.get("class") or "").lower() for name in QUOTE_CLASSES) or \
            (attributes.get("id") or "").lower() in QUOTE_IDS
        if tag in BLOCKS or quoting:
            self.newline()
        if tag not in ("br", "hr", "img"):
            self.stack.append(quoting)
        if quoting:
            self.quote_depth += 1

    def handle_endtag(self, tag):
        if tag in ("br", "hr", "img"):
            return
        if tag in BLOCKS or tag == "blockquote":
            self.newline()
        if self.stack and self.stack.pop():
            self.newline()
            self.quote_depth -= 1

    def handle_data(self, data):
        if not data.strip():
            self.current.append(" " if data else "")
            return
        self.current.append((" " if data[:1].isspace() else "") + " ".join(data.split()) +
                            (" " if data[-1:].isspace() else ""))

    def text(self):
        self.newline()
        collapsed, blank = [], False
        for line in self.lines:
            if not line.strip():
                if not blank and collapsed:
                    collapsed.append("")
                blank = True
                continue
            collapsed.append(line)
            blank = False
        return "\n".join(collapsed).strip()


def html_to_text(html: str) -> str:
    reader = _TextOf()
    reader.feed(sanitised(html))
    reader.close()
    return reader.text()


# -- the whole mail -----------------------------------------------------------------------
LOOP_HEADERS = ("auto-submitted", "precedence", "list-id", "list-unsubscribe", "x-autoreply", "x-autorespond",
                "x-auto-response-suppress", "return-path", "x-loop", "feedback-id")


def parse(raw: bytes) -> ParsedMail:
    message = email.message_from_bytes(raw, policy=policy.default)
    headers = raw_headers(message)
    message_id = next(iter(message_ids(first(headers, "message-id"))), None) or synthetic_message_id(raw)
    senders = addresses([first(headers, "from") or first(headers, "sender") or ""])
    sender_name, sender = senders[0] if senders else ("", "")
    recipients = [address for _, address in addresses(
        [value for name, value in headers if name in ("to", "cc", "delivered-to", "x-original-to", "envelope-to")])]
    text, html = body_of(message)
    language = header_text(first(headers, "content-language")) or None
    return ParsedMail(
        message_id=message_id, sender=sender, sender_name=sender_name, recipients=recipients,
        subject=header_text(first(headers, "subject")), in_reply_to=message_ids(first(headers, "in-reply-to")),
        references=message_ids(" ".join(value for name, value in headers if name == "references")),
        text=text, html=html, headers={name: header_text(value) for name, value in headers if name in LOOP_HEADERS},
        content_language=language, report=delivery_report(message), attachments=list(attachments_of(message)))


def part_text(part) -> str:
    payload = part.get_payload(decode=True) or b""
    return decode_bytes(payload, part.get_content_charset())


def body_of(message) -> tuple[str, str | None]:
    """(text, sanitised html or None): the first text/plain and text/html that are not attachments."""
    plain = html = None
    for part in body_parts(message):
        kind = part.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = part_text(part)
        elif kind == "text/html" and html is None:
            html = part_text(part)
        if plain is not None and html is not None:
            break
    clean = sanitised(html) if html is not None else None
    if plain is not None and plain.strip():
        return plain.replace("\r\n", "\n"), clean
    return (html_to_text(html) if html is not None else ""), clean


def body_parts(message):
    """The leaf parts that may be the body: not attachments, not inside an attached mail."""
    if message.get_content_type() == "message/rfc822" or message.get_content_disposition() == "attachment":
        return
    if message.is_multipart():
        for part in message.iter_parts():
            yield from body_parts(part)
    else:
        yield message


def attachments_of(message):
    """Every file part: attachments, inline images, forwarded mails (as .eml, not opened)."""
    for part in message.iter_parts() if message.is_multipart() else ():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            data = (inner[0] if isinstance(inner, list) else inner).as_bytes()
            filename = header_text(part.get_param("filename", header="content-disposition") or "")
            yield Part(filename or "forwarded.eml", kind, data, None, False)
            continue
        if part.is_multipart():
            yield from attachments_of(part)
            continue
        if kind in ("message/delivery-status", "text/rfc822-headers"):
            continue
        disposition = part.get_content_disposition()
        filename = header_text(part.get_param("filename", header="content-disposition") or
                               part.get_param("name") or "")
        if disposition != "attachment" and kind.startswith("text/") and not filename:
            continue  # a body part
        if disposition is None and not filename and not part.get("content-id"):
            continue
        data = part.get_payload(decode=True) or b""
        content_id = normal_message_id(part.get("content-id")) or None
        yield Part(filename or "attachment", kind, data, content_id, disposition == "inline")


def delivery_report(message) -> DeliveryReport | None:
    """The report of a DSN (multipart/report; report-type=delivery-status), else None."""
    if message.get_content_type() != "multipart/report" or \
            (message.get_param("report-type") or "").lower() != "delivery-status":
        return None
    recipient = action = status = None
    diagnostic = ""
    original = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            for block in part.get_payload():
                recipient = recipient or _address_field(block.get("Final-Recipient") or block.get("Original-Recipient"))
                action = action or (str(block.get("Action") or "").strip().lower() or None)
                status = status or (str(block.get("Status") or "").strip() or None)
                diagnostic = diagnostic or " ".join(str(block.get("Diagnostic-Code") or "").split())
        elif kind in ("message/rfc822", "text/rfc822-headers") and original is None:
            original = _original_message_id(part)
    return DeliveryReport(original, recipient, action, status, diagnostic[:2000])


def _address_field(value):
    """``rfc822; someone@example.com`` -> ``someone@example.com``."""
    if not value:
        return None
    return str(value).split(";", 1)[-1].strip().strip("<>").lower() or None


def _original_message_id(part):
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) else inner
        found = message_ids(inner.get("Message-ID"))
    else:
        headers = email.message_from_bytes(part.get_payload(decode=True) or b"", policy=policy.default)
        found = message_ids(headers.get("Message-ID"))
    return found[0] if found else None
