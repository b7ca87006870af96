"""Gateway settings: nameko config first (tests), then the environment."""
import os

LOCAL_JWT_SECRET = "local-development-secret-change-me"


def jwt_secret(config) -> str:
    return config.get("JWT_SECRET") or os.environ.get("JWT_SECRET") or LOCAL_JWT_SECRET


def token_ttl_seconds(config) -> int:
    return int(config.get("TOKEN_TTL_SECONDS") or os.environ.get("TOKEN_TTL_SECONDS", 3600))
