"""The gateway's HTTP server sends a response at once (TCP_NODELAY on every accepted connection).

eventlet writes a response in 16 KB pieces; without TCP_NODELAY, on a kept-alive connection, the
last piece of a 16-64 KB response (a page of 20 tickets is ~19 KB) waits for the client's
delayed acknowledgement of the one before: ~40 ms on most list answers. A probe route on the
gateway's own server (``gateway.api.ApiServer``) shows the option on the accepted socket and the
time of such responses."""
import socket
import statistics
import time

import requests
from nameko.web.handlers import HttpRequestHandler
from werkzeug.wrappers import Response

from gateway.api import ApiServer

ANSWER = b'{"items": [' + b",".join([b'{"subject": "' + b"x" * 950 + b'"}'] * 20) + b"]}"  # ~19 KB


class Probe(HttpRequestHandler):
    """Answers at once, outside a worker: the accepted socket's TCP_NODELAY, or a page of ~19 KB."""
    server = ApiServer()

    def handle_request(self, request):
        if request.path.endswith("/nodelay"):
            accepted = request.environ["eventlet.input"]._sock
            return Response(str(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)))
        return Response(ANSWER, mimetype="application/json")


probe = Probe.decorator


class ProbeService:
    name = "probe"

    @probe("GET", "/probe/nodelay")
    def nodelay(self, request):
        raise NotImplementedError  # answered by the entrypoint itself

    @probe("GET", "/probe/page")
    def page(self, request):
        raise NotImplementedError


def test_every_accepted_connection_has_tcp_nodelay(container_factory, web_config):
    container_factory(ProbeService, web_config).start()
    base = f"http://{web_config['WEB_SERVER_ADDRESS']}"
    for _ in range(2):  # two connections, each accepted anew
        with requests.Session() as session:
            assert session.get(f"{base}/probe/nodelay").text != "0"


def test_a_page_of_twenty_tickets_on_a_kept_alive_connection_is_not_held_back(container_factory, web_config):
    container_factory(ProbeService, web_config).start()
    url = f"http://{web_config['WEB_SERVER_ADDRESS']}/probe/page"
    with requests.Session() as session:
        session.get(url)  # the connection made
        times = []
        for _ in range(20):
            started = time.perf_counter()
            response = session.get(url)
            times.append(time.perf_counter() - started)
            assert response.content == ANSWER
    assert statistics.median(times) < 0.02, f"p50 {statistics.median(times) * 1000:.1f} ms (a delayed ACK is ~40)"
