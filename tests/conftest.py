"""Helpers for tests that run services as real processes."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from plumbing.services import PROCESSES, procfile_line

ROOT = Path(__file__).resolve().parents[1]


def write_procfile(directory: Path) -> Path:
    """The Procfile `make up` generates (one line per process of plumbing.services), in ``directory``."""
    path = directory / "Procfile"
    path.write_text("".join(f"{procfile_line(process)}\n" for process in PROCESSES))
    return path


class ServiceProcess:
    """``python -m plumbing.serve <class>`` in its own process group."""

    def __init__(self, service_path, env, log_path):
        self.service_path = service_path
        self.env = env
        self.log_path = log_path
        self.process = None

    def start(self, **extra_env):
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "plumbing.serve", self.service_path], cwd=ROOT,
            env={**self.env, **extra_env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait(self, timeout):
        return self.process.wait(timeout)

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def kill(self):
        """kill -9, as a crash would: nothing gets to clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def log(self) -> str:
        return Path(self.log_path).read_text(errors="replace")


def service_environment(amqp_uri, directory: Path) -> dict:
    """Environment for service processes: the broker at ``amqp_uri``, databases under ``directory``."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    env.update(AMQP_URI=amqp_uri, CSOPS_VAR_DIR=str(directory / "var"), OUTBOX_POLL_SECONDS="0.2",
               PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
def process_env(rabbit_config, tmp_path):
    """Environment for service processes: a fresh vhost, databases under tmp_path."""
    return service_environment(rabbit_config["AMQP_URI"], tmp_path)


@pytest.fixture
def service_process(process_env, tmp_path):
    started = []

    def make(service_path, **extra_env):
        name = service_path.split(".", 1)[0]
        process = ServiceProcess(service_path, {**process_env, **extra_env}, tmp_path / f"{name}.log")
        started.append(process)
        return process
    yield make
    for process in started:
        process.stop()
