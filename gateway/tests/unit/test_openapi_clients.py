"""The OpenAPI document is one that integrators' own tools accept (issue 18): it validates, and
openapi-python-client makes a client of every schema with typed, always-present fields. Driving
such a client against the running platform is the contract test job's (not this unit test's)."""
import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

from gateway.openapi import document
from gateway.service import GatewayService

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
GENERATOR_CONFIG = Path(__file__).parents[2] / "openapi-python-client.yaml"
# the main resources, whose every field is in every answer
MAIN_RESOURCES = ("TicketDetail", "TicketSummary", "Course", "Cycle", "Alert")
TYPED = ("type", "$ref", "allOf", "oneOf", "anyOf")


@pytest.fixture(scope="module")
def spec():
    return document(GatewayService)


@pytest.fixture(scope="module")
def generated(spec, tmp_path_factory):
    """The package the generator made, and the warnings it printed."""
    tmp = tmp_path_factory.mktemp("client")
    (tmp / "openapi.json").write_text(json.dumps(spec))
    config = yaml.safe_load(GENERATOR_CONFIG.read_text())
    config["post_hooks"] = []  # formatting the code (ruff) is the integrator's choice, not what is tested
    (tmp / "config.yaml").write_text(yaml.safe_dump(config))
    run = subprocess.run([str(GENERATOR), "generate", "--path", "openapi.json", "--config", "config.yaml",
                          "--meta", "none", "--output-path", "client"],
                         cwd=tmp, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    return tmp / "client", warnings(run.stdout + run.stderr)


def warnings(output):
    """The generator's complaints: blocks after its "Warning(s) encountered" line."""
    _, _, rest = output.partition("Warning(s) encountered")
    return [block.strip() for block in re.split(r"\n\s*\n", rest.partition("\n")[2])
            if re.match(r"(WARNING|Unable|Cannot|Found)", block.strip())]


def annotations(package, model):
    """The generated model's fields and their type annotations, as written."""
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", model).lower()
    tree = ast.parse((package / "models" / f"{name}.py").read_text())
    cls = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == model)
    return {node.target.id: ast.unparse(node.annotation) for node in cls.body if isinstance(node, ast.AnnAssign)}


def test_the_document_is_valid_openapi(spec):
    validate(spec)


def test_every_property_has_a_type(spec):
    untyped = [f"{name}.{field}" for name, schema in spec["components"]["schemas"].items()
               for field, prop in schema.get("properties", {}).items() if not any(key in prop for key in TYPED)]
    assert untyped == []


def test_the_http_servers_bodyless_414_is_said_once_not_per_operation(spec):
    """A bodyless status in every operation makes each generated return type ``Any | Error | Model``."""
    listing = [(path, method) for path, item in spec["paths"].items() for method, op in item.items()
               if "414" in op["responses"]]
    assert listing == []
    assert "414" in spec["info"]["description"]


def test_a_generated_python_client_has_a_model_of_every_schema(spec, generated):
    package, complaints = generated
    assert complaints == []
    exported = set(re.findall(r'"(\w+)"', (package / "models" / "__init__.py").read_text()))
    assert set(spec["components"]["schemas"]) - exported == set()


def test_always_present_fields_of_the_main_resources_are_not_unset(spec, generated):
    package, _ = generated
    for model in MAIN_RESOURCES:
        schema = spec["components"]["schemas"][model]
        assert set(schema.get("required", [])) == set(schema["properties"]), model
        unset = {field: kind for field, kind in annotations(package, model).items() if "Unset" in kind}
        assert unset == {}, model
