"""Gateway settings: nameko config first (tests), then the environment."""
import ipaddress
import os
from dataclasses import dataclass
from datetime import timedelta

from gateway.logins import Limits
from plumbing.config import SettingError, secret

MIN_JWT_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash
# what the example files (.env.example, deploy/k8s/secret) and the retired built-in defaults hold:
# a value anyone can read there is no secret
EXAMPLE_VALUES = {"", "admin", "check", "change-me", "changeme", "password", "secret",
                  "local-development-secret-change-me"}


@dataclass(frozen=True)
class Secrets:
    jwt_secret: str  # signs access tokens
    admin_password: str  # of the first admin, made on an empty account store


def secrets(config) -> Secrets:
    """The gateway's secrets; there are no built-in ones. An empty or example value counts as
    unset; without them the gateway does not start (``SettingError``, one line)."""
    values = {name: config.get(name) or secret(name) for name in ("JWT_SECRET", "ADMIN_PASSWORD")}
    missing = [name for name, value in values.items() if is_example(value)]
    if missing:
        raise SettingError(
            f"gateway: set {' and '.join(missing)} in its environment (random values, the signing secret of at "
            f"least {MIN_JWT_SECRET_BYTES} bytes, e.g. `openssl rand -hex 32`; empty and example values do not "
            "count); `make up` generates both for a local platform")
    return Secrets(values["JWT_SECRET"], values["ADMIN_PASSWORD"])


def is_example(value) -> bool:
    value = (value or "").strip().lower()
    return value in EXAMPLE_VALUES or value.startswith("change-me")


def trusted_proxies(config) -> tuple:
    """``TRUSTED_PROXIES``: the reverse proxies in front of the gateway (addresses or networks,
    comma-separated), whose ``X-Forwarded-For`` is believed; none by default."""
    value = config.get("TRUSTED_PROXIES") or os.environ.get("TRUSTED_PROXIES", "")
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip())
    except ValueError as error:
        raise SettingError(f"gateway: set TRUSTED_PROXIES to addresses or networks, comma-separated "
                           f"(e.g. 10.0.0.0/8, 192.0.2.7): {error}") from None


def token_ttl_seconds(config) -> int:
    return int(config.get("TOKEN_TTL_SECONDS") or os.environ.get("TOKEN_TTL_SECONDS", 3600))


def login_limits(config):
    """The sign-in rate limit: failures per username and per client address
    within a window (``LOGIN_*``; 0 turns a limit off)."""
    def number(name, default):
        value = config.get(name)
        return int(value if value is not None else os.environ.get(name, default))
    return Limits(number("LOGIN_MAX_FAILURES", 5), number("LOGIN_MAX_FAILURES_PER_ADDRESS", 50),
                  timedelta(seconds=number("LOGIN_FAILURE_WINDOW_SECONDS", 900)))
