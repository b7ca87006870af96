"""Alert rules (M5, M6): when one is raised, its lifecycle, what opens a ticket.

An alert is keyed by what it is about, so a wave of reposts raises one:
``cluster/<id>`` for a cluster of near-duplicate posts whose severity reached
``ALERT_MIN_LEVEL`` (or that holds a crisis post), ``spike/<topic>/<bucket>``
for a spike no open cluster alert of that topic already covers.
"""
from monitoring.ingest.severity import at_least
from plumbing.text import with_article

# Forward only. Skips are allowed: open -> responding (an action taken at once), open -> resolved and
# acknowledged -> resolved (a false alarm); a skipped state's time stays null (``stamp_of``).
NEXT_STATES = {
    "open": ("acknowledged", "responding", "resolved"),
    "acknowledged": ("responding", "resolved"),
    "responding": ("resolved",),
    "resolved": (),
}
ALERT_MIN_LEVEL = "III"
TICKET_MIN_LEVEL = "II"


STAMPS = {"acknowledged": "acknowledged_at", "responding": "responding_at", "resolved": "resolved_at"}


def stamp_of(state: str) -> str:
    """The time an alert entered ``state``: set when it does, and only then (an alert resolved from open
    was never acknowledged, so it has no time to acknowledge)."""
    return STAMPS[state]


class InvalidTransition(ValueError):
    def __init__(self, before, after):
        super().__init__(f"{with_article(before)} alert cannot become {after}")
        self.allowed = NEXT_STATES[before]


def check_transition(before: str, after: str) -> None:
    if after not in NEXT_STATES[before]:
        raise InvalidTransition(before, after)


def state_after_action(state: str) -> str:
    """Taking an action is responding; a resolved alert takes none."""
    if state == "resolved":
        raise InvalidTransition(state, "responding")
    return "responding"


def deserves_alert(level: str | None, crisis: bool, min_level=ALERT_MIN_LEVEL) -> bool:
    return crisis or at_least(level, min_level)


def opens_ticket(level: str | None, crisis: bool, min_level=TICKET_MIN_LEVEL) -> bool:
    """Levels II and I, and every crisis post, are worked as tickets."""
    return crisis or at_least(level, min_level)


def cluster_key(cluster_id: int) -> str:
    return f"cluster/{cluster_id}"


def spike_key(rule_id: int, bucket_iso: str) -> str:
    return f"spike/{rule_id}/{bucket_iso}"
