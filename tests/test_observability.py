"""Every Grafana panel shows data on a running platform, and every process's
/metrics passes `promtool check metrics` (X4).

Runs `make up` (a fresh RabbitMQ vhost, SQLite files in a temporary folder,
free ports) and a real Prometheus scraping it every second with the scrape
settings and alert rules of deploy/prometheus, drives traffic through the
gateway in two rounds (a counter's first appearance is not an increase, so
rates and quantiles need the second), then runs every dashboard expression
through Prometheus's HTTP API.
"""
import math
import re
import shutil
import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
import yaml

from plumbing.services import NAMES
from plumbing.testing import free_port, publish_raw, wait_for
from tests.conftest import ROOT
from tests.test_deploy_files import dashboards
from tests.test_end_to_end import platform  # noqa: F401 (the `make up` fixture)

pytestmark = pytest.mark.e2e

RABBITMQ_PROMETHEUS = "127.0.0.1:15692"
SCRAPED_PROCESSES = tuple(name.upper() for name in NAMES)
# Grafana's own variables, as a dashboard over the last hour would set them
# (with a 1 s scrape interval: every window below holds many samples).
GRAFANA_BUILTINS = {"$__rate_interval": "1m", "$__range": "1h", "$__interval": "15s"}
PASSWORD = "password-123"
STORIES = ("某某外卖后厨卫生太差，操作台上有老鼠，顾客吃完身体不适，商家至今没有回应",
           "外卖骑手把餐洒了一地还骂人，平台客服推来推去，三天没有处理结果，太失望了")


@pytest.fixture
def process_env(process_env):
    # the expiry sweep refreshes the certification gauges; the default once a minute is too slow here
    return dict(process_env, TRAINING_EXPIRY_SWEEP_SECONDS="1")


@pytest.fixture
def prometheus(platform, tmp_path):  # noqa: F811
    """A real Prometheus scraping every process of the platform every second."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus is not installed (.ci/run installs it)")
    try:
        requests.get(f"http://{RABBITMQ_PROMETHEUS}/metrics", timeout=3)
    except requests.ConnectionError:
        pytest.fail("RabbitMQ's prometheus plugin is off: rabbitmq-plugins enable rabbitmq_prometheus")
    _, ports, _, _ = platform
    port = free_port()
    config = local_scrape_config({name.lower(): f"127.0.0.1:{ports[name]}" for name in SCRAPED_PROCESSES}
                                 | {"rabbitmq": RABBITMQ_PROMETHEUS, "prometheus": f"127.0.0.1:{port}"})
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = open(tmp_path / "prometheus.log", "wb")
    process = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api/v1"

    def every_target_up():
        assert process.poll() is None, (tmp_path / "prometheus.log").read_text()
        try:
            targets = requests.get(f"{api}/targets", timeout=3).json()["data"]["activeTargets"]
        except requests.ConnectionError:
            return False
        return len(targets) == len(config["scrape_configs"]) and all(t["health"] == "up" for t in targets)
    try:
        wait_for(every_target_up, timeout=30, interval=0.5, message="Prometheus to scrape every process")
        yield api
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def local_scrape_config(addresses):
    """deploy/prometheus/prometheus.yml with each job pointed at a local address,
    its paths and parameters and the alert rules kept, scraped every second."""
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(ROOT / "deploy/prometheus" / pattern) for pattern in config["rule_files"]]
    for job in config["scrape_configs"]:
        job.pop("dns_sd_configs", None)
        job["static_configs"] = [{"targets": [addresses[job["job_name"]]]}]
    return config


def test_every_dashboard_query_returns_data_and_every_metrics_page_passes_promtool(
        platform, prometheus, rabbit_config):  # noqa: F811
    base, ports, _, _ = platform
    traffic = Traffic(base, rabbit_config["AMQP_URI"])
    traffic.set_up()
    for round_number in (0, 1):
        traffic.drive(round_number)
        time.sleep(2)  # scraped between rounds: the second one is an increase
    wait_for(lambda: instant(prometheus, "csops_sla_breaches_total"), timeout=30, interval=1,
             message="ticketing's SLA sweep to breach the imported ticket")
    time.sleep(2)

    failures = []
    for name, board in dashboards().items():
        variables = resolve_variables(prometheus, board)
        for panel in board["panels"]:
            for target in panel["targets"]:
                expr = substitute(target["expr"], variables)
                problem = query_problem(prometheus, expr)
                if problem:
                    failures.append(f"{name} / {panel['title']}: {problem}\n    {expr}")
    assert not failures, "dashboard queries without data:\n" + "\n".join(failures)

    rules = requests.get(f"{prometheus}/rules", timeout=5).json()["data"]["groups"]
    broken = [(rule["name"], rule.get("lastError")) for group in rules for rule in group["rules"]
              if rule["health"] == "err"]
    assert rules and not broken

    promtool = shutil.which("promtool")
    for name in SCRAPED_PROCESSES:
        text = requests.get(f"http://127.0.0.1:{ports[name]}/metrics", timeout=5).text
        checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                                 timeout=30)
        assert checked.returncode == 0, f"{name}: {checked.stdout}{checked.stderr}"


def instant(api, expr):
    response = requests.get(f"{api}/query", params={"query": expr}, timeout=10).json()
    return response["data"]["result"] if response["status"] == "success" else None


def query_problem(api, expr):
    """Why a panel would show nothing: an error, no series, or only NaN (a ratio or quantile of nothing)."""
    response = requests.get(f"{api}/query", params={"query": expr}, timeout=10).json()
    if response["status"] != "success":
        return f"error {response.get('error')}"
    result = response["data"]["result"]
    if not result:
        return "empty"
    if all(math.isnan(float(series["value"][1])) for series in result):
        return "only NaN"
    return None


def resolve_variables(api, board):
    """Each `label_values(metric, label)` variable set to the first value Prometheus knows, as Grafana would."""
    variables = dict(GRAFANA_BUILTINS)
    for variable in board["templating"]["list"]:
        metric, label = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", variable["query"]["query"]).groups()
        values = requests.get(f"{api}/label/{label}/values", params={"match[]": metric}, timeout=10).json()["data"]
        assert values, f"no value of ${variable['name']} ({label} of {metric})"
        variables[f"${variable['name']}"] = re.escape(values[0])
    return variables


def substitute(expr, variables):
    for name in sorted(variables, key=len, reverse=True):  # $__range before $__r...
        expr = expr.replace(name, variables[name])
    return expr


class Traffic:
    """What a working day looks like through the gateway, one round at a time:
    an agent trained and certified, tickets answered, resolved and rated, an
    old ticket imported that breaches its SLA, posts that raise an opinion
    alert handled, and a malformed event dead-lettered."""

    def __init__(self, base, amqp_uri):
        self.base, self.amqp_uri = base, amqp_uri
        self.admin = self.session("admin", "e2e-admin-password")
        self.agents = []
        self.bridge = None  # an integration: it delivers the rating link, which staff never get

    def url(self, path):
        return self.base + path

    def session(self, username, password):
        session = requests.Session()
        token = ok(session.post(self.url("/api/v1/auth/token"),
                                json={"username": username, "password": password}))["access_token"]
        session.headers["Authorization"] = f"Bearer {token}"
        return session

    def set_up(self):
        admin = self.admin
        ok(admin.post(self.url("/api/v1/accounts"), json={
            "username": "mail-bridge", "password": PASSWORD, "roles": ["integration"]}), 201)
        self.bridge = self.session("mail-bridge", PASSWORD)
        # around the clock, one-minute targets, warned at once: an old ticket is due at the next sweep
        ok(admin.post(self.url("/api/v1/sla/policies"), json={
            "name": "observability test", "position": 0, "conditions": {}, "warn_share": 0.01,
            "targets": {"first_response": 1, "resolution": 1},
            "calendar": {"timezone": "UTC", "windows": {day: ["00:00-24:00"] for day in
                                                         ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}}), 201)
        ok(admin.post(self.url("/api/v1/monitoring/rules"), json={"name": "外卖", "query": "外卖 OR delivery"}), 201)
        ok(admin.put(self.url("/api/v1/training/career-levels/specialist"), json={"certifications": ["onboarding"]}))
        category = ok(admin.post(self.url("/api/v1/training/question-categories"), json={"name": "policy"}), 201)
        ok(admin.post(self.url("/api/v1/training/questions"), json={
            "category_id": category["id"], "kind": "true_false", "prompt": "Refunds within 7 days?",
            "correct": True}), 201)
        course = ok(admin.post(self.url("/api/v1/training/courses"), json={
            "title": "Onboarding", "kind": "onboarding", "mode": "online", "duration_hours": 8,
            "target_role": "agent", "certification": "onboarding", "certification_validity_days": 20}), 201)
        self.course_id = course["id"]
        self.exam = ok(admin.post(self.url(f"/api/v1/training/courses/{course['id']}/modules"), json={
            "title": "Exam", "kind": "exam", "exam": {
                "parts": [{"kind": "theory", "weight": 100, "draws": [{"category_id": category["id"], "count": 1}]}],
                "pass_mark": 80, "max_attempts": 3}}), 201)

    def drive(self, round_number):
        self.agents.append(self.certified_agent(f"agent{round_number}"))
        agent = self.agents[0]  # the same labels in both rounds: a series' first sample is no increase
        for score in (5, 2):
            self.answer_and_rate(agent, score)
        self.import_overdue_ticket(round_number)
        if round_number:
            self.reply_late_to_imported_ticket(agent)
        self.raise_and_handle_opinion_alert(round_number)
        publish_raw(self.amqp_uri, "ticketing", "ticket.created", b"not an event")

    def certified_agent(self, username):
        """An agent of team billing who fails the exam once, passes, and goes on duty."""
        ok(self.admin.post(self.url("/api/v1/accounts"), json={
            "username": username, "password": PASSWORD, "roles": ["agent"], "teams": ["billing"]}), 201)
        agent = self.session(username, PASSWORD)
        [enrolment] = ok(self.admin.post(self.url(f"/api/v1/training/courses/{self.course_id}/enrolments"),
                                         json={"agent": username}), 201)["items"]
        for right in (False, True):
            attempt = ok(agent.post(self.url(f"/api/v1/training/enrolments/{enrolment['id']}/attempts"),
                                    json={"module_id": self.exam["id"]}), 201)
            answers = {str(question["question_id"]): right for question in attempt["questions"]}
            ok(agent.post(self.url(f"/api/v1/training/attempts/{attempt['id']}/submission"),
                          json={"answers": answers}))
        ok(agent.put(self.url("/api/v1/me/duty"), json={"on_duty": True}))
        agent.username = username
        return agent

    def answer_and_rate(self, agent, score):
        ticket = {"subject": "Charged twice", "channel": "web_form", "kind": "complaint", "priority": "high",
                  "team": "billing", "customer": {"name": "Chen Jie", "contact": "+86 139 1234 5678"}}
        created = wait_for(lambda: self.admin.post(self.url("/api/v1/tickets"),
                                                   json=dict(ticket, assignee=agent.username)),
                           timeout=20, interval=0.3, message=f"ticketing to clear {agent.username} for duty")
        ticket_id = ok(created, 201)["id"]
        ok(agent.post(self.url(f"/api/v1/tickets/{ticket_id}/messages"), json={"kind": "reply", "body": "Refunded."}),
           201)
        ok(agent.post(self.url(f"/api/v1/tickets/{ticket_id}/state"), json={"state": "resolved"}))
        link = ok(self.bridge.post(self.url(f"/api/v1/tickets/{ticket_id}/rating-link")), 201)
        ok(requests.post(self.url(f"/api/v1/ratings/{link['rating_token']}"), json={"score": score}), 201)

    def import_overdue_ticket(self, round_number):
        ok(self.admin.post(self.url("/api/v1/tickets/import"), json={"source": "legacy", "tickets": [{
            "external_id": f"old-{round_number}", "subject": "Still waiting", "channel": "email",
            "kind": "inquiry", "priority": "high", "team": "billing",
            "customer": {"name": "Wang Fang", "contact": "wang@example.com"},
            "created_at": (datetime.now(timezone.utc) - timedelta(days=3)).isoformat()}]}))

    def reply_late_to_imported_ticket(self, agent):
        [old] = ok(self.admin.get(self.url("/api/v1/tickets"), params={"text": "Still waiting", "per_page": 1}))["items"]
        ok(self.admin.post(self.url(f"/api/v1/tickets/{old['id']}/assignment"), json={"assignee": agent.username}))
        ok(agent.post(self.url(f"/api/v1/tickets/{old['id']}/messages"), json={"kind": "reply", "body": "Sorry."}),
           201)

    def raise_and_handle_opinion_alert(self, round_number):
        """A newspaper's post and its reposts raise an alert (the second round a spike too); each is handled."""
        story, now = STORIES[round_number], datetime.now(timezone.utc)

        def post(index, text, author):
            return {"platform": "weibo", "external_id": f"r{round_number}-{index}", "text": text, "author": author,
                    "posted_at": (now - timedelta(minutes=1)).isoformat()}
        media = {"id": f"media{round_number}", "name": "都市快报", "followers": 3_000_000, "verified": True,
                 "kind": "media"}
        posts = [dict(post(0, story, media), reposts=120, comments=40, likes=300)] + [
            post(i, f"转发微博 //@网友{i}: {story}", {"id": f"u{round_number}-{i}", "name": "网友", "followers": 100})
            for i in range(1, 12)]
        ok(self.admin.post(self.url("/api/v1/monitoring/posts/batch"), json={"posts": posts}))
        for alert in ok(self.admin.get(self.url("/api/v1/monitoring/alerts"), params={"state": "open"}))["items"]:
            for state in ("acknowledged", "resolved"):
                ok(self.admin.post(self.url(f"/api/v1/monitoring/alerts/{alert['id']}/state"), json={"state": state}))


def ok(response, status=200):
    assert response.status_code == status, f"{response.request.method} {response.url}: {response.text}"
    return response.json()
