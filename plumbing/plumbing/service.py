"""What every backend service has: its database, the caller's context,
metrics, and a ping the gateway's health check calls."""
from plumbing.context import RequestContext
from plumbing.db import Database
from plumbing.metrics import Metrics, OnSuccess
from plumbing.rpc import rpc


class PlatformService:
    db = Database()
    context = RequestContext()
    metrics = Metrics()
    on_success = OnSuccess()

    @rpc
    def ping(self):
        return "pong"
