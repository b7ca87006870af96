"""Working together on a ticket, the rules that need no framework.

Mentions: ``@username`` in an internal note, a username as the gateway's accounts have them
(lowercase letters, digits, '.', '_', '-', 2-64 characters, starting with a letter or digit),
not preceded by a letter, digit, '.' or '@' (so mail addresses are no mentions); a final '.',
'-' or '_' is taken as punctuation. Names that are no active staff account are ignored (a note
is never refused for an @word); mentioned staff who may not read the ticket are not told; the
writer mentioning herself is not told either. The answer says which is which.

Links: ``parent`` / ``child`` / ``related``, as what the other ticket is to this one; stored
as parent -> child, or related once for the pair. A child has at most one parent, a ticket is
never its own ancestor (no cycles), and two tickets are linked at most once.
"""
import re

MENTION = re.compile(r"(?<![A-Za-z0-9.@_-])@([A-Za-z0-9][A-Za-z0-9._-]{1,63})")
PARENT, CHILD, RELATED = "parent", "child", "related"


def mentioned(body) -> list[str]:
    """The usernames a note mentions, lowercased, in order, each once."""
    names = []
    for match in MENTION.finditer(body or ""):
        name = match.group(1).rstrip("._-").lower()
        if len(name) >= 2 and name not in names:
            names.append(name)
    return names


def stored_link(ticket_id, other_id, kind):
    """``(from, to, stored kind)``: parent -> child, related with the lower id first."""
    if kind == PARENT:
        return other_id, ticket_id, PARENT
    if kind == CHILD:
        return ticket_id, other_id, PARENT
    return min(ticket_id, other_id), max(ticket_id, other_id), RELATED


def kind_for(ticket_id, from_id, stored_kind):
    """What the other ticket of a stored link is to ``ticket_id``."""
    if stored_kind == RELATED:
        return RELATED
    return CHILD if from_id == ticket_id else PARENT
