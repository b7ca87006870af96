"""Ticketing, as mail in calls it: an RPC proxy whose calls give up after
``RPC_TIMEOUT_SECONDS`` (nameko's own waits for ever on a service that does not answer)."""
import eventlet
from nameko.rpc import RpcProxy

from plumbing.errors import Unavailable


class TicketingRpc(RpcProxy):
    def __init__(self):
        super().__init__("ticketing")

    def get_dependency(self, worker_ctx):
        timeout = float(self.container.config.get("RPC_TIMEOUT_SECONDS", 10))
        return TimedProxy(super().get_dependency(worker_ctx), timeout)


class TimedProxy:
    def __init__(self, proxy, timeout):
        self.proxy, self.timeout = proxy, timeout

    def __getattr__(self, method):
        def call(*args, **kwargs):
            reply = getattr(self.proxy, method).call_async(*args, **kwargs)
            with eventlet.Timeout(self.timeout, Unavailable(f"ticketing gave no answer in {self.timeout:g}s")):
                return reply.result()
        return call
