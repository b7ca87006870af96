"""What every backend service has: its database, the caller's context,
metrics, and a ping the gateway's health check calls."""
from nameko.rpc import rpc

from plumbing.context import RequestContext
from plumbing.db import Database
from plumbing.metrics import Metrics, OnSuccess


class PlatformService:
    db = Database()
    context = RequestContext()
    metrics = Metrics()
    on_success = OnSuccess()

    @rpc
    def ping(self):
        return "pong"
