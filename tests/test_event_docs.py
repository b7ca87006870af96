"""docs/events is the public contract: one valid schema per published event type."""
import importlib
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from plumbing import eventdocs
from plumbing.events import make_envelope
from plumbing.services import NAMES as SERVICES
ASYNCAPI = Path(__file__).resolve().parents[1] / "docs" / "events" / "asyncapi.yaml"


def published():
    for service in SERVICES:
        module = importlib.import_module(f"{service}.events")
        for event_type in getattr(module, "PUBLISHED", ()):
            yield service, event_type


def test_every_schema_document_is_valid_json_schema(event_schemas):
    for document in event_schemas.documents.values():
        Draft202012Validator.check_schema(document)


@pytest.mark.parametrize("service, event_type", list(published()), ids=lambda value: getattr(value, "name", value))
def test_every_published_event_type_is_documented(event_schemas, service, event_type):
    assert event_schemas.schema_for(event_type.name, event_type.version)
    channels = yaml.safe_load(ASYNCAPI.read_text())["channels"]
    assert event_type.name in channels[f"{service}.events"]["subscribe"]["bindings"]["amqp"]["cc"]


def test_docs_are_generated_from_the_current_registries():
    registries = {service: importlib.import_module(f"{service}.events").PUBLISHED for service in SERVICES}
    stale = [str(path) for path, text in eventdocs.render(registries).items() if path.read_text() != text]
    assert stale == [], "docs/events is out of date: run make event-docs"


def test_the_contract_rejects_personal_data_and_unknown_versions(event_schemas):
    data = {"ticket_id": 1, "subject": "s", "channel": "phone", "kind": "inquiry", "priority": "normal",
            "state": "new", "assignee": None, "team": None, "actor": "alice", "tags": [],
            "created_at": "2026-11-23T08:00:00+00:00"}
    good = make_envelope(service="ticketing", event_type="ticket.created", subject="ticket/1", data=data, sequence=1)
    event_schemas.validate(good)
    with pytest.raises(ValidationError):
        event_schemas.validate(dict(good, data=dict(data, customer={"contact": "+86 138 0000 0000"})))
    with pytest.raises(ValidationError):
        event_schemas.validate(dict(good, time="yesterday"))
    with pytest.raises(KeyError):
        event_schemas.validate(dict(good, dataversion=2))
    with pytest.raises(ValidationError):  # the CloudEvents sequence extension is a string
        event_schemas.validate(dict(good, sequence=1))


def test_each_schema_stands_alone_and_holds_its_data_schema(event_schemas):
    """No registry, no reference to resolve: a tool loads one file and validates an envelope, or its data."""
    data = {"ticket_id": 1, "subject": "s", "channel": "phone", "kind": "inquiry", "priority": "normal",
            "state": "new", "assignee": None, "team": None, "actor": None, "tags": [],
            "created_at": "2026-11-23T08:00:00+00:00"}
    schema = event_schemas.schema_for("ticket.created", 1)
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(
        make_envelope(service="ticketing", event_type="ticket.created", subject="ticket/1", data=data, sequence=1))
    Draft202012Validator(schema["$defs"]["data"]).validate(data)
    with pytest.raises(ValidationError):
        Draft202012Validator(schema["$defs"]["data"]).validate(dict(data, ticket_id="1"))
    for document in event_schemas.documents.values():
        outside = [ref for ref in refs_in(document) if not ref.startswith("#")]
        assert outside == [], f"{document['$id']} refers to other documents"


def refs_in(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs_in(value)
