import pytest
import requests

from appraisal.service import AppraisalService
from gateway.service import GatewayService
from monitoring.service import MonitoringService
from plumbing.config import database_url
from plumbing.testing import publish_event, wait_for
from ticketing.service import TicketingService
from training.service import TrainingService

BACKENDS = {
    "ticketing": TicketingService, "training": TrainingService,
    "appraisal": AppraisalService, "monitoring": MonitoringService,
}
ADMIN_PASSWORD = "admin-test-password"


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
    """A requests session against the gateway; ``client.login(user, password)`` sets its token."""
    session = requests.Session()

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
        admin = requests.Session()
        token = client.post(client.url("/api/v1/auth/token"),
                            json={"username": "admin", "password": ADMIN_PASSWORD}).json()["access_token"]
        admin.headers["Authorization"] = f"Bearer {token}"
        response = admin.post(client.url("/api/v1/accounts"),
                              json={"username": username, "password": password, "roles": roles,
                                    "teams": list(teams)})
        assert response.status_code == 201, response.text
        session = requests.Session()
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
