"""The events and API contract as integrators' own Node tools see it (issue 18).

The AsyncAPI CLI validates docs/events/asyncapi.yaml; ajv compiles every event schema in strict mode;
and against the running platform (`make up`), openapi-typescript types its OpenAPI document for
`tsc --strict`, while a Node consumer (contracts/node/consume.mjs: amqplib, the CloudEvents SDK, ajv)
bound to every events exchange validates each event a working day driven over HTTP publishes.

The tools are contracts/node's, pinned by its package-lock.json and installed by `make contract-tools`
(`make test` runs it first). Missing, every test here fails saying so. About two and a half minutes,
most of it the platform's.
"""
import json
import os
import re
import signal
import subprocess
import threading
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from plumbing.testing import wait_for
from tests.conftest import ROOT
from tests.test_end_to_end import make_up
from tests.test_observability import Traffic, ok

NODE_KIT = ROOT / "contracts" / "node"
README = ROOT / "docs" / "events" / "README.md"
SCHEMAS = ROOT / "docs" / "events" / "schemas"
ERROR, WARNING = 0, 1  # the CLI's diagnostic severities
# what the working day below publishes: every type but the ones that take days (an expiry, a deadline) or a
# second agent (a transfer), and the retraining a closed cycle's bad grade sends
DRIVEN_TYPES = {
    "staff.account_created", "staff.account_updated",
    "training.enrolled", "training.exam_passed", "training.completed", "training.certified",
    "ticket.created", "ticket.assigned", "ticket.status_changed", "ticket.replied", "ticket.first_responded",
    "ticket.resolved", "ticket.rated", "ticket.closed", "ticket.escalated", "ticket.merged",
    "complaint.recorded", "complaint.verdict_given", "sla.clock_stopped", "sla.warning", "sla.breached",
    "callback.scheduled", "callback.completed", "suggestion.forwarded", "suggestion.decided", "kb.search_missed",
    "appraisal.published", "appraisal.appeal_filed", "appraisal.appeal_decided",
    "opinion.post_analysed", "opinion.alert_raised", "opinion.alert_updated",
}


def require_node_tools():
    """Without them every test here fails at once, saying how to install them."""
    if not (NODE_KIT / "node_modules" / ".package-lock.json").exists():
        pytest.fail("contracts/node has no node_modules: run `make contract-tools` (npm ci from its lockfile)",
                    pytrace=False)


def npm_run(script, timeout, **env):
    """`npm run <script>` in contracts/node."""
    require_node_tools()
    return subprocess.run(["npm", "run", "--silent", script], cwd=NODE_KIT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **env})


def test_the_asyncapi_cli_finds_no_error_and_only_warnings_the_readme_explains():
    done = npm_run("validate-asyncapi", timeout=180)
    diagnostics = json.loads(done.stdout[done.stdout.index("["):]) if "[" in done.stdout else []
    errors = [d for d in diagnostics if d["severity"] == ERROR]
    assert done.returncode == 0 and errors == [], done.stdout + done.stderr
    explained = set(re.findall(r"`(asyncapi[0-9]*-[a-z-]+)`", README.read_text()))
    warned = {d["code"] for d in diagnostics if d["severity"] == WARNING}
    assert warned <= explained, f"warnings docs/events/README.md does not explain: {warned - explained}"


def test_ajv_compiles_every_event_schema_in_strict_mode():
    done = npm_run("check-schemas", timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["compiled"] == len(list(SCHEMAS.glob("*.json")))


def test_the_readme_shows_the_node_consumer_as_it_is():
    block = re.search(r"<!-- the Node consumer: .*? -->\n```js\n(.*?)```", README.read_text(), re.DOTALL).group(1)
    assert block == (NODE_KIT / "consume.mjs").read_text(), "copy contracts/node/consume.mjs into docs/events/README.md"


class NodeConsumer:
    """contracts/node/consume.mjs on its own queue in the platform's vhost: the JSON lines it prints."""

    def __init__(self, amqp_uri):
        self.lines = []
        self.process = subprocess.Popen(
            ["node", "consume.mjs"], cwd=NODE_KIT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "AMQP_URI": re.sub(r"^pyamqp:", "amqp:", amqp_uri),  # kombu's name for it
                 "QUEUE_NAME": "contract-test.node-consumer"})
        threading.Thread(target=self.read, daemon=True).start()
        wait_for(lambda: self.process.poll() is not None or any("ready" in line for line in self.lines),
                 timeout=60, interval=0.2, message="the Node consumer to bind its queue")
        assert self.process.poll() is None, "\n".join(map(str, self.lines))

    def read(self):
        for line in self.process.stdout:
            try:
                self.lines.append(json.loads(line))
            except ValueError:
                self.lines.append({"output": line.rstrip()})

    def events(self):
        return [line for line in self.lines if "valid" in line]

    def types(self):
        return {event.get("type") for event in self.events()}

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        time.sleep(0.2)  # the reader's last line
        return next((line["report"] for line in self.lines if "report" in line), None)


@pytest.mark.e2e
def test_node_tools_read_the_running_platform(process_env, tmp_path, rabbit_config):
    require_node_tools()
    consumer, typescript = NodeConsumer(rabbit_config["AMQP_URI"]), None
    try:
        with make_up(process_env, tmp_path, ADMIN_PASSWORD="e2e-admin-password",
                     TICKETING_SLA_SWEEP_SECONDS="1") as (base, _, _, _):
            traffic = Traffic(base, rabbit_config["AMQP_URI"])
            (tmp_path / "openapi.json").write_text(json.dumps(ok(traffic.admin.get(f"{base}/api/v1/openapi.json"))))
            typescript = subprocess.Popen(["npm", "run", "--silent", "types"], cwd=NODE_KIT, text=True,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                          env={**os.environ, "OPENAPI": str(tmp_path / "openapi.json")})
            working_day(traffic)
            deadline = time.monotonic() + 60
            while not DRIVEN_TYPES <= consumer.types() and time.monotonic() < deadline:
                time.sleep(0.5)
            compiled = typescript.communicate(timeout=180)[0]
    finally:
        if typescript is not None and typescript.poll() is None:
            os.killpg(typescript.pid, signal.SIGKILL)  # npm and the tool it runs
            typescript.wait()
        report = consumer.stop()
    invalid = [event for event in consumer.events() if not event["valid"]]
    assert invalid == [], json.dumps(invalid[:5], indent=1, ensure_ascii=False)
    assert DRIVEN_TYPES - consumer.types() == set(), "types published but never received"
    assert typescript.returncode == 0, f"openapi-typescript + tsc --strict failed:\n{compiled}"
    assert report and sum(counts["received"] for counts in report.values()) == len(consumer.events())
    assert all(re.fullmatch(r"[0-9]{20}", event["sequence"]) for event in consumer.events())


def working_day(traffic):
    """Observability's day (an agent trained, certified and on duty; a complaint answered, resolved and rated;
    an overdue ticket imported; posts that raise an alert, handled), then what it leaves out."""
    admin, url = traffic.admin, traffic.url
    traffic.set_up()
    agent = traffic.certified_agent("agent0")
    traffic.answer_and_rate(agent, 4)
    traffic.import_overdue_ticket(0)
    traffic.raise_and_handle_opinion_alert(0)

    def ticket(**fields):
        return ok(admin.post(url("/api/v1/tickets"), json={
            "subject": "Parcel arrived damaged", "channel": "email", "kind": "inquiry", "priority": "normal",
            "team": "billing", "customer": {"name": "Li Lei", "contact": "li@example.com"}, **fields}), 201)["id"]
    first, duplicate, idea, complaint = ticket(), ticket(), ticket(kind="suggestion"), ticket(kind="complaint")
    ok(admin.post(url(f"/api/v1/tickets/{complaint}/complaint"), json={
        "issue": "box crushed", "demand": "a new one", "category": "delivery",
        "occurred_at": datetime.now(timezone.utc).isoformat()}), 201)
    ok(admin.post(url(f"/api/v1/tickets/{complaint}/complaint/result"), json={"result": "a new one is on its way"}))
    ok(admin.post(url(f"/api/v1/tickets/{complaint}/state"), json={"state": "resolved"}))
    ok(admin.post(url(f"/api/v1/tickets/{complaint}/complaint/verdict"), json={"satisfied": True}))
    ok(admin.post(url(f"/api/v1/tickets/{first}/escalation"), json={"reason": "third contact"}))
    ok(admin.post(url(f"/api/v1/tickets/{duplicate}/merge"), json={"into": first}))
    callback = ok(admin.post(url(f"/api/v1/tickets/{first}/callbacks"), json={
        "scheduled_for": (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()}), 201)
    ok(admin.post(url(f"/api/v1/callbacks/{callback['id']}/outcome"), json={"outcome": "reached"}))
    ok(admin.post(url(f"/api/v1/tickets/{idea}/suggestion/forward"), json={"department": "logistics"}))
    ok(admin.post(url(f"/api/v1/tickets/{idea}/suggestion/decision"), json={"adopted": True, "decision": "Done"}))
    ok(admin.get(url("/api/v1/kb/search"), params={"q": "nothing written about this"}))
    appraisal_cycle(traffic, agent)


def appraisal_cycle(traffic, agent):
    """A month's cycle published; the agent appeals and the committee rejects it."""
    admin, url = traffic.admin, traffic.url
    ok(admin.post(url("/api/v1/appraisal/kpi-definitions"), json={
        "key": "courtesy", "name": "Courtesy", "category": "attitude", "source": "rated", "measure": "courtesy",
        "direction": "higher_better", "target": 100, "floor": 0}), 201)
    template = ok(admin.post(url("/api/v1/appraisal/templates"), json={
        "name": "Agents monthly", "role": "agent", "period_type": "monthly",
        "items": [{"kpi": "courtesy", "weight": 100}], "reviewer_weights": {"supervisor": 100},
        "bands": [{"grade": "A", "min_score": 80}, {"grade": "B", "min_score": 0}]}), 201)
    cycle = ok(admin.post(url("/api/v1/appraisal/cycles"), json={
        "template_id": template["id"], "period_start": date.today().replace(day=1).isoformat()}), 201)
    step = url(f"/api/v1/appraisal/cycles/{cycle['id']}/transitions")
    ok(admin.post(step, json={"action": "start"}))
    ok(admin.post(url("/api/v1/appraisal/ratings"), json={
        "cycle_id": cycle["id"], "agent": agent.username, "reviewer_role": "supervisor", "scores": {"courtesy": 70}}),
       201)
    for action in ("compute", "review", "publish"):
        ok(admin.post(step, json={"action": action}))
    appeal = ok(agent.post(url(f"/api/v1/appraisal/cycles/{cycle['id']}/appeals"),
                           json={"items": ["courtesy"], "reason": "one bad call"}), 201)
    ok(admin.post(url(f"/api/v1/appraisal/appeals/{appeal['id']}/investigation"), json={}))
    ok(admin.post(url(f"/api/v1/appraisal/appeals/{appeal['id']}/decision"),
                  json={"decision": "rejected", "reason": "sampled fairly"}))
