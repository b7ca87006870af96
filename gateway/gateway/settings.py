"""Gateway settings: nameko config first (tests), then the environment."""
import os
from datetime import timedelta

from gateway.logins import Limits

LOCAL_JWT_SECRET = "local-development-secret-change-me"
MIN_JWT_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash


def jwt_secret(config) -> str:
    return config.get("JWT_SECRET") or os.environ.get("JWT_SECRET") or LOCAL_JWT_SECRET


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
