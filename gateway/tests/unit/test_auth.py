from datetime import datetime, timedelta, timezone

import pytest

from gateway import auth

SECRET = "a-test-secret-of-32-bytes-or-more"


def test_password_hash_verifies_only_the_same_password():
    hashed = auth.hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert auth.verify_password(hashed, "correct horse")
    assert not auth.verify_password(hashed, "Correct horse")
    assert not auth.verify_password("not a hash", "correct horse")


def test_token_round_trip_keeps_username_and_roles():
    token = auth.issue_token(SECRET, "alice", ["agent", "supervisor"], ttl_seconds=60)
    principal = auth.read_token(SECRET, token)
    assert principal.username == "alice"
    assert principal.roles == ("agent", "supervisor")
    assert principal.has_any(("supervisor", "admin"))
    assert not principal.has_any(("admin",))


def test_token_signed_with_another_secret_is_refused():
    token = auth.issue_token(SECRET, "alice", ["agent"], ttl_seconds=60)
    with pytest.raises(auth.InvalidToken, match="invalid"):
        auth.read_token(SECRET.upper(), token)


def test_expired_token_is_refused():
    issued = datetime.now(timezone.utc) - timedelta(hours=2)
    token = auth.issue_token(SECRET, "alice", ["agent"], ttl_seconds=60, now=issued)
    with pytest.raises(auth.InvalidToken, match="expired"):
        auth.read_token(SECRET, token)


@pytest.mark.parametrize("header, token", [
    ("Bearer abc.def", "abc.def"), ("bearer abc", "abc"), ("Basic abc", None), ("Bearer ", None), (None, None),
])
def test_bearer_token_is_read_from_the_authorization_header(header, token):
    assert auth.bearer_token(header) == token
