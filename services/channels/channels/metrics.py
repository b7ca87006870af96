"""Channels' Prometheus metrics (for a Grafana panel): inbound mails by mailbox and outcome,
and bounces."""
from prometheus_client import Counter

MAILS_RECEIVED = Counter("csops_channels_mails_received_total",
                         "Inbound mails taken in, by what became of them.", ["outcome"])
BOUNCES = Counter("csops_channels_bounces_total", "Delivery status notifications received.")


def received(outcome):
    MAILS_RECEIVED.labels(outcome).inc()
    if outcome == "bounce":
        BOUNCES.inc()
