"""A page of 20 tickets (~19 KB) answered by the gateway's HTTP server on one kept-alive connection,
with and without TCP_NODELAY on the accepted socket (issue 21: the ~40 ms delayed-ACK stall).

    .venv/bin/python bench/nodelay.py [--requests 50]     # ~10 s; prints a table, writes results/nodelay.md

The server is ``gateway.api.ApiServer`` (the gateway's) in a nameko container of this process, with
one route that answers a fixed body of the size of ``GET /api/v1/tickets``' default page, so the
figure is the socket's alone: no database, no RPC. "without" puts back nameko's own accept path.
"""
import eventlet

eventlet.monkey_patch()  # noqa: E402  (as plumbing.serve does)

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import requests  # noqa: E402
from kit import RESULTS  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402
from nameko.web.handlers import HttpRequestHandler  # noqa: E402
from nameko.web.server import WebServer  # noqa: E402
from werkzeug.wrappers import Response  # noqa: E402

from gateway.api import ApiServer  # noqa: E402
from plumbing.testing import free_port  # noqa: E402

PAGE = b'{"items": [' + b",".join([b'{"subject": "' + b"x" * 950 + b'"}'] * 20) + b"]}"


class Page(HttpRequestHandler):
    server = ApiServer()

    def handle_request(self, request):
        return Response(PAGE, mimetype="application/json")


class PageService:
    name = "page"

    @Page.decorator("GET", "/page")
    def page(self, request):
        raise NotImplementedError


def measure(count, nodelay):
    port = free_port()
    if not nodelay:
        ApiServer.process_request = WebServer.process_request
    container = ServiceContainer(PageService, {"WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
                                               "AMQP_URI": "memory://"})
    container.start()
    try:
        with requests.Session() as session:
            session.get(f"http://127.0.0.1:{port}/page")
            times = []
            for _ in range(count):
                started = time.perf_counter()
                session.get(f"http://127.0.0.1:{port}/page").content
                times.append((time.perf_counter() - started) * 1000)
    finally:
        container.stop()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    count = parser.parse_args().requests
    rows = [("with TCP_NODELAY (the gateway now)", *measure(count, True)),
            ("without (nameko's accept, before)", *measure(count, False))]
    lines = [f"{len(PAGE):,}-byte answers, {count} sequential requests on one kept-alive connection", "",
             "| server | p50 ms | p95 ms |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {p50:.1f} | {p95:.1f} |" for name, p50, p95 in rows]
    print("\n".join(lines))
    (RESULTS / "nodelay.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
