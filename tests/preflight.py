"""What `make test` needs besides the venv, checked before the first test runs.

    python3 tests/preflight.py      # make test runs it first

RabbitMQ's management and prometheus plugins are enabled here when they are
off, `rabbitmq-plugins` is on this machine and the broker is the local one.
Anything else missing stops the run at once: one line per missing piece with
the command that provides it (``.ci/run`` sets all of it up). Standard library
only: it runs before the virtual environment exists.
"""
import base64
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import NamedTuple
from urllib.parse import urlsplit

# where the tests look: conftest.py (TEST_POSTGRES_URL), nameko's pytest plugin, tests/test_observability.py
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
BROKER = ("127.0.0.1", 5672)
MANAGEMENT_API = "http://127.0.0.1:15672/api/overview"
BROKER_METRICS = "http://127.0.0.1:15692/metrics"
GUEST = "Basic " + base64.b64encode(b"guest:guest").decode()


class Need(NamedTuple):
    what: str
    provided_by: str


POSTGRES_ADDRESS = (urlsplit(POSTGRES_URL).hostname, urlsplit(POSTGRES_URL).port or 5432)
POSTGRES = Need(f"PostgreSQL at {POSTGRES_ADDRESS[0]}:{POSTGRES_ADDRESS[1]} (user postgres, trust auth)",
                "pg_ctlcluster <version> main start (Debian package postgresql)")
RABBITMQ = Need(f"RabbitMQ at {BROKER[0]}:{BROKER[1]} (guest/guest)",
                "rabbitmq-server -detached (Debian package rabbitmq-server)")
MANAGEMENT = Need("RabbitMQ's management plugin on :15672 (nameko's fixtures make a vhost per test)",
                  "rabbitmq-plugins enable rabbitmq_management")
PROMETHEUS_PLUGIN = Need("RabbitMQ's prometheus plugin on :15692 (queue depths for the dashboards' test)",
                         "rabbitmq-plugins enable rabbitmq_prometheus")
PROMTOOL = Need("promtool and prometheus (check and run the Prometheus config and alert rules)",
                "apt-get install prometheus")
COMPOSE = Need("docker-compose (validates docker-compose.yml)", "apt-get install docker-compose")
NODE = Need("Node.js 20 or later and npm (the contract tests' tools, contracts/node)", "apt-get install nodejs npm")
PLUGINS = {MANAGEMENT: "rabbitmq_management", PROMETHEUS_PLUGIN: "rabbitmq_prometheus"}


def port_open(host, port, timeout=2.0):
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def node_20_or_later():
    if not (shutil.which("node") and shutil.which("npm")):
        return False
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30).stdout
    return int(version.lstrip("v").split(".")[0] or 0) >= 20


def answers(url, authorization=None):
    request = urllib.request.Request(url, headers={"Authorization": authorization} if authorization else {})
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


CHECKS = {
    POSTGRES: lambda: port_open(*POSTGRES_ADDRESS),
    RABBITMQ: lambda: port_open(*BROKER),
    MANAGEMENT: lambda: answers(MANAGEMENT_API, GUEST),
    PROMETHEUS_PLUGIN: lambda: answers(BROKER_METRICS),
    PROMTOOL: lambda: bool(shutil.which("promtool") and shutil.which("prometheus")),
    COMPOSE: lambda: bool(shutil.which("docker-compose")),
    NODE: node_20_or_later,
}


def missing(checks):
    """The needs whose check fails; the plugins are not asked about while the broker itself is missing."""
    absent = [need for need, present in checks.items() if need not in PLUGINS and not present()]
    if RABBITMQ not in absent:
        absent += [need for need in PLUGINS if not checks[need]()]
    return absent


def lines(absent):
    return [f"make test needs {need.what}: {need.provided_by}" for need in absent]


def enable_plugins(plugins, checks, timeout=60):
    """``rabbitmq-plugins enable`` on the local node; True once every plugin answers."""
    tool = shutil.which("rabbitmq-plugins")
    if tool is None or BROKER[0] not in ("127.0.0.1", "localhost"):
        return False
    print(f"preflight: enabling {' '.join(PLUGINS[need] for need in plugins)}", file=sys.stderr)
    done = subprocess.run([tool, "-q", "enable", *(PLUGINS[need] for need in plugins)],
                          capture_output=True, text=True, timeout=120)
    deadline = time.monotonic() + timeout
    while done.returncode == 0 and time.monotonic() < deadline:
        if all(checks[need]() for need in plugins):
            return True
        time.sleep(1)
    return False


def preflight(checks=CHECKS, enable=enable_plugins):
    """The lines that stop the run; empty when everything is there (the plugins enabled if need be)."""
    absent = missing(checks)
    plugins = [need for need in absent if need in PLUGINS]
    if plugins and enable(plugins, checks):
        absent = [need for need in absent if need not in plugins]
    return lines(absent)


def main():
    problems = preflight()
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
