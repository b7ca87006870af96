"""Each process reaches RabbitMQ as its own user, allowed only its own exchanges and queues (issue 16).

On the local broker: deploy/rabbitmq/users.py makes the users of deploy/rabbitmq/definitions.json in
the test's fresh vhost (named with a prefix of the test's: user names are global to a broker); the
topology job declares as its user; every service runs as its own user, with the settings compose and
Kubernetes give it, answers through the gateway, and events flow between them, retries and dead
letters included. What a user must not do (publish to another process's exchange, consume another's
queue, call another service, listen to its calls) is refused with ACCESS_REFUSED.
"""
import importlib.util
import json
import secrets
import urllib.parse
import uuid

import eventlet
import pytest
import requests
from amqp import Message
from amqp.exceptions import ChannelError
from kombu import Connection, Exchange, Queue
from sqlalchemy import create_engine, text

from plumbing import deadletter, topology
from plumbing.config import database_url, service_config
from plumbing.consumer import event_handler
from plumbing.services import BACKEND_NAMES, NAMES, PROCESSES
from plumbing.testing import publish_event, publish_raw, wait_for
from tests.conftest import ROOT

ADMIN_PASSWORD = "admin-test-password"
TICKET = {"subject": "Refund not received", "channel": "email", "kind": "complaint",
          "customer": {"name": "Wang Fang", "contact": "wang@example.com"}}
ACCESS_REFUSED = 403


def users_tool():
    spec = importlib.util.spec_from_file_location("broker_users", ROOT / "deploy/rabbitmq/users.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_users_tool_names_every_setting_it_misses():
    with pytest.raises(SystemExit) as refused:
        users_tool().main([], environ={"RABBITMQ_TICKETING_PASSWORD": "set"})
    assert str(refused.value) == ("set RABBITMQ_MANAGEMENT_URL, RABBITMQ_GATEWAY_PASSWORD, RABBITMQ_TRAINING_PASSWORD, "
                                  "RABBITMQ_APPRAISAL_PASSWORD, RABBITMQ_MONITORING_PASSWORD, RABBITMQ_CHANNELS_PASSWORD, "
                                  "RABBITMQ_TOPOLOGY_PASSWORD")


@pytest.fixture
def broker_uris(rabbit_config, request):
    """The AMQP URI of each user of the definitions, made by the users tool in the test's vhost."""
    tool = users_tool()
    management_url = request.config.getoption("RABBIT_API_URI")
    prefix = f"csops-test-{uuid.uuid4().hex[:8]}-"
    definitions = json.loads(tool.DEFINITIONS.read_text())
    for user in definitions["users"]:
        user["name"] = prefix + user["name"]
    for entry in [*definitions["permissions"], *definitions["topic_permissions"]]:
        entry["user"] = prefix + entry["user"]
    passwords = {user["name"]: secrets.token_hex(16) for user in definitions["users"]}
    vhost = rabbit_config["vhost"]
    try:
        tool.import_definitions(tool.with_passwords(definitions, passwords, vhost=vhost), management_url)
        host = urllib.parse.urlsplit(rabbit_config["AMQP_URI"]).netloc.rpartition("@")[2]
        yield {name.removeprefix(prefix): f"amqp://{name}:{password}@{host}/{vhost}"
               for name, password in passwords.items()}
    finally:
        api = urllib.parse.urlsplit(management_url)
        for name in passwords:
            requests.delete(f"{api.scheme}://{api.hostname}:{api.port}/api/users/{urllib.parse.quote(name, safe='')}",
                            auth=(api.username, api.password), timeout=10)


@pytest.fixture
def declared(broker_uris):
    """The topology job's work, done as its user: every process's exchanges and handler queues."""
    topology.declare([topology.load(process.service_class) for process in PROCESSES], uri=broker_uris["topology"])
    return broker_uris


def deployed_config(uri, monkeypatch, **extra):
    """A service's nameko config as plumbing.serve builds it from what compose and Kubernetes set."""
    monkeypatch.setenv("AMQP_URI", uri)
    monkeypatch.setenv("DECLARE_EVENT_EXCHANGES", "false")
    return dict(service_config(), **extra)


def start(container):
    """Start a container; a declaration the broker refuses fails the test instead of retrying for ever."""
    with eventlet.Timeout(30, AssertionError(f"{container.service_name} did not start: see its log above")):
        container.start()
    return container


def handled(service, table):
    engine = create_engine(database_url(service))
    with engine.connect() as connection:
        ids = set(connection.scalars(text(f"SELECT event_id FROM {table}")))
    engine.dispose()
    return ids


def test_the_platform_works_with_each_process_as_its_own_user(
        declared, rabbit_config, container_factory, web_config, migrated, tmp_path, monkeypatch):
    monkeypatch.setenv("CSOPS_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ADMIN_PASSWORD", ADMIN_PASSWORD)
    for process in PROCESSES:
        migrated(process.name, database_url(process.name))
        config = deployed_config(declared[process.name], monkeypatch, **web_config, RPC_TIMEOUT_SECONDS=5,
                                 JWT_SECRET="test-secret-of-at-least-32-bytes-long", METRICS_PORT=0)
        start(container_factory(topology.load(process.service_class), config))
    base = f"http://{web_config['WEB_SERVER_ADDRESS']}"

    # the gateway calls every service (its user publishes the calls, theirs the replies)
    health = requests.get(f"{base}/health", timeout=10)
    assert health.status_code == 200, health.text
    assert health.json()["services"] == {name: "ok" for name in BACKEND_NAMES}

    admin = requests.Session()
    token = admin.post(f"{base}/api/v1/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}).json()
    admin.headers["Authorization"] = f"Bearer {token['access_token']}"
    # gateway.events -> ticketing
    created = admin.post(f"{base}/api/v1/accounts", json={"username": "alice", "password": "password-123",
                                                           "roles": ["agent"]})
    assert created.status_code == 201, created.text
    wait_for(lambda: any(agent["username"] == "alice" for agent in admin.get(f"{base}/api/v1/agents").json()["items"]),
             message="ticketing learning of alice from the gateway's event")
    # ticketing.events -> appraisal
    ticket = admin.post(f"{base}/api/v1/tickets", json=TICKET)
    assert ticket.status_code == 201, ticket.text
    wait_for(lambda: handled("appraisal", "facts"), message="appraisal handling ticketing's ticket.created")

    # a message appraisal can never handle goes to its dead-letter queue, moved there by appraisal's user
    queue = topology.handler_queue("ticketing", "ticket.created", "appraisal", "on_ticket_created").name
    publish_raw(rabbit_config["AMQP_URI"], "ticketing", "ticket.created", b"{not json")
    letters = wait_for(lambda: deadletter.peek(f"{queue}.dlq", uri=rabbit_config["AMQP_URI"]),
                       message="the undecodable message in appraisal's dead-letter queue")
    assert "undecodable" in letters[0]["reason"]


class FlakyTraining:
    """Training's handler of appraisal's retraining requests, failing its first try."""
    name = "training"
    tries = []

    @event_handler("appraisal", "appraisal.retraining_requested")
    def on_retraining_requested(self, envelope):
        FlakyTraining.tries.append(envelope["id"])
        if len(FlakyTraining.tries) == 1:
            raise RuntimeError("the first try fails")


def test_a_failed_event_is_retried_through_the_consumer_s_own_exchange(
        declared, rabbit_config, container_factory, monkeypatch):
    FlakyTraining.tries = []
    config = deployed_config(declared["training"], monkeypatch, EVENT_RETRY_DELAYS=[0.2])
    start(container_factory(FlakyTraining, config))
    event = publish_event(rabbit_config["AMQP_URI"], "appraisal", "appraisal.retraining_requested",
                          {"agent": "alice", "course_id": 1, "reason": "CSAT below target"})
    wait_for(lambda: FlakyTraining.tries == [event["id"]] * 2, message="the event handled again after its delay")


def outcome(uri, action):
    """'ok', or the reply code the broker closed the channel with."""
    with Connection(uri) as connection:
        channel = connection.channel()
        try:
            action(channel)
            channel.basic_qos(0, 0, False)  # a round trip: a refused publish closes the channel afterwards
        except ChannelError as exc:
            return exc.reply_code
    return "ok"


def publish(exchange, routing_key):
    return lambda channel: channel.basic_publish(Message(b"{}"), exchange=exchange, routing_key=routing_key)


def consume(queue):
    return lambda channel: channel.basic_consume(queue, callback=lambda message: None)


def bind(queue, exchange, routing_key):
    return lambda channel: channel.queue_bind(queue, exchange, routing_key)


def delete_exchange(exchange):
    return lambda channel: channel.exchange_delete(exchange)


def resources():
    """Each process's queues (its RPC queue and its handler queues) and the event types it handles."""
    found = {}
    for process in PROCESSES:
        service_cls = topology.load(process.service_class)
        subscriptions = list(topology.subscriptions(service_cls))
        found[process.name] = {
            "rpc": f"rpc-{process.name}" if process.name in BACKEND_NAMES else None,
            "handler_queues": [topology.handler_queue(source, event_type, process.name, method).name
                               for source, event_type, method in subscriptions],
            "subscriptions": subscriptions,
        }
    return found


def attempts(owned):
    """(user, what, action, allowed) of what each user tries against its own and the others' resources."""
    for user in [*NAMES, "topology"]:
        own = owned.get(user, {"rpc": None, "handler_queues": [], "subscriptions": []})
        yield user, f"publish to {user}.events", publish(f"{user}.events", "x.y"), user != "topology"
        for other in set(NAMES) - {user}:
            yield user, f"publish to {other}.events", publish(f"{other}.events", "x.y"), False
            if user != "topology":  # which declares every exchange, so may delete them
                yield user, f"delete {other}.events", delete_exchange(f"{other}.events"), False
            theirs = owned[other]
            for queue in [theirs["rpc"], *theirs["handler_queues"][:1]]:
                if queue:
                    yield user, f"consume {queue}", consume(queue), False
                    yield user, f"publish to {queue} through the default exchange", publish("", queue), False
            if theirs["rpc"] and user not in ("gateway", "topology"):
                yield user, f"call {other}", publish("nameko-rpc", f"{other}.ping"), False
                yield user, f"bind {user}'s queue to {other}'s calls", bind(f"rpc-{user}", "nameko-rpc", f"{other}.*"), \
                    False
        if own["rpc"]:
            yield user, f"consume {own['rpc']}", consume(own["rpc"]), True
            yield user, "answer a call", publish("nameko-rpc", str(uuid.uuid4())), True
        for queue in own["handler_queues"][:1]:
            yield user, f"consume {queue}", consume(queue), True
        if own["subscriptions"]:
            source, event_type, _ = own["subscriptions"][0]
            yield user, f"bind {own['handler_queues'][0]} to {source}.events {event_type}", \
                bind(own["handler_queues"][0], f"{source}.events", event_type), True
            yield user, f"bind {own['handler_queues'][0]} to {source}.events #", \
                bind(own["handler_queues"][0], f"{source}.events", "#"), False
    yield "gateway", "call ticketing", publish("nameko-rpc", "ticketing.ping"), True
    yield "channels", "open a ticket", publish("nameko-rpc", "ticketing.create_tickets"), True
    yield "channels", "add a message", publish("nameko-rpc", "ticketing.add_message"), True


def test_a_user_may_not_touch_another_process_s_exchanges_and_queues(declared, rabbit_config):
    owned = resources()
    with Connection(rabbit_config["AMQP_URI"]) as connection:  # what the services would have declared
        channel = connection.default_channel
        rpc = Exchange("nameko-rpc", type="topic", durable=True)
        for process in owned.values():
            if process["rpc"]:
                Queue(process["rpc"], exchange=rpc, routing_key=f"{process['rpc'][4:]}.*", durable=True)(channel).declare()
    tried = list(attempts(owned))
    outcomes = {(user, what): outcome(declared[user], action) for user, what, action, _ in tried}
    assert outcomes == {(user, what): "ok" if allowed else ACCESS_REFUSED for user, what, _, allowed in tried}
