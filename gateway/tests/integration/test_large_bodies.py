"""A large body is parsed off the gateway's event loop (issue 16): while an import of some MiB is
read as JSON and validated, the gateway answers other requests; before, it answered none until
the import was parsed (a 20 MiB one took 10 s)."""
import json
import socket

import eventlet
from eventlet.event import Event

from gateway.api import PARSE_INLINE_BYTES

TICKET = {"subject": "Refund not received", "description": "d" * 200, "channel": "email", "kind": "complaint",
          "customer": {"name": "Wang Fang", "contact": "wang@example.com"}, "created_at": "2026-01-05T08:00:00+08:00"}
STEP = {"at": "2026-01-05T08:10:00+08:00", "type": "message", "kind": "customer", "body": "b" * 100,
        "actor": "old-agent"}


def import_body():
    """500 tickets with history, the last one refused once everything is parsed: the import ends
    with a 400 at the gateway, its parsing the whole of its work."""
    tickets = [dict(TICKET, external_id=str(n), history=[STEP] * 30) for n in range(500)]
    tickets[-1] = dict(tickets[-1], kind="not-a-kind")
    return json.dumps({"source": "old-desk", "tickets": tickets}).encode()


def test_requests_made_while_a_large_import_is_parsed_are_answered_before_it(start_platform, client, gateway_config):
    start_platform("ticketing")
    admin = client.login()
    body = import_body()
    assert len(body) > 100 * PARSE_INLINE_BYTES
    host, port = gateway_config["WEB_SERVER_ADDRESS"].split(":")
    answered, uploaded = [], Event()

    def import_tickets():
        with socket.create_connection((host, int(port))) as connection:  # to know when the body is sent
            connection.sendall(b"POST /api/v1/tickets/import HTTP/1.1\r\nHost: gateway\r\n"
                               b"Content-Type: application/json\r\nConnection: close\r\n"
                               + f"Authorization: {admin.headers['Authorization']}\r\n"
                                 f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            uploaded.send()
            response = b"".join(iter(lambda: connection.recv(65536), b""))
        answered.append(("import", int(response.split(b" ", 2)[1])))

    importer = eventlet.spawn(import_tickets)
    uploaded.wait()
    eventlet.sleep(0.2)  # the gateway reads the rest of the body and starts parsing it
    while not any(name == "import" for name, _ in answered):  # one request after another until it is answered
        answered.append(("metrics", admin.get(client.url("/metrics")).status_code))
    importer.wait()
    assert ("import", 400) in answered
    assert answered[0] == ("metrics", 200), answered  # answered while the import was being parsed
