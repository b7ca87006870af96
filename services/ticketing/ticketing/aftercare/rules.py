"""Rules for what follows a ticket's handling, with no framework (T5, T6, T7).

Complaints: first soothe and record (issue, demand, when it happened),
classify, coordinate with departments, report the result to the customer,
then the customer's verdict: unsatisfied reopens the complaint, satisfied
settles (closes) it. A major complaint escalates to management at once.

Ratings: after each resolution the customer may rate it once (1-5) through
a link token that needs no account and expires. Only the token's hash is
kept; the customer's side (an integration) asks for the link to deliver it,
which makes a new token for the latest resolution (the one before stops working).
One link per ticket is live: a new resolution (after a reopen) ends the links
of the earlier ones that were not rated.

Callbacks are scheduled from now on: a time in the past is refused, allowing
``CALLBACK_CLOCK_SKEW`` (a minute) for the caller's clock running behind ours.

Suggestions are forwarded to a department, whose adoption decision is
reported back to the customer as a public reply.
"""
import hashlib
import secrets
from datetime import timedelta

ESCALATING_SEVERITIES = ("major",)
RATING_LINK_VALID = timedelta(days=14)
CALLBACK_CLOCK_SKEW = timedelta(minutes=1)
TOP_BOX = (4, 5)


class RuleBroken(Exception):
    """A request that the current state of the ticket does not allow."""


def escalates(severity) -> bool:
    return severity in ESCALATING_SEVERITIES


def check_verdict_allowed(complaint, ticket_state):
    if complaint is None:
        raise RuleBroken("no complaint is recorded on this ticket")
    if complaint.result is None:
        raise RuleBroken("report the result to the customer before asking for a verdict")
    if ticket_state != "resolved":
        raise RuleBroken(f"the verdict follows a resolution; the ticket is {ticket_state}")


def verdict_outcome(satisfied) -> str:
    """The state change a verdict brings: satisfied settles, unsatisfied reopens."""
    return "closed" if satisfied else "reopened"


def new_rating_token() -> tuple[str, str]:
    """A link token for the customer and the hash that is stored (the token is not)."""
    token = secrets.token_urlsafe(24)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_rating_allowed(rating, now):
    if rating is None:
        raise RuleBroken("this rating link is not valid")
    if rating.score is not None:
        raise RuleBroken("this resolution was already rated")
    if now > rating.expires_at:
        raise RuleBroken("this rating link has expired")


def rating_link_state(rating, now) -> str | None:
    """What a link's page shows: "open" (the form), "rated", "expired", or None (no such link)."""
    if rating is None:
        return None
    if rating.score is not None:
        return "rated"
    return "expired" if now > rating.expires_at else "open"


def check_link_renewable(rating, now):
    """A new link is issued for the latest resolution while it may still be rated."""
    if rating is None:
        raise RuleBroken("the ticket has no resolution to rate")
    check_rating_allowed(rating, now)


def callback_time_problem(scheduled_for, now) -> str | None:
    """Why a callback cannot be scheduled for that time, or None."""
    if scheduled_for < now - CALLBACK_CLOCK_SKEW:
        return (f"is in the past (now is {now.isoformat(timespec='seconds')}; "
                f"{int(CALLBACK_CLOCK_SKEW.total_seconds())} seconds of clock skew are allowed)")
    return None


def top_box(score) -> bool:
    """CSAT top-2-box: 4 or 5 of 5."""
    return score in TOP_BOX


def check_decision_allowed(suggestion):
    if suggestion is None or suggestion.forwarded_at is None:
        raise RuleBroken("forward the suggestion to a department first")
    if suggestion.decided_at is not None:
        raise RuleBroken("the department has already decided")


def decision_reply(adopted, decision) -> str:
    verdict = "has been adopted" if adopted else "was considered but not adopted"
    return f"Thank you for your suggestion: it {verdict}. {decision}"
