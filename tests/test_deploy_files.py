"""The deployment files are valid for the tools that read them (X5)."""
import os
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

SECRETS = {name: "check" for name in
           ("RABBITMQ_PASSWORD", "POSTGRES_PASSWORD", "JWT_SECRET", "ADMIN_PASSWORD", "GRAFANA_ADMIN_PASSWORD")}


def tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (.ci/run installs it)")
    return path


def run(*command, env=None):
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


def test_compose_file_is_valid():
    result = run(tool("docker-compose"), "-f", "docker-compose.yml", "config", "-q", env={**os.environ, **SECRETS})
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_the_secrets():
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    result = run(tool("docker-compose"), "-f", "docker-compose.yml", "config", "-q", env=env)
    assert result.returncode != 0 and "set RABBITMQ_PASSWORD" in result.stderr


def test_compose_runs_every_service_and_scrapes_each_one():
    result = run(tool("docker-compose"), "-f", "docker-compose.yml", "config", "--services",
                 env={**os.environ, **SECRETS})
    services = set(result.stdout.split())
    assert {"gateway", "ticketing", "training", "appraisal", "monitoring", "rabbitmq", "postgres",
            "prometheus", "grafana"} <= services
    scrape = (ROOT / "deploy/prometheus/prometheus.yml").read_text()
    for service in ("gateway", "ticketing", "training", "appraisal", "monitoring"):
        assert f"job_name: {service}" in scrape


def test_prometheus_config_is_valid():
    result = run(tool("promtool"), "check", "config", "deploy/prometheus/prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
