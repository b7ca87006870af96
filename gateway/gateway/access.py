"""The access table of X1: which roles may use each route (``@api(roles=...)``)
and what, within a route, only some of them may do. The OpenAPI document lists
each route's roles in the order written here; ``gateway.scope`` applies the
rules about whose data a caller sees."""
from gateway.errors import ApiError

ADMIN = ("admin",)
STAFF = ("agent", "supervisor", "trainer", "committee", "admin")
ACCOUNT_HOLDERS = STAFF + ("integration",)
SUPERVISORS = ("supervisor", "admin")

TICKET_WRITERS = ("agent", "supervisor", "admin", "integration")
TICKET_READERS = ("agent", "supervisor", "admin")
TICKET_HANDLERS = ("agent", "supervisor", "admin")
IMPORTERS = INTEGRATORS = ("admin", "integration")
CUSTOMERS_SIDE = ("integration",)  # delivers the rating link to the customer; staff never see it
KB_EDITORS = ("supervisor", "trainer", "admin")
# customers (docs/customers.md): agents look customers up and keep them current (masked unless one of the
# customer's tickets is theirs, X6), a CRM integration too; merging and erasing are an admin's
CUSTOMER_READERS = CUSTOMER_WRITERS = ("agent", "supervisor", "admin", "integration")
ORGANISATION_WRITERS = ("supervisor", "admin", "integration")
GAP_READERS = SUPERVISORS + ("trainer",)

TRAINERS = ("trainer", "admin")
EXAM_TAKERS = ("agent",)
ATTEMPT_READERS = EXAM_TAKERS + TRAINERS
PROGRESS_RECORDERS = ("agent",) + TRAINERS

APPRAISAL_READERS = ("agent", "supervisor", "committee", "admin")
COMMITTEE = ("committee", "admin")
RESULT_READERS = ("supervisor",) + COMMITTEE
RATERS = ("agent", "supervisor", "committee", "integration", "admin")
# which reviewer role (A2) each account role may rate as, and whom: the agents of the rater's own
# TEAMS or ANYONE. Customers' ratings come only from integrations (each names a ticket of the agent);
# nobody rates themselves (appraisal refuses it).
TEAMS, ANYONE = "teams", "anyone"
REVIEWER_ROLES_OF = {"agent": {"peer": TEAMS}, "supervisor": {"supervisor": TEAMS, "quality": TEAMS},
                     "committee": {"quality": ANYONE}, "integration": {"customer": ANYONE},
                     "admin": {"peer": ANYONE, "supervisor": ANYONE, "quality": ANYONE}}

POST_WRITERS = ("integration", "admin")
INBOUND_MAIL_SENDERS = ("integration",)  # an MTA pipe or a mail provider's relay, with a token of its own
POST_READERS = ("agent", "supervisor", "admin")
OPINION_ANALYSTS = ("integration", "agent", "supervisor", "admin")
OPINION_HANDLERS = ("agent", "supervisor", "admin")

# an account's roles and activation are changed by admins only (supervisors change the rest)
ADMIN_ACCOUNT_FIELDS = {"roles", "active"}
# whose training and appraisal a caller sees: these roles everyone's,
# a supervisor their own and their teams' agents', anyone else their own
SEE_EVERYONE = ("trainer", "committee", "admin")
SEE_THEIR_TEAMS = ("supervisor",)


def check_reviewer_role(principal, reviewer_role) -> str:
    """A rating names the reviewer role it is given as; the caller's roles must allow it.
    Returns whom they may rate as it: ANYONE if one of their roles says so, else their TEAMS."""
    grants = [REVIEWER_ROLES_OF.get(role, {}) for role in principal.roles]
    allowed = set().union(*grants)
    if reviewer_role not in allowed:
        raise ApiError(403, "forbidden", f"you may rate as {', '.join(sorted(allowed)) or 'nobody'}",
                       {"reviewer_role": [f"one of {sorted(allowed)}"]})
    return ANYONE if any(grant.get(reviewer_role) == ANYONE for grant in grants) else TEAMS


def check_account_changes(principal, changes):
    if ADMIN_ACCOUNT_FIELDS & set(changes) and not principal.has_any(ADMIN):
        raise ApiError(403, "forbidden", "only an admin changes roles or activation", {"roles": list(ADMIN)})
