"""Gateway settings: nameko config first (tests), then the environment."""
import os

LOCAL_JWT_SECRET = "local-development-secret-change-me"
MIN_JWT_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash


def jwt_secret(config) -> str:
    return config.get("JWT_SECRET") or os.environ.get("JWT_SECRET") or LOCAL_JWT_SECRET


def token_ttl_seconds(config) -> int:
    return int(config.get("TOKEN_TTL_SECONDS") or os.environ.get("TOKEN_TTL_SECONDS", 3600))
