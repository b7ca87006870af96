"""RPC entrypoints that outlive a broker outage.

nameko's ``rpc`` publishes the reply when the worker ends; while the broker
is away (a restart) that publish gives up after a few tries and the
exception kills the container, so the whole service process exits. Here a
reply that cannot be sent is logged and dropped instead: the work is done
and committed, the caller's wait times out (the gateway answers 503) and the
caller may ask again. Every entrypoint of a service must come from here:
two kinds of RPC consumer in one service would take each other's requests.
"""
import logging

from amqp.exceptions import RecoverableConnectionError
from kombu.exceptions import OperationalError
from nameko.rpc import Rpc, RpcConsumer

log = logging.getLogger(__name__)

# what publishing raises once kombu's retries give up on a broker that is away
BROKER_AWAY = (OperationalError, RecoverableConnectionError, OSError)


class ReplyDroppingRpcConsumer(RpcConsumer):
    def handle_result(self, message, result, exc_info):
        try:
            return super().handle_result(message, result, exc_info)
        except BROKER_AWAY as exc:
            log.warning("the reply to %s is lost, the broker is away (%s): the caller's wait will time out",
                        message.delivery_info.get("routing_key"), exc)
            self.queue_consumer.ack_message(message)  # the work is done; a dead channel gives it back anyway
            return result, exc_info


class SurvivingRpc(Rpc):
    rpc_consumer = ReplyDroppingRpcConsumer()


rpc = SurvivingRpc.decorator
