"""Mailbox rules in plain Python."""


def normalised_address(address: str) -> str:
    """Addresses compare without case: the local part's case is kept by nearly no server."""
    return address.strip().lower()


def folder_reset(stored_uidvalidity, uidvalidity) -> bool:
    """The folder's UIDs were renumbered (RFC 3501 UIDVALIDITY changed): the UIDs we stored mean
    nothing now, so the poller starts over; the Message-IDs keep mail already taken in from
    coming twice."""
    return stored_uidvalidity is not None and stored_uidvalidity != uidvalidity
