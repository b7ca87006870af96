"""Webhooks for outside systems (X2): signatures, back-off and event matching.

Plain Python, no nameko or database: ``webhooks/handlers.py`` does the I/O.

Signature (Standard Webhooks, https://www.standardwebhooks.com)
    Each attempt is signed at the time it is sent::

        webhook-id: <delivery id, the same on every attempt>
        webhook-timestamp: <unix seconds>
        webhook-signature: v1,<base64 HMAC-SHA256>

    where the HMAC key is the secret's part after ``whsec_``, base64-decoded,
    and the message is ``f"{id}.{timestamp}.".encode() + body``, the exact
    bytes of the request body (:func:`standard_signature`). The delivery id
    is signed, so a captured request replayed under another id fails, as one
    replayed later does (receivers refuse a timestamp more than five minutes
    off). Integrators verify it with a Standard Webhooks library, or as
    ``docs/events/webhook_receiver_example.py`` does.

    Webhooks made before this scheme (``legacy_signature``) also get the old
    header, which their receivers verify today, with ``X-CSOPS-Delivery``::

        X-CSOPS-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>

    keyed with the whole secret (UTF-8), over ``f"{t}.".encode() + body``:
    the delivery id is not in it (:func:`sign`, :func:`verify`). A webhook
    made anew gets only the standard headers.

Retries
    A delivery is attempted up to ``MAX_ATTEMPTS`` (8) times. After failed
    attempt *n* the next one waits ``retry_delay(n)``: 10 s, 30 s, 2 min,
    10 min, 30 min, 1 h, 1 h (with the default base of 10 s; the base scales
    the whole schedule), about 2 h 43 min from the first attempt to the last.
    After the 8th failure the delivery is ``failed`` for good. The delivery id
    is the same on every attempt, so a receiver can drop duplicates.

Targets (no SSRF)
    A webhook may not make ticketing call this machine, the private network or
    a cloud's metadata service: :func:`target_problem` refuses a host that is
    a metadata name, or resolves to any address that is not public (loopback,
    private, link-local, multicast, reserved, unspecified, or a metadata
    address, also inside IPv6: mapped, 6to4, NAT64), unless the operator's
    :class:`AllowList` names the host or a network holding the address (a
    metadata address must be named itself). ``webhooks/sending.py`` applies
    it when a webhook is made and before every delivery, to the addresses it
    then connects to.

Event types
    A subscription lists exact types (``ticket.created``) or patterns: a
    ``*`` segment stands for exactly one segment (``ticket.*`` matches
    ``ticket.created`` but not ``sla.breached``), and ``*`` alone matches
    every type. The matching is in the contract (``contract.matches``), which
    validates subscriptions with it.
"""
import base64
import collections
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address, ip_network
from urllib.parse import urlsplit

ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = "webhook-id", "webhook-timestamp", "webhook-signature"
LEGACY_SIGNATURE_HEADER = "X-CSOPS-Signature"
LEGACY_DELIVERY_HEADER = "X-CSOPS-Delivery"
EVENT_HEADER = "X-CSOPS-Event"
SIGNATURE_VERSION = "v1"
SECRET_PREFIX = "whsec_"

DEFAULT_TOLERANCE_SECONDS = 300
MAX_ATTEMPTS = 8
DEFAULT_RETRY_BASE_SECONDS = 10
# multiples of the base: 10 s, 30 s, 2 min, 10 min, 30 min, then 1 h (the cap)
RETRY_SCHEDULE = (1, 3, 12, 60, 180, 360)

_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


# -- signatures -------------------------------------------------------------------
def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret, decoded as Standard Webhooks libraries do
    (the older secrets' hex digits are base64 too)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4))


def standard_signature(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>." + body>``."""
    message = f"{delivery_id}.{int(timestamp)}.".encode() + body
    return f"{SIGNATURE_VERSION},{base64.b64encode(hmac.new(secret_key(secret), message, hashlib.sha256).digest()).decode()}"


def signed_headers(secret: str, delivery_id: str, timestamp: int, body: bytes, legacy: bool) -> dict:
    """The headers that sign one attempt; with ``legacy`` the old ones too."""
    headers = {ID_HEADER: delivery_id, TIMESTAMP_HEADER: str(int(timestamp)),
               SIGNATURE_HEADER: standard_signature(secret, delivery_id, timestamp, body)}
    if legacy:
        headers[LEGACY_SIGNATURE_HEADER] = signature_header(secret, timestamp, body)
        headers[LEGACY_DELIVERY_HEADER] = delivery_id
    return headers


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The legacy scheme's hex HMAC-SHA256 of ``f"{timestamp}.".encode() + body`` keyed with ``secret``."""
    message = f"{int(timestamp)}.".encode() + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The legacy ``X-CSOPS-Signature`` value: ``t=<timestamp>,v1=<hex>``."""
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


# -- targets ----------------------------------------------------------------------
ALLOWED_HOSTS_SETTING = "WEBHOOK_ALLOWED_HOSTS"
# names and addresses of the instance metadata services of the big clouds (AWS, its ECS task
# endpoint, GCP, Azure, Alibaba, Oracle): they hand out credentials to whoever asks from inside
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data",
                            "instance-data.ec2.internal"})
METADATA_ADDRESSES = frozenset(ip_address(address) for address in (
    "169.254.169.254", "fd00:ec2::254", "169.254.170.2", "168.63.129.16", "100.100.100.200", "192.0.0.192"))
NAT64 = IPv6Network("64:ff9b::/96")
_HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$")


def host_name(host: str) -> str:
    """A host as compared: lower case, without the root's trailing dot."""
    return host.lower().rstrip(".")


@dataclass(frozen=True)
class AllowList:
    """What the operator lets webhooks reach although it is not public: host
    names (whatever they resolve to) and IP networks (a single address is one)."""
    hosts: frozenset = frozenset()
    networks: tuple = ()

    @classmethod
    def parse(cls, setting: str) -> "AllowList":
        """From ``WEBHOOK_ALLOWED_HOSTS``: entries separated by commas or spaces, e.g.
        ``crm.internal, 10.20.0.0/16, 127.0.0.1, [fd00::1]``."""
        hosts, networks = set(), []
        for entry in re.split(r"[\s,]+", setting or ""):
            if not entry:
                continue
            try:
                networks.append(ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                if "/" in entry or not _HOST_NAME.match(host_name(entry)):
                    raise ValueError(f"{ALLOWED_HOSTS_SETTING}: {entry!r} is neither a host name nor an IP network")
                hosts.add(host_name(entry))
        return cls(frozenset(hosts), tuple(networks))

    def names(self, address) -> bool:
        """The address itself is listed (a /32 or /128), as a metadata address must be."""
        return any(network.num_addresses == 1 and network.network_address == address for network in self.networks)

    def holds(self, address) -> bool:
        return any(address.version == network.version and address in network for network in self.networks)


def embedded_ipv4(address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64), if any."""
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in NAT64:
            return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_kind(address) -> str | None:
    """Why an address is off limits ("loopback", "cloud metadata"...), None for a public one."""
    inner = embedded_ipv4(address)
    if inner is not None:
        return address_kind(inner)
    if address in METADATA_ADDRESSES:
        return "cloud metadata"
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-public"


def name_problem(host: str, allowed: AllowList) -> str | None:
    """Why a webhook may not send to ``host`` whatever it resolves to; None when it may try."""
    name = host_name(host)
    if name in METADATA_NAMES and name not in allowed.hosts:
        return f"{host} is a cloud metadata service"
    return None


def target_problem(host: str, addresses, allowed: AllowList) -> str | None:
    """Why a webhook may not send to ``host`` resolving to ``addresses``; None when it may."""
    if host_name(host) in allowed.hosts:
        return None
    problem = name_problem(host, allowed)
    if problem:
        return problem
    for address in addresses:
        kind = address_kind(address)
        if kind is None:
            continue
        # a metadata address must be named itself; any other may be in a network named
        let_through = allowed.names if kind == "cloud metadata" else allowed.holds
        if let_through(address) or let_through(embedded_ipv4(address) or address):
            continue
        article = "an" if kind[0] in "aeiou" else "a"
        return (f"{host} is {article} {kind} address" if is_address(host)
                else f"{host} is {address}, {article} {kind} address")
    return None


def is_address(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


def shown_url(url: str) -> str:
    """A webhook's URL as logged: no user name, password, query or fragment, which may hold secrets."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


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


def fair_share(due, room: int, in_flight_by_webhook, per_webhook: int) -> list:
    """The ids of ``due`` ((id, webhook) pairs, oldest first) to send now: up to ``room``
    of them, with at most ``per_webhook`` in flight for one webhook."""
    taken, chosen = collections.Counter(), []
    for delivery_id, webhook in due:
        if len(chosen) == room:
            break
        if in_flight_by_webhook.get(webhook, 0) + taken[webhook] < per_webhook:
            taken[webhook] += 1
            chosen.append(delivery_id)
    return chosen


def gives_up(attempts: int) -> bool:
    """True once ``attempts`` failed attempts mean no further one is made."""
    return attempts >= MAX_ATTEMPTS
