"""The compose deployment on a real container engine (`make test-compose`, X5): up with its
healthchecks and depends_on conditions, a first request through the published gateway, ticketing
and monitoring scaled to two replicas, a replica crashed and brought back by its restart policy,
and `down -v` leaving nothing behind. The tests run in this order, on one stack (conftest.py)."""
import re
import subprocess
import time

import pytest
import requests

from plumbing.testing import wait_for

pytestmark = pytest.mark.compose

TICKET = {"subject": "Charged twice", "description": "Two debits for order 8812", "channel": "web_form",
          "kind": "complaint", "priority": "high", "customer": {"name": "Chen Jie", "contact": "+86 139 1234 5678"}}
ALWAYS_OPEN = {"timezone": "UTC", "windows": {day: ["00:00-24:00"] for day in
                                              ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
SLA_TICKETS = 6  # chat tickets on a one-minute policy: each warned (at 30 s) and breached once
SCALED = {"ticketing": 2, "monitoring": 2}
STATE = {}


def metrics_of(compose, container, port=9100):
    """A container's /metrics, read inside it (a service's metrics port is not published)."""
    return subprocess.run(
        ["podman", "exec", container, "python", "-c",
         f"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{port}/metrics').read().decode())"],
        check=True, capture_output=True, text=True, timeout=60).stdout


def metric_sum(text, name, **labels):
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"{name}(\{{[^}}]*\}})? ([0-9.e+-]+)$", line)
        if match and all(f'{key}="{value}"' in (match.group(1) or "") for key, value in labels.items()):
            total += float(match.group(2))
    return total


def test_a_first_request_through_the_published_gateway(compose, admin):
    response = admin.post(f"{compose.base}/api/v1/tickets", json=TICKET, timeout=30)
    assert response.status_code == 201, response.text
    ticket = response.json()
    STATE["tickets"] = [ticket["id"]]
    counts = wait_for(lambda: admin.get(f"{compose.base}/api/v1/appraisal/ticket-counts", timeout=30).json()["items"],
                      timeout=60, interval=1, message="appraisal to count the ticket through ticket.created")
    assert counts == [{"agent": None, "day": ticket["created_at"][:10], "tickets": 1}]
    # every backend answers the gateway's ping (a busy machine may leave one late for a first ping)
    wait_for(lambda: requests.get(f"{compose.base}/health", timeout=30).status_code == 200, timeout=90, interval=3,
             message="/health to answer 200: " + requests.get(f"{compose.base}/health", timeout=30).text)


def test_ticketing_and_monitoring_scale_out_and_both_replicas_serve(compose, admin):
    started = time.monotonic()
    # --no-deps: the running RabbitMQ and PostgreSQL are not checked again (a healthcheck that timed out
    # on a busy machine would stop the scale-out), and nothing else is recreated
    compose.run("up", "-d", "--no-build", "--no-deps", "--no-recreate",
                *(item for service, count in SCALED.items() for item in ("--scale", f"{service}={count}")),
                *SCALED)
    compose.wait_healthy(list(SCALED), replicas=SCALED)
    print(f"compose: scaled to two replicas, healthy in {time.monotonic() - started:.0f} s")

    # SLA clocks that warn and breach while both ticketing replicas sweep (checked below)
    policy = admin.post(f"{compose.base}/api/v1/sla/policies", timeout=30, json={
        "name": "compose-chat", "position": 0, "conditions": {"channel": ["chat"]},
        "targets": {"first_response": 1}, "warn_share": 0.5, "calendar": ALWAYS_OPEN})
    assert policy.status_code == 201, policy.text
    for number in range(SLA_TICKETS):
        response = admin.post(f"{compose.base}/api/v1/tickets", timeout=30,
                              json={**TICKET, "channel": "chat", "subject": f"Chat {number}"})
        assert response.status_code == 201, response.text
        STATE["tickets"].append(response.json()["id"])
    sla_started = time.monotonic()

    # RPCs spread over both replicas: each answers some of 30 calls
    before = {service: {name: metric_sum(metrics_of(compose, name), "csops_rpc_duration_seconds_count")
                        for name in compose.containers(service)} for service in SCALED}
    for _ in range(30):
        assert admin.get(f"{compose.base}/api/v1/tickets", timeout=30).status_code == 200
        assert admin.get(f"{compose.base}/api/v1/monitoring/rules", timeout=30).status_code == 200
    for service in SCALED:
        served = {name: metric_sum(metrics_of(compose, name), "csops_rpc_duration_seconds_count") - count
                  for name, count in before[service].items()}
        assert len(served) == 2 and all(calls > 0 for calls in served.values()), (service, served)
        print(f"compose: {service} RPCs per replica: {served}")

    # Prometheus finds every replica through DNS and scrapes each as a target of its own
    def targets_up():
        active = requests.get(f"{compose.prometheus}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
        up = {service: {target["labels"]["instance"] for target in active
                        if target["labels"]["job"] == service and target["health"] == "up"} for service in SCALED}
        return up if all(len(instances) == 2 for instances in up.values()) else None
    up = wait_for(targets_up, timeout=150, interval=3, message="Prometheus to scrape both replicas of each")
    print(f"compose: Prometheus targets up: {up}")

    # every warning and breach published once, by whichever replica's sweep claimed it
    def announced():
        texts = [metrics_of(compose, name) for name in compose.containers("ticketing")]
        return (sum(metric_sum(text, "csops_sla_warnings_total") for text in texts),
                sum(metric_sum(text, "csops_sla_breaches_total") for text in texts))
    wait_for(lambda: announced() >= (SLA_TICKETS, SLA_TICKETS), timeout=150, interval=3,
             message="every SLA warning and breach")
    time.sleep(max(0, 12 - (time.monotonic() - sla_started) % 10))  # one more sweep of each replica
    assert announced() == (SLA_TICKETS, SLA_TICKETS)


def test_a_crashed_replica_comes_back_and_nothing_is_lost(compose, admin):
    victim, item = sorted(compose.containers("ticketing").items())[0]
    restarts = item["RestartCount"]
    subprocess.run(["kill", "-KILL", str(item["State"]["Pid"])], check=True)  # a crash: not a `stop` by the user
    started = time.monotonic()
    # the other replica serves meanwhile
    for number in range(3):
        response = admin.post(f"{compose.base}/api/v1/tickets", json={**TICKET, "subject": f"During {number}"},
                              timeout=60)
        assert response.status_code == 201, response.text
        STATE["tickets"].append(response.json()["id"])
    wait_for(lambda: compose.containers("ticketing").get(victim, {}).get("RestartCount", 0) > restarts,
             timeout=60, interval=1, message=f"{victim} to be restarted by its restart policy")
    compose.wait_healthy(["ticketing"], replicas={"ticketing": 2})
    print(f"compose: {victim} killed, back and healthy in {time.monotonic() - started:.0f} s")
    response = admin.post(f"{compose.base}/api/v1/tickets", json={**TICKET, "subject": "After"}, timeout=60)
    assert response.status_code == 201, response.text
    STATE["tickets"].append(response.json()["id"])

    listed = admin.get(f"{compose.base}/api/v1/tickets", params={"per_page": 100}, timeout=30).json()
    assert sorted(ticket["id"] for ticket in listed["items"]) == sorted(STATE["tickets"])
    wait_for(lambda: sum(row["tickets"] for row in admin.get(
        f"{compose.base}/api/v1/appraisal/ticket-counts", timeout=30).json()["items"]) == len(STATE["tickets"]),
        timeout=60, interval=1, message="appraisal to count every ticket, those of the crash too")


def test_down_removes_every_container_volume_and_network(compose):
    compose.run("down", "-v", "--remove-orphans")
    assert compose.leftovers() == {"container": [], "volume": [], "network": [], "pod": []}
