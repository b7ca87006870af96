"""What the gateway's workers are given: the account store and the services."""
import logging
import os

import eventlet
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy

from gateway import settings
from gateway.accounts import AccountStore
from gateway.errors import ServiceUnavailable
from plumbing.batching import Coalescer
from plumbing.db import Database

log = logging.getLogger(__name__)


class Accounts(DependencyProvider):
    """The account store; creates the first admin on an empty store. The gateway has no built-in
    secrets: without them it does not start (``settings.secrets``)."""

    def bind(self, container, attr_name):
        # checked as the container is made, before anything starts (setup runs in green threads,
        # whose failures print tracebacks): `plumbing.serve` shows the one line and exits
        bound = super().bind(container, attr_name)
        bound.secrets = settings.secrets(container.config)
        return bound

    def setup(self):
        if len(self.secrets.jwt_secret.encode()) < settings.MIN_JWT_SECRET_BYTES:
            log.warning("JWT_SECRET is shorter than %s bytes: use a longer random secret",
                        settings.MIN_JWT_SECRET_BYTES)

    def start(self):
        database = next(d for d in self.container.dependencies if isinstance(d, Database))
        self.store = AccountStore(database.session_factory)
        username = os.environ.get("ADMIN_USERNAME") or "admin"
        if self.store.bootstrap_admin(username, self.secrets.admin_password):
            log.info("created the first admin account %r", username)

    def stop(self):
        if hasattr(self, "store"):  # a container killed as it starts may not have one
            self.store.close()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.store


class ServiceRpc(RpcProxy):
    """An RPC proxy whose calls give up after ``RPC_TIMEOUT_SECONDS``
    (nameko's own proxy waits for ever on a service that does not answer)."""

    def get_dependency(self, worker_ctx):
        timeout = float(self.container.config.get("RPC_TIMEOUT_SECONDS", 10))
        return TimedServiceProxy(self.target_service, super().get_dependency(worker_ctx), timeout)


class TimedServiceProxy:
    def __init__(self, service, proxy, timeout):
        self.service = service
        self.proxy = proxy
        self.timeout = timeout

    def __getattr__(self, method):
        def call(*args, **kwargs):
            reply = getattr(self.proxy, method).call_async(*args, **kwargs)
            with eventlet.Timeout(self.timeout, ServiceUnavailable(self.service, f"no answer in {self.timeout:g}s")):
                return reply.result()
        return call


class GroupCommit(DependencyProvider):
    """One ``plumbing.batching.Coalescer`` per gateway process: requests that
    arrive together reach a service in one RPC. Three batches in flight let
    the service work on one while the others wait on its database
    (bench/README.md has the figures)."""

    def setup(self):
        self.coalescer = Coalescer(max_in_flight=3)

    def get_dependency(self, worker_ctx):
        return self.coalescer
