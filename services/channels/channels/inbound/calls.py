"""Ticketing, as channels calls it: an RPC proxy whose calls give up after
``RPC_TIMEOUT_SECONDS`` (nameko's own waits for ever on a service that does not answer), and
name channels as their actor when the worker acts for nobody (an event, a timer): ticketing's
customer-data audit then says channels read a customer's address, to mail them."""
import eventlet
from nameko.rpc import RpcProxy

from plumbing.context import ACTOR_KEY
from plumbing.errors import Unavailable


class TicketingRpc(RpcProxy):
    def __init__(self):
        super().__init__("ticketing")

    def get_dependency(self, worker_ctx):
        timeout = float(self.container.config.get("RPC_TIMEOUT_SECONDS", 10))
        return TimedProxy(super().get_dependency(worker_ctx), timeout, worker_ctx)


class TimedProxy:
    def __init__(self, proxy, timeout, worker_ctx=None):
        self.proxy, self.timeout, self.worker_ctx = proxy, timeout, worker_ctx

    def __getattr__(self, method):
        def call(*args, **kwargs):
            if self.worker_ctx is not None and not self.worker_ctx.data.get(ACTOR_KEY):
                self.worker_ctx.data[ACTOR_KEY] = self.worker_ctx.service_name  # read at the call: the header
            reply = getattr(self.proxy, method).call_async(*args, **kwargs)
            with eventlet.Timeout(self.timeout, Unavailable(f"ticketing gave no answer in {self.timeout:g}s")):
                return reply.result()
        return call
