"""Monitoring's own Prometheus metrics: volume analysed and how fast alerts are handled."""
from prometheus_client import Counter, Histogram

MINUTE, HOUR = 60, 3600
HANDLING_BUCKETS = (5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 24 * HOUR, 72 * HOUR)

POSTS_INGESTED = Counter("csops_opinion_posts_total", "Posts ingested, by what became of them.",
                         ["platform", "outcome"])  # outcome: off_topic, negative, neutral, positive, updated
ALERTS_RAISED = Counter("csops_opinion_alerts_raised_total", "Alerts raised.", ["kind", "level"])
SPIKES = Counter("csops_opinion_spikes_total", "Spikes detected.", ["reason"])
TIME_TO_ACKNOWLEDGE = Histogram("csops_opinion_alert_acknowledge_seconds", "Raised to acknowledged.",
                                ["level"], buckets=HANDLING_BUCKETS)
TIME_TO_RESOLVE = Histogram("csops_opinion_alert_resolve_seconds", "Raised to resolved.",
                            ["level"], buckets=HANDLING_BUCKETS)
