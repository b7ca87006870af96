"""Every route of the gateway, one module per area, composed here (as fastapi's
``api_router.include_router``); ``gateway.service`` mounts them on the service."""
from gateway.api import Router
from gateway.routes import (
    accounts, appraisal, channels, collaboration, customer, customers, monitoring, platform, tickets, training,
    workspace,
)

api_router = Router()
for area in (platform, accounts, tickets, workspace, collaboration, customers, training, appraisal, monitoring, channels,
             customer):
    api_router.include_router(area.router)
