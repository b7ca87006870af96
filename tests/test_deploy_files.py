"""The deployment files are valid for the tools that read them (X5)."""
import json
import os
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT

SECRETS = {name: "check" for name in
           ("RABBITMQ_PASSWORD", "POSTGRES_PASSWORD", "JWT_SECRET", "ADMIN_PASSWORD", "GRAFANA_ADMIN_PASSWORD")}


def dashboards():
    """Every provisioned Grafana dashboard, by file name."""
    return {path.name: json.loads(path.read_text()) for path in sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))}


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


def test_alert_rules_are_valid():
    rule_files = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "deploy/prometheus/rules").glob("*.yml"))
    result = run(tool("promtool"), "check", "rules", *rule_files)
    assert rule_files and result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test_and_they_pass():
    alerts = {rule["alert"] for path in (ROOT / "deploy/prometheus/rules").glob("*.yml")
              for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"] if "alert" in rule}
    test_files = sorted((ROOT / "deploy/prometheus/tests").glob("*.test.yml"))
    tested = {case["alertname"] for path in test_files for test in yaml.safe_load(path.read_text())["tests"]
              for case in test.get("alert_rule_test", []) if case.get("exp_alerts")}
    assert alerts - tested == set(), "alerts without a unit test that expects them to fire"
    result = run(tool("promtool"), "test", "rules", *(str(path.relative_to(ROOT)) for path in test_files))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboards_use_the_provisioned_datasource_and_are_told_apart():
    datasource = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    [prometheus] = datasource["datasources"]
    boards = dashboards()
    assert {"csops-sla-overview", "csops-service-health", "csops-public-opinion",
            "csops-training-appraisal"} <= {board["uid"] for board in boards.values()}
    assert len({board["uid"] for board in boards.values()}) == len(boards)
    for name, board in boards.items():
        panel_ids = [panel["id"] for panel in board["panels"]]
        assert len(set(panel_ids)) == len(panel_ids), name
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] == prometheus["uid"], (name, panel["title"])
            assert panel["targets"] and all(target["expr"].strip() for target in panel["targets"]), panel["title"]
