"""Signing in (X6): tokens expire; new roles, a deactivation, a new password or
signing out stop an account's tokens at once on every gateway replica; failed
sign-ins are rate-limited across replicas, atomically, by the client's address
behind trusted proxies; passwords are stored as argon2id."""
import os
import time
from datetime import datetime, timedelta, timezone

import argon2
import eventlet
import jwt
import pytest
import requests
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway import logins
from gateway.models import Account
from gateway.service import GatewayService
from plumbing.config import database_url
from plumbing.db import make_engine
from plumbing.testing import free_port


@pytest.fixture
def start_replicas(start_platform, runner_factory, gateway_config):
    """``start_replicas(**settings)``: two gateway replicas on one database, as
    ``--scale`` runs them; returns their base URLs."""
    def start(**settings):
        gateway_config.update(settings)
        start_platform("ticketing")
        second = dict(gateway_config, WEB_SERVER_ADDRESS=f"127.0.0.1:{free_port()}")
        runner_factory(second, GatewayService).start()
        return [f"http://{config['WEB_SERVER_ADDRESS']}" for config in (gateway_config, second)]
    return start


def sign_in(base_url, username, password=None):
    """``password`` None: the admin's (set by the ``gateway_config`` fixture)."""
    password = password or os.environ["ADMIN_PASSWORD"]
    return requests.post(f"{base_url}/api/v1/auth/token", json={"username": username, "password": password})


def bearer(response):
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def refused_logins(reason):
    return REGISTRY.get_sample_value("csops_gateway_logins_refused_total", {"reason": reason}) or 0


def test_a_token_stops_working_when_its_lifetime_is_over(gateway_config, start_platform, base_url):
    gateway_config["TOKEN_TTL_SECONDS"] = 2
    start_platform("ticketing")
    answer = sign_in(base_url, "admin")
    assert answer.json()["expires_in"] == 2
    headers = bearer(answer)
    assert requests.get(f"{base_url}/api/v1/me", headers=headers).status_code == 200
    expires = jwt.decode(answer.json()["access_token"], options={"verify_signature": False})["exp"]
    time.sleep(expires - time.time() + 0.1)
    expired = requests.get(f"{base_url}/api/v1/me", headers=headers)
    assert expired.status_code == 401 and expired.json()["error"]["message"] == "token has expired"


def test_a_deactivated_accounts_tokens_stop_working_on_every_replica(start_replicas, make_account):
    first, second = start_replicas()
    make_account("sue", ["supervisor"])
    assert_stored_as_argon2id("sue", "password-123")
    sue = bearer(sign_in(first, "sue", "password-123"))
    assert requests.get(f"{second}/api/v1/me", headers=sue).json()["username"] == "sue"   # any replica honours it

    admin = bearer(sign_in(first, "admin"))
    assert requests.patch(f"{first}/api/v1/accounts/sue", json={"active": False}, headers=admin).status_code == 200
    assert statuses_of_me(sue, second, first) == [401, 401]   # at once, on every replica
    assert sign_in(second, "sue", "password-123").status_code == 401

    assert requests.patch(f"{second}/api/v1/accounts/sue", json={"active": True}, headers=admin).status_code == 200
    again = bearer(sign_in(second, "sue", "password-123"))   # at once too: no wait for a new second
    assert requests.get(f"{first}/api/v1/me", headers=again).status_code == 200
    assert requests.get(f"{first}/api/v1/me", headers=sue).status_code == 401   # reactivation revives no old token


def statuses_of_me(headers, *replicas):
    return [requests.get(f"{url}/api/v1/me", headers=headers).status_code for url in replicas]


def test_new_roles_a_new_password_or_signing_out_revoke_the_tokens_at_once_on_every_replica(
        start_replicas, make_account):
    first, second = start_replicas()
    make_account("sue", ["supervisor"])
    admin = bearer(sign_in(first, "admin"))

    def signed_in_on_both(password):
        """A token of sue's, honoured by each replica (so that each has checked it once)."""
        headers = bearer(sign_in(first, "sue", password))
        assert statuses_of_me(headers, first, second) == [200, 200]
        return headers

    sue = signed_in_on_both("password-123")
    changed = requests.patch(f"{first}/api/v1/accounts/sue", json={"roles": ["supervisor", "trainer"]}, headers=admin)
    assert changed.status_code == 200
    assert statuses_of_me(sue, second, first) == [401, 401]
    sue = signed_in_on_both("password-123")
    assert requests.get(f"{second}/api/v1/me", headers=sue).json()["roles"] == ["supervisor", "trainer"]
    unchanged = requests.patch(f"{first}/api/v1/accounts/sue", json={"skills": ["en"]}, headers=admin)
    assert unchanged.status_code == 200 and statuses_of_me(sue, second) == [200]   # a profile change is no revocation

    wrong = requests.put(f"{second}/api/v1/me/password", headers=sue,
                         json={"current_password": "guess", "new_password": "a-new-password-456"})
    assert wrong.status_code == 403 and wrong.json()["error"]["details"] == {"current_password": ["wrong password"]}
    mine = requests.put(f"{second}/api/v1/me/password", headers=sue,
                        json={"current_password": "password-123", "new_password": "a-new-password-456"})
    assert mine.status_code == 200, mine.text
    assert statuses_of_me(sue, first, second) == [401, 401]
    assert statuses_of_me(bearer(mine), first, second) == [200, 200]   # the answer: a token for this session
    assert sign_in(first, "sue", "password-123").status_code == 401
    sue = signed_in_on_both("a-new-password-456")

    reset = requests.put(f"{second}/api/v1/accounts/sue/password", json={"new_password": "reset-by-admin-789"},
                         headers=admin)
    assert reset.status_code == 200 and reset.json()["username"] == "sue"
    assert statuses_of_me(sue, first, second) == [401, 401]
    assert requests.put(f"{first}/api/v1/accounts/nobody/password", json={"new_password": "reset-by-admin-789"},
                        headers=admin).status_code == 404
    sue = signed_in_on_both("reset-by-admin-789")
    other_session = bearer(sign_in(second, "sue", "reset-by-admin-789"))

    signed_out = requests.post(f"{second}/api/v1/auth/sign-out", headers=sue)
    assert signed_out.status_code == 204 and signed_out.content == b""
    assert statuses_of_me(sue, first, second) == [401, 401]
    assert statuses_of_me(other_session, first) == [401]   # every token of hers, not just this one
    assert statuses_of_me(admin, first, second) == [200, 200]   # and nobody else's
    assert statuses_of_me(bearer(sign_in(first, "sue", "reset-by-admin-789")), second) == [200]


def assert_stored_as_argon2id(username, password):
    engine = make_engine(database_url("gateway"))
    with Session(engine) as session:
        stored = session.scalars(select(Account.password_hash).where(Account.username == username)).one()
    engine.dispose()
    parameters = argon2.extract_parameters(stored)
    assert parameters.type is argon2.Type.ID
    assert parameters.memory_cost >= 19 * 1024 and parameters.time_cost >= 2   # OWASP's minimum for argon2id
    assert argon2.PasswordHasher().verify(stored, password) and password not in stored


def test_failed_sign_ins_are_limited_per_username_and_per_address_across_replicas(start_replicas, make_account):
    first, second = start_replicas(LOGIN_MAX_FAILURES=3, LOGIN_MAX_FAILURES_PER_ADDRESS=8,
                                   LOGIN_FAILURE_WINDOW_SECONDS=60)
    make_account("sue", ["supervisor"])
    make_account("cleo", ["committee"])
    wrong, rate_limited = refused_logins("wrong_credentials"), refused_logins("rate_limited")

    assert [sign_in(url, "sue", "guess").status_code for url in (first, second)] == [401, 401]
    assert sign_in(first, "sue", "password-123").status_code == 200   # a success forgets the username's failures
    assert [sign_in(url, "sue", "guess").status_code for url in (second, first, second)] == [401, 401, 401]
    locked = sign_in(first, "sue", "password-123")   # the right password no longer gets in, on either replica
    assert locked.status_code == 429
    error = locked.json()["error"]
    assert error["code"] == "too_many_attempts" and 55 <= error["details"]["retry_after"] <= 60
    assert locked.headers["Retry-After"] == str(error["details"]["retry_after"])
    assert (refused_logins("wrong_credentials"), refused_logins("rate_limited")) == (wrong + 5, rate_limited + 1)

    assert sign_in(first, "cleo", "guess").status_code == 401
    assert sign_in(second, "cleo", "password-123").status_code == 200   # another username: its own budget
    assert [sign_in(url, "cleo", "guess").status_code for url in (first, second)] == [401, 401]  # 8 from here
    assert sign_in(first, "admin").status_code == 429   # now this address waits, whoever it is


@pytest.fixture
def on_postgres(platform_databases, postgres_platform_databases):
    """The platform on PostgreSQL, as deployed (ask for it before the platform's fixtures)."""
    platform_databases.update(postgres_platform_databases)


def test_concurrent_guesses_are_checked_no_more_often_than_the_limit_across_replicas(
        on_postgres, start_replicas, make_account):
    first, second = start_replicas(LOGIN_MAX_FAILURES=3, LOGIN_MAX_FAILURES_PER_ADDRESS=8,
                                   LOGIN_FAILURE_WINDOW_SECONDS=60)
    make_account("sue", ["supervisor"])
    make_account("cleo", ["committee"])
    wrong, rate_limited = refused_logins("wrong_credentials"), refused_logins("rate_limited")

    guesses = list(eventlet.GreenPool(20).imap(
        lambda n: sign_in((first, second)[n % 2], "sue", f"guess-{n}").status_code, range(20)))
    checked = refused_logins("wrong_credentials") - wrong
    assert checked == 3, f"{checked} of 20 concurrent guesses were checked against the password; the limit is 3"
    assert sorted(guesses) == [401] * 3 + [429] * 17
    assert refused_logins("rate_limited") - rate_limited == 17
    assert sign_in(second, "cleo", "password-123").status_code == 200   # sue locked out, nobody else
    at_once = list(eventlet.GreenPool(10).imap(   # more than the limit, all right: they wait, none is refused
        lambda n: sign_in((first, second)[n % 2], "cleo", "password-123").status_code, range(10)))
    assert at_once == [200] * 10


def test_behind_trusted_proxies_each_client_is_counted_by_its_own_address(gateway_config, start_platform, base_url):
    gateway_config.update(LOGIN_MAX_FAILURES=0, LOGIN_MAX_FAILURES_PER_ADDRESS=2,
                          TRUSTED_PROXIES="10.0.0.0/8, 127.0.0.1")   # the test connects from 127.0.0.1
    start_platform("ticketing")

    def guess(forwarded_for):
        return requests.post(f"{base_url}/api/v1/auth/token", json={"username": "nobody", "password": "guess"},
                             headers={"X-Forwarded-For": forwarded_for}).status_code

    # a client, then the proxy in 10/8 that forwarded it, then the one connecting (127.0.0.1)
    assert [guess("203.0.113.5, 10.1.2.3") for _ in range(3)] == [401, 401, 429]
    assert guess("192.0.2.1, 203.0.113.5, 10.1.2.3") == 429   # what the client wrote itself is no address
    assert guess("198.51.100.7, 10.1.2.3") == 401   # another client behind the same proxies: its own budget
    assert guess("198.51.100.7") == 401


def test_without_trusted_proxies_x_forwarded_for_is_ignored(gateway_config, start_platform, base_url):
    gateway_config.update(LOGIN_MAX_FAILURES=0, LOGIN_MAX_FAILURES_PER_ADDRESS=2, TRUSTED_PROXIES="10.0.0.0/8")
    start_platform("ticketing")
    statuses = [requests.post(f"{base_url}/api/v1/auth/token", json={"username": "nobody", "password": "guess"},
                              headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(3)]
    assert statuses == [401, 401, 429]   # all from 127.0.0.1, which is no trusted proxy


def test_the_limit_slides_with_the_window(migrated, sqlite_url):
    limits = logins.Limits(per_username=3, per_address=0, window=timedelta(seconds=60))
    start = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
    engine = make_engine(migrated("gateway", sqlite_url))

    def attempt(username, seconds, still_checking=None):
        """An attempt's wait; one let through fails, unless its rows go to ``still_checking``."""
        with Session(engine) as session, session.begin():
            wait, rows = logins.begin(session, limits, username, "10.0.0.1", start + timedelta(seconds=seconds))
            if still_checking is None:
                logins.failed(session, username, "10.0.0.1", rows)
            else:
                still_checking.extend(rows)
            return wait
    checking = []
    assert [attempt("sue", 0), attempt("sue", 10), attempt("sue", 20, checking)] == [
        None, None, None]
    assert attempt("sue", 25) == logins.BUSY  # the limit is full only while the third is checked
    with Session(engine) as session, session.begin():
        logins.failed(session, "sue", "10.0.0.1", checking)
    assert attempt("sue", 30) == 30
    assert attempt("bob", 30) is None
    assert attempt("sue", 60) is None  # the first failure has left the window
    assert attempt("sue", 62) == 8  # the second leaves it at 70
    engine.dispose()
