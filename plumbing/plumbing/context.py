"""Who asked, and under which request id, as carried through RPC and events.

The gateway puts ``request_id``, ``actor``, the actor's ``roles`` and ``teams`` into
nameko's context data; nameko passes context data on with every RPC call, and
the outbox writes the request id into each event's envelope (``requestid``).
The id also tags every log line a worker writes.
"""
import logging
import threading
import uuid

REQUEST_ID_KEY = "request_id"
ACTOR_KEY = "actor"
ROLES_KEY = "roles"
TEAMS_KEY = "teams"

# a green-thread local once eventlet has monkey-patched threading
_current = threading.local()


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id():
    return getattr(_current, "request_id", None)


def bind_request_id(request_id):
    _current.request_id = request_id


class RequestIdLogFilter(logging.Filter):
    def filter(self, record):
        record.request_id = current_request_id() or "-"
        return True


class CallContext:
    def __init__(self, request_id, actor, roles=None, teams=None):
        self.request_id = request_id
        self.actor = actor
        self.roles = roles  # None: not a person through the gateway, but a service or an operator's tool
        self.teams = tuple(teams or ())  # the teams the account belongs to, as the gateway's account store says now
