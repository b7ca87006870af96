"""Webhooks for outside systems (X2): signatures, back-off and event matching.

Plain Python, no nameko or database: ``webhooks/handlers.py`` does the I/O.

Signature (the scheme Stripe uses)
    Each attempt is signed at the time it is sent::

        X-CSOPS-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>

    where the HMAC key is the subscription's secret (UTF-8) and the message is
    ``f"{t}.".encode() + body``, the exact bytes of the request body. A
    receiver recomputes it with :func:`verify`, which also refuses a
    timestamp more than ``tolerance_seconds`` away from its own clock, so a
    captured request cannot be replayed later. Several ``v1=`` entries may
    appear (e.g. while a secret is rotated); one matching is enough.

Retries
    A delivery is attempted up to ``MAX_ATTEMPTS`` (8) times. After failed
    attempt *n* the next one waits ``retry_delay(n)``: 10 s, 30 s, 2 min,
    10 min, 30 min, 1 h, 1 h (with the default base of 10 s; the base scales
    the whole schedule), about 2 h 43 min from the first attempt to the last.
    After the 8th failure the delivery is ``failed`` for good. The delivery id
    is the same on every attempt, so a receiver can drop duplicates.

Event types
    A subscription lists exact types (``ticket.created``) or patterns: a
    ``*`` segment stands for exactly one segment (``ticket.*`` matches
    ``ticket.created`` but not ``sla.breached``), and ``*`` alone matches
    every type. The matching is in the contract (``contract.matches``), which
    validates subscriptions with it.
"""
import hashlib
import hmac
import re
from datetime import datetime, timedelta

SIGNATURE_HEADER = "X-CSOPS-Signature"
DELIVERY_HEADER = "X-CSOPS-Delivery"
EVENT_HEADER = "X-CSOPS-Event"
SIGNATURE_VERSION = "v1"

DEFAULT_TOLERANCE_SECONDS = 300
MAX_ATTEMPTS = 8
DEFAULT_RETRY_BASE_SECONDS = 10
# multiples of the base: 10 s, 30 s, 2 min, 10 min, 30 min, then 1 h (the cap)
RETRY_SCHEDULE = (1, 3, 12, 60, 180, 360)

_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


# -- signatures -------------------------------------------------------------------
def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``f"{timestamp}.".encode() + body`` keyed with ``secret``."""
    message = f"{int(timestamp)}.".encode() + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-CSOPS-Signature`` value: ``t=<timestamp>,v1=<hex>``."""
    return f"t={int(timestamp)},{SIGNATURE_VERSION}={sign(secret, timestamp, body)}"


def parse_header(header) -> tuple[int, list[str]] | None:
    """``(timestamp, [v1 signatures])``, or None when the header is malformed."""
    if not isinstance(header, str) or not header:
        return None
    timestamp, signatures = None, []
    for part in header.split(","):
        key, equals, value = part.strip().partition("=")
        if not equals:
            return None
        if key == "t":
            if timestamp is not None or not _TIMESTAMP.match(value):
                return None
            timestamp = int(value)
        elif key == SIGNATURE_VERSION:
            if not _HEX_DIGEST.match(value):
                return None
            signatures.append(value)
        # other keys (a future v2) are ignored, as Stripe's receivers do
    if timestamp is None or not signatures:
        return None
    return timestamp, signatures


def verify(secret: str, header, body: bytes, now, tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and its timestamp is
    within ``tolerance_seconds`` of ``now`` (unix seconds, or an aware
    datetime). Comparison is constant-time; a malformed header is False."""
    parsed = parse_header(header)
    if parsed is None:
        return False
    timestamp, signatures = parsed
    if isinstance(now, datetime):
        now = now.timestamp()
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, timestamp, body)
    # compare against every candidate, so timing says nothing about which matched
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected, candidate)
    return matched


# -- whose webhooks ---------------------------------------------------------------
WEBHOOK_ADMINS = ("admin",)


def sees_every_webhook(roles) -> bool:
    """Admins see every webhook, anyone else those it made; ``roles`` None is a
    service or an operator's tool, not a person through the gateway."""
    return roles is None or bool(set(roles) & set(WEBHOOK_ADMINS))


# -- retries ----------------------------------------------------------------------
def retry_delay(attempt: int, base_seconds: float = DEFAULT_RETRY_BASE_SECONDS) -> timedelta:
    """How long to wait after failed attempt number ``attempt`` (1-based)."""
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1, not {attempt}")
    multiple = RETRY_SCHEDULE[min(attempt, len(RETRY_SCHEDULE)) - 1]
    return timedelta(seconds=multiple * base_seconds)


def gives_up(attempts: int) -> bool:
    """True once ``attempts`` failed attempts mean no further one is made."""
    return attempts >= MAX_ATTEMPTS
