"""Editing a ticket's own fields (docs/workspace.md), with no framework.

An edit changes only the fields it gives; a field given its current value
is no change (no history entry, no event). Tags are the whole list,
trimmed, lower-cased and once each; custom fields merge: each key given is
set, a key given null is removed.

Optimistic concurrency: every change to a ticket, by any route or by the
platform (routing, the SLA sweep), makes its version one more. A write
that must not overwrite what the caller has not seen sends the ETag it
read (``If-Match``); a stale one is refused (409) naming the fields
changed since and their current values, from the history entries newer
than the version it names. ``*`` matches any version (RFC 9110).

Decisions where the issue is silent:
- ``If-Match`` is required on PATCH and on applying a macro: 428 without
  it (RFC 6585), after the scope check (outside the caller's scope is 404
  whatever the headers); a stale one is 409 rather than the RFC's 412,
  since the answer says how the ticket changed. Bulk edits take none:
  each ticket is changed as it is then, as help desks' bulk updates do;
- a closed ticket is not edited (409: reopen it); a resolved one is, but
  its team only once reopened, as with assignments;
- assigning to someone else takes a supervisor or an admin (as POST
  .../assignment); an agent may assign a ticket to herself.
"""
import re

from ticketing.contract import EDITABLE_FIELDS
from ticketing.tickets.rules import normalise_tags

ANY = "*"
ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e]*)"\s*')
ASSIGNERS = ("supervisor", "admin", "integration")
# history entries' change keys that are ticket fields a caller may want to look at again
FIELD_OF_ACTION = {"message_added": "messages", "merged": "merged_into_id", "absorbed": "messages",
                   "escalated": "escalation_level"}
PAIRED = ("created", "edited", "assigned", "state_changed")  # entries whose changes are {field: [before, after]}
TICKET_FIELDS = ("subject", "priority", "kind", "team", "tags", "custom_fields", "required_skills", "state",
                 "assignee", "escalation_level", "merged_into_id")


class BadEntityTags(ValueError):
    pass


def entity_tags(header) -> list[str] | None:
    """The entity tags of an If-Match header (each as sent, quotes included); None for ``*``.
    A weak tag (``W/"..."``) never matches: If-Match compares strongly (RFC 9110)."""
    if header.strip() == ANY:
        return None
    tags, position = [], 0
    while True:
        found = ENTITY_TAG.match(header, position)
        if not found:
            raise BadEntityTags('expected * or entity tags such as "12-3", separated by commas')
        if not found.group(1):
            tags.append(f'"{found.group(2)}"')
        position = found.end()
        if position == len(header):
            return tags
        if header[position] != ",":
            raise BadEntityTags('expected * or entity tags such as "12-3", separated by commas')
        position += 1


def version_named(tags, ticket_id) -> int | None:
    """The newest version of ``ticket_id`` the tags name (None: none names this ticket)."""
    versions = [int(match.group(1)) for tag in tags
                if (match := re.fullmatch(rf'"{ticket_id}-(\d{{1,18}})"', tag))]
    return max(versions, default=None)


def changed_fields(entries) -> list[str]:
    """The ticket fields the history ``entries`` (``{"action", "changes"}``, a macro's with its ``steps``)
    changed, in order, once each."""
    names = []
    for entry in entries:
        for step in entry["changes"].get("steps", ()) or [entry]:
            found = [key for key in step["changes"] if key in TICKET_FIELDS] if step["action"] in PAIRED else []
            if step["action"] in FIELD_OF_ACTION:
                found.append(FIELD_OF_ACTION[step["action"]])
            names += [name for name in found if name not in names]
    return names


def edits(current: dict, wanted: dict) -> dict:
    """``{field: [before, after]}`` of what the edit ``wanted`` changes on a ticket whose fields are ``current``
    (``EDITABLE_FIELDS``), in that order; fields left as they are are left out."""
    changes = {}
    for field in EDITABLE_FIELDS:
        if field not in wanted:
            continue
        after = wanted[field]
        if field == "tags":
            after = normalise_tags(after)
        elif field == "custom_fields":
            after = {key: value for key, value in {**current[field], **after}.items()
                     if not (key in after and after[key] is None)}
        elif field == "required_skills" and sorted(set(after)) == sorted(current[field]):
            continue
        if after != current[field]:
            changes[field] = [current[field], after]
    return changes


def changed_keys(before: dict, after: dict) -> list[str]:
    """The keys set, changed or removed from ``before`` to ``after``."""
    missing = object()
    return sorted(key for key in {*before, *after} if before.get(key, missing) != after.get(key, missing))


def tags_after(current, add=(), remove=()) -> list[str]:
    removed = set(normalise_tags(remove))
    return [tag for tag in normalise_tags([*current, *add]) if tag not in removed]


def may_assign(roles, actor, assignee) -> bool:
    """Supervisors, admins, integrations and services assign anyone; an agent herself."""
    return roles is None or bool(set(roles) & set(ASSIGNERS)) or assignee == actor


def keeps_owner(owner_teams, team) -> bool:
    """Whether the ticket's owner keeps it when it moves to ``team`` (None: no team)."""
    return team is None or team in (owner_teams or ())
