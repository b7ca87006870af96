"""A raw mail read into what mail in needs: plain Python over the standard library's ``email``
and nh3, no nameko, no database.

Two ways in: ``parse`` reads a mail held in memory (its files' bytes in ``Part.data``), and
``parse_file`` reads one from a file without holding it whole (the raw mail is in the blob
store): ``split`` copies the mail line by line into a skeleton, the same mail with the content of
each large file part (an attachment, an inline image, a forwarded mail) left out, that content
being decoded (base64, quoted-printable) piece by piece into the blob store as it is read
(``Part.ref``). The standard library then parses the skeleton, a few KiB whatever the files
weigh. The parse uses policy compat32 (headers stay strings: the decoding below is ours, and
the header objects of policy.default cost most of a parse).

Charsets: what a part declares, with the aliases mail clients get wrong mapped to the codec
that reads what they really send (GB2312 and GBK as GB18030, its superset; Big5 as
Big5-HKSCS); a part that does not decode in its charset is tried as UTF-8, then GB18030,
then read with replacement characters, so a mislabelled mail is never refused. Headers'
encoded words get the same mapping, and raw 8-bit headers (some clients send GBK bytes) are
decoded the same way. HTML is sanitised with nh3 and turned into text; a mail with no text
part is stored as that text.
"""
import binascii
import email
import email.header
import email.utils
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesHeaderParser
from html.parser import HTMLParser

import nh3

from plumbing import blobs

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
    """An attached (or inline) file of a mail: its bytes (``data``), or, read by ``parse_file``,
    its reference in the blob store (``ref``), or neither when it was not kept (``dropped`` says
    why: larger than the limit, one too many)."""
    filename: str
    content_type: str
    data: bytes | None
    content_id: str | None
    inline: bool
    ref: blobs.BlobRef | None = None
    dropped: str | None = None


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


def _keep_attribute(element, attribute, value):
    """An image's source only when it is a part of the mail (``cid:``): a remote one is a tracker
    or a request the sender can watch, and is dropped."""
    if element == "img" and attribute == "src" and not value.strip().lower().startswith("cid:"):
        return None
    return value


def sanitised(html: str) -> str:
    """HTML with no script, style, event handler or form, and no image but the mail's own
    (``cid:``): what an agent's browser may show."""
    return nh3.clean(html, tags=SAFE_TAGS, attributes=SAFE_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto", "cid"}, link_rel="noopener noreferrer",
                     attribute_filter=_keep_attribute)


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
    return text_of_clean(sanitised(html))


def text_of_clean(clean: str) -> str:
    """The text of HTML ``sanitised`` already gave."""
    reader = _TextOf()
    reader.feed(clean)
    reader.close()
    return reader.text()


# -- the whole mail -----------------------------------------------------------------------
LOOP_HEADERS = ("auto-submitted", "precedence", "list-id", "list-unsubscribe", "x-autoreply", "x-autorespond",
                "x-auto-response-suppress", "return-path", "x-loop", "feedback-id")


def parse(raw: bytes) -> ParsedMail:
    """A mail held in memory; its files' bytes in ``Part.data``."""
    return read(raw, synthetic_message_id(raw), {})


def parse_file(stored, sha256, store, max_file_bytes, max_files) -> ParsedMail:
    """A mail read from ``stored`` (a binary file; ``sha256`` its content's hash): each file part
    larger than OFFLOAD_BYTES decoded into ``store`` as it is read (``Part.ref``), at most
    ``max_files`` of them, each at most ``max_file_bytes`` (beyond: ``Part.dropped``)."""
    skeleton, offloaded = split(stored, Offloader(store, max_file_bytes, max_files))
    return read(skeleton, f"sha256-{sha256}@{SYNTHETIC_DOMAIN}", offloaded)


def read(raw, synthetic_id, offloaded) -> ParsedMail:
    message = email.message_from_bytes(raw, policy=policy.compat32)
    headers = raw_headers(message)
    message_id = next(iter(message_ids(first(headers, "message-id"))), None) or synthetic_id
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
        content_language=language, report=delivery_report(message),
        attachments=list(attachments_of(message, offloaded)))


def parts_of(message):
    payload = message.get_payload() if message.is_multipart() else None
    return payload if isinstance(payload, list) else []


def param(part, name, header="content-type"):
    """A header parameter, RFC 2231 and encoded words decoded ("" when absent)."""
    value = part.get_param(name, header=header)
    if isinstance(value, tuple):
        value = email.utils.collapse_rfc2231_value(value)
    return header_text(value or "")


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
    return (text_of_clean(clean) if clean is not None else ""), clean


def body_parts(message):
    """The leaf parts that may be the body: not attachments, not inside an attached mail."""
    if message.get_content_type() == "message/rfc822" or message.get_content_disposition() == "attachment":
        return
    if message.is_multipart():
        for part in parts_of(message):
            yield from body_parts(part)
    else:
        yield message


def attachments_of(message, offloaded):
    """Every file part: attachments, inline images, forwarded mails (as .eml, not opened)."""
    for part in parts_of(message):
        kind = part.get_content_type()
        away = offloaded.get(part.get(PLACEHOLDER, "").strip())
        if kind == "message/rfc822":
            filename = param(part, "filename", header="content-disposition") or "forwarded.eml"
            if away is not None:
                yield Part(filename, kind, None, None, False, away.ref, away.dropped)
                continue
            inner = part.get_payload()
            data = (inner[0] if isinstance(inner, list) else inner).as_bytes()
            yield Part(filename, kind, data, None, False)
            continue
        if part.is_multipart():
            yield from attachments_of(part, offloaded)
            continue
        if role(part) != FILE:
            continue
        filename = param(part, "filename", header="content-disposition") or param(part, "name")
        content_id = normal_message_id(part.get("content-id")) or None
        inline = part.get_content_disposition() == "inline"
        if away is not None:
            yield Part(filename or "attachment", kind, None, content_id, inline, away.ref, away.dropped)
        else:
            yield Part(filename or "attachment", kind, part.get_payload(decode=True) or b"", content_id, inline)


FILE, BODY, SKIP = "file", "body", "skip"


def role(part) -> str:
    """What a leaf part inside a multipart is to mail in: a ``file`` (attachments_of), a part that
    may be read (a body, a bounce's report), or one nothing reads (``skip``)."""
    kind = part.get_content_type()
    if kind == "message/rfc822":
        return FILE
    if kind in ("message/delivery-status", "text/rfc822-headers"):
        return BODY
    disposition = part.get_content_disposition()
    named = part.get_param("filename", header="content-disposition") or part.get_param("name")
    if disposition != "attachment" and kind.startswith("text/") and not named:
        return BODY
    if disposition is None and not named and not part.get("content-id"):
        return SKIP
    return FILE


# -- reading a mail from a file without holding it ------------------------------------------
PLACEHOLDER = "X-Channels-Part"  # names a part's content taken out of the skeleton (a random token)
OFFLOAD_BYTES = 64 * 1024  # a file part larger than this goes to the blob store as it is read
LINE_BYTES = 64 * 1024  # a longer line is read in pieces


@dataclass(frozen=True)
class Offloaded:
    ref: blobs.BlobRef | None
    dropped: str | None = None


class Offloader:
    """Where ``split`` puts the content of large file parts: the blob store, within the limits."""

    def __init__(self, store, max_file_bytes, max_files):
        self.store, self.max_file_bytes, self.max_files = store, max_file_bytes, max_files
        self.taken = {}

    def full(self):
        return sum(1 for away in self.taken.values() if away.ref is not None) >= self.max_files


class _Lines:
    """A file's lines (at most LINE_BYTES each), one of them pushed back at a time."""

    def __init__(self, stored):
        self.stored, self.back = stored, None

    def next(self):
        if self.back is not None:
            line, self.back = self.back, None
            return line
        return self.stored.readline(LINE_BYTES)

    def push(self, line):
        self.back = line


def split(stored, offloader):
    """(skeleton bytes, {token: Offloaded}) of the mail in ``stored``: the module notes."""
    out = bytearray()
    lines = _Lines(stored)
    header, _ = _header_block(lines, out, ())
    if header.get_content_maintype() == "multipart" and header.get_param("boundary"):
        _multipart_body(lines, out, header, (), offloader)
    else:  # a mail of one part is its own body: copied whole
        while line := lines.next():
            out += line
    return bytes(out), offloader.taken


def _boundary_of(line, boundaries):
    """The active boundary ``line`` is a delimiter of (innermost first), else None: as the
    stdlib's parser, a part ends at its own delimiter or at an enclosing one's."""
    if not line.startswith(b"--"):
        return None
    stripped = line.rstrip(b"\r\n \t")
    for boundary in reversed(boundaries):
        if stripped == b"--" + boundary or stripped == b"--" + boundary + b"--":
            return boundary
    return None


def _header_block(lines, out, boundaries):
    """A part's headers read up to the blank line (or a delimiter, pushed back) and copied to
    ``out``: (the headers as a Message without body, where in ``out`` the blank line starts). A
    placeholder header that came in the mail is dropped: only ``split`` names a part's content."""
    block = bytearray()
    while line := lines.next():
        if _boundary_of(line, boundaries):
            lines.push(line)
            line = b""
            break
        if line in (b"\r\n", b"\n"):
            break
        block += line
    parsed = BytesHeaderParser(policy=policy.compat32).parsebytes(bytes(block))
    if PLACEHOLDER in parsed:
        del parsed[PLACEHOLDER]
        block = bytearray(b"".join(f"{name}: {value}\r\n".encode("utf-8", "surrogateescape")
                                   for name, value in parsed.raw_items()))
    out += block
    end = len(out)
    out += line or b"\r\n"
    return parsed, end


def _multipart_body(lines, out, header, boundaries, offloader):
    """A multipart's preamble, parts and epilogue copied (large file parts left out) up to the
    delimiter of an enclosing part (pushed back) or the end."""
    own = header.get_param("boundary").encode("utf-8", "surrogateescape")
    boundaries = (*boundaries, own)
    line = _copy_until_boundary(lines, out, boundaries)  # the preamble
    while line:
        if _boundary_of(line, boundaries) != own:
            lines.push(line)  # an enclosing part's: this one ends here
            return
        out += line
        if line.rstrip(b"\r\n \t") == b"--" + own + b"--":
            _copy_until_boundary(lines, out, boundaries[:-1], push=True)  # the epilogue
            return
        line = _part(lines, out, boundaries, offloader)


def _copy_until_boundary(lines, out, boundaries, push=False):
    while line := lines.next():
        if _boundary_of(line, boundaries):
            if push:
                lines.push(line)
            return line
        out += line
    return b""


def _part(lines, out, boundaries, offloader):
    """One part after its delimiter; the next delimiter line (b"" at the end)."""
    header, header_end = _header_block(lines, out, boundaries)
    if header.get_content_maintype() == "multipart" and header.get_param("boundary"):
        _multipart_body(lines, out, header, boundaries, offloader)
        return lines.next()
    kind = role(header)
    if kind == BODY:
        return _copy_until_boundary(lines, out, boundaries)
    held, size = [], 0
    while line := lines.next():
        if _boundary_of(line, boundaries):
            break
        if kind == SKIP:
            continue  # nothing reads it: not kept
        held.append(line)
        size += len(line)
        if size > OFFLOAD_BYTES:
            return _offload(lines, out, header, header_end, held, boundaries, offloader)
    out += b"".join(held)
    return line


def _offload(lines, out, header, header_end, held, boundaries, offloader):
    """The rest of a large file part read and decoded into the blob store; the skeleton keeps its
    headers and a placeholder naming it (and a forwarded mail's own headers, for a bounce's
    report). The next delimiter line (b"" at the end)."""
    token = secrets.token_hex(16)
    del out[header_end:]
    out += f"{PLACEHOLDER}: {token}\r\n\r\n".encode()
    if header.get_content_type() == "message/rfc822":
        text = b"".join(held)
        cut = min((found for found in (text.find(b"\r\n\r\n"), text.find(b"\n\n")) if found >= 0), default=-1)
        out += text[:cut] + b"\r\n\r\n" if cut >= 0 else b""
    decoder = Decoder(header.get("content-transfer-encoding", ""))
    writer = None if offloader.full() else offloader.store.writer(offloader.max_file_bytes)
    dropped = "one file too many" if writer is None else None
    pending = held
    try:
        while True:
            line = lines.next()
            end = not line or _boundary_of(line, boundaries)
            if end and pending:
                pending[-1] = pending[-1].rstrip(b"\r\n")  # the last line break is the delimiter's
            if end or len(pending) >= 512:
                if writer is not None:
                    try:
                        writer.write(decoder.feed(b"".join(pending), final=bool(end)))
                    except blobs.TooLarge:
                        writer, dropped = None, "larger than the limit"
                pending = []
            if end:
                break
            pending.append(line)
        offloader.taken[token] = Offloaded(writer.finish() if writer is not None else None, dropped)
    finally:
        if writer is not None:
            writer.discard()
    return line


_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_BASE64 = bytes(set(range(256)) - set(_BASE64_ALPHABET))


class Decoder:
    """A part's Content-Transfer-Encoding undone piece by piece (whole lines at a time)."""

    def __init__(self, encoding):
        self.encoding = str(encoding).strip().lower()
        self.left = b""

    def feed(self, data, final=False) -> bytes:
        if self.encoding == "base64":
            data = self.left + data.translate(None, _NOT_BASE64)  # padding and junk out, as the stdlib ignores them
            usable = len(data) if final else len(data) - len(data) % 4
            self.left = data[usable:]
            data = data[:usable]
            if final and len(data) % 4:
                data = data[:len(data) - len(data) % 4] if len(data) % 4 == 1 else data + b"=" * (4 - len(data) % 4)
            return binascii.a2b_base64(data) if data else b""
        if self.encoding == "quoted-printable":
            return binascii.a2b_qp(data)
        return data


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
