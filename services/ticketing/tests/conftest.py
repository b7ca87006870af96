"""The ticketing service under test, with agents already cleared for duty.

Tests about something else than routing find alice, bob and the others
known and certified (seeded in the service's own tables, off duty so that
routing leaves new tickets alone); tests/integration/test_routing.py
builds the registry the real way, from staff and training events.
"""
import pytest
from sqlalchemy.orm import Session

from plumbing.db import make_engine
from ticketing.models import Agent, AgentCertification
from ticketing.service import TicketingService

CLEARED_AGENTS = ("alice", "bob", "carol", "dave", "mei", "sue", "tina")


def seed_cleared_agents(url, names):
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        for name in names:
            session.add(Agent(username=name, roles=["agent"], teams=[], skills=[], capacity=10, on_duty=False,
                              active=True, staff_sequence=0))
            session.add(AgentCertification(agent=name, certification="onboarding", clears_for_duty=True))
    engine.dispose()


@pytest.fixture
def ticketing(start_service, database_url):
    # the webhook tests' receivers listen on loopback, which webhooks may reach only when allowed
    container = start_service(TicketingService, WEBHOOK_RETRY_BASE_SECONDS=0.001, WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
    seed_cleared_agents(database_url, CLEARED_AGENTS)
    return container
