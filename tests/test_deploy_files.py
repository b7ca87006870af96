"""The deployment files are valid for the tools that read them (X5)."""
import json
import os
import re
import shutil
import subprocess

import kubernetes_validate
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


KUBERNETES_VERSION = "1.30.0"   # the oldest release the manifests are meant for
K8S = ROOT / "deploy/k8s"


def manifests():
    """Every Kubernetes object under deploy/k8s, the Secret's example included."""
    return [document for path in sorted(K8S.rglob("*.yaml")) for document in yaml.safe_load_all(path.read_text())
            if document]


def objects(kind):
    return {document["metadata"]["name"]: document for document in manifests() if document["kind"] == kind}


def test_kubernetes_manifests_match_the_api_schemas_offline():
    # kubernetes-validate ships the JSON schemas of every Kubernetes release: nothing is downloaded
    documents = manifests()
    assert {"ConfigMap", "Secret", "Deployment", "Service", "Job"} <= {document["kind"] for document in documents}
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_every_process_is_a_deployment_probed_on_an_endpoint_it_serves():
    deployments = objects("Deployment")
    procfile = {line.split(":", 1)[0] for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()}
    assert set(deployments) == procfile
    for name, deployment in deployments.items():
        assert deployment["spec"]["selector"]["matchLabels"].items() <= \
            deployment["spec"]["template"]["metadata"]["labels"].items(), name
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        # the gateway serves /metrics on its HTTP port, a service on METRICS_PORT
        expected_port = 8000 if name == "gateway" else int(objects("ConfigMap")["csops-config"]["data"]["METRICS_PORT"])
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            check = container[probe]["httpGet"]
            assert (check["path"], ports[check["port"]]) == ("/metrics", expected_port), (name, probe)
        env = {variable["name"]: variable for variable in container["env"]}
        assert env["SERVICE"]["value"] == name
        assert f"{name.upper()}_DATABASE_URL" in env, f"{name} has no database of its own"


def test_configuration_comes_from_the_config_map_and_the_secret():
    secret_keys = set(objects("Secret")["csops-secrets"]["stringData"])
    workloads = [*objects("Deployment").values(), *objects("Job").values()]
    for workload in workloads:
        [container] = workload["spec"]["template"]["spec"]["containers"]
        assert container["envFrom"] == [{"configMapRef": {"name": "csops-config"}}]
        for variable in container["env"]:
            if "valueFrom" in variable:
                reference = variable["valueFrom"]["secretKeyRef"]
                assert reference["name"] == "csops-secrets" and reference["key"] in secret_keys, variable
    used = {variable["valueFrom"]["secretKeyRef"]["key"] for workload in workloads
            for variable in workload["spec"]["template"]["spec"]["containers"][0]["env"] if "valueFrom" in variable}
    assert used == secret_keys, "the Secret's example lists exactly what the workloads read"


def test_the_gateway_service_reaches_the_gateway_pods():
    service, deployment = objects("Service")["gateway"], objects("Deployment")["gateway"]
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= {port["name"] for port in container["ports"]}


SCALABLE = ("ticketing", "training", "appraisal", "monitoring")


def test_domain_services_scale_out_with_compose():
    result = run(tool("docker-compose"), "-f", "docker-compose.yml", "config", env={**os.environ, **SECRETS})
    services = yaml.safe_load(result.stdout)["services"]
    scrape = {job["job_name"]: job for job in
              yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())["scrape_configs"]}
    for name in SCALABLE:
        # a host port or a container name would make a second replica fail to start
        assert not {"ports", "container_name"} & set(services[name]), name
        # and Prometheus must see every replica, not the one a static target resolves to
        assert scrape[name]["dns_sd_configs"] == [{"names": [name], "type": "A", "port": 9100}]


def test_env_example_documents_every_setting_and_holds_no_secret():
    compose_settings = set(re.findall(r"\$\{(\w+)", (ROOT / "docker-compose.yml").read_text()))
    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert compose_settings == set(example) - {"COMPOSE_PROJECT_NAME"}
    assert all(example[name] == "" for name in SECRETS)
