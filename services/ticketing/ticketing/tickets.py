"""Ticket rules that need no framework: intake, initial state."""
CHANNELS = ("phone", "chat", "email", "web_form", "social")
KINDS = ("inquiry", "complaint", "suggestion", "after_sales")
PRIORITIES = ("low", "normal", "high", "urgent")
STATES = ("new", "assigned", "in_progress", "waiting_customer", "resolved", "closed")
MAX_TAGS = 20


def normalise_tags(tags) -> list[str]:
    """Tags compare case-insensitively and appear once, in a stable order."""
    seen = []
    for tag in tags or ():
        tag = tag.strip().lower()
        if tag and tag not in seen:
            seen.append(tag)
    return seen


def initial_state(assignee) -> str:
    """A ticket created with an assignee starts assigned, otherwise new."""
    return "assigned" if assignee else "new"
