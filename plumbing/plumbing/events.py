"""The CloudEvents 1.0 envelope every event travels in (docs/events/).

Structured mode: the whole envelope is the AMQP body, content type
``application/cloudevents+json``. Extension attributes: ``sequence`` (per
aggregate, starting at 1; a string, as the CloudEvents sequence extension
says, of SEQUENCE_DIGITS zero-padded digits so text order is number order),
``requestid`` (the HTTP request that caused it) and ``dataversion`` (version
of the ``data`` schema for this ``type``).
"""
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from kombu.serialization import register

from plumbing.text import first_text_problem, with_article

CONTENT_TYPE = "application/cloudevents+json"
SERIALIZER = "cloudevents"
SPEC_VERSION = "1.0"
SOURCE_PREFIX = "/csops/"
SEQUENCE_DIGITS = 20  # 2**64 - 1 has 20 digits: every outbox sequence fits, and compares as text as it does as a number

REQUIRED_ATTRIBUTES = {
    "specversion": str, "id": str, "source": str, "type": str, "time": str,
    "subject": str, "datacontenttype": str, "data": dict,
    "sequence": (str, int), "dataversion": int,
}

register(SERIALIZER, json.dumps, json.loads, content_type=CONTENT_TYPE, content_encoding="utf-8")


@dataclass(frozen=True)
class EventType:
    """One published event type: its routing key, data schema and version.

    Each service lists its types in ``<service>/events.py`` ``PUBLISHED``;
    docs/events is generated from them (``python -m plumbing.eventdocs``).
    """
    name: str
    data_schema: type
    summary: str
    version: int = 1
    aggregate: str | None = None  # what the subject names (``<aggregate>/<id>``); the name's prefix by default

    @property
    def subject_type(self) -> str:
        return self.aggregate or self.name.split(".", 1)[0]


def exchange_name(service: str) -> str:
    """nameko's convention: each service publishes to ``<service>.events``."""
    return f"{service}.events"


def format_sequence(number: int) -> str:
    """The wire form of an aggregate's event counter: ``7`` -> ``"00000000000000000007"``."""
    return f"{number:0{SEQUENCE_DIGITS}d}"


def sequence_number(envelope) -> int:
    """An envelope's ``sequence`` as a number: the padded string, or the integer that events recorded before
    it became a string carry (a row still pending in an outbox at the upgrade, a message in a dead-letter queue)."""
    return int(envelope["sequence"])


def make_envelope(*, service, event_type, subject, data, sequence, request_id=None,
                  data_version=1, event_id=None, time=None):
    envelope = {
        "specversion": SPEC_VERSION,
        "id": event_id or str(uuid.uuid4()),
        "source": SOURCE_PREFIX + service,
        "type": event_type,
        "time": (time or datetime.now(timezone.utc)).isoformat(timespec="microseconds"),
        "subject": subject,
        "datacontenttype": "application/json",
        "dataversion": data_version,
        "sequence": format_sequence(sequence),
        "data": data,
    }
    if request_id:
        envelope["requestid"] = request_id
    return envelope


def kind_name(kind) -> str:
    return " or ".join(each.__name__ for each in kind) if isinstance(kind, tuple) else kind.__name__


def envelope_problems(envelope, event_type=None, versions=None) -> list[str]:
    """What is wrong with a received envelope; empty when it is usable."""
    if not isinstance(envelope, dict):
        return [f"envelope is {with_article(type(envelope).__name__)}, not a JSON object"]
    problems = []
    for name, kind in REQUIRED_ATTRIBUTES.items():
        if name not in envelope:
            problems.append(f"missing attribute '{name}'")
        elif not isinstance(envelope[name], kind) or isinstance(envelope[name], bool):
            problems.append(f"attribute '{name}' must be {kind_name(kind)}")
    if not problems and isinstance(envelope["sequence"], str) and not (
            envelope["sequence"].isascii() and envelope["sequence"].isdigit()):
        problems.append("attribute 'sequence' must be a string of digits")
    if problems:
        return problems
    if envelope["specversion"] != SPEC_VERSION:
        problems.append(f"unsupported specversion {envelope['specversion']!r}")
    if event_type is not None and envelope["type"] != event_type:
        problems.append(f"type {envelope['type']!r} is not {event_type!r}")
    if versions is not None and envelope["dataversion"] not in versions:
        problems.append(f"dataversion {envelope['dataversion']} not in supported {sorted(versions)}")
    unstorable = first_text_problem(envelope)
    if unstorable:
        problems.append(f"text no database stores: {unstorable}")
    return problems
