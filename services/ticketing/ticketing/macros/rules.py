"""Canned responses and macros (docs/workspace.md), with no framework but Jinja2.

A canned response's body, and a macro's reply, is a Jinja2 template run in
Jinja2's sandbox (no attribute of Python's internals, no file, ranges
bounded) with ``StrictUndefined``: a placeholder it does not know is an
error, found when the text is saved (a trial run on sample values, 400
naming it) rather than sent to a customer as an empty gap. The
placeholders: ``customer.name``; ``ticket.id``, ``.subject``, ``.priority``,
``.kind``, ``.channel``, ``.state``, ``.team``; ``agent.username`` (and
``agent.name``, the same: accounts have no display name); ``kb(<id>)``, a
knowledge-base article: ``{{ kb(12) }}`` is its title and link,
``kb(12).url`` and ``kb(12).title`` each alone. Text is not HTML-escaped:
replies are plain text.

Who sees and changes what (object scope, X1):
- ``personal``: its owner (admins see every one, as they see every ticket);
- ``team``: the team's members, agents and supervisors alike, use and edit
  it (the team's own library), admins too;
- ``everyone``: every agent uses it; supervisors and admins make and edit it.
Outside what a caller sees an item is 404; seen but not hers to change, 403.
"""
import re
from dataclasses import dataclass

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from ticketing.contract import EVERYONE, PERSONAL, TEAM

PLACEHOLDERS = ("customer", "ticket", "agent", "kb")
TICKET_PLACEHOLDERS = ("id", "subject", "priority", "kind", "channel", "state", "team")
EVERY_ITEM = ("admin",)
SHARERS = ("supervisor", "admin")
MAX_TEXT = 100_000  # characters (or items) a template's ``*`` may make
MAX_EXPONENT = 64


class BoundedSandbox(SandboxedEnvironment):
    """Jinja2's sandbox, and ``*`` and ``**`` bounded: ``{{ "x" * 10**9 }}`` or ``{{ 9**9**9 }}`` would
    hold a worker (and its memory) for as long as they take (Jinja2's documented way: intercepted binops)."""
    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"an exponent above {MAX_EXPONENT}")
        if operator == "*":
            for text, times in ((left, right), (right, left)):
                if isinstance(text, (str, list, tuple)) and isinstance(times, int) and len(text) * times > MAX_TEXT:
                    raise SecurityError(f"text or lists longer than {MAX_TEXT}")
        return super().call_binop(context, operator, left, right)


ENVIRONMENT = BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
UNKNOWN_ATTRIBUTE = re.compile(r"has no attribute '([^']*)'")


class TemplateProblem(ValueError):
    """Why a text cannot be a template, or could not be filled in: said to its author."""


@dataclass(frozen=True)
class Article:
    id: int
    title: str
    url: str

    def __str__(self):
        return f"{self.title} ({self.url})"


def check(body) -> None:
    """A text that will fill in: TemplateProblem naming the first fault (syntax, an unknown placeholder)."""
    try:
        unknown = sorted(meta.find_undeclared_variables(ENVIRONMENT.parse(body)) - set(PLACEHOLDERS))
    except TemplateSyntaxError as exc:  # an unknown filter or test too
        raise TemplateProblem(f"line {exc.lineno}: {exc.message}") from None
    if unknown:
        raise TemplateProblem(f"unknown placeholder {unknown[0]!r}: the placeholders are "
                              f"{', '.join(PLACEHOLDERS)} (docs/workspace.md)")
    render(body, sample())


def render(body, context) -> str:
    """The text filled in from ``context`` (``placeholders``); TemplateProblem if it cannot be."""
    try:
        return ENVIRONMENT.from_string(body).render(context)
    except UndefinedError as exc:
        found = UNKNOWN_ATTRIBUTE.search(exc.message or "")
        name = found.group(1) if found else exc.message
        raise TemplateProblem(f"unknown placeholder field {name!r}: ticket has "
                              f"{', '.join(TICKET_PLACEHOLDERS)}; customer has name; agent has username, name"
                              ) from None
    except SecurityError as exc:
        raise TemplateProblem(f"not allowed in a template: {exc}") from None
    except TemplateError as exc:
        raise TemplateProblem(str(exc)) from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateProblem(f"the template failed: {exc}") from None


def placeholders(ticket: dict, customer_name: str, agent: str | None, article) -> dict:
    """The values a template is filled with; ``article(id)`` finds an Article (or raises TemplateProblem)."""
    def kb(article_id):
        try:
            number = int(article_id)
        except (TypeError, ValueError):
            raise TemplateProblem(f"kb() takes an article's id, not {article_id!r}") from None
        return article(number)
    return {"customer": {"name": customer_name}, "ticket": {name: ticket[name] for name in TICKET_PLACEHOLDERS},
            "agent": {"username": agent or "", "name": agent or ""}, "kb": kb}


def sample() -> dict:
    """Values to try a template on when it is saved."""
    return placeholders({"id": 1, "subject": "subject", "priority": "normal", "kind": "inquiry", "channel": "email",
                         "state": "new", "team": "team"}, "customer", "agent",
                        lambda number: Article(number, "article", f"/kb/{number}"))


# -- who sees and changes an item ---------------------------------------------------------
def sees(visibility, owner, team, actor, roles, teams) -> bool:
    if roles is None or set(roles) & set(EVERY_ITEM):
        return True
    return (visibility == EVERYONE or (visibility == PERSONAL and owner == actor)
            or (visibility == TEAM and team in (teams or ())))


def changes(visibility, owner, team, actor, roles, teams) -> bool:
    """Whether the caller may change (or make) an item so shared."""
    if roles is None or set(roles) & set(EVERY_ITEM):
        return True
    if visibility == PERSONAL:
        return owner == actor
    if visibility == TEAM:
        return team in (teams or ())
    return bool(set(roles) & set(SHARERS))
