"""RPC entrypoints that outlive a broker outage.

nameko's ``rpc`` publishes the reply when the worker ends; while the broker
is away (a restart) that publish gives up after a few tries and the
exception kills the container, so the whole service process exits. Here a
reply that cannot be sent is logged and dropped instead: the work is done
and committed, the caller's wait times out (the gateway answers 503) and the
caller may ask again. A request that failed because the service's database
does not answer is answered with ``Unavailable`` (a 503 at the gateway, "ask
again shortly") rather than the driver's error (a 500). Every entrypoint of a
service must come from here: two kinds of RPC consumer in one service would
take each other's requests.
"""
import logging

from amqp.exceptions import RecoverableConnectionError
from kombu.exceptions import OperationalError
from nameko.rpc import Rpc, RpcConsumer
from sqlalchemy.exc import InterfaceError
from sqlalchemy.exc import OperationalError as DatabaseError

from plumbing.errors import Unavailable

log = logging.getLogger(__name__)

# what publishing raises once kombu's retries give up on a broker that is away
BROKER_AWAY = (OperationalError, RecoverableConnectionError, OSError)
# what SQLAlchemy raises when the database refuses or drops the connection (also deadlocks and
# serialisation failures: as transient, and as worth asking again)
DATABASE_AWAY = (DatabaseError, InterfaceError)


class ReplyDroppingRpcConsumer(RpcConsumer):
    def handle_result(self, message, result, exc_info):
        if exc_info is not None and isinstance(exc_info[1], DATABASE_AWAY):
            unavailable = Unavailable(f"{self.container.service_name}'s database does not answer; ask again shortly")
            exc_info = (Unavailable, unavailable, None)
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
