"""Canned responses and macros (docs/workspace.md): made, listed, changed and deleted within
the caller's scope (``rules.sees`` / ``rules.changes``); a canned response filled in for a ticket;
a macro applied to a ticket, all its actions in one transaction and one history entry.

Setting (the service's config, else ``TICKETING_<name>`` in the environment):
``KB_ARTICLE_URL``, where a knowledge-base article is read (``{id}`` its id), the link
``{{ kb(12) }}`` fills in; by default the API's path of the article.
"""
from marshmallow import ValidationError
from sqlalchemy import and_, false, or_, true

from plumbing.config import setting
from plumbing.errors import (
    Conflict, DomainError, Forbidden, InvalidInput, NotFound, Unprocessable, load_or_invalid as load,
)
from plumbing.paging import fetch_page
from plumbing.privacy import mask_name
from plumbing.schemas import shared
from ticketing.contract import (
    EVERYONE, MAX_TAGS, NOTE, PERSONAL, REPLY, TEAM, CannedResponseCreateSchema, CannedResponsePageSchema,
    CannedResponseQuerySchema, CannedResponseSchema, CannedResponseUpdateSchema, LibraryQuerySchema,
    MacroApplySchema, MacroCreateSchema, MacroPageSchema, MacroSchema, MacroUpdateSchema, RenderedSchema,
    RenderSchema, check_visibility,
)
from ticketing.edits import handlers as edits
from ticketing.edits import rules as edit_rules
from ticketing.macros import rules
from ticketing.models import CannedResponse, KbArticle, Macro
from ticketing.tickets import rules as ticket_rules
from ticketing.tickets import steps

KB_ARTICLE_URL = "/api/v1/kb/articles/{id}"
KINDS = {CannedResponse: ("canned response", CannedResponseSchema), Macro: ("macro", MacroSchema)}


# -- either kind ------------------------------------------------------------------------
def visible(uow, model, item_id, field=None):
    """The item if the caller sees it, else NotFound (naming ``field`` of the body when one named it)."""
    name = KINDS[model][0]
    item = uow.session.get(model, item_id)
    caller = uow.caller
    if item is None or not rules.sees(item.visibility, item.owner, item.team, caller.actor, caller.roles,
                                      caller.teams):
        raise NotFound(f"{name} {item_id} does not exist", {field: [f"no {name} of yours"]} if field else None)
    return item


def changeable(uow, model, item_id):
    item = visible(uow, model, item_id)
    check_may_change(uow, model, item.visibility, item.owner, item.team)
    return item


def check_may_change(uow, model, visibility, owner, team):
    caller = uow.caller
    if not rules.changes(visibility, owner, team, caller.actor, caller.roles, caller.teams):
        who = {PERSONAL: "its owner", TEAM: f"members of team {team}", EVERYONE: "supervisors and admins"}[visibility]
        raise Forbidden(f"a {visibility} {KINDS[model][0]} is changed by {who} only",
                        {"visibility": [f"{visibility}: {who}"]})


def visible_condition(uow, model):
    caller = uow.caller
    if caller.roles is None or set(caller.roles) & set(rules.EVERY_ITEM):
        return true()
    return or_(false(), model.visibility == EVERYONE,
               and_(model.visibility == PERSONAL, model.owner == caller.actor),
               and_(model.visibility == TEAM, model.team.in_(sorted(caller.teams or ()))))


def create(uow, model, fields):
    check_may_change(uow, model, fields["visibility"], uow.actor, fields.get("team"))
    now = uow.now()
    item = model(**fields, owner=uow.actor if fields["visibility"] == PERSONAL else None, created_by=uow.actor,
                 created_at=now, updated_at=now)
    uow.session.add(item)
    uow.session.flush()
    return shared(KINDS[model][1]).dump(item)


def update(uow, model, item, changes):
    """``changes`` on ``item``, checked as a new one would be (its sharing too: the caller must be allowed the
    new visibility as well as the old)."""
    merged = {name: changes.get(name, getattr(item, name)) for name in ("visibility", "team")}
    if changes.get("visibility") in (PERSONAL, EVERYONE) and "team" not in changes:
        merged["team"] = None
    try:
        check_visibility(merged)
    except ValidationError as exc:
        raise InvalidInput("request failed validation", {exc.field_name: exc.messages}) from None
    owner = item.owner if merged["visibility"] == PERSONAL and item.owner else uow.actor
    if merged["visibility"] != item.visibility or merged["team"] != item.team:
        check_may_change(uow, model, merged["visibility"], owner, merged["team"])
    for name, value in {**changes, **merged}.items():
        setattr(item, name, value)
    item.owner = owner if merged["visibility"] == PERSONAL else None
    item.updated_at = uow.now()
    return shared(KINDS[model][1]).dump(item)


def listed(uow, model, criteria, page_schema):
    page = fetch_page(uow.session, model, criteria, [model.title, model.id], [visible_condition(uow, model)])
    return shared(page_schema).dump(page)


def checked_text(body, field):
    try:
        rules.check(body)
    except rules.TemplateProblem as exc:
        raise InvalidInput(f"{'.'.join(field)}: {exc}", nested(field, [str(exc)])) from None


def nested(path, value):
    for part in reversed(path):
        value = {part: value}
    return value


# -- canned responses ---------------------------------------------------------------------
def create_canned_response(uow, data):
    fields = load(CannedResponseCreateSchema, data)
    checked_text(fields["body"], ("body",))
    with uow.transaction():
        return create(uow, CannedResponse, fields)


def list_canned_responses(uow, query):
    return listed(uow, CannedResponse, load(CannedResponseQuerySchema, query or {}), CannedResponsePageSchema)


def get_canned_response(uow, canned_id):
    return shared(CannedResponseSchema).dump(visible(uow, CannedResponse, canned_id))


def update_canned_response(uow, canned_id, data):
    changes = load(CannedResponseUpdateSchema, data)
    if "body" in changes:
        checked_text(changes["body"], ("body",))
    with uow.transaction():
        return update(uow, CannedResponse, changeable(uow, CannedResponse, canned_id), changes)


def delete_canned_response(uow, canned_id):
    with uow.transaction():
        uow.session.delete(changeable(uow, CannedResponse, canned_id))


def render_canned_response(uow, canned_id, data, config):
    """The canned response filled in for a ticket the caller may read."""
    ticket_id = load(RenderSchema, data)["ticket_id"]
    with uow.transaction():  # showing the customer's name is recorded
        canned = visible(uow, CannedResponse, canned_id)
        ticket = steps.readable(uow, ticket_id)
        try:
            body = rules.render(canned.body, placeholders(uow, ticket, config))
        except rules.TemplateProblem as exc:
            raise Conflict(f"canned response {canned_id} cannot be filled in for ticket {ticket_id}: {exc}",
                           {"body": [str(exc)]}) from None
        return shared(RenderedSchema).dump({"canned_response_id": canned.id, "ticket_id": ticket.id,
                                            "language": canned.language, "body": body})


def placeholders(uow, ticket, config):
    """The template's values for ``ticket``: the customer in full only where the caller sees them (X6)."""
    caller = uow.caller
    if ticket_rules.sees_customer(caller.roles, caller.actor, ticket.assignee):
        steps.record_customer_access(uow, ticket, "read")
        name = ticket.customer_name
    else:
        name = mask_name(ticket.customer_name)
    link = setting(config, "ticketing", "KB_ARTICLE_URL", KB_ARTICLE_URL)

    def article(article_id):
        found = uow.session.get(KbArticle, article_id)
        if found is None:
            raise rules.TemplateProblem(f"knowledge-base article {article_id} does not exist")
        return rules.Article(found.id, found.title, link.replace("{id}", str(found.id)))
    facts = {name: getattr(ticket, name) for name in rules.TICKET_PLACEHOLDERS}
    return rules.placeholders(facts, name, uow.actor, article)


# -- macros --------------------------------------------------------------------------------
def checked_actions(uow, actions):
    """Each reply's text fills in, and each canned response it names is one the caller sees."""
    for index, action in enumerate(actions):
        if "body" in action:
            checked_text(action["body"], ("actions", str(index), "body"))
        if "canned_response_id" in action:
            try:
                visible(uow, CannedResponse, action["canned_response_id"])
            except NotFound:
                raise InvalidInput(f"actions.{index}: no canned response {action['canned_response_id']} of yours",
                                   nested(("actions", str(index), "canned_response_id"),
                                          ["no such canned response of yours"])) from None


def create_macro(uow, data):
    fields = load(MacroCreateSchema, data)
    with uow.transaction():
        checked_actions(uow, fields["actions"])
        return create(uow, Macro, fields)


def list_macros(uow, query):
    return listed(uow, Macro, load(LibraryQuerySchema, query or {}), MacroPageSchema)


def get_macro(uow, macro_id):
    return shared(MacroSchema).dump(visible(uow, Macro, macro_id))


def update_macro(uow, macro_id, data):
    changes = load(MacroUpdateSchema, data)
    with uow.transaction():
        if "actions" in changes:
            checked_actions(uow, changes["actions"])
        return update(uow, Macro, changeable(uow, Macro, macro_id), changes)


def delete_macro(uow, macro_id):
    with uow.transaction():
        uow.session.delete(changeable(uow, Macro, macro_id))


def apply_macro(uow, ticket_id, data, if_match, config):
    """Every action of the macro on the ticket, in order, in one transaction and one history entry
    (``macro_applied``, the steps in it): all of them, or none (the failing one named by its index)."""
    macro_id = load(MacroApplySchema, data)["macro_id"]
    with uow.transaction():
        ticket = steps.locked(uow, ticket_id)
        edits.check_if_match(uow, ticket, if_match)
        macro = visible(uow, Macro, macro_id, field="macro_id")
        with steps.one_entry(uow, ticket, steps.MACRO_APPLIED, {"macro_id": macro.id, "title": macro.title}):
            for index, action in enumerate(macro.actions):
                try:
                    run(uow, ticket, macro, action, config)
                except DomainError as exc:
                    raise failed(macro, index, action, exc) from None
        return steps.detail(uow, ticket)


def failed(macro, index, action, exc):
    """The error of the whole macro: a conflict with the ticket's state stays 409, a refusal 403,
    anything else (text that cannot be filled in, what no longer exists) 422; details name the action."""
    kind = Conflict if isinstance(exc, Conflict) else Forbidden if isinstance(exc, Forbidden) else Unprocessable
    return kind(f"macro {macro.id}, action {index} ({action['action']}): {exc.message}; nothing was applied",
                {"actions": {str(index): {"action": action["action"], "reason": exc.message, **exc.details}}})


def run(uow, ticket, macro, action, config):
    name = action["action"]
    if name == "reply":
        body = action.get("body")
        if body is None:
            canned = uow.session.get(CannedResponse, action["canned_response_id"])
            if canned is None:
                raise NotFound(f"canned response {action['canned_response_id']} no longer exists")
            body = canned.body
        try:
            text = rules.render(body, placeholders(uow, ticket, config))
        except rules.TemplateProblem as exc:
            raise Unprocessable(str(exc)) from None
        steps.write_message(uow, ticket, REPLY if action.get("public", True) else NOTE, text, config)
    elif name == "set_state":
        steps.move(uow, ticket, steps.next_state(ticket, action["state"]))
    elif name in ("add_tags", "remove_tags"):
        add, remove = (action["tags"], ()) if name == "add_tags" else ((), action["tags"])
        tags = edit_rules.tags_after(ticket.tags, add, remove)
        if len(tags) > MAX_TAGS:
            raise Unprocessable(f"a ticket has at most {MAX_TAGS} tags")
        edits.apply_edit(uow, ticket, {"tags": tags}, config, macro_id=macro.id)
    elif name == "set_priority":
        edits.apply_edit(uow, ticket, {"priority": action["priority"]}, config, macro_id=macro.id)
    elif name == "take":
        edits.assign(uow, ticket, uow.actor, ticket.team, config)
    elif "assignee" in action:  # assign
        edits.check_may_assign(uow, action["assignee"])
        edits.assign(uow, ticket, action["assignee"], action.get("team", ticket.team), config)
    else:
        edits.apply_edit(uow, ticket, {"team": action["team"]}, config, macro_id=macro.id)
