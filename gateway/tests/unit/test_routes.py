"""Routes are declared by area and mounted on the service in one place; each is
handed its input in wire form."""
import pytest
from marshmallow import fields

from gateway.api import Router, routes, wire
from gateway.routes import api_router
from gateway.service import GatewayService
from plumbing.schemas import StrictSchema, shared


class SignUpSchema(StrictSchema):
    username = fields.String(required=True)
    password = fields.String(required=True, load_only=True)
    born = fields.DateTime()


def test_input_reaches_a_route_as_json_types_with_its_load_only_fields():
    schema = shared(SignUpSchema)
    loaded = schema.load({"username": "li", "password": "secret", "born": "2000-01-02T03:04:05+08:00"})
    assert wire(schema, loaded) == {"username": "li", "password": "secret", "born": "2000-01-01T19:04:05+00:00"}


def test_the_service_answers_every_route_of_every_area_and_nothing_else():
    assert {name for name, _ in routes(GatewayService)} == set(api_router.routes)
    assert len(api_router.routes) == 181


def test_two_routes_of_one_name_are_refused():
    first, second = Router(), Router()
    for router in (first, second):
        @router.api("GET", "/things")
        def things(service, call):
            return {}
    with pytest.raises(ValueError, match="two routes named 'things'"):
        first.include_router(second)


def test_every_route_reads_its_input_with_a_strict_schema():
    """The gateway's input checks (plumbing.inputs) are StrictSchema's: a route without one would skip them."""
    loose = [(name, schema) for name, entrypoint in routes(GatewayService)
             for schema in (entrypoint.body_schema, entrypoint.query_schema)
             if schema is not None and not issubclass(schema, StrictSchema)]
    assert loose == []
