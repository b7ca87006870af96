"""Customer rules that need no framework: contacts and how they compare, tiers, and what
erasure leaves of a text.

Contacts. A customer is found by any of their contacts, so two spellings of one address must
be one contact (``normalise``):
- an email address compares case-folded (``Li.Lei@Example.COM`` is ``li.lei@example.com``);
  local parts are case-sensitive in theory and in no mail system a help desk meets;
- a phone number compares as E.164 digits: ``+86 138-0000-5678``, ``0086 13800005678`` and,
  with the desk's default country code 86, ``138 0000 5678`` are all ``+8613800005678``; a
  national number with a trunk 0 (``010 8888 6666``) drops the 0 under the default code;
- a social handle is ``platform:handle`` (``weibo:@Li_Lei``), case-folded, the handle's
  leading ``@`` dropped; a handle without a platform is compared as written, case-folded.
A ticket's contact field holds any of them: ``classify`` tells which.

Tier. A customer's own tier, else their organisation's, else ``standard``: SLA policies match on
the tier a ticket gets from it when the ticket names none.

Erasure (docs/customers.md). The customer's own words (their messages, a ticket's subject and
description, a rating's comment) are replaced by a marker; staff's words about them (replies,
notes, complaint records, callback notes) keep their text with the customer's name and contacts
replaced and every other email address and phone number masked (``scrub``). Counts, times,
states, scores and SLA clocks stay: the figures are not personal data.
"""
import re
from datetime import datetime

from plumbing.privacy import EMAIL, PHONE, mask_text

EMAIL_KIND, PHONE_KIND, SOCIAL_KIND = "email", "phone", "social"
DEFAULT_COUNTRY_CODE = "86"
DEFAULT_TIER = "standard"

ERASED = "[erased]"                                   # a name, contact or subject erased
REMOVED = "[removed at the customer's request]"       # the customer's own words


class BadContact(ValueError):
    """A contact that cannot be one of its kind; the message says why."""


def classify(contact: str) -> str:
    """The kind of a free contact field: an email address, a phone number, else a social handle."""
    contact = contact.strip()
    if EMAIL.fullmatch(contact):
        return EMAIL_KIND
    if PHONE.fullmatch(contact) and 7 <= sum(c.isdigit() for c in contact) <= 15:
        return PHONE_KIND
    return SOCIAL_KIND


def normalise(kind: str, value: str, country_code: str = DEFAULT_COUNTRY_CODE) -> str:
    """The form two spellings of one contact share (module notes); BadContact if it is none."""
    value = value.strip()
    if kind == EMAIL_KIND:
        if not EMAIL.fullmatch(value):
            raise BadContact("not an email address")
        return value.casefold()
    if kind == PHONE_KIND:
        return normalise_phone(value, country_code)
    if not value:
        raise BadContact("empty")
    platform, colon, handle = value.partition(":")
    if colon and platform.strip() and handle.strip():
        return f"{platform.strip().casefold()}:{handle.strip().lstrip('@').casefold()}"
    return value.casefold()


def normalise_phone(value: str, country_code: str = DEFAULT_COUNTRY_CODE) -> str:
    if re.search(r"[^\d\s().+\-\u00a0\u3000]", value):
        raise BadContact("a phone number has digits, spaces, dashes, dots, brackets and a leading + only")
    digits = re.sub(r"\D", "", value)
    if value.lstrip().startswith("+"):
        international = digits
    elif digits.startswith("00"):
        international = digits[2:]
    elif country_code and digits.startswith("0"):
        international = country_code + digits[1:]
    elif country_code and not (digits.startswith(country_code) and len(digits) > 11):
        international = country_code + digits  # national, as a Chinese mobile is written (11 digits at most)
    else:
        international = digits  # already with its country code, the + left out
    if not 7 <= len(international) <= 15:
        raise BadContact("a phone number has 7 to 15 digits with its country code (E.164)")
    return f"+{international}"


def email_domain(normalised_email: str) -> str:
    return normalised_email.rpartition("@")[2]


def normalise_domain(domain: str) -> str:
    return domain.strip().lstrip("@").rstrip(".").casefold()


def effective_tier(own_tier, organisation_tier) -> str:
    return own_tier or organisation_tier or DEFAULT_TIER


def scrub(text: str, personal: list[str]) -> str:
    """Staff's text about an erased customer: each of ``personal`` (their names and contacts as written)
    replaced by ERASED, wherever and however cased, and every email address and phone number masked."""
    if not text:
        return text
    for value in sorted({p.strip() for p in personal if p and len(p.strip()) >= 2}, key=len, reverse=True):
        text = re.sub(re.escape(value), ERASED, text, flags=re.IGNORECASE)
    return mask_text(text)


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the month's last day where it is shorter)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    days = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30,
            31, 30, 31][month - 1]
    return moment.replace(year=year, month=month, day=min(moment.day, days))


def erased_edit(changes):
    """An ``edited`` history entry with the subject's and the custom fields' values erased (the field names stay)."""
    if "subject" in changes:
        return dict(changes, subject=[ERASED, ERASED])
    if "custom_fields" in changes:
        return dict(changes, custom_fields=[{}, {}])
    return changes
