"""The published event contract in docs/events/, loaded for tests."""
import json
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "docs" / "events" / "schemas"


class EventSchemas:
    def __init__(self):
        self.documents = {path.name: json.loads(path.read_text()) for path in SCHEMA_DIR.glob("*.json")}
        self.registry = Registry().with_resources(
            (document["$id"], Resource.from_contents(document)) for document in self.documents.values())

    def schema_for(self, event_type, data_version):
        return self.documents[f"{event_type}.v{data_version}.json"]

    def validate(self, envelope):
        """Raise jsonschema.ValidationError unless the envelope matches its contract."""
        schema = self.schema_for(envelope["type"], envelope["dataversion"])
        Draft202012Validator(schema, registry=self.registry, format_checker=FormatChecker()).validate(envelope)
