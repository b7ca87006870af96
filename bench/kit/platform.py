"""The platform's processes, each in a session of its own (so Ctrl-C here reaches them once, from here):
every process of plumbing.services as `make up` runs them, or one service in one or more replicas."""
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

import requests

from kit import PYTHON, ROOT, VENV_BIN
from kit.console import say
from plumbing.services import NAMES, PROCESSES, procfile_line
from plumbing.testing import free_port, procfile_commands


def stop_processes(processes, grace):
    """SIGINT (as Ctrl-C) to every process group of {name: Popen}, SIGKILL to any still running ``grace`` s later."""
    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
    for name, process in processes.items():
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            say(f"{name} still running {grace} s after Ctrl-C: SIGKILL (what it created may be left behind)")
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def log_tail(path, lines=30):
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:]) if Path(path).exists() else ""


class Platform:
    """Every process of plumbing.services, each run by the command of `make up`'s Procfile, on the run's
    vhost and databases (``database_urls`` by process name; SQLite files under ``workdir`` without them),
    the gateway and the metrics on free ports, a JWT secret and an admin password of its own."""

    def __init__(self, amqp_uri, workdir, database_urls=None, **settings):
        self.workdir = Path(workdir)
        self.ports = {name: free_port() for name in NAMES}
        self.base = f"http://127.0.0.1:{self.ports['gateway']}"
        self.admin_password = secrets.token_urlsafe(18)
        self.env = {key: value for key, value in os.environ.items() if not key.endswith("_DATABASE_URL")}
        self.env.update(
            AMQP_URI=amqp_uri, PYTHONUNBUFFERED="1", PATH=f"{VENV_BIN}:{self.env.get('PATH', '')}",
            GATEWAY_HOST="127.0.0.1", GATEWAY_PORT=str(self.ports["gateway"]),
            JWT_SECRET=secrets.token_urlsafe(48), ADMIN_USERNAME="admin", ADMIN_PASSWORD=self.admin_password,
            CSOPS_VAR_DIR=str(self.workdir / "var"),
            **{f"{name.upper()}_METRICS_PORT": str(port) for name, port in self.ports.items() if name != "gateway"},
            **{f"{name.upper()}_DATABASE_URL": url for name, url in (database_urls or {}).items()},
            **{key: str(value) for key, value in settings.items() if value is not None})
        self.processes = {}  # name -> Popen

    def commands(self):
        """[(name, extra env, argv)] of `make up`'s Procfile, run by the venv's python."""
        procfile = self.workdir / "Procfile"
        procfile.write_text("".join(f"{procfile_line(process)}\n" for process in PROCESSES))
        return [(name, extra, [PYTHON if argv[0] in ("python", "python3") else argv[0], *argv[1:]])
                for name, extra, argv in procfile_commands(procfile, self.env)]

    def prepare(self):
        """Migrate every database and declare every exchange and handler queue, as `make up` does."""
        for title, module in (("migrating every database", "plumbing.migrate"),
                              ("declaring exchanges and handler queues", "plumbing.topology")):
            say(title)
            done = subprocess.run([PYTHON, "-m", module], cwd=ROOT, env=self.env, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"python -m {module} failed:\n{done.stdout}\n{done.stderr}")

    def start(self, timeout):
        """Start every process; return once the gateway's /health answers 200 (every service pinged)."""
        (self.workdir / "var").mkdir(parents=True, exist_ok=True)
        for name, extra, argv in self.commands():
            with open(self.log(name), "wb") as log:
                self.processes[name] = subprocess.Popen(argv, cwd=ROOT, env={**self.env, **extra}, stdout=log,
                                                        stderr=subprocess.STDOUT, start_new_session=True)
        say(f"started {', '.join(f'{n} (pid {p.pid})' for n, p in self.processes.items())}; waiting for /health")
        deadline = time.monotonic() + timeout
        while True:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.tail(name)}")
            try:
                if requests.get(f"{self.base}/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"/health not 200 after {timeout}s:\n" + "\n".join(map(self.tail, self.processes)))
            time.sleep(0.5)
        say("platform healthy")

    def token(self):
        """An access token of the admin account the gateway created on its first start."""
        response = requests.post(f"{self.base}/api/v1/auth/token", timeout=30,
                                 json={"username": "admin", "password": self.admin_password})
        response.raise_for_status()
        return response.json()["access_token"]

    def metrics_url(self, name):
        """Where process ``name`` serves its /metrics (the gateway on its HTTP port)."""
        return f"{self.base}/metrics" if name == "gateway" else f"http://127.0.0.1:{self.ports[name]}/metrics"

    @property
    def pids(self):
        return {process.pid: name for name, process in self.processes.items()}

    def log(self, name):
        return self.workdir / f"{name}.log"

    def tail(self, name):
        return f"--- {name} ---\n{log_tail(self.log(name))}"

    def stop(self):
        say("stopping the platform (SIGINT, like Ctrl-C)")
        stop_processes(self.processes, grace=20)


class ServiceReplicas:
    """One service, run as the Procfile runs it (``python -m plumbing.serve``), in one or more processes
    competing for the same queues, as a scaled deployment runs them."""

    def __init__(self, name, service_class, env, workdir, replicas=1):
        """``name`` labels the logs and the CPU figures; ``env`` is added to this process's environment
        without the other services' database URLs."""
        environment = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
        environment.update(env, PYTHONUNBUFFERED="1")
        self.name = name
        self.logs = [Path(workdir) / f"{name}-{replica}.log" for replica in range(replicas)]
        self.processes = []
        for log in self.logs:
            with open(log, "wb") as out:
                self.processes.append(subprocess.Popen(
                    [PYTHON, "-m", "plumbing.serve", service_class], cwd=ROOT, env=environment,
                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True))

    @property
    def pids(self):
        return {process.pid: self.name for process in self.processes}

    def alive(self):
        return all(process.poll() is None for process in self.processes)

    def tail(self, lines=30):
        return "\n".join(f"{self.name}-{replica} (exit {process.poll()}):\n{log_tail(log, lines)}"
                         for replica, (process, log) in enumerate(zip(self.processes, self.logs)))

    def stop(self):
        """SIGINT (as Ctrl-C) to every process, SIGKILL to any still running 30 s later."""
        stop_processes({f"{self.name}-{replica}": process for replica, process in enumerate(self.processes)},
                       grace=30)
