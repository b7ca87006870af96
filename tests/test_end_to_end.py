"""The walking skeleton end to end: `make up`, then what a first user does.

Runs the real Procfile processes against a fresh RabbitMQ vhost and SQLite
files in a temporary folder: get a token, create a ticket, see it listed,
see appraisal's count change through the event, see histograms move, and
stop everything with Ctrl-C. And the README's first request, run as written.
"""
import contextlib
import json
import os
import re
import signal
import subprocess

import pytest
import requests
from kombu import Connection

from plumbing.services import NAMES
from plumbing.testing import free_port, wait_for
from plumbing.topology import handler_queue
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

TICKET = {"subject": "Charged twice", "description": "Two debits for order 8812", "channel": "web_form",
          "kind": "complaint", "priority": "high",
          "customer": {"name": "Chen Jie", "contact": "+86 139 1234 5678"}}


@contextlib.contextmanager
def make_up(process_env, tmp_path, **settings):
    """`make up` on free ports with ``settings`` added to the environment, once it answers /health:
    yields (base URL, {NAME: port}, the make process, its log's path); Ctrl-C afterwards."""
    ports = {name.upper(): free_port() for name in NAMES}
    env = {key: value for key, value in process_env.items() if key != "ADMIN_PASSWORD"}
    env.update(GATEWAY_PORT=str(ports["GATEWAY"]), JWT_SECRET="e2e-secret-of-at-least-32-bytes-long",
               **{f"{name}_METRICS_PORT": str(port) for name, port in ports.items()}, **settings)
    log = open(tmp_path / "make-up.log", "wb")
    process = subprocess.Popen(["make", "--no-print-directory", "up"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{ports['GATEWAY']}"

    def healthy():
        assert process.poll() is None, (tmp_path / "make-up.log").read_text()
        try:
            return requests.get(f"{base}/health", timeout=3).status_code == 200
        except requests.ConnectionError:
            return False
    try:
        wait_for(healthy, timeout=120, interval=0.5, message="make up to report healthy")
        yield base, ports, process, tmp_path / "make-up.log"
    finally:
        stop_the_platform(process)


@pytest.fixture
def platform(process_env, tmp_path):
    with make_up(process_env, tmp_path, ADMIN_PASSWORD="e2e-admin-password") as running:
        yield running


@pytest.fixture
def fresh_platform(process_env, tmp_path):
    """As on a fresh clone: no ADMIN_PASSWORD, so the first admin gets the password make up
    generated in the clone's var/secrets (kept from an earlier `make up`, or made now)."""
    with make_up(process_env, tmp_path) as running:
        yield running


def stop_the_platform(process):
    """Ctrl-C, so honcho stops the services it started (each runs in a session
    of its own: killing honcho alone would leave them running)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def metric(url, line_start):
    for line in requests.get(url, timeout=5).text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_first_request_flows_through_every_part(platform, rabbit_config, event_schemas):
    base, ports, process, log_path = platform
    outside = handler_queue("ticketing", "ticket.created", "e2e", "reader")
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        outside(connection.default_channel).declare()

    session = requests.Session()
    token = session.post(f"{base}/api/v1/auth/token",
                         json={"username": "admin", "password": "e2e-admin-password"}).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    ticketing_metrics = f"http://127.0.0.1:{ports['TICKETING']}/metrics"
    created_before = metric(ticketing_metrics,
                            'csops_rpc_duration_seconds_count{method="create_tickets",outcome="success"}')

    response = session.post(f"{base}/api/v1/tickets", json=TICKET, headers={"X-Request-Id": "e2e-request-1"})
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-Id"] == "e2e-request-1"
    ticket = response.json()

    listed = session.get(f"{base}/api/v1/tickets").json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == ticket["id"]

    counts = wait_for(lambda: session.get(f"{base}/api/v1/appraisal/ticket-counts").json()["items"],
                      timeout=20, message="appraisal to count the ticket")
    assert counts == [{"agent": None, "day": ticket["created_at"][:10], "tickets": 1}]   # no agent on duty yet

    with Connection(rabbit_config["AMQP_URI"]) as connection, connection.SimpleQueue(outside) as queue:
        message = queue.get(timeout=10)
        envelope = json.loads(message.body)
        message.ack()
    event_schemas.validate(envelope)
    assert envelope["requestid"] == "e2e-request-1"
    assert envelope["data"]["ticket_id"] == ticket["id"]

    assert metric(ticketing_metrics,
                  'csops_rpc_duration_seconds_count{method="create_tickets",outcome="success"}') == created_before + 1
    appraisal_metrics = f"http://127.0.0.1:{ports['APPRAISAL']}/metrics"
    assert metric(appraisal_metrics, 'csops_event_handler_duration_seconds_count{event="ticketing.ticket.created"') == 1
    assert metric(f"{base}/metrics", 'csops_http_request_duration_seconds_count{method="POST",'
                                      'route="/api/v1/tickets",status="201"}') == 1

    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
    process.wait(timeout=60)
    log = log_path.read_text()
    for name in NAMES:
        assert f"stopping services: {name}" in log
    assert "Traceback" not in log
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/health", timeout=3)


def readme_first_request():
    """The shell block under README's "A first request"."""
    return re.search(r"^## A first request\n.*?```sh\n(.*?)```", (ROOT / "README.md").read_text(),
                     re.MULTILINE | re.DOTALL).group(1)


# Every command must succeed: curl fails on an HTTP error status (showing the body), and the
# first command that fails stops the script and is named.
STRICT = """set -euo pipefail
trap 'echo "failed: $BASH_COMMAND" >&2' ERR
curl() { command curl --fail-with-body "$@" || { status=$?; echo "failed: curl $*" >&2; exit $status; }; }
"""


def test_the_readme_first_request_succeeds_as_written(fresh_platform):
    _, ports, _, _ = fresh_platform
    block = readme_first_request()
    # the README's addresses are make up's defaults; this platform runs on free ports
    assert "localhost:8000" in block and "localhost:9101" in block
    script = (block.replace("localhost:8000", f"localhost:{ports['GATEWAY']}")
              .replace("localhost:9101", f"localhost:{ports['TICKETING']}"))
    # from the clone, as a reader runs it: the block reads the admin password make up keeps in var/
    done = subprocess.run(["bash", "-c", STRICT + script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"total": 1' in done.stdout and "Parcel arrived damaged" in done.stdout
    assert 'csops_rpc_duration_seconds_count{method="create_tickets",outcome="success"} 1.0' in done.stdout
