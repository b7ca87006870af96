"""Appraisal's Prometheus metrics (for the Grafana panels of cycle progress
and appeals): facts stored by event type, and, counted in the database at
scrape time, cycles by state and appeals open and overdue."""
from datetime import datetime, timezone

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from appraisal.contract import CYCLE_STATES
from appraisal.models import Appeal, Cycle

FACTS_STORED = Counter("csops_appraisal_facts_stored_total", "Events kept as facts (redeliveries not counted).",
                       ["type"])


class ReviewGauges:
    def __init__(self, session_factory):
        self.session_factory = session_factory

    def collect(self):
        cycles = GaugeMetricFamily("csops_appraisal_cycles", "Appraisal cycles by state.", labels=["state"])
        appeals = GaugeMetricFamily("csops_appraisal_appeals_open", "Appeals not yet decided.")
        overdue = GaugeMetricFamily("csops_appraisal_appeals_overdue",
                                    "Undecided appeals past their decision day.")
        today = datetime.now(timezone.utc).date()
        with self.session_factory() as session:
            by_state = dict(session.execute(select(Cycle.state, func.count()).group_by(Cycle.state)).all())
            undecided = Appeal.state != "decided"
            appeals.add_metric([], session.scalar(select(func.count()).where(undecided)))
            overdue.add_metric([], session.scalar(select(func.count()).where(undecided, Appeal.decision_due < today)))
        for state in CYCLE_STATES:  # every state, zero included, so a panel of cycle progress is never empty
            cycles.add_metric([state], by_state.get(state, 0))
        yield from (cycles, appeals, overdue)
