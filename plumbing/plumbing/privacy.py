"""Customer phone numbers and email addresses, masked where they are not needed (X6).

``+86 138 0000 5678`` becomes ``+86 138****5678`` and ``john@example.com``
``j***@example.com``: enough to tell two customers apart or to confirm one on
the phone, not enough to call or write to them. Log lines are masked by
``MaskingFormatter``; event fields that carry free text by ``MaskedString``.
Log lines also lose the credentials of URLs (an import's source, a webhook's
target, a broker's address) and what a URL hides behind percent-encoding (a
search in the access log).

Every pattern reads a bounded window from where it starts (no ``*``, ``+`` or
open ``{n,}``; tests/unit/test_privacy.py checks it), so masking takes time
linear in the text: a long run of letters cannot make a pattern rescan it
from each position (bench/masking.py measures it).
"""
import logging
import re
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from marshmallow import fields

EMAIL = re.compile(r"(?P<local>[\w.%+-]{1,64})(?P<at>[@＠﹫])"
                   r"(?P<domain>[\w-]{1,63}(?:[.．][\w-]{1,63}){0,8}[.．](?:[^\W\d_]{2,63}|xn--[\w-]{1,59}))")
# Chinese, Japanese and Korean script: a local part is all of it (张三@例子.中国) or none of it, so the words of a
# sentence that run on into an address (请发邮件到li@example.com) stay readable
CJK = r"\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff"
SCRIPT_RUN = re.compile(rf"[{CJK}]{{1,64}}|[^{CJK}]{{1,64}}")

SPACE = "[ \u00a0\u3000]"
SEP = rf"(?:{SPACE}{{1,2}}|{SPACE}?-{SPACE}?)"  # between digit groups: one or two spaces, or a dash
# a Chinese mobile number (1[3-9] and nine digits) is one however it is written or whatever is around it,
# short of other digits and ASCII letters (ids, hashes) or a decimal point
MOBILE = re.compile(rf"(?<![0-9A-Za-z])(?<!\d\.)(?:(?:\+|00)?86{SEP}?)?1[3-9]\d(?:(?:{SEP}|\.)?\d{{4}}){{2}}"
                    r"(?![0-9A-Za-z])(?!\.\d)")
# other numbers need the shape of one: a country code, an area code in brackets, digits in groups ending
# in a group of at least four, or a trunk prefix (010 8888 6666); one run of digits alone is an id, an order
# number, a timestamp or an amount (1700000000, 202611230001, 12345678.90) and stays
NUMBER = (rf"\+\d{{1,3}}{SEP}?(?:\(\d{{1,4}}\){SEP}?)?(?:\d{{1,4}}{SEP}){{0,4}}\d{{4,12}}"
          rf"|\(\d{{1,4}}\){SEP}?(?:\d{{1,4}}{SEP}){{0,4}}\d{{4,12}}"
          rf"|\d{{1,5}}{SEP}(?:\d{{1,4}}{SEP}){{0,3}}\d{{4,12}}"
          r"|\d{2,4}(?:\.\d{2,4}){1,3}\.\d{4}"
          r"|0[1-9]\d{8,10}")
# after a word that says what follows is a phone number, digits alone are one
PHONE_CUE = r"(?<![A-Za-z])(?i:tel|telephone|sms|phone|mobile)[:=]|wa\.me/|(?:手机|电话|座机)(?:号码?)?[:：]?"
# not part of a longer token (127.0.0.1:8000, 0c3e4d2a-1234-5678, 08:00:00), nor what is already masked, nor
# an access line's status and size ("GET / HTTP/1.1" 200 9971), nor a date and what follows it (2026-11-23 1234);
# the whole number or nothing, never a part
PHONE_IN_TEXT = re.compile(rf"(?P<cue>{PHONE_CUE})(?P<digits>\+?\d{{7,15}})(?!\d)"
                           r"|(?<![0-9A-Za-z_+*.,/#@-])(?<!\d:)(?<!HTTP/\d\.\d\" )"
                           rf"(?!\d{{4}}-\d\d-\d\d)(?P<number>(?>{NUMBER}))(?![0-9A-Za-z])(?!\.\d)")
PHONE = re.compile(rf"{NUMBER}|\+?\d{{7,15}}")  # a contact field holds nothing else: digits alone are a number
COUNTRY_CODE = re.compile(r"^\+(\d{1,3})[ (-]")
PHONE_DIGITS = range(7, 16)  # E.164 numbers have at most 15 digits; local ones at least 7
SHOWN_WHEN_LONG = 11         # from 11 digits (a Chinese mobile) the first three stay, as in 138****5678

# scheme://user:password@ of any URL (an import's source, a webhook's target, a broker's address)
CREDENTIALS = re.compile(r"(?<![\w+.-])(?P<scheme>[A-Za-z][\w+.-]{0,31}://)[^\s/?#@\"'<>]{1,256}@")
# query parameters whose value is a credential: token=, access_token=, api_key=, sig=, client_secret=, ...
SECRET_PARAMETER = re.compile(r"(?i)(?:[\w.-]{0,32}[_.-])?(?:token|secret|password|passwd|pwd|pass|key|apikey|sig"
                              r"|signature|auth|authorization|credentials?|session)")
# a URL in a log line or a text ends at white space, quotes or angle brackets
URL_EDGE = re.compile(r"([\s\"'<>])")
# what a decoded and masked URL part writes encoded again: what would end or split it, or the log line
ENCODED = r"\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\"'<>\\%"
UNSAFE_IN_PATH = re.compile(f"[{ENCODED}?#]")
UNSAFE_IN_QUERY = re.compile(f"[{ENCODED}&=+#]")
PROSE_AFTER_URL = ".,:;!?)]}"  # punctuation that ends a sentence or a bracket rather than a URL
URL_DEPTH = 3  # a URL inside a URL's parameter (encoded once more at each level) is decoded this deep


def mask_phone(number: str) -> str:
    """Keeps the country code, the last four digits and, of a long number, the first three."""
    code = COUNTRY_CODE.match(number)
    digits = re.sub(r"\D", "", number)
    prefix = "+" if number.startswith("+") else ""
    if code:
        prefix, digits = f"+{code.group(1)} ", digits[len(code.group(1)):]
    head = digits[:3] if len(digits) >= SHOWN_WHEN_LONG else ""
    return f"{prefix}{head}****{digits[-4:]}"


def mask_name(name: str) -> str:
    """The first character, as in 王*: a name says who, which the contact already hides."""
    return f"{name[:1]}*" if name else name


def mask_contact(contact: str) -> str:
    """A customer's contact field, whatever it holds: an email, a phone number or a handle."""
    contact = contact.strip()
    address = EMAIL.fullmatch(contact)
    if address:
        return _masked_email(address)
    if PHONE.fullmatch(contact) and _digit_count(contact) in PHONE_DIGITS:
        return mask_phone(contact)
    return f"{contact[:1]}***"


def mask_text(text: str) -> str:
    """Free text with every email address and phone number in it masked, and
    the credentials of every URL; URLs are masked percent-decoded as well."""
    return _mask(text, URL_DEPTH)


def _mask(text: str, depth: int) -> str:
    text = CREDENTIALS.sub(r"\g<scheme>***@", text)  # first: user:password@host reads as an email address too
    if depth and ("%" in text or "?" in text):
        text = "".join(_masked_url(part, depth) if "%" in part or "?" in part else part
                       for part in URL_EDGE.split(text))
    if any(at in text for at in "@＠﹫"):
        text = EMAIL.sub(_masked_email, text)
    text = MOBILE.sub(lambda match: mask_phone(match.group()), text)
    return PHONE_IN_TEXT.sub(_masked_phone, text)


def _masked_email(match) -> str:
    *words, local = SCRIPT_RUN.findall(match["local"])
    return f"{''.join(words)}{local[:1]}***{match['at']}{match['domain']}"


def _masked_phone(match) -> str:
    number = match["digits"] or match["number"]
    if _digit_count(number) not in PHONE_DIGITS:
        return match.group()
    return f"{match['cue'] or ''}{mask_phone(number)}"


def _digit_count(text: str) -> int:
    return sum(character.isdigit() for character in text)


def _masked_url(url: str, depth: int) -> str:
    """A URL, or what looks like one, masked as it reads decoded: a search for
    ``tel%3A13800005678`` is a phone number. Only the parts that change are
    written again (decoded, so the log shows what was masked); the rest stays
    as it came."""
    path, mark, query = url.partition("?")
    path = _masked_part(path, depth)
    if mark:
        query = "&".join(_masked_parameter(parameter, depth) for parameter in query.split("&"))
    return f"{path}{mark}{query}"


def _masked_parameter(parameter: str, depth: int) -> str:
    key, equals, value = parameter.partition("=")
    if value and SECRET_PARAMETER.fullmatch(unquote_plus(key)):
        secret = value.rstrip(PROSE_AFTER_URL)  # "import from https://x/?token=t0k3n: ..." keeps its colon
        return f"{key}=***{value[len(secret):]}" if secret else parameter
    return f"{_masked_part(key, depth, query=True)}{equals}{_masked_part(value, depth, query=True)}"


def _masked_part(raw: str, depth: int, query=False) -> str:
    decoded = unquote_plus(raw) if query else unquote(raw)
    if decoded == raw:
        return raw  # the masking of the whole text sees it as it is
    masked = _mask(decoded, depth - 1)
    if masked == decoded:
        return raw
    encode = quote_plus if query else quote
    return (UNSAFE_IN_QUERY if query else UNSAFE_IN_PATH).sub(lambda match: encode(match.group(), safe=""), masked)


class MaskingFormatter(logging.Formatter):
    """Masks the whole line, traceback included: customer data can reach a
    log in an exception's text (a database error shows the values of the
    statement that failed) as much as in a message."""

    def format(self, record):
        return mask_text(super().format(record))


class MaskedString(fields.String):
    """An output string with email addresses and phone numbers masked: free
    text in an event (a subject, a reason) that a customer may have written into."""

    def _serialize(self, value, attr, obj, **kwargs):
        value = super()._serialize(value, attr, obj, **kwargs)
        return mask_text(value) if value is not None else None
