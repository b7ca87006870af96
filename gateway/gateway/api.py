"""The gateway's HTTP entrypoint: every cross-cutting rule of X1 in one place.

``@api(method, path, roles=..., body=Schema, query=Schema, response=Schema)``
authenticates the bearer token, checks the role, parses and validates the
JSON body (or a multipart one with files, ``uploads=``: ``gateway.uploads``) and the query string, gives the request an id, and turns every
outcome into JSON: ``{"error": {"code", "message", "details"}}`` for errors,
never a traceback. A page route (``page=True``: the customer's rating page,
``gateway.pages``) is public, takes a form-encoded body, answers HTML, errors
too, and stays out of the OpenAPI document. A conditional route
(``conditional=True``) gets its request's If-Match header as sent in
``call.if_match``, for the service to compare with the version it changes
(docs/workspace.md); the document marks the header required. The worker
gets an ``ApiCall`` and the path values.
A ``Router`` gathers the routes of one area (``@router.api(...)``) and
mounts them on the service class; its methods form the route table the
OpenAPI document and the role tests are generated from.
"""
import ipaddress
import json
import logging
import re
import socket
import time
import urllib.parse
from dataclasses import dataclass
from functools import partial

from eventlet import tpool
from eventlet.event import Event
from marshmallow import ValidationError
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer
from prometheus_client import Histogram
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_options_header
from werkzeug.wrappers import Request, Response

from gateway import auth, pages, settings
from gateway.dependencies import Accounts
from gateway.errors import ApiError
from gateway.uploads import MultipartReader
from plumbing import inputs
from plumbing.blobs import CHUNK_BYTES, BlobStore, TooLarge, describe_size
from plumbing.context import ACTOR_KEY, REQUEST_ID_KEY, ROLES_KEY, TEAMS_KEY, bind_request_id, new_request_id
from plumbing.errors import DomainError, string_keys
from plumbing.rpc import BROKER_AWAY, DATABASE_AWAY
from plumbing.metrics import LATENCY_BUCKETS
from plumbing.schemas import shared
from plumbing.text import text_problem

log = logging.getLogger(__name__)

PUBLIC = None
MAX_BODY_BYTES = 1024 * 1024
IMPORT_MAX_BYTES = 20 * 1024 * 1024  # the max_body of the routes that take a batch (imports)
PAGE_FORM_BYTES = 64 * 1024  # a page's form: 2000 Chinese characters percent-encoded are 18 KB
PARSE_INLINE_BYTES = 16 * 1024  # a larger body is parsed in a thread: on the loop it would take it 10 ms and more
MAX_ID = 2**63 - 1
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII
OUTAGES = ((BROKER_AWAY, "the message broker"), (DATABASE_AWAY, "the gateway's database"))  # each a 503

@dataclass(frozen=True)
class RawBody:
    """A route whose body is one document of ``media_type`` (a mail as ``message/rfc822``), not
    JSON: streamed into the blob store as it arrives (a piece at a time, never whole in memory),
    and the body the route gets is its reference ``{"sha256", "size", "content_type"}``, which its
    RPC carries instead of the bytes. Another media type is a 415; beyond ``max_bytes`` a 413
    naming the limit, leaving nothing behind."""
    media_type: str
    max_bytes: int


HTTP_DURATION = Histogram(
    "csops_http_request_duration_seconds", "Time the gateway took to answer a request.",
    ["route", "method", "status"], buckets=LATENCY_BUCKETS)

@dataclass(frozen=True)
class ApiCall:
    principal: auth.Principal | None
    body: dict | None  # validated, in wire form: what the route's body schema loads, dumped back (see wire)
    query: dict  # the same for the query string
    request_id: str
    client_address: str | None = None
    idempotency_key: str | None = None
    accept_language: str | None = None  # a page route's: its language (gateway.pages)
    if_match: str | None = None  # a conditional route's If-Match header, as sent (the service compares it)


def error_response(status, code, message, details=None) -> Response:
    return json_response(status, {"error": {"code": code, "message": message, "details": details or {}}})


def json_response(status, payload) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json")


class ApiWsgiApp:
    """Routes like nameko's WsgiApp, but unknown paths and methods get JSON too."""

    def __init__(self, server):
        self.url_map = server.make_url_map()

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
        except HTTPException as exc:
            response = error_response(exc.code, "not_found" if exc.code == 404 else "method_not_allowed",
                                      exc.description or exc.name)
            if exc.code == 405:  # RFC 9110: a 405 says which methods the path has
                response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
            HTTP_DURATION.labels("unmatched", request.method, str(exc.code)).observe(0)
            return response(environ, start_response)
        request.path_values = values
        return provider.handle_request(request)(environ, start_response)


class ApiServer(WebServer):
    def get_wsgi_app(self):
        return ApiWsgiApp(self)

    def process_request(self, sock, address):
        # Each response goes out at once. eventlet writes it in 16 KB pieces; with Nagle's algorithm
        # the last piece of a 16-64 KB answer (a page of 20 tickets) waits for the client's delayed
        # ACK of the one before: ~40 ms on a kept-alive connection.
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # not TCP (a unix socket)
            pass
        return super().process_request(sock, address)

    def get_wsgi_server(self, sock, wsgi_app, **kwargs):
        server = super().get_wsgi_server(sock, wsgi_app, **kwargs)
        server.log = AccessLog(server.log, [provider.url for provider in self._providers
                                            if getattr(provider, "secret_path", False)])
        return server


class AccessLog(logging.LoggerAdapter):
    """eventlet's access log, where a path that is itself a secret (a rating
    link's token) is written as its route, ``/api/v1/ratings/<token>``."""

    def __init__(self, logger, secret_routes):
        super().__init__(logger, {})
        # each <value> of a route is one path segment; the path follows the method and a space
        self.routes = [(re.compile("(?<= )" + re.sub(r"<[^>]+>", r"[^/?#\\s]+", re.escape(url))), url)
                       for url in secret_routes]

    def process(self, msg, kwargs):
        for pattern, url in self.routes:
            msg = pattern.sub(lambda _: url, str(msg))
        return msg, kwargs


class ApiEntrypoint(HttpRequestHandler):
    server = ApiServer()

    def __init__(self, method, url, roles=PUBLIC, body=None, query=None, response=None, status=200,
                 summary="", media_type="application/json", max_body=MAX_BODY_BYTES, errors=(), idempotent=False,
                 alternatives=None, secret_path=False, uploads=None, raw=None, page=False, conditional=False,
                 etag=False, **kwargs):
        self.roles = roles
        self.body_schema = body
        self.query_schema = query
        self.response_schema = response
        self.status = status
        self.summary = summary
        self.media_type = media_type  # of the success response, for the OpenAPI document
        self.max_body = max_body
        self.errors = errors  # statuses the route itself answers with, for the OpenAPI document
        self.idempotent = idempotent  # honours an Idempotency-Key header
        self.alternatives = alternatives or {}  # other statuses with the success body: {status: when}
        self.secret_path = secret_path  # its path values are secrets: the access log writes the route instead
        self.uploads = uploads  # an Uploads: the route takes files too, as multipart/form-data
        self.raw = raw  # a RawBody: the body is one document of its media type, not JSON
        self.page = page  # an HTML page for people without an account (gateway.pages)
        self.conditional = conditional  # changes only the version If-Match names (428 without, 409 when stale)
        self.etag = etag  # answers an ETag header (the OpenAPI document says so)
        if page and (roles is not PUBLIC or body or query or uploads or raw):
            raise ValueError(f"page {url} is public and reads its form and query itself")
        super().__init__(method, url, **kwargs)

    def bind(self, container, method_name):
        # as the container is made, like the secrets (gateway.dependencies.Accounts)
        bound = super().bind(container, method_name)
        bound.trusted_proxies = settings.trusted_proxies(container.config)
        return bound

    def setup(self):
        super().setup()
        self.secret = self.accounts.secrets.jwt_secret

    @property
    def accounts(self) -> Accounts:
        return next(d for d in self.container.dependencies if isinstance(d, Accounts))

    @property
    def account_store(self):
        return self.accounts.store

    def handle_request(self, request):
        request.shallow = False
        started = time.perf_counter()
        supplied = request.headers.get("X-Request-Id", "")
        request_id = supplied if REQUEST_ID_PATTERN.match(supplied) else new_request_id()
        bind_request_id(request_id)
        try:
            principal, standing = self.authorise(request)
            self.check_path_values(request.path_values)
            address = client_address(request.remote_addr, request.headers.getlist("X-Forwarded-For"),
                                     self.trusted_proxies)
            if self.page:
                call = ApiCall(None, self.parse_form(request), request.args.to_dict(), request_id, address,
                               accept_language=request.headers.get("Accept-Language"))
            else:
                call = ApiCall(principal, self.parse_body(request), self.parse_query(request), request_id, address,
                               self.parse_idempotency_key(request),
                               if_match=request.headers.get("If-Match") if self.conditional else None)
            context_data = {REQUEST_ID_KEY: request_id}
            if principal:
                context_data.update({ACTOR_KEY: principal.username, ROLES_KEY: list(principal.roles),
                                     TEAMS_KEY: list(standing.teams)})
            finished = Event()
            self.container.spawn_worker(self, (call,), request.path_values, context_data=context_data,
                                        handle_result=partial(self.handle_result, finished))
            response = self.response_from_result(finished.wait())
        except Exception as exc:
            response = self.response_from_exception(exc)
            if self.page:
                response = pages.error_page(response.status_code,
                                            pages.language(request.args, request.headers.get("Accept-Language")))
        response.headers["X-Request-Id"] = request_id
        HTTP_DURATION.labels(self.url, request.method, str(response.status_code)).observe(
            time.perf_counter() - started)  # the access line is eventlet's, tagged with the request id
        return response

    def authorise(self, request):
        """(the caller, their account's standing), or (None, None) on a public route."""
        if self.roles is PUBLIC:
            return None, None
        token = auth.bearer_token(request.headers.get("Authorization"))
        if token is None:
            raise ApiError(401, "unauthorized", "missing bearer token in the Authorization header")
        try:
            principal = auth.read_token(self.secret, token)
        except auth.InvalidToken as exc:
            raise ApiError(401, "unauthorized", str(exc)) from None
        standing = self.account_store.accepts(principal)
        if standing is None:
            raise ApiError(401, "unauthorized", "token was revoked or its account is inactive")
        if not principal.has_any(self.roles):
            raise ApiError(403, "forbidden", f"requires one of the roles: {', '.join(self.roles)}",
                           {"roles": list(self.roles)})
        return principal, standing

    @staticmethod
    def check_path_values(values):
        """Ids beyond a database integer and names no database can hold (NUL)
        cannot exist: 404 rather than an overflow or a driver's error."""
        for name, value in values.items():
            impossible = (not 0 < value <= MAX_ID) if isinstance(value, int) else text_problem(value)
            if impossible:
                raise ApiError(404, "not_found", f"no resource with {name} {value!r}")

    def parse_idempotency_key(self, request):
        key = request.headers.get("Idempotency-Key") if self.idempotent else None
        if key is not None and not IDEMPOTENCY_KEY_PATTERN.match(key):
            raise ApiError(400, "invalid_input", "request failed validation",
                           {"Idempotency-Key": ["1 to 255 visible ASCII characters"]})
        return key

    def parse_body(self, request):
        if self.raw is not None:
            return self.parse_raw(request)
        if self.body_schema is None:
            return None
        if self.uploads is not None and request.mimetype == "multipart/form-data":
            return self.parse_multipart(request)
        too_large = ApiError(413, "payload_too_large", f"body larger than this route's limit of {self.max_body} bytes "
                             f"({self.max_body / 2**20:g} MiB)", {"limit_bytes": self.max_body})
        if (request.content_length or 0) > self.max_body:
            raise too_large
        chunked = request.headers.get("Transfer-Encoding", "").lower() == "chunked"
        # werkzeug hides a chunked body (no Content-Length) behind an empty stream; eventlet's input decodes it
        raw = (request.environ["wsgi.input"] if chunked else request.stream).read(self.max_body + 1)
        if len(raw) > self.max_body:
            raise too_large
        # CPU work while it lasts: a large body's (an import of MiB takes seconds) goes to a thread,
        # so the event loop goes on answering every other request meanwhile
        return tpool.execute(self.parse_json, raw) if len(raw) > PARSE_INLINE_BYTES else self.parse_json(raw)

    def parse_form(self, request) -> dict:
        """A page's form, as text by field name (the first of each); {} unless one was posted."""
        if request.method != "POST" or request.mimetype != "application/x-www-form-urlencoded":
            return {}
        if (request.content_length or 0) > PAGE_FORM_BYTES:
            raise ApiError(413, "payload_too_large", f"a form of at most {PAGE_FORM_BYTES} bytes")
        raw = request.stream.read(PAGE_FORM_BYTES + 1)
        if len(raw) > PAGE_FORM_BYTES:
            raise ApiError(413, "payload_too_large", f"a form of at most {PAGE_FORM_BYTES} bytes")
        form = {}
        for name, value in urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True):
            form.setdefault(name, value)
        return form

    def parse_raw(self, request):
        """The body streamed into the blob store: its reference (``RawBody``)."""
        raw = self.raw
        if request.mimetype != raw.media_type:
            raise ApiError(415, "unsupported_media_type", f"the body must be {raw.media_type}, not "
                           f"{request.mimetype or 'untyped'}", {"Content-Type": [f"must be {raw.media_type}"]})
        too_large = ApiError(413, "payload_too_large", f"body larger than this route's limit of "
                             f"{describe_size(raw.max_bytes)}", {"limit_bytes": raw.max_bytes})
        if (request.content_length or 0) > raw.max_bytes:
            raise too_large
        chunked = request.headers.get("Transfer-Encoding", "").lower() == "chunked"
        stream = request.environ["wsgi.input"] if chunked else request.stream
        writer = BlobStore.from_config(self.container.config).writer(raw.max_bytes)
        try:
            while chunk := stream.read(CHUNK_BYTES):
                writer.write(chunk)
            ref = tpool.execute(writer.finish)  # its fsync and rename off the event loop
        except TooLarge:
            raise too_large from None
        finally:
            writer.discard()
        if not ref.size:
            raise ApiError(400, "invalid_input", "request failed validation", {"body": ["empty"]})
        return ref.as_dict()

    def parse_multipart(self, request):
        """The text fields as the body, checked by the route's schema, and the files, streamed into
        the blob store, as references under ``uploads.field`` (``gateway.uploads``)."""
        limit = self.uploads.max_body(self.max_body)
        if (request.content_length or 0) > limit:
            raise ApiError(413, "payload_too_large", f"body larger than this route's limit of {describe_size(limit)}",
                           {"limit_bytes": limit})
        boundary = parse_options_header(request.headers.get("Content-Type", ""))[1].get("boundary")
        if not boundary:
            raise ApiError(400, "malformed_multipart", "multipart/form-data without a boundary")
        chunked = request.headers.get("Transfer-Encoding", "").lower() == "chunked"
        reader = MultipartReader(self.uploads, BlobStore.from_config(self.container.config), self.max_body, limit)
        form, files = reader.read(request.environ["wsgi.input"] if chunked else request.stream, boundary)
        schema = shared(self.body_schema)
        loaded, errors = self.validate(schema, form)
        self.refuse(errors)
        return {**wire(schema, loaded), self.uploads.field: files}

    def parse_json(self, raw):
        """The body read as JSON and loaded by the route's schema, in wire form; runs in a thread
        for a large body, so it touches nothing of eventlet's."""
        try:
            data = json.loads(raw or b"null", parse_constant=inputs.not_json)
        except (ValueError, RecursionError) as exc:
            raise ApiError(400, "malformed_json", f"body is not valid JSON: {str(exc)[:200]}") from None
        if not isinstance(data, dict):
            raise ApiError(400, "invalid_input", "body must be a JSON object", {"_schema": ["expected an object"]})
        schema = shared(self.body_schema)  # a StrictSchema: it makes plumbing.inputs' checks
        loaded, errors = self.validate(schema, data)
        self.refuse(errors)
        return wire(schema, loaded)

    def parse_query(self, request):
        if self.query_schema is None:
            return {}
        schema = shared(self.query_schema)
        loaded, errors = self.validate(schema, request.args.to_dict(), query_string=True)
        self.refuse(errors)
        return wire(schema, loaded)

    @staticmethod
    def validate(schema, data, **options):
        """(what ``schema`` loads, {}) or (None, the errors naming each field)."""
        try:
            return schema.load(data, **options), {}
        except ValidationError as error:
            return None, string_keys(error.normalized_messages())

    @staticmethod
    def refuse(errors):
        if errors:
            raise ApiError(400, "invalid_input", "request failed validation", errors)

    def response_from_result(self, payload):
        if isinstance(payload, Response):
            return payload
        if self.status == 204:
            return Response(status=204)
        status = self.status
        if isinstance(payload, tuple):
            status, payload = payload
        return json_response(status, payload)

    def response_from_exception(self, exc):
        if isinstance(exc, ApiError):
            response = error_response(exc.status, exc.code, exc.message, exc.details)
            response.headers.extend(exc.headers)
            return response
        if isinstance(exc, DomainError):
            return error_response(exc.status, exc.code, exc.message, exc.details)
        if isinstance(exc, (UnknownService, RpcTimeout)):
            return error_response(503, "service_unavailable", str(exc))
        for kinds, server in OUTAGES:
            if isinstance(exc, kinds):
                log.error("%s is unreachable answering %s: %r", server, self.url, exc)
                return error_response(503, "service_unavailable", f"{server} is unreachable; try again shortly")
        log.error("unexpected error answering %s: %r", self.url, exc, exc_info=exc)
        return error_response(500, "internal_error", "internal error; quote the X-Request-Id when reporting it")


api = ApiEntrypoint.decorator


def client_address(peer, forwarded_for, trusted_proxies) -> str | None:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the nearest address
    in ``X-Forwarded-For`` (read from the right, the proxies' end) that is no trusted proxy. What a
    client writes there itself is further left and never reached; a hop that is no address stops
    the walk at the proxy that passed it on."""
    address = peer
    for hop in reversed(",".join(forwarded_for).split(",")):
        if not is_within(address, trusted_proxies):
            break
        try:
            address = str(ipaddress.ip_address(hop.strip()))
        except ValueError:
            break
    return address


def is_within(address, networks) -> bool:
    try:
        return any(ipaddress.ip_address(address) in network for network in networks)
    except ValueError:  # no IP address (None, a unix socket's path)
        return False


def wire(schema, loaded) -> dict:
    """Validated input as a backend's RPC takes it: ``loaded`` dumped back to JSON
    types (date-times in UTC as ISO text, defaults filled in). Load-only fields
    (passwords), which a dump leaves out, are kept for the route itself."""
    kept = {name: loaded[name] for name, field in schema.load_fields.items() if field.load_only and name in loaded}
    return {**schema.dump(loaded), **kept}


class Router:
    """The routes of one area, as fastapi's ``APIRouter``: ``@router.api(...)``
    takes ``api``'s arguments, ``include_router`` gathers other routers, and
    ``mount`` makes every route a method of the nameko service class, so each
    is called with the worker's service (its dependencies), the ``ApiCall``
    and the path values. A route's function name is its operation id."""

    def __init__(self):
        self.routes = {}

    def api(self, method, url, **options):
        def declare(fn):
            self.add(fn.__name__, api(method, url, **options)(fn))
            return fn
        return declare

    def include_router(self, router):
        for name, fn in router.routes.items():
            self.add(name, fn)

    def add(self, name, fn):
        if name in self.routes:
            raise ValueError(f"two routes named {name!r}: operation ids must be unique")
        self.routes[name] = fn

    def mount(self, service_cls):
        for name, fn in self.routes.items():
            if hasattr(service_cls, name):
                raise ValueError(f"route {name!r} would hide {service_cls.__name__}.{name}")
            setattr(service_cls, name, fn)
        return service_cls


def routes(service_cls):
    """The route table: (method name, entrypoint) for every @api method, pages too."""
    for name in sorted(dir(service_cls)):
        for entrypoint in getattr(getattr(service_cls, name), "nameko_entrypoints", ()):
            if isinstance(entrypoint, ApiEntrypoint):
                yield name, entrypoint
