"""An outside system receiving CS Ops webhooks: the standard library only.

    WEBHOOK_SECRET=whsec_... python docs/events/webhook_receiver_example.py    # listens on 127.0.0.1:8080

Requests are signed as Standard Webhooks (https://www.standardwebhooks.com)
says, so any of its libraries verifies them too::

    webhook-id: <delivery id>          the same on every retry of a delivery
    webhook-timestamp: <unix seconds>
    webhook-signature: v1,<base64>     HMAC-SHA256 of f"{id}.{timestamp}." + body,
                                       keyed with the base64-decoded part of the
                                       secret after "whsec_" (shown once, when the
                                       webhook was made); several may be given,
                                       separated by spaces

``verify`` accepts a request only if one ``v1`` signature matches and the
timestamp is within five minutes of the receiver's clock: a captured request
replayed later, or under another delivery id, is refused. A receiver drops a
delivery id it has already handled. Copy ``verify`` into your own receiver;
the body is a CloudEvents envelope as on RabbitMQ (README.md).
"""
import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from wsgiref.simple_server import make_server

TOLERANCE_SECONDS = 300


def verify(secret: str, headers: dict, body: bytes, now: float, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """Whether ``headers`` (webhook-id, webhook-timestamp, webhook-signature) sign ``body`` with
    ``secret`` within ``tolerance`` seconds of ``now``."""
    delivery, timestamp = headers.get("webhook-id"), headers.get("webhook-timestamp", "")
    if not delivery or not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    encoded = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    except binascii.Error:
        return False
    digest = hmac.new(key, f"{delivery}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(digest).decode()
    return any(hmac.compare_digest(expected, signature)
               for signature in headers.get("webhook-signature", "").split(" "))


def receiver(secret, handled_deliveries):
    """A WSGI app: 401 for a bad signature, 200 for a delivery (handled once)."""
    def app(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {name: environ.get("HTTP_" + name.upper().replace("-", "_"), "")
                   for name in ("webhook-id", "webhook-timestamp", "webhook-signature")}
        if not verify(secret, headers, body, time.time()):
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])
            return [b"bad or stale signature"]
        delivery = headers["webhook-id"]
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
