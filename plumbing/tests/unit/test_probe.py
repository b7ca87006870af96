"""plumbing.probe, the containers' healthcheck: 0 for a 2xx answer, 1 for anything else."""
import subprocess
import sys

import pytest

from plumbing import probe
from plumbing.testing import free_port, wait_for


@pytest.fixture
def server(tmp_path):
    (tmp_path / "metrics").write_text("csops_up 1\n")
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                "--directory", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: probe.healthy(f"{base}/metrics"), timeout=30, interval=0.2, message="the HTTP server")
    yield base
    process.terminate()
    process.wait(timeout=30)


def test_a_2xx_answer_is_healthy_and_anything_else_is_not(server):
    assert probe.main(["probe", f"{server}/metrics"]) == 0
    assert probe.main(["probe", f"{server}/missing"]) == 1                 # 404
    assert probe.main(["probe", f"http://127.0.0.1:{free_port()}/"]) == 1  # nothing listens
    assert probe.main(["probe"]) == 64


def test_it_runs_as_the_compose_healthcheck_does(server):
    command = [sys.executable, "-m", "plumbing.probe", f"{server}/metrics"]
    assert all(" " not in argument for argument in command[1:])  # Podman's Docker API splits on spaces
    assert subprocess.run(command, timeout=30).returncode == 0
