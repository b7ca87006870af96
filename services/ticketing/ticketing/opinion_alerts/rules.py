"""What ticket a public-opinion alert opens (M6), with no framework.

Monitoring publishes ``opinion.alert_raised`` and ``opinion.alert_updated``
(an alert escalates, say from level III to II); when the data says
``opens_ticket`` (levels II and I, and crisis posts), ticketing opens a
social complaint with the priority of the level. ``key`` names what the
alert is about (a cluster of near-duplicate posts, or a topic's spike): one
ticket per key, so a wave of reposts, the alert's later updates and a
redelivered event all find the same ticket.

The two ends note each other's ending and change nothing on the other side:
an alert resolved leaves an internal note on its ticket (``resolution_note``),
a ticket resolved or closed leaves an entry on its alert (monitoring reads
``opinion_alert_id`` of ticket.resolved and ticket.closed).
"""
PRIORITY_OF_LEVEL = {"I": "urgent", "II": "high", "III": "normal", "IV": "low"}
CRISIS_PRIORITY = "high"  # a crisis post at a low level still needs a quick look
SUBJECT_LENGTH = 200


def priority(level, crisis_terms):
    chosen = PRIORITY_OF_LEVEL.get(level, "normal")
    ranks = list(PRIORITY_OF_LEVEL.values())[::-1]  # low .. urgent
    if crisis_terms and ranks.index(chosen) < ranks.index(CRISIS_PRIORITY):
        return CRISIS_PRIORITY
    return chosen


def ticket_request(alert):
    """What TicketCreateSchema takes for this alert."""
    post = alert["post"]
    lines = [alert["summary"], ""]
    if post and post["url"]:
        lines.append(f"Post: {post['url']}")
    lines.append(f"Topics: {', '.join(alert['topics']) or '-'}")
    if alert["cluster_size"]:
        lines.append(f"Near-duplicate posts: {alert['cluster_size']}")
    if alert["crisis_terms"]:
        lines.append(f"Crisis terms: {', '.join(alert['crisis_terms'])}")
    lines.append(f"Opinion alert {alert['alert_id']} ({alert['key']}), level {alert['level']}")
    customer = ({"name": post["author_name"][:200], "contact": f"{post['platform']}:{post['author_id']}"[:200]}
                if post else {"name": "public opinion", "contact": "social media"})
    return {
        "subject": f"Opinion alert level {alert['level']}: {alert['summary']}"[:SUBJECT_LENGTH],
        "description": "\n".join(lines), "channel": "social", "kind": "complaint",
        "priority": priority(alert["level"], alert["crisis_terms"]), "customer": customer,
        "tags": ["opinion", f"level-{alert['level'].lower()}"] + (["crisis"] if alert["crisis_terms"] else []),
        "custom_fields": {"opinion_alert_id": alert["alert_id"], "opinion_alert_key": alert["key"]},
    }


def is_resolution(alert) -> bool:
    """An ``opinion.alert_updated`` that says the alert was just resolved."""
    return alert["change"] == "state" and alert["state"] == "resolved" and alert["from_state"] != "resolved"


def resolution_note(alert) -> str:
    by = f" by {alert['actor']}" if alert["actor"] else ""
    return (f"Opinion alert {alert['alert_id']} ({alert['key']}) was resolved{by} in monitoring. "
            "This ticket stays as it is: resolve it when the customer's side is done.")
