"""Monitoring's own Prometheus metrics: volume analysed, how fast alerts are
handled, and alerts not yet resolved (counted in the database at scrape time)."""
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from monitoring.contract import ALERT_STATES, LEVELS
from monitoring.models import Alert

MINUTE, HOUR = 60, 3600
RESOLVED = "resolved"
HANDLING_BUCKETS = (5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 24 * HOUR, 72 * HOUR)

POSTS_INGESTED = Counter("csops_opinion_posts_total", "Posts ingested, by what became of them.",
                         ["platform", "outcome"])  # outcome: off_topic, negative, neutral, positive, updated
ALERTS_RAISED = Counter("csops_opinion_alerts_raised_total", "Alerts raised.", ["kind", "level"])
SPIKES = Counter("csops_opinion_spikes_total", "Spikes detected.", ["reason"])
TIME_TO_ACKNOWLEDGE = Histogram("csops_opinion_alert_acknowledge_seconds",
                                "Raised to acknowledged, of the alerts someone acknowledged.",
                                ["level"], buckets=HANDLING_BUCKETS)
TIME_TO_RESOLVE = Histogram("csops_opinion_alert_resolve_seconds", "Raised to resolved.",
                            ["level"], buckets=HANDLING_BUCKETS)


class OpenAlerts:
    """Alerts not resolved, by level and state, zeros included."""

    def __init__(self, session_factory):
        self.session_factory = session_factory

    def collect(self):
        gauge = GaugeMetricFamily("csops_opinion_alerts_open", "Alerts not yet resolved, by level and state.",
                                  labels=["level", "state"])
        with self.session_factory() as session:
            counts = {(level, state): n for level, state, n in session.execute(
                select(Alert.level, Alert.state, func.count()).where(Alert.state != RESOLVED)
                .group_by(Alert.level, Alert.state))}
        for level in LEVELS:
            for state in (state for state in ALERT_STATES if state != RESOLVED):
                gauge.add_metric([level, state], counts.get((level, state), 0))
        yield gauge
