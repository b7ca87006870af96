import re
from functools import lru_cache
from urllib.parse import urlsplit

import pytest
import requests
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from appraisal.service import AppraisalService
from channels.service import ChannelsService
from gateway.openapi import document
from gateway.service import GatewayService
from monitoring.service import MonitoringService
from plumbing.config import database_url
from plumbing.testing import publish_event, wait_for
from ticketing.service import TicketingService
from training.service import TrainingService

BACKENDS = {
    "ticketing": TicketingService, "training": TrainingService,
    "appraisal": AppraisalService, "monitoring": MonitoringService, "channels": ChannelsService,
}
ADMIN_PASSWORD = "admin-test-password"


@lru_cache(maxsize=None)
def promised_bodies():
    """[(method, path pattern, {status: validator of its JSON body})], literal paths before templated ones."""
    spec = document(GatewayService)
    operations = []
    for path, item in sorted(spec["paths"].items(), key=lambda entry: entry[0].count("{")):
        pattern = re.compile("^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(path)) + "$")
        for method, op in item.items():
            bodies = {status: OAS30Validator({**answer["content"]["application/json"]["schema"],
                                              "components": spec["components"]}, format_checker=oas30_format_checker)
                      for status, answer in op["responses"].items() if "application/json" in answer.get("content", {})}
            operations.append((method.upper(), pattern, bodies))
    return operations


def as_promised(response, *args, **kwargs):
    """A requests response hook: a JSON answer with a documented status has the body the OpenAPI
    document promises (every required field there, null only where nullable), or the test fails.
    Undocumented statuses are the fuzz test's (test_openapi_fuzz.py) to find."""
    path = urlsplit(response.url).path
    method = response.request.method
    bodies = next((bodies for verb, pattern, bodies in promised_bodies() if verb == method and pattern.match(path)), {})
    validator = bodies.get(str(response.status_code))
    if validator is None or not response.headers.get("Content-Type", "").startswith("application/json"):
        return
    problems = [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
                for error in validator.iter_errors(response.json())]
    assert problems == [], f"{method} {path} {response.status_code} is not the documented answer"


def checked_session():
    session = requests.Session()
    session.hooks["response"].append(as_promised)
    return session


@pytest.fixture
def platform_databases():
    """Database URLs by service; a service not named gets an SQLite file under tmp_path.
    Override it in a test module to run the platform on PostgreSQL, as deployed
    (``postgres_platform_databases``)."""
    return {}


@pytest.fixture
def postgres_platform_databases(new_postgres_database):
    return {service: new_postgres_database() for service in ["gateway", *BACKENDS]}


@pytest.fixture
def gateway_config(service_config, web_config, tmp_path, monkeypatch, platform_databases, migrated):
    """Every service gets its own database (SQLite under tmp_path unless told), migrated."""
    monkeypatch.setenv("CSOPS_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("TICKETING_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")  # the tests' webhook receivers are on loopback
    monkeypatch.setenv("ADMIN_PASSWORD", ADMIN_PASSWORD)
    for service in ["gateway", *BACKENDS]:
        if service in platform_databases:
            monkeypatch.setenv(f"{service.upper()}_DATABASE_URL", platform_databases[service])
        migrated(service, database_url(service))
    return dict(service_config, **web_config, JWT_SECRET="test-secret-of-at-least-32-bytes-long", RPC_TIMEOUT_SECONDS=5)


@pytest.fixture
def start_platform(runner_factory, gateway_config):
    """Start the gateway and the named backends (all of them by default)."""
    runners = []

    def start(*backends):
        classes = [BACKENDS[name] for name in (backends or BACKENDS)]
        runners.append(runner_factory(gateway_config, GatewayService, *classes))
        runners[-1].start()
        return runners[-1]
    yield start
    for runner in runners:  # before their databases are dropped (runner_factory's own kill comes after that)
        runner.kill()


@pytest.fixture
def base_url(gateway_config):
    return f"http://{gateway_config['WEB_SERVER_ADDRESS']}"


@pytest.fixture
def client(base_url):
    """A requests session against the gateway; ``client.login(user, password)`` sets its token.
    Every answer it gets is checked against the OpenAPI document (``as_promised``)."""
    session = checked_session()

    def login(username="admin", password=ADMIN_PASSWORD):
        response = session.post(f"{base_url}/api/v1/auth/token", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return session

    def url(path):
        return base_url + path

    session.login = login
    session.url = url
    yield session
    session.close()


@pytest.fixture
def make_account(client, gateway_config):
    """Create an account (in ``teams``) as admin and return a logged-in session for it;
    agents are also certified by training (an event) and known to routing."""
    def make(username, roles, password="password-123", teams=()):
        admin = checked_session()
        token = client.post(client.url("/api/v1/auth/token"),
                            json={"username": "admin", "password": ADMIN_PASSWORD}).json()["access_token"]
        admin.headers["Authorization"] = f"Bearer {token}"
        response = admin.post(client.url("/api/v1/accounts"),
                              json={"username": username, "password": password, "roles": roles,
                                    "teams": list(teams)})
        assert response.status_code == 201, response.text
        session = checked_session()
        session.url = client.url
        token = session.post(client.url("/api/v1/auth/token"),
                             json={"username": username, "password": password}).json()["access_token"]
        session.headers["Authorization"] = f"Bearer {token}"
        if "agent" in roles:
            publish_event(gateway_config["AMQP_URI"], "training", "training.certified", {
                "agent": username, "certification": "onboarding", "clears_for_duty": True, "valid_until": None})
            wait_for(lambda: any(a["username"] == username and a["cleared"]
                                 for a in admin.get(client.url("/api/v1/agents")).json()["items"]),
                     message=f"{username} cleared for duty")
        return session
    return make
