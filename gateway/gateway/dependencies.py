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

DEFAULT_ADMIN = ("admin", "admin")


class Accounts(DependencyProvider):
    """The account store; creates the first admin on an empty store."""

    def start(self):
        database = next(d for d in self.container.dependencies if isinstance(d, Database))
        self.store = AccountStore(database.session_factory)
        username = os.environ.get("ADMIN_USERNAME", DEFAULT_ADMIN[0])
        password = os.environ.get("ADMIN_PASSWORD", DEFAULT_ADMIN[1])
        if self.store.bootstrap_admin(username, password):
            log.info("created the first admin account %r", username)
            if (username, password) == DEFAULT_ADMIN:
                log.warning("the admin account uses the local default password: set ADMIN_PASSWORD before deploying")
        secret = settings.jwt_secret(self.container.config)
        if secret == settings.LOCAL_JWT_SECRET:
            log.warning("JWT_SECRET is not set: tokens are signed with the local development secret")
        elif len(secret.encode()) < settings.MIN_JWT_SECRET_BYTES:
            log.warning("JWT_SECRET is shorter than %s bytes: use a longer random secret",
                        settings.MIN_JWT_SECRET_BYTES)

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
