"""Signing in (X6): tokens expire, a deactivated account's tokens stop working
on every gateway replica, failed sign-ins are rate-limited across replicas,
and passwords are stored as argon2id."""
import os
import time
from datetime import datetime, timedelta, timezone

import argon2
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
from plumbing.testing import free_port, wait_for


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
    assert requests.get(f"{first}/api/v1/me", headers=sue).status_code == 401   # at once where it was changed
    wait_for(lambda: requests.get(f"{second}/api/v1/me", headers=sue).status_code == 401, timeout=5,
             message="the other replica to refuse the revoked token")   # within its cache's few seconds
    assert sign_in(second, "sue", "password-123").status_code == 401

    assert requests.patch(f"{second}/api/v1/accounts/sue", json={"active": True}, headers=admin).status_code == 200
    time.sleep(1)  # tokens carry whole seconds: a new one is issued after the revocation's second
    again = bearer(sign_in(second, "sue", "password-123"))
    assert requests.get(f"{first}/api/v1/me", headers=again).status_code == 200
    assert requests.get(f"{first}/api/v1/me", headers=sue).status_code == 401   # reactivation revives no old token


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


def test_the_limit_slides_with_the_window(migrated, sqlite_url):
    limits = logins.Limits(per_username=3, per_address=0, window=timedelta(seconds=60))
    start = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
    engine = make_engine(migrated("gateway", sqlite_url))
    with Session(engine) as session, session.begin():
        for seconds in (0, 10, 20):
            logins.record_failure(session, limits, "sue", "10.0.0.1", start + timedelta(seconds=seconds))
        assert logins.retry_after(session, limits, "sue", "10.0.0.1", start + timedelta(seconds=30)) == 30
        assert logins.retry_after(session, limits, "bob", "10.0.0.1", start + timedelta(seconds=30)) is None
        assert logins.retry_after(session, limits, "sue", "10.0.0.1", start + timedelta(seconds=60)) is None
        logins.record_failure(session, limits, "sue", "10.0.0.1", start + timedelta(seconds=61))  # ages out the first
        assert logins.retry_after(session, limits, "sue", "10.0.0.1", start + timedelta(seconds=62)) == 8
    engine.dispose()
