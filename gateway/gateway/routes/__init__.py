"""Every route of the gateway, one module per area, composed here (as fastapi's
``api_router.include_router``); ``gateway.service`` mounts them on the service."""
from gateway.api import Router
from gateway.routes import accounts, appraisal, channels, customer, monitoring, platform, tickets, training, workspace

api_router = Router()
for area in (platform, accounts, tickets, training, appraisal, monitoring, channels, customer, workspace):
    api_router.include_router(area.router)
