"""Generate docs/events from the services' ``events.PUBLISHED`` registries.

    python -m plumbing.eventdocs            # write, for every process of plumbing.services
    python -m plumbing.eventdocs --check    # fail if stale

Writes one JSON Schema per event type and version
(``schemas/<type>.v<version>.json``), the ``channels`` and
``components.messages`` sections of ``asyncapi.yaml`` and the table of
published events in ``README.md``; the rest of those files (info, servers,
prose, the envelope schema) is kept as written.

Each per-type schema stands alone, so every tool loads it without a
registry: the envelope schema is inlined under ``$defs/envelope`` and the
``data`` schema is ``$defs/data`` (what a consumer validates ``data``
alone against). The AsyncAPI parser, ajv in strict mode and Python's
jsonschema all accept them as they are.
"""
import argparse
import importlib
import json
import sys
from pathlib import Path

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from plumbing.events import SOURCE_PREFIX, exchange_name
from plumbing.services import NAMES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"
ENVELOPE = DOCS / "schemas" / "cloudevent-envelope.json"


def data_json_schema(schema_cls) -> dict:
    """The marshmallow schema as JSON Schema, nested schemas inlined."""
    plugin = MarshmallowPlugin(schema_name_resolver=lambda schema: None)
    APISpec("events", "1", "3.1.0", plugins=[plugin])
    return plugin.converter.schema2jsonschema(schema_cls)


def schema_file(event_type) -> str:
    return f"{event_type.name}.v{event_type.version}.json"


def inlined_envelope() -> dict:
    """The envelope schema without the keywords that make it a document of its own."""
    return {key: value for key, value in json.loads(ENVELOPE.read_text()).items() if key not in ("$schema", "$id")}


def event_schema(service, event_type) -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:csops:events:{event_type.name}:v{event_type.version}",
        "title": f"{event_type.name}, data version {event_type.version}",
        "description": f"{event_type.summary} Published by {service} to the `{exchange_name(service)}` topic "
                       f"exchange with routing key `{event_type.name}`. The whole envelope validates against "
                       "this schema, its `data` alone against `#/$defs/data`.",
        "type": "object",
        "allOf": [{"$ref": "#/$defs/envelope"}],
        "properties": {
            "type": {"const": event_type.name},
            "source": {"const": SOURCE_PREFIX + service},
            "subject": {"type": "string", "pattern": f"^{event_type.subject_type}/.+$"},
            "dataversion": {"const": event_type.version},
            "data": {"$ref": "#/$defs/data"},
        },
        "$defs": {
            "envelope": inlined_envelope(),
            "data": {"title": f"data of {event_type.name} version {event_type.version}",
                     **data_json_schema(event_type.data_schema)},
        },
    }


def message_key(event_type) -> str:
    head, *rest = event_type.name.replace("_", ".").split(".")
    return head + "".join(part.capitalize() for part in rest) + f"V{event_type.version}"


def service_tag(service) -> str:
    return f"service:{service}"


def subject_tag(subject_type) -> str:
    return f"subject:{subject_type}"


def asyncapi_tags(registries) -> list:
    """The document's tags, each described: the publishing service and the aggregate the events are about."""
    subject_types = sorted({event_type.subject_type for published in registries.values() for event_type in published})
    return ([{"name": service_tag(service), "description": f"Published by the {service} service to "
              f"`{exchange_name(service)}`."} for service in registries if registries[service]]
            + [{"name": subject_tag(subject_type), "description": f"Subject `{subject_type}/<id>`; `sequence` "
                "orders the events of one subject."} for subject_type in subject_types])


def asyncapi_sections(registries):
    channels, messages = {}, {}
    for service, published in registries.items():
        exchange = exchange_name(service)
        refs = []
        for event_type in published:
            key = message_key(event_type)
            refs.append({"$ref": f"#/components/messages/{key}"})
            messages[key] = {
                "messageId": key,
                "name": event_type.name,
                "title": f"{event_type.name} (data version {event_type.version})",
                "summary": event_type.summary,
                "tags": [{"name": service_tag(service)}, {"name": subject_tag(event_type.subject_type)}],
                "contentType": "application/cloudevents+json",
                "correlationId": {"description": "The HTTP request that caused the event.",
                                  "location": "$message.payload#/requestid"},
                "bindings": {"amqp": {"contentEncoding": "utf-8", "messageType": event_type.name,
                                      "bindingVersion": "0.2.0"}},
                "payload": {"$ref": f"./schemas/{schema_file(event_type)}"},
            }
        channel = {
            "description": f"Durable topic exchange `{exchange}`, published to by the {service} service. "
                           "Routing key = event type.",
            "bindings": {"amqp": {"is": "routingKey", "exchange": {
                "name": exchange, "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"},
                "bindingVersion": "0.2.0"}},
        }
        if refs:
            channel["subscribe"] = {
                "operationId": f"receive{service.capitalize()}Events",
                "summary": f"Events of the {service} service, at least once: deduplicate on `id`.",
                "bindings": {"amqp": {"cc": [e.name for e in published], "deliveryMode": 2, "mandatory": False,
                                      "ack": True, "bindingVersion": "0.2.0"}},
                "message": refs[0] if len(refs) == 1 else {"oneOf": refs},
            }
        channels[exchange] = channel
    return channels, messages


TABLE_START, TABLE_END = "<!-- published events: generated -->", "<!-- end of published events -->"


def consumers(services) -> dict:
    """(source, type) -> the platform handlers bound to it ('#': every type of the source)."""
    from plumbing.topology import subscriptions

    bound = {}
    for service in services:
        module = importlib.import_module(f"{service}.service")
        for cls in vars(module).values():
            if isinstance(cls, type) and getattr(cls, "name", None) == service:
                for source, event_type, method in subscriptions(cls):
                    bound.setdefault((source, event_type), []).append(f"{service}.{method}")
    return bound


def events_table(registries) -> str:
    bound = consumers(registries)
    rows = ["| exchange | routing key | what | schema | platform consumers |", "| --- | --- | --- | --- | --- |"]
    for service, published in registries.items():
        for event_type in published:
            handlers = bound.get((service, event_type.name), []) + bound.get((service, "#"), [])
            rows.append(f"| `{exchange_name(service)}` | `{event_type.name}` | {event_type.summary} | "
                        f"`schemas/{schema_file(event_type)}` | {', '.join(f'`{h}`' for h in handlers) or '-'} |")
    return "\n".join([TABLE_START, *rows, TABLE_END])


def with_table(readme: str, registries) -> str:
    head, rest = readme.split(TABLE_START, 1)
    return head + events_table(registries) + rest.split(TABLE_END, 1)[1]


def render(registries) -> dict[Path, str]:
    files = {DOCS / "README.md": with_table((DOCS / "README.md").read_text(), registries)}
    for service, published in registries.items():
        for event_type in published:
            files[DOCS / "schemas" / schema_file(event_type)] = json.dumps(
                event_schema(service, event_type), indent=2, ensure_ascii=False) + "\n"
    asyncapi = yaml.safe_load((DOCS / "asyncapi.yaml").read_text())
    channels, messages = asyncapi_sections(registries)
    components = asyncapi.pop("components")
    for generated in ("tags", "channels"):
        asyncapi.pop(generated, None)
    asyncapi.update(tags=asyncapi_tags(registries), channels=channels, components=dict(components, messages=messages))
    files[DOCS / "asyncapi.yaml"] = yaml.safe_dump(asyncapi, sort_keys=False, allow_unicode=True, width=100)
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description="Generate docs/events from the services' event registries.")
    parser.add_argument("services", nargs="*", default=NAMES, help="default: every process")
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is out of date")
    args = parser.parse_args(argv)
    registries = {service: importlib.import_module(f"{service}.events").PUBLISHED for service in args.services}
    stale = [path for path, text in render(registries).items()
             if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"out of date: {path.relative_to(DOCS.parents[1])} (run make event-docs)", file=sys.stderr)
        sys.exit(1 if stale else 0)
    for path, text in render(registries).items():
        path.write_text(text)
    print(f"wrote {len(render(registries))} files, {len(stale)} changed")


if __name__ == "__main__":
    main()
