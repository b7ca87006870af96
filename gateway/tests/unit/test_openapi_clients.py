"""The OpenAPI document is one that integrators' own tools accept (issue 18): it validates, every
answer's schema says which fields are always there, and openapi-python-client makes a client of
every schema whose answers have typed, always-present fields. Driving such a client against the
running platform is the contract test job's (tests/contract), not this unit test's."""
import ast
import re

import pytest
from openapi_spec_validator import validate

from gateway.openapi import document
from gateway.service import GatewayService
from tests.contract import python_client

TYPED = ("type", "$ref", "allOf", "oneOf", "anyOf")


@pytest.fixture(scope="module")
def spec():
    return document(GatewayService)


@pytest.fixture(scope="module")
def generated(spec, tmp_path_factory):
    """The package the generator made, and the warnings it printed."""
    return python_client.generate(spec, tmp_path_factory.mktemp("client"))


def references(node):
    """The component schemas ``node`` (part of the document) names, and the ones they name."""
    if isinstance(node, dict):
        return {node["$ref"].rsplit("/", 1)[1]} if "$ref" in node else set().union(*map(references, node.values()))
    return set().union(*map(references, node)) if isinstance(node, list) else set()


def answered(spec):
    """The component schemas of the answers, and every one nested in them."""
    found, new = set(), references([op["responses"] for item in spec["paths"].values() for op in item.values()])
    while new:
        found |= new
        new = references([spec["components"]["schemas"][name] for name in new]) - found
    return found


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


def test_every_answer_says_its_fields_are_always_there(spec):
    """Every field of every answer is required (nullable when it may be null)."""
    schemas = spec["components"]["schemas"]
    missing = {name: sorted(set(schemas[name]["properties"]) - set(schemas[name].get("required", ())))
               for name in answered(spec) if "properties" in schemas[name]}
    assert {name: fields for name, fields in missing.items() if fields} == {}


def test_a_generated_clients_answers_have_no_unset_or_any_field(spec, generated):
    """The models of answers: no field that may be ``Unset`` or is typed ``Any`` (a free-form
    object's values, its ``additional_properties``, are the document's word: any)."""
    package, _ = generated
    offenders = {f"{model}.{field}": kind for model in sorted(answered(spec))
                 for field, kind in annotations(package, model).items()
                 if field != "additional_properties" and re.search(r"\b(Unset|Any)\b", kind)}
    assert offenders == {}


def test_a_generated_clients_operations_return_typed_answers(spec, generated):
    """No operation's parsed answer is ``Any``, but those that answer 204 with no body."""
    package, _ = generated
    operations = [op for item in spec["paths"].values() for op in item.values()]
    bodyless = {op["operationId"] for op in operations if "204" in op["responses"]}
    returns = {path.stem: ast.unparse(node.returns) for path in (package / "api").rglob("*.py")
               for node in ast.parse(path.read_text()).body
               if isinstance(node, ast.FunctionDef) and node.name == "_parse_response"}
    assert len(returns) == len({op["operationId"] for op in operations})
    assert {name: kind for name, kind in returns.items() if "Any" in kind and name not in bodyless} == {}
