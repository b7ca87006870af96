"""Signed per-ticket reply addresses: ``support+t<ticket>.<mac>@example.com``.

Every mail we send about a ticket carries one as its ``Reply-To``, so a
customer's answer names its ticket even when their client drops the threading
headers. The mac is the first ``MAC_LENGTH`` hex digits of HMAC-SHA256 keyed
with the ``CHANNELS_REPLY_SECRET`` over ``"t<ticket>"``: a sender cannot
guess the address of someone else's ticket, and nothing is stored to verify
one (mail in calls :func:`ticket_of`). Plain Python, no nameko; here with mail out, which makes
the addresses, and read by mail in.
"""
import hashlib
import hmac
import re

MAC_LENGTH = 16
_TAG = re.compile(r"^t(?P<ticket>[1-9][0-9]{0,17})\.(?P<mac>[0-9a-f]{%d})$" % MAC_LENGTH)


def mac(ticket_id: int, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"t{int(ticket_id)}".encode(), hashlib.sha256).hexdigest()
    return digest[:MAC_LENGTH]


def reply_address(ticket_id: int, secret: str, mailbox_address: str) -> str:
    """The ticket's reply address on the mailbox ``local@domain``: ``local+t<id>.<mac>@domain``."""
    local, _, domain = mailbox_address.rpartition("@")
    if not local or not domain:
        raise ValueError(f"not an address: {mailbox_address!r}")
    local = local.split("+", 1)[0]
    return f"{local}+t{int(ticket_id)}.{mac(ticket_id, secret)}@{domain}"


def ticket_of(address: str, secret: str | None) -> int | None:
    """The ticket a reply address names, or None when it names none, its mac is wrong or there is
    no secret (mail in without CHANNELS_REPLY_SECRET skips this step)."""
    if not secret:
        return None
    local, _, _domain = (address or "").strip().strip("<>").rpartition("@")
    _base, plus, tag = local.partition("+")
    if not plus:
        return None
    found = _TAG.match(tag.lower())
    if found is None:
        return None
    ticket_id = int(found["ticket"])
    return ticket_id if hmac.compare_digest(found["mac"], mac(ticket_id, secret)) else None
