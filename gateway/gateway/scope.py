"""Whose data a caller sees, within what a route's roles admit (X1, ``gateway.access``):
trainers, the committee and admins everyone's; a supervisor their own and their
teams' agents'; anyone else only their own. Checks raise the ``ApiError`` the
caller gets."""
from gateway import accounts
from gateway.access import ANYONE, COMMITTEE, SEE_EVERYONE, SEE_THEIR_TEAMS
from gateway.errors import ApiError


def people_in_view(session, principal) -> list[str] | None:
    """The usernames whose training and appraisal the caller may see; None for everyone's."""
    if principal.has_any(SEE_EVERYONE):
        return None
    if not principal.has_any(SEE_THEIR_TEAMS):
        return [principal.username]
    return sorted({principal.username} | agents_of_teams(session, principal.username))


def agents_of_teams(session, username) -> set:
    """The active agents of the teams ``username`` belongs to, as the account store says now."""
    teams = set(accounts.get(session, username).teams)
    return {account.username for account in accounts.active_agents(session) if teams & set(account.teams)}


def check_standing(session, principal, username):
    scope = people_in_view(session, principal)
    if scope is not None and username not in scope:
        raise ApiError(404, "not_found", f"no training standing of {username} for you")


def check_kpis(session, principal, query):
    """An agent's own KPIs; a supervisor's teams' too, by agent, by team or by the team's queue."""
    scope = people_in_view(session, principal)
    if scope is None:
        return
    teams = set(accounts.get(session, principal.username).teams)
    allowed = (query.get("agent") in scope if "agent" in query
               else principal.has_any(SEE_THEIR_TEAMS) and query.get("team", query.get("queue")) in teams)
    if not allowed:
        raise ApiError(403, "forbidden", "you may see your own KPIs and, as a supervisor, your teams'",
                       {"agent": ["outside what you may see"]})


def check_ratee(session, principal, agent, whom):
    """Whom a rating may be of (``access.check_reviewer_role``): a peer or supervisor rates the agents
    of their own teams; ANYONE (the committee, integrations, admins) any agent."""
    if whom != ANYONE and agent not in agents_of_teams(session, principal.username):
        raise ApiError(403, "forbidden", "you may rate agents of your own teams only",
                       {"agent": ["not an agent of a team of yours"]})


def results_in_view(session, principal, results):
    scope = people_in_view(session, principal)
    if scope is not None:
        results["items"] = [result for result in results["items"] if result["agent"] in scope]
    return results


def appeals_in_view(principal, query):
    """The committee sees every appeal; anyone else their own."""
    return query if principal.has_any(COMMITTEE) else dict(query, agent=principal.username)
