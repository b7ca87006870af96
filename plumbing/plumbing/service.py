"""The base of every backend service: its metrics and a ping the gateway's health check calls.
Everything a call works with comes from the service's own ``UnitOfWork`` dependency."""
import logging

from nameko.extensions import DependencyProvider

from plumbing.metrics import Metrics
from plumbing.rpc import rpc


class PlatformService:
    metrics = Metrics()

    @rpc
    def ping(self):
        return "pong"


class StartupCheck(DependencyProvider):
    """Calls ``check(session_factory)`` once as the service starts, e.g. to log what an
    operator must do first; a failing check is logged, never stops the service."""

    def __init__(self, check, **kwargs):
        self.check = check
        super().__init__(**kwargs)

    def start(self):
        from plumbing.db import database_of

        try:
            self.check(database_of(self.container).session_factory)
        except Exception:
            logging.getLogger(__name__).exception("start-up check of %s failed", self.container.service_name)
