"""Routes of the platform itself: whether it is up, its metrics, this API's document."""
import eventlet
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

from gateway import openapi, schemas
from gateway.api import ApiCall, Router
from plumbing.services import BACKEND_NAMES

HEALTH_TIMEOUT_SECONDS = 2

router = Router()


@router.api("GET", "/health", response=schemas.HealthSchema, alternatives={503: "Some service did not answer"},
            summary="Whether every service answers an RPC ping")
def health(service, call: ApiCall):
    pings = {name: eventlet.spawn(ping, getattr(service, name)) for name in BACKEND_NAMES}
    services = {name: ping.wait() for name, ping in pings.items()}
    healthy = all(status == "ok" for status in services.values())
    return (200 if healthy else 503), {"status": "ok" if healthy else "degraded", "services": services}


def ping(backend):
    try:
        with eventlet.Timeout(HEALTH_TIMEOUT_SECONDS, TimeoutError("no answer")):
            backend.ping()
    except Exception as exc:
        return f"unavailable: {exc}"
    return "ok"


@router.api("GET", "/metrics", media_type="text/plain", summary="Prometheus metrics of the gateway")
def metrics(service, call: ApiCall):
    # content_type, not mimetype: werkzeug would add a second charset to one that names it already
    return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)


@router.api("GET", "/api/v1/openapi.json", summary="This API as an OpenAPI 3 document")
def openapi_document(service, call: ApiCall):
    return openapi.document(type(service))
