"""The deployment files are valid for the tools that read them (X5)."""
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
import uuid

import kubernetes_validate
import pytest
import yaml

from plumbing.services import BACKEND_NAMES, NAMES, PROCESSES
from tests.conftest import ROOT

# the broker's users: one per process, and the topology job's
BROKER_USERS = (*NAMES, "topology")
# each secret gets a value of its own, so a test can tell which one ended up where
SECRETS = {name: f"check-{name.lower().replace('_', '-')}" for name in
           ("RABBITMQ_PASSWORD", "POSTGRES_PASSWORD", "JWT_SECRET", "ADMIN_PASSWORD", "GRAFANA_ADMIN_PASSWORD",
            *(f"RABBITMQ_{user.upper()}_PASSWORD" for user in BROKER_USERS),
            *(f"POSTGRES_{name.upper()}_PASSWORD" for name in NAMES))}


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
COMPOSE_EXTRAS = {"rabbitmq", "postgres", "prometheus", "grafana", "broker-users", "topology", "mailpit"}
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


def pod_containers(workload):
    spec = workload["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_configuration_comes_from_the_config_map_and_the_secret():
    secret_keys = set(objects("Secret")["csops-secrets"]["stringData"])
    used = set()
    for workload in [*objects("Deployment").values(), *objects("Job").values()]:
        for container in pod_containers(workload):
            assert container["envFrom"] == [{"configMapRef": {"name": "csops-config"}}]
            for variable in container["env"]:
                if "valueFrom" in variable:
                    reference = variable["valueFrom"]["secretKeyRef"]
                    assert reference["name"] == "csops-secrets" and reference["key"] in secret_keys, variable
                    used.add(reference["key"])
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


# Who may reach what from other machines: the gateway's API only. The RabbitMQ management UI,
# Prometheus and Grafana listen on the host's loopback (an SSH tunnel or a reverse proxy with TLS
# reaches them); AMQP, RabbitMQ's metrics port and PostgreSQL are not published at all.
LOOPBACK_PORTS = {"rabbitmq": {15672}, "prometheus": {9090}, "grafana": {3000}, "mailpit": {8025}}


def published(port):
    """(host address, container port) of a compose port, long or short syntax; '' is every interface."""
    if isinstance(port, dict):
        return port.get("host_ip", ""), int(port["target"])
    parts = str(port).split("/")[0].split(":")
    return (parts[0] if len(parts) == 3 else ""), int(parts[-1])


def test_only_the_gateway_is_published_beyond_the_host():
    ports = {name: {published(port) for port in service.get("ports", [])} for name, service in compose_services().items()}
    assert {target for _, target in ports.pop("gateway")} == {8000}
    assert {name: {target for _, target in each} for name, each in ports.items() if each} == LOOPBACK_PORTS
    assert {address for each in ports.values() for address, _ in each} == {"127.0.0.1"}


def credentials(url):
    """(user, password, path without its slash) of a connection URL."""
    parts = urllib.parse.urlsplit(url)
    return parts.username, parts.password, parts.path.lstrip("/")


def test_each_compose_process_reaches_rabbitmq_and_postgresql_as_itself():
    services = compose_services()
    for name in BROKER_USERS:
        environment = services[name]["environment"]
        assert credentials(environment["AMQP_URI"])[:2] == (name, SECRETS[f"RABBITMQ_{name.upper()}_PASSWORD"]), name
        databases = {key: value for key, value in environment.items() if key.endswith("_DATABASE_URL")}
        if name != "topology":
            assert databases.keys() == {f"{name.upper()}_DATABASE_URL"}, f"{name} reaches only its own database"
            assert credentials(databases[f"{name.upper()}_DATABASE_URL"]) == (
                name, SECRETS[f"POSTGRES_{name.upper()}_PASSWORD"], name)
    # the users are made by the administrator, who is no process's user
    users_job = services["broker-users"]["environment"]
    assert credentials(users_job["RABBITMQ_MANAGEMENT_URL"])[:2] == ("csops", SECRETS["RABBITMQ_PASSWORD"])
    assert {key for key in users_job if key.endswith("_PASSWORD")} == {
        f"RABBITMQ_{user.upper()}_PASSWORD" for user in broker_definitions_users()}
    assert services["topology"]["depends_on"]["broker-users"] == {"condition": "service_completed_successfully"}
    # and the postgres image's init script makes one role per database, with these passwords
    assert {key for key in services["postgres"]["environment"] if key.endswith("_PASSWORD")} == {
        "POSTGRES_PASSWORD", *(f"POSTGRES_{name.upper()}_PASSWORD" for name in NAMES)}


def test_each_kubernetes_workload_reaches_rabbitmq_and_postgresql_as_itself():
    secret = objects("Secret")["csops-secrets"]["stringData"]
    workloads = {**{name: deployment for name, deployment in objects("Deployment").items()},
                 "topology": objects("Job")["csops-topology"]}
    assert set(workloads) == set(BROKER_USERS)
    for name, workload in workloads.items():
        [container] = workload["spec"]["template"]["spec"]["containers"]
        names = [variable["name"] for variable in container["env"]]
        env = {variable["name"]: variable for variable in container["env"]}
        # the password is spliced into the URI: k8s expands $(VAR) of variables listed before it
        assert env["AMQP_URI"]["value"] == f"amqp://{name}:$(RABBITMQ_PASSWORD)@$(RABBITMQ_ADDRESS)", name
        assert names.index("RABBITMQ_PASSWORD") < names.index("AMQP_URI")
        assert env["RABBITMQ_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == f"RABBITMQ_{name.upper()}_PASSWORD"
        if name != "topology":
            assert [key for key in env if key.endswith("_DATABASE_URL")] == [f"{name.upper()}_DATABASE_URL"]
            user, _, database = credentials(secret[f"{name.upper()}_DATABASE_URL"])
            assert (user, database) == (name, name)
    assert "RABBITMQ_ADDRESS" in objects("ConfigMap")["csops-config"]["data"]
    # the topology Job's init container makes the users, as the administrator
    [users] = workloads["topology"]["spec"]["template"]["spec"]["initContainers"]
    env = {variable["name"]: variable["valueFrom"]["secretKeyRef"]["key"] for variable in users["env"]}
    assert env == {"RABBITMQ_MANAGEMENT_URL": "RABBITMQ_MANAGEMENT_URL",
                   **{f"RABBITMQ_{user.upper()}_PASSWORD": f"RABBITMQ_{user.upper()}_PASSWORD"
                      for user in broker_definitions_users()}}


def test_consumers_bind_to_exchanges_the_topology_job_declared():
    """A service may read another's events exchange but not declare (so not delete) it: nameko's
    handlers must not declare their source's exchange where the users are in force."""
    assert compose_services()["ticketing"]["environment"]["DECLARE_EVENT_EXCHANGES"] == "false"
    assert objects("ConfigMap")["csops-config"]["data"]["DECLARE_EVENT_EXCHANGES"] == "false"


# ---- the broker users' permissions (deploy/rabbitmq/definitions.json) against what the code declares

BROKER_DEFINITIONS = ROOT / "deploy/rabbitmq/definitions.json"


def broker_definitions():
    return json.loads(BROKER_DEFINITIONS.read_text())


def broker_definitions_users():
    return [user["name"] for user in broker_definitions()["users"]]


def process_resources(process):
    """What a process's own code declares, publishes to and consumes from, by kind, by name."""
    from nameko.rpc import Rpc, RpcProxy

    from plumbing.consumer import DEFAULT_RETRY_DELAYS
    from plumbing.events import exchange_name
    from plumbing.topology import HandlerQueues, handler_queue, load, subscriptions

    service_cls = load(process.service_class)
    members = [getattr(service_cls, attribute) for attribute in dir(service_cls)]
    handlers = [HandlerQueues(handler_queue(source, event_type, process.name, method), DEFAULT_RETRY_DELAYS,
                              process.name) for source, event_type, method in subscriptions(service_cls)]
    serves_rpc = any(isinstance(entrypoint, Rpc) for member in members
                     for entrypoint in getattr(member, "nameko_entrypoints", ()))
    calls_rpc = any(isinstance(member, RpcProxy) for member in members)
    return {
        "exchanges": {exchange_name(process.name), *({handlers[0].exchange.name} if handlers else ())},
        "queues": {*(queue.name for each in handlers for queue in each.all()),
                   *({f"rpc-{process.name}"} if serves_rpc else ()),
                   *({f"rpc.reply-{process.name}-{uuid.uuid4()}"} if calls_rpc else ())},
        "handler_queues": {each.queue.name for each in handlers},
        "sources": {exchange_name(source) for source, _, _ in subscriptions(service_cls)},
        "subscriptions": {(exchange_name(source), event_type) for source, event_type, _ in subscriptions(service_cls)},
        "rpc_methods": {f"{process.name}.{attribute}" for attribute in dir(service_cls)
                        for entrypoint in getattr(getattr(service_cls, attribute), "nameko_entrypoints", ())
                        if isinstance(entrypoint, Rpc)},
    }


def allows(pattern, name):
    """RabbitMQ's test: the regular expression found anywhere in the name (the patterns anchor themselves)."""
    return re.search(pattern, name) is not None


def test_broker_users_are_the_processes_and_the_topology_job_with_no_password_in_the_file():
    definitions = broker_definitions()
    assert broker_definitions_users() == list(BROKER_USERS)
    for user in definitions["users"]:
        assert user["tags"] in ("", []), f"{user['name']} needs no management access"
        assert not {"password", "password_hash"} & set(user), "passwords come from the environment"
    assert {entry["user"] for entry in definitions["permissions"]} == set(BROKER_USERS)
    assert {entry["vhost"] for entry in [*definitions["permissions"], *definitions["topic_permissions"]]} == {"/"}


def test_each_broker_user_may_touch_its_own_exchanges_and_queues_and_no_other_process_s():
    permissions = {entry["user"]: entry for entry in broker_definitions()["permissions"]}
    resources = {process.name: process_resources(process) for process in PROCESSES}
    for process in PROCESSES:
        allowed, own = permissions[process.name], resources[process.name]
        for name in own["exchanges"] | own["queues"] | {"nameko-rpc"}:
            assert all(allows(allowed[kind], name) for kind in ("configure", "write")), (process.name, name)
        for name in own["queues"] | own["sources"] | {"nameko-rpc"}:
            assert allows(allowed["read"], name), (process.name, "read", name)
        for other in set(resources) - {process.name}:
            for name in resources[other]["exchanges"] | resources[other]["queues"]:
                kinds = {kind for kind in ("configure", "write", "read") if allows(allowed[kind], name)}
                # an events exchange it consumes from: bind to it, never declare, delete or publish to it
                assert kinds == ({"read"} if name in own["sources"] else set()), (process.name, name, kinds)
        # the default exchange would put a message into any queue of the vhost
        assert not allows(allowed["write"], "amq.default"), process.name
    topology = permissions["topology"]
    for own in resources.values():
        for name in own["exchanges"] | own["handler_queues"] | {f"{queue}.dlq" for queue in own["handler_queues"]}:
            assert allows(topology["configure"], name), name
        assert not any(allows(topology["write"], name) for name in own["exchanges"]), "the topology job publishes nothing"


# the calls one backend makes to another (the rest only answer): channels opens tickets and adds
# customers' messages by ticketing's RPCs, reads a ticket's customer to check a subject token's sender,
# and reads what it mails (the customer's address, audited; a reply's text; a fresh rating link) and
# notes bounces (issue 20), and asks which followers of a ticket to mail (issue 21)
BACKEND_CALLS = {("channels", "ticketing"): {"create_tickets", "add_message", "list_messages", "get_ticket",
                                             "ticket_summary", "issue_rating_link", "notified_followers"}}


def test_rpc_routing_keys_let_the_gateway_call_and_a_service_only_answer():
    topics = {(entry["user"], entry["exchange"]): entry for entry in broker_definitions()["topic_permissions"]}
    resources = {process.name: process_resources(process) for process in PROCESSES}
    reply_key = str(uuid.uuid4())
    gateway = topics["gateway", "nameko-rpc"]
    assert all(allows(gateway["write"], method) for name in BACKEND_NAMES for method in resources[name]["rpc_methods"])
    assert allows(gateway["read"], reply_key) and not allows(gateway["read"], "ticketing.*")
    for name in BACKEND_NAMES:
        rpc = topics[name, "nameko-rpc"]
        assert allows(rpc["write"], reply_key), f"{name} answers on the caller's reply key"
        assert allows(rpc["read"], f"{name}.*")
        for other in set(BACKEND_NAMES) - {name}:
            assert not allows(rpc["read"], f"{other}.*"), f"{name} must not receive {other}'s calls"
            called = {method for method in resources[other]["rpc_methods"] if allows(rpc["write"], method)}
            assert called == {f"{other}.{method}" for method in BACKEND_CALLS.get((name, other), ())}, \
                f"{name} calls only what BACKEND_CALLS says of {other}"


def test_a_consumer_binds_only_the_event_types_it_handles():
    topics = {(entry["user"], entry["exchange"]): entry for entry in broker_definitions()["topic_permissions"]}
    published = {process.name: {event.name for event in importlib.import_module(f"{process.name}.events").PUBLISHED}
                 for process in PROCESSES}
    for process in PROCESSES:
        subscriptions = process_resources(process)["subscriptions"]
        sources = {exchange for exchange, _ in subscriptions}
        assert {exchange for user, exchange in topics if user == process.name} - {"nameko-rpc"} == sources, \
            f"{process.name}: a topic permission for each events exchange it reads"
        for exchange in sources:
            handled = {event_type for source, event_type in subscriptions if source == exchange}
            others = published[exchange.removesuffix(".events")] - handled
            assert {event for event in handled | others if allows(topics[process.name, exchange]["read"], event)} \
                == handled, (process.name, exchange)
            if exchange != f"{process.name}.events":  # its own exchange: it publishes anything there, and reads some back
                assert not allows(topics[process.name, exchange]["write"], next(iter(handled)))
