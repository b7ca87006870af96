"""Channels' Prometheus metrics (for a Grafana panel): inbound mails by mailbox and outcome,
and bounces; mail out by kind: queued, sent, failed for good and bounced, and how long a mail
took from its event to the SMTP server's acceptance."""
from prometheus_client import Counter, Histogram

from channels.contract import INBOUND_OUTCOMES

MAILS_RECEIVED = Counter("csops_channels_mails_received_total",
                         "Inbound mails taken in, by what became of them.", ["outcome"])
BOUNCES = Counter("csops_channels_bounces_total", "Delivery status notifications received.")


for _outcome in INBOUND_OUTCOMES:  # every outcome's series at 0 from the start (the "Mail in" panel)
    MAILS_RECEIVED.labels(_outcome)


def received(outcome):
    MAILS_RECEIVED.labels(outcome).inc()
    if outcome == "bounce":
        BOUNCES.inc()


# mail out (outbound/handlers.py); kind is one of contract.DELIVERY_KINDS
DELIVERIES_QUEUED = Counter("csops_channels_deliveries_queued_total", "Mails made from events, to send.", ["kind"])
MAILS_SENT = Counter("csops_channels_mails_sent_total", "Mails the SMTP server accepted.", ["kind"])
MAILS_FAILED = Counter("csops_channels_mails_failed_total",
                       "Mails given up: refused for good (permanent) or after the last retry (retries).",
                       ["kind", "reason"])
MAILS_BOUNCED = Counter("csops_channels_mails_bounced_total", "Sent mails a bounce reported undelivered.", ["kind"])
MAILS_ERASED = Counter("csops_channels_mails_erased_total",
                       "Mails in and out whose personal data was erased on customer.erased.")
# buckets around what a customer notices: at once, within the first retries, within the hour
DELIVERY_SECONDS = Histogram("csops_channels_delivery_seconds", "From the mail made to the SMTP server accepting it.",
                             ["kind"], buckets=(1, 5, 15, 60, 300, 900, 3600, 4 * 3600))

# every kind's series from the start, at 0: a panel or an alert over mail out shows 0, not nothing,
# before the first mail
for _kind in ("acknowledgement", "reply", "complaint_result", "suggestion_decision", "survey",
              "assignment", "sla_warning", "sla_breach", "opinion_alert", "mention", "following"):
    DELIVERIES_QUEUED.labels(_kind)
    MAILS_SENT.labels(_kind)
    MAILS_BOUNCED.labels(_kind)
    DELIVERY_SECONDS.labels(_kind)
    for _reason in ("permanent", "retries"):
        MAILS_FAILED.labels(_kind, _reason)
