"""Customer phone numbers and email addresses, masked where they are not needed (X6).

``+86 138 0000 5678`` becomes ``+86 138****5678`` and ``john@example.com``
``j***@example.com``: enough to tell two customers apart or to confirm one on
the phone, not enough to call or write to them. Log lines are masked by
``MaskingFormatter``; event fields that carry free text by ``MaskedString``.
"""
import logging
import re

from marshmallow import fields

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# digits in groups (spaces, dashes, an area code in brackets) ending in a group of at least four, so dates,
# times, versions and addresses (2026-11-23, 12:00:00, 127.0.0.1:8000) are left alone; ASCII boundaries
# only, since a number written inside Chinese text has no spaces around it
PHONE = re.compile(r"(?<![A-Za-z0-9_+.:/=-])(?:\+\d{1,3}[ -]?)?(?:\(\d{1,4}\)[ -]?)?(?:\d{1,4}[ -]?){0,4}\d{4,}"
                   r"(?![A-Za-z0-9_-])")
COUNTRY_CODE = re.compile(r"^\+(\d{1,3})[ (-]")
PHONE_DIGITS = range(7, 16)  # E.164 numbers have at most 15 digits; local ones at least 7
SHOWN_WHEN_LONG = 11         # from 11 digits (a Chinese mobile) the first three stay, as in 138****5678


def mask_email(address: str) -> str:
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


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
    if EMAIL.fullmatch(contact.strip()):
        return mask_email(contact.strip())
    if PHONE.fullmatch(contact.strip()) and len(re.sub(r"\D", "", contact)) in PHONE_DIGITS:
        return mask_phone(contact.strip())
    return f"{contact[:1]}***"


def mask_text(text: str) -> str:
    """Free text with every email address and phone number in it masked."""
    text = EMAIL.sub(lambda match: mask_email(match.group()), text)
    return PHONE.sub(_masked_phone, text)


def _masked_phone(match) -> str:
    number = match.group()
    return mask_phone(number) if len(re.sub(r"\D", "", number)) in PHONE_DIGITS else number


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
