"""Mailbox rules in plain Python."""


def normalised_address(address: str) -> str:
    """Addresses compare without case: the local part's case is kept by nearly no server."""
    return address.strip().lower()


def folder_reset(stored_uidvalidity, uidvalidity) -> bool:
    """The folder's UIDs were renumbered (RFC 3501 UIDVALIDITY changed): the UIDs we stored mean
    nothing now, so the poller starts over; the Message-IDs keep mail already taken in from
    coming twice."""
    return stored_uidvalidity is not None and stored_uidvalidity != uidvalidity


def new_mail(idle_responses) -> bool:
    """Whether what the server said in IDLE (imapclient's parsed responses: ``(3, b'EXISTS')``,
    ``(b'OK', b'Still here')``) tells of mail come to the folder: an EXISTS or RECENT count."""
    return any(len(response) >= 2 and isinstance(response[0], int) and response[1] in (b"EXISTS", b"RECENT")
               for response in idle_responses)


def watch_by_idle(enabled: bool, capabilities) -> bool:
    """A folder is held in IDLE where IDLE is on and the server offers it (RFC 2177), else polled."""
    return enabled and b"IDLE" in {to_bytes(name).upper() for name in capabilities}


def backoff_seconds(failures: int, base: float, cap: float) -> float:
    """How long a watcher waits after ``failures`` failures in a row before connecting again:
    doubling from ``base`` to at most ``cap`` (the mailbox is polled meanwhile)."""
    return min(cap, base * 2 ** max(0, failures - 1))


def to_bytes(value):
    return value if isinstance(value, bytes) else str(value).encode()
