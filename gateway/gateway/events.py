"""Events the gateway publishes to the ``gateway.events`` exchange: who the
staff are, so ticketing can route (T3). docs/events is generated from
``PUBLISHED``."""
from gateway.schemas import StaffDataSchema
from plumbing.events import EventType

AGGREGATE = "staff"

STAFF_ACCOUNT_CREATED = EventType(
    "staff.account_created", StaffDataSchema, "A staff or integration account was created.")
STAFF_ACCOUNT_UPDATED = EventType(
    "staff.account_updated", StaffDataSchema,
    "An account's roles, teams, skills, capacity, duty or activation changed (a full snapshot).")

PUBLISHED = (STAFF_ACCOUNT_CREATED, STAFF_ACCOUNT_UPDATED)
