"""One webhook request, sent without SSRF (X6).

    1. The URL's host is resolved once and every address it has is checked
       (``rules.target_problem`` with the operator's allow-list): a webhook
       made before the check, or whose name now resolves elsewhere, is
       refused here as at creation.
    2. The request goes to the checked address, while the name stays in the
       Host header and in TLS (SNI, and the certificate must be for the
       name): a name that resolves to loopback a moment after the check (DNS
       rebinding) changes nothing, since it is not looked up again.
    3. Everything, from the lookup to the answer's status line, must end
       within the deadline, however slowly the receiver trickles its answer.

No proxy, ``.netrc`` or CA bundle is taken from the environment. Settings:
``WEBHOOK_ALLOWED_HOSTS`` (``rules.AllowList``), ``WEBHOOK_DEADLINE_SECONDS``
(default 15) and ``WEBHOOK_CA_BUNDLE`` (the CAs receivers' certificates must
come from; default certifi's), each also as ``TICKETING_<name>`` in the
environment.
"""
import functools
import socket
import ssl
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urlsplit, urlunsplit

import certifi
import eventlet
import requests
from requests.adapters import HTTPAdapter

from plumbing.config import setting
from ticketing.webhooks import rules

DEFAULT_DEADLINE_SECONDS = 15
CONNECT_TIMEOUT_SECONDS = 5
DEFAULT_PORTS = {"http": 80, "https": 443}


class Refused(Exception):
    """The target is off limits, or its name does not resolve."""


class DeadlinePassed(Exception):
    """The receiver did not answer within the deadline."""


@dataclass(frozen=True)
class Settings:
    allowed: rules.AllowList
    deadline_seconds: float
    ca_bundle: str   # the file of CAs a receiver's certificate must come from

    @classmethod
    def of(cls, config):
        def get(name, default):
            return setting(config, "ticketing", name, default)
        return cls(rules.AllowList.parse(get(rules.ALLOWED_HOSTS_SETTING, "")),
                   float(get("WEBHOOK_DEADLINE_SECONDS", DEFAULT_DEADLINE_SECONDS)),
                   get("WEBHOOK_CA_BUNDLE", "") or certifi.where())


def resolve(host, port) -> list:
    """The addresses ``host`` resolves to now, none if it does not."""
    try:
        found = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    # a link-local IPv6 answer may carry its interface (fe80::1%eth0)
    return list(dict.fromkeys(ip_address(info[4][0].partition("%")[0]) for info in found))


def checked_address(url, settings: Settings):
    """The address to send ``url``'s request to; raises ``Refused``."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise Refused("must not carry a user name or password")
    host = parts.hostname or ""
    problem = rules.name_problem(host, settings.allowed)
    if problem:
        raise Refused(problem)
    addresses = ([ip_address(host)] if rules.is_address(host)
                 else resolve(host, parts.port or DEFAULT_PORTS.get(parts.scheme)))
    if not addresses:
        raise Refused(f"{host} does not resolve")
    problem = rules.target_problem(host, addresses, settings.allowed)
    if problem:
        raise Refused(problem)
    return addresses[0]


def target_problem(url, settings: Settings) -> str | None:
    """Why a new webhook may not send to ``url``, None when it may."""
    with eventlet.Timeout(CONNECT_TIMEOUT_SECONDS) as waited:
        try:
            checked_address(url, settings)
        except Refused as refused:
            return str(refused)
        except eventlet.Timeout as passed:
            if passed is not waited:
                raise
            return f"{urlsplit(url).hostname} did not resolve within {CONNECT_TIMEOUT_SECONDS} s"
    return None


class NameForTls(HTTPAdapter):
    """Connects to the address in the URL, but speaks TLS to ``name``: SNI and the certificate check."""

    def __init__(self, name, ca_bundle):
        self.name = name
        self.context = tls_context(ca_bundle)
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, server_hostname=self.name, ssl_context=self.context, **kwargs)


@functools.lru_cache(maxsize=4)
def tls_context(ca_bundle):
    # made at the first request, from the ssl module as eventlet patched it (an urllib3 imported
    # before the patch would make its own from the unpatched one)
    return ssl.create_default_context(cafile=ca_bundle)


def post(url, body: bytes, headers: dict, settings: Settings):
    """POST ``body`` to ``url`` at its checked address; the answer's (status, reason). Raises
    ``Refused``, ``DeadlinePassed`` or a ``requests.RequestException``. The answer's body is not read."""
    parts = urlsplit(url)
    with eventlet.Timeout(settings.deadline_seconds) as deadline:
        try:
            address = checked_address(url, settings)
            shown = f"[{address}]" if address.version == 6 else str(address)
            pinned = urlunsplit((parts.scheme, shown + (f":{parts.port}" if parts.port else ""), parts.path,
                                 parts.query, ""))
            with requests.Session() as session:
                session.trust_env = False
                session.mount("https://", NameForTls(parts.hostname, settings.ca_bundle))
                with session.post(pinned, data=body, headers={**headers, "Host": parts.netloc},
                                  verify=settings.ca_bundle, timeout=(CONNECT_TIMEOUT_SECONDS, settings.deadline_seconds),
                                  allow_redirects=False, stream=True) as response:
                    return response.status_code, response.reason
        except eventlet.Timeout as passed:
            if passed is not deadline:
                raise
            raise DeadlinePassed(f"the receiver took longer than the {settings.deadline_seconds:g} s deadline")
