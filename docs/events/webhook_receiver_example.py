"""An outside system receiving CS Ops webhooks: the standard library only.

    WEBHOOK_SECRET=whsec_... python docs/events/webhook_receiver_example.py    # listens on 127.0.0.1:8080

Each request carries ``X-CSOPS-Signature: t=<unix time>,v1=<hex>``, the
HMAC-SHA256 of ``f"{t}." + body`` keyed with the webhook's secret (shown once,
when it was created). ``verify`` accepts a request only if one ``v1`` matches
and ``t`` is within five minutes of the receiver's clock, so a captured
request replayed later is refused; ``X-CSOPS-Delivery`` stays the same across
retries, so a receiver drops a delivery it has already handled. Copy
``verify`` into your own receiver; the body is a CloudEvents envelope as on
RabbitMQ (README.md).
"""
import hashlib
import hmac
import json
import os
import time
from wsgiref.simple_server import make_server

TOLERANCE_SECONDS = 300


def verify(secret: str, header: str | None, body: bytes, now: float, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds of ``now``."""
    timestamp, signatures = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, signature) for signature in signatures)


def receiver(secret, handled_deliveries):
    """A WSGI app: 401 for a bad signature, 200 for a delivery (handled once)."""
    def app(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        if not verify(secret, environ.get("HTTP_X_CSOPS_SIGNATURE"), body, time.time()):
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])
            return [b"bad or stale signature"]
        delivery = environ.get("HTTP_X_CSOPS_DELIVERY")
        if delivery not in handled_deliveries:  # a real receiver keeps these in its database
            handled_deliveries.add(delivery)
            event = json.loads(body)
            print(f"{event['type']} {event['subject']} id={event['id']}", flush=True)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    return app


if __name__ == "__main__":
    with make_server("127.0.0.1", int(os.environ.get("PORT", "8080")),
                     receiver(os.environ["WEBHOOK_SECRET"], set())) as server:
        server.serve_forever()
