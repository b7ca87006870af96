"""The base of every backend service: its metrics and a ping the gateway's health check calls.
Everything a call works with comes from the service's own ``UnitOfWork`` dependency."""
from plumbing.metrics import Metrics
from plumbing.rpc import rpc


class PlatformService:
    metrics = Metrics()

    @rpc
    def ping(self):
        return "pong"
