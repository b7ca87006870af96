"""Passwords, tokens and roles: plain functions, no framework."""
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES = ("agent", "supervisor", "trainer", "committee", "admin", "integration")
ALGORITHM = "HS256"

# argon2id: memory-hard, so a stolen hash is costly to brute-force
_hasher = PasswordHasher()


class InvalidToken(Exception):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Principal:
    username: str
    roles: tuple
    generation: int  # the account's token generation when the token was issued

    def has_any(self, roles) -> bool:
        return bool(set(self.roles) & set(roles))


def issue_token(secret: str, username: str, roles, ttl_seconds: int, generation=0, now=None) -> str:
    """A token of the account's current ``generation`` of tokens (0 until they are first revoked)."""
    now = now or datetime.now(timezone.utc)
    claims = {
        "sub": username, "roles": list(roles), "gen": generation, "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()), "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "iat"]})
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token has expired") from None
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"token is invalid: {exc}") from None
    roles, generation = claims.get("roles"), claims.get("gen", 0)  # tokens from before generations: 0
    if not isinstance(roles, list):
        raise InvalidToken("token is invalid: no roles")
    if type(generation) is not int:
        raise InvalidToken("token is invalid: no generation")
    return Principal(claims["sub"], tuple(roles), generation)


def bearer_token(authorization_header: str | None) -> str | None:
    if not authorization_header:
        return None
    scheme, _, token = authorization_header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
