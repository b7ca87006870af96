"""docker-compose.yml run for real (`make test-compose`): the images built from Debian by
deploy/local/images.sh, docker-compose (Debian's 1.29) driving Podman through its Docker API on a
socket of the test's own, docker-compose.local.yml on top, every host port a free one on 127.0.0.1
(the machine's own RabbitMQ, PostgreSQL and the other tests' servers are left alone).

Podman without systemd runs no healthcheck by itself (it schedules them with systemd timers):
``HealthTicker`` runs each container's ``podman healthcheck run`` at the container's own interval,
as Docker's engine would. Everything the run made is removed at the end (``down -v``), also
when it fails; the images stay for the next run.
"""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from plumbing.testing import free_port
from tests.conftest import ROOT

PROJECT = "csops-composetest"
COMPOSE_FILES = ["-f", "docker-compose.yml", "-f", "docker-compose.local.yml"]
ADMIN_PASSWORD = "compose-admin-password-1"
SECRETS = [
    "RABBITMQ_PASSWORD", "POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD",
    *(f"RABBITMQ_{name}_PASSWORD" for name in
      ("GATEWAY", "TICKETING", "TRAINING", "APPRAISAL", "MONITORING", "CHANNELS", "TOPOLOGY")),
    *(f"POSTGRES_{name}_PASSWORD" for name in
      ("GATEWAY", "TICKETING", "TRAINING", "APPRAISAL", "MONITORING", "CHANNELS")),
]
REPORT = []  # (what, figure) printed at the end of the session


def report(what, figure):
    REPORT.append((what, figure))
    print(f"compose: {what}: {figure}", flush=True)


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.section("compose run")
        for what, figure in REPORT:
            terminalreporter.write_line(f"{what}: {figure}")


class Compose:
    def __init__(self, env, env_file):
        self.env = env
        self.command = ["docker-compose", "--env-file", str(env_file), "-p", PROJECT, *COMPOSE_FILES]
        settings = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line
                        and not line.startswith("#"))
        self.base = f"http://127.0.0.1:{settings['GATEWAY_HOST_PORT']}"
        self.prometheus = f"http://127.0.0.1:{settings['PROMETHEUS_HOST_PORT']}"

    def run(self, *args, timeout=600, check=True):
        result = subprocess.run([*self.command, *args], cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode:
            raise AssertionError(f"docker-compose {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}\n{self.logs()}")
        return result

    def containers(self, service=None, every=False):
        """{name: inspect} of the project's containers (of ``service``), running only unless ``every``."""
        labels = [f"label=com.docker.compose.project={PROJECT}"]
        if service:
            labels.append(f"label=com.docker.compose.service={service}")
        ids = podman("ps", "-q", *(["-a"] if every else []),
                     *(item for label in labels for item in ("--filter", label))).split()
        if not ids:
            return {}
        return {item["Name"].lstrip("/"): item for item in json.loads(podman("inspect", *ids))}

    def health(self):
        return {name: (item["State"].get("Health") or item["State"].get("Healthcheck") or {}).get("Status", "none")
                for name, item in self.containers().items()}

    def wait_healthy(self, services, replicas=None, timeout=300):
        """Until every container of ``services`` (``replicas`` of each when given) reports healthy."""
        deadline = time.monotonic() + timeout
        while True:
            health = self.health()
            pending = []
            for service in services:
                names = [name for name in health if name.startswith(f"{PROJECT}_{service}_")]
                if replicas and len(names) < replicas.get(service, 1):
                    pending.append(f"{service}: {len(names)} containers")
                pending += [f"{name}: {health[name]}" for name in names if health[name] != "healthy"]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not healthy after {timeout}s: {pending}\n{self.logs()}")
            time.sleep(2)

    def logs(self):
        result = subprocess.run([*self.command, "logs", "--no-color", "--tail", "30"], cwd=ROOT,
                                env=self.env, capture_output=True, text=True, timeout=120)
        return result.stdout[-12000:]

    def leftovers(self):
        label = f"label=com.docker.compose.project={PROJECT}"
        return {kind: podman(kind, "ls", "-q", "--filter", label).split() if kind != "container"
                else podman("ps", "-aq", "--filter", label).split()
                for kind in ("container", "volume", "network", "pod")}


def podman(*args, timeout=120):
    return subprocess.run(["podman", *args], check=True, capture_output=True, text=True, timeout=timeout).stdout


class HealthTicker(threading.Thread):
    """Runs each running container's healthcheck at its own interval (Podman without systemd never does)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stopping = threading.Event()
        self.due = {}

    def run(self):
        while not self.stopping.wait(1):
            try:
                self.tick()
            except Exception:  # a container gone between listing and checking: the next tick sees it gone
                pass

    def tick(self):
        ids = podman("ps", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}").split()
        now = time.monotonic()
        for item in json.loads(podman("inspect", *ids)) if ids else []:
            check = item["Config"].get("Healthcheck")
            if not check or item["Id"] in self.due and self.due[item["Id"]] > now:
                continue
            self.due[item["Id"]] = now + check.get("Interval", 30_000_000_000) / 1e9
            subprocess.Popen(["podman", "healthcheck", "run", item["Id"]], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)

    def stop(self):
        self.stopping.set()
        self.join(timeout=10)


@pytest.fixture(scope="session")
def compose():
    for tool in ("podman", "docker-compose"):
        assert shutil.which(tool), f"{tool} is missing: .ci/run installs it (apt-get install podman docker-compose)"
    started = time.monotonic()
    subprocess.run([str(ROOT / "deploy" / "local" / "images.sh")], cwd=ROOT, check=True, timeout=900,
                   env={**os.environ, "PIP": os.environ.get("PIP", str(Path(os.sys.executable).with_name("pip")))})
    report("image build (deploy/local/images.sh)", f"{time.monotonic() - started:.0f} s")
    for image in ("csops/platform:latest", "localhost/csops/rabbitmq:local", "localhost/csops/postgres:local",
                  "localhost/csops/prometheus:local", "localhost/csops/python:3.11", "localhost/csops/debian:bookworm"):
        size = json.loads(podman("image", "inspect", image))[0]["Size"]
        report(f"image {image}", f"{size / 1e6:.0f} MB")

    workdir = Path(tempfile.mkdtemp(prefix="csops-compose-"))
    socket_path = workdir / "podman.sock"
    workdir.chmod(0o700)  # the env file holds the (test) secrets
    service = subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{socket_path}"],
                               stdout=subprocess.DEVNULL, stderr=open(workdir / "podman-service.log", "wb"))
    pidfile = ROOT / "var" / "compose" / "podman-service.pid"  # tests/compose/cleanup.sh stops it if we cannot
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    pidfile.write_text(str(service.pid))
    # the settings as a user has them: .env.example with the REQUIRED values filled in and free ports
    settings = {name: f"{name.lower().replace('_', '-')}-0123456789" for name in SECRETS}
    settings.update(COMPOSE_PROJECT_NAME=PROJECT, JWT_SECRET="compose-test-jwt-secret-0123456789abcdef",
                    ADMIN_PASSWORD=ADMIN_PASSWORD, PUBLISH_ADDRESS="127.0.0.1", CSOPS_IMAGE="csops/platform:latest",
                    **{name: str(free_port()) for name in ("GATEWAY_HOST_PORT", "RABBITMQ_MANAGEMENT_HOST_PORT",
                                                           "PROMETHEUS_HOST_PORT", "GRAFANA_HOST_PORT",
                                                           "MAILPIT_HOST_PORT")})
    lines = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        name = line.partition("=")[0]
        lines.append(f"{name}={settings.pop(name)}" if name in settings and not line.startswith("#") else line)
    assert not settings, f"not in .env.example: {settings}"
    (workdir / "env").write_text("\n".join(lines) + "\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("COMPOSE_", "DOCKER_"))}
    env.update(DOCKER_HOST=f"unix://{socket_path}", COMPOSE_HTTP_TIMEOUT="300")
    stack = Compose(env, workdir / "env")
    ticker = HealthTicker()
    try:
        deadline = time.monotonic() + 30
        while not socket_path.exists():
            assert time.monotonic() < deadline, (workdir / "podman-service.log").read_text()
            time.sleep(0.2)
        stack.run("down", "-v", "--remove-orphans", check=False)  # what an earlier, killed run left
        ticker.start()
        started = time.monotonic()
        stack.run("up", "-d", "--no-build")
        # `up` returned once RabbitMQ and PostgreSQL were healthy (depends_on); then the six processes.
        # (RabbitMQ's own check starts an Erlang VM: it may time out now and then on a busy machine)
        stack.wait_healthy(["gateway", "ticketing", "training", "appraisal", "monitoring", "channels"])
        report("time from `up` to every container healthy", f"{time.monotonic() - started:.0f} s")
        yield stack
    finally:
        if any(stack.leftovers().values()):  # a test failed before the last one's `down -v`
            stack.run("down", "-v", "--remove-orphans", "--timeout", "10", check=False)
        ticker.stop()
        service.terminate()
        try:
            service.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.kill()
        pidfile.unlink(missing_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def admin(compose):
    session = requests.Session()
    response = session.post(f"{compose.base}/api/v1/auth/token",
                            json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=30)
    assert response.status_code == 200, response.text
    session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return session
