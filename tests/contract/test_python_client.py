"""The contract test job (issue 18), Python's side: against the running platform (`make up`), the tools
integrators use accept what it serves. openapi-spec-validator validates the live document; a client
openapi-python-client generates from it drives a call of every area (tickets, training, appraisal,
monitoring) and gets typed answers, every documented field there and nothing undocumented; a webhook
receiver accepts the deliveries only if the standardwebhooks package verifies their signatures."""
import json
from urllib.parse import urlsplit

import attrs
import eventlet
import eventlet.wsgi
import pytest
import requests
from openapi_spec_validator import validate
from standardwebhooks import Webhook, WebhookVerificationError

from plumbing.testing import wait_for
from tests.conftest import service_environment
from tests.contract import python_client
from tests.test_end_to_end import make_up

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "contract-admin-password"
TICKET = {"subject": "Charged twice", "description": "Two debits for order 8812", "channel": "web_form",
          "kind": "complaint", "customer": {"name": "Chen Jie", "contact": "+86 139 1234 5678"}}
COURSE = {"title": "Refund policy", "kind": "onboarding", "mode": "online", "duration_hours": 2,
          "target_role": "agent"}
POST = {"platform": "weibo", "external_id": "contract-1", "text": "退款太慢了 refund is slow",
        "posted_at": "2026-11-02T09:00:00+00:00", "author": {"id": "a1", "name": "Wang"}}


@pytest.fixture(scope="module")
def platform(request, vhost_pipeline, tmp_path_factory):
    """`make up` once for the module, on a RabbitMQ vhost of its own; its base URL. Webhooks may
    point at this machine (the test's receiver)."""
    broker = urlsplit(request.config.getoption("RABBIT_AMQP_URI"))
    directory = tmp_path_factory.mktemp("platform")
    with vhost_pipeline.get() as vhost:
        env = service_environment(f"{broker.scheme}://{broker.netloc}/{vhost}", directory)
        with make_up(env, directory, ADMIN_PASSWORD=ADMIN_PASSWORD,
                     TICKETING_WEBHOOK_ALLOWED_HOSTS="127.0.0.1") as (base, *_):
            yield base


@pytest.fixture(scope="module")
def served_document(platform):
    response = requests.get(f"{platform}/api/v1/openapi.json", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def csops(served_document, tmp_path_factory):
    """The client package generated from the served document, imported."""
    package, complaints = python_client.generate(served_document, tmp_path_factory.mktemp("client"))
    assert complaints == []
    return python_client.load(package)


@pytest.fixture(scope="module")
def admin(platform, csops):
    """The generated client, signed in as admin through its own issue_token call."""
    from csops_client.api.auth import issue_token
    anonymous = csops.Client(base_url=platform, raise_on_unexpected_status=True)
    token = typed(issue_token.sync_detailed(client=anonymous, body=csops.models.TokenRequest(
        username="admin", password=ADMIN_PASSWORD)), csops.models.Token)
    return csops.AuthenticatedClient(base_url=platform, token=token.access_token, raise_on_unexpected_status=True)


def typed(response, model):
    """The parsed answer: a ``model``, none of its fields (nested ones too) left unset, and the JSON
    the platform sent when written back, so no field it sent is missing from the document."""
    assert response.status_code < 300, response.content
    parsed = response.parsed
    assert isinstance(parsed, model), (type(parsed).__name__, response.content)
    assert unset_fields(parsed) == []
    assert parsed.to_dict() == json.loads(response.content)
    return parsed


def unset_fields(value, path="") -> list:
    if isinstance(value, list):
        return [name for index, item in enumerate(value) for name in unset_fields(item, f"{path}[{index}]")]
    if not attrs.has(type(value)):
        return []
    found = []
    for field in attrs.fields(type(value)):
        inner = getattr(value, field.name)
        found += [f"{path}.{field.name}"] if type(inner).__name__ == "Unset" else unset_fields(
            inner, f"{path}.{field.name}")
    return found


class VerifyingReceiver:
    """An integrator's webhook endpoint: it accepts a request (204) only if the standardwebhooks
    package verifies it with the webhook's secret, and keeps the payloads it accepted."""

    def __init__(self):
        self.secret = None  # known once the webhook is made
        self.accepted, self.refused = [], []
        self.socket = eventlet.listen(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/csops"
        self.thread = eventlet.spawn(eventlet.wsgi.server, self.socket, self.app, log_output=False)

    def app(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {name[5:].replace("_", "-").lower(): value
                   for name, value in environ.items() if name.startswith("HTTP_")}
        try:
            self.accepted.append(Webhook(self.secret).verify(body, headers))
        except WebhookVerificationError as error:
            self.refused.append(str(error))
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])
            return [b"bad signature"]
        start_response("204 No Content", [])
        return []

    def close(self):
        self.thread.kill()
        self.socket.close()


@pytest.fixture
def receiver():
    receiver = VerifyingReceiver()
    yield receiver
    receiver.close()


def test_the_served_document_is_valid_openapi(served_document):
    validate(served_document)


def test_a_generated_client_gets_typed_answers_from_every_area(admin, csops):
    from csops_client.api.appraisal import list_cycles, ticket_counts
    from csops_client.api.monitoring import ingest_post, list_opinion_alerts
    from csops_client.api.tickets import create_ticket, get_ticket, list_tickets
    from csops_client.api.training import create_course, list_courses
    models = csops.models

    created = typed(create_ticket.sync_detailed(client=admin, body=models.TicketCreate.from_dict(TICKET)),
                    models.TicketDetail)
    ticket = typed(get_ticket.sync_detailed(client=admin, ticket_id=created.id), models.TicketDetail)
    assert (ticket.subject, ticket.customer.name, ticket.assignee) == (TICKET["subject"], "Chen Jie", None)
    page = typed(list_tickets.sync_detailed(client=admin), models.TicketPage)
    assert ticket.id in [summary.id for summary in page.items] and page.total == len(page.items)

    course = typed(create_course.sync_detailed(client=admin, body=models.CourseCreate.from_dict(COURSE)),
                   models.Course)
    courses = typed(list_courses.sync_detailed(client=admin), models.CoursePage)
    assert [item.id for item in courses.items] == [course.id] and course.certification is None
    assert typed(list_cycles.sync_detailed(client=admin), models.CycleList).items == []

    counts = wait_for(lambda: typed(ticket_counts.sync_detailed(client=admin), models.TicketCountList).items,
                      timeout=30, message="appraisal to count the ticket (ticket.created)")
    assert [(count.agent, count.day) for count in counts] == [(None, ticket.created_at.date())]

    post = typed(ingest_post.sync_detailed(client=admin, body=models.PostCreate.from_dict(POST)), models.Post)
    assert (post.external_id, post.author.name) == (POST["external_id"], "Wang")
    alerts = typed(list_opinion_alerts.sync_detailed(client=admin), models.AlertPage)
    assert alerts.total == len(alerts.items)


def test_a_receiver_verifies_webhook_deliveries_with_standardwebhooks(admin, csops, receiver):
    from csops_client.api.tickets import create_ticket
    from csops_client.api.webhooks import create_webhook, list_deliveries
    models = csops.models

    hook = typed(create_webhook.sync_detailed(client=admin, body=models.WebhookCreate.from_dict(
        {"url": receiver.url, "event_types": ["ticket.created"]})), models.WebhookCreated)
    receiver.secret = hook.secret
    ticket = typed(create_ticket.sync_detailed(client=admin, body=models.TicketCreate.from_dict(TICKET)),
                   models.TicketDetail)

    [delivered] = wait_for(lambda: receiver.accepted, timeout=30, message="a verified delivery")
    assert receiver.refused == []
    assert (delivered["type"], delivered["data"]["ticket_id"]) == ("ticket.created", ticket.id)
    deliveries = wait_for(lambda: [delivery for delivery in typed(
        list_deliveries.sync_detailed(client=admin, webhook_id=hook.id), models.DeliveryPage).items
        if delivery.status == "delivered"], timeout=10, message="the delivery log to say delivered")
    assert [(delivery.event_id, delivery.last_status_code) for delivery in deliveries] == [(delivered["id"], 204)]
