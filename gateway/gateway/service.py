"""The gateway: every public HTTP route, each a few lines that call a service.

The routes live by area in ``gateway/routes`` (composed in its ``__init__``),
who may call each in ``gateway/access.py``, whose data a caller sees in
``gateway/scope.py``; validation, auth, errors and request ids happen in
``gateway/api.py``. The class declares what every route's worker is given.
"""
from nameko.dependency_providers import Config

from gateway import models
from gateway.dependencies import Accounts, GroupCommit, ServiceRpc
from gateway.routes import api_router
from plumbing.db import Database
from plumbing.outbox import Outbox


@api_router.mount
class GatewayService:
    name = "gateway"

    config = Config()
    db = Database()
    account_store = Accounts()
    events = Outbox(models.outbox)
    # one proxy per backend, named as plumbing.services names it (GET /health pings each)
    ticketing = ServiceRpc("ticketing")
    training = ServiceRpc("training")
    appraisal = ServiceRpc("appraisal")
    monitoring = ServiceRpc("monitoring")
    channels = ServiceRpc("channels")
    ticket_creations = GroupCommit()
