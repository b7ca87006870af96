"""The deployment files are valid for the tools that read them (X5)."""
import json
import os
import re
import shutil
import subprocess
import sys

import kubernetes_validate
import pytest
import yaml

from plumbing.services import BACKEND_NAMES, NAMES, PROCESSES
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


# what the deployment files run besides the processes of plumbing.services
COMPOSE_EXTRAS = {"rabbitmq", "postgres", "prometheus", "grafana", "topology"}
SCRAPE_EXTRAS = {"rabbitmq", "prometheus"}


def compose_services():
    result = run(tool("docker-compose"), "-f", "docker-compose.yml", "config", env={**os.environ, **SECRETS})
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


def scrape_jobs():
    return {job["job_name"]: job for job in
            yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())["scrape_configs"]}


def up_job_regexes():
    """(where, the alternatives of each `up{job=~"a|b"}`) in the alert rules and the dashboards."""
    texts = {str(path.relative_to(ROOT)): path.read_text() for path in
             [*sorted((ROOT / "deploy/prometheus/rules").glob("*.yml")),
              *sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))]}
    return [(where, set(alternatives.split("|"))) for where, text in texts.items()
            for alternatives in re.findall(r'up\{job=~\\?"([^"\\]+)\\?"\}', text)]


def init_databases():
    script = (ROOT / "deploy/postgres/init-databases.sh").read_text()
    return re.search(r'CSOPS_DATABASES:-([^}"]+)\}', script).group(1).split()


def test_compose_runs_every_process_of_the_list_and_what_they_need():
    assert set(compose_services()) == set(NAMES) | COMPOSE_EXTRAS


def test_every_other_list_of_processes_is_the_one_in_plumbing_services():
    """plumbing/plumbing/services.py is the one list; the files that cannot read it must say the same."""
    names = set(NAMES)
    assert set(objects("Deployment")) == names, "deploy/k8s: one Deployment per process"
    assert {key.removesuffix("_DATABASE_URL").lower() for key in objects("Secret")["csops-secrets"]["stringData"]
            if key.endswith("_DATABASE_URL")} == names, "deploy/k8s/secret: one database URL per process"
    assert set(scrape_jobs()) - SCRAPE_EXTRAS == names, "deploy/prometheus/prometheus.yml scrape jobs"
    regexes = up_job_regexes()
    assert len(regexes) >= 2, "the service-down alert and the service-health dashboard query up{job=~...}"
    for where, jobs in regexes:
        assert jobs - SCRAPE_EXTRAS == names, where
    assert init_databases() == list(NAMES), "deploy/postgres/init-databases.sh (the postgres image has no python)"


def test_the_container_entrypoint_runs_each_process_of_the_list(tmp_path):
    """deploy/entrypoint.sh looks SERVICE up in plumbing.services: migrate, then serve its class."""
    fake = tmp_path / "bin"
    fake.mkdir()
    # python -m plumbing.migrate / plumbing.serve only say what they were asked; anything else runs
    (fake / "python").write_text(f"""#!/bin/sh
case "$2" in plumbing.migrate|plumbing.serve) echo "$*" ;; *) exec {sys.executable} "$@" ;; esac
""")
    (fake / "python").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}")
    for process in PROCESSES:
        result = run("deploy/entrypoint.sh", env=dict(env, SERVICE=process.name))
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [f"-m plumbing.migrate {process.name}",
                                              f"-m plumbing.serve {process.service_class}"]
    refused = run("deploy/entrypoint.sh", env=dict(env, SERVICE="billing"))
    assert refused.returncode == 64 and " ".join(NAMES) in refused.stderr


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
    assert set(deployments) == set(NAMES)
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


def test_domain_services_scale_out_with_compose():
    services, scrape = compose_services(), scrape_jobs()
    for name in BACKEND_NAMES:
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
