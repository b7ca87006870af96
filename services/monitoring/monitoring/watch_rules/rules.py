"""Watch rules: boolean topic queries over post text (M2).

A query is terms combined with ``AND``, ``OR``, ``NOT`` and parentheses;
adjacent terms without an operator are ANDed, as in the monitoring tools
agents know (Talkwalker, Brandwatch). Operators are upper case, so the word
"and" inside a query is a term. ``"a phrase"`` matches those words in that
order; ``refund*`` matches any word starting with ``refund``.

Matching does not depend on spaces, which Chinese does not have: a term is
found as a substring of the normalised text (NFKC, case-folded, runs of
white space as one), and only where a term begins or ends with a Latin
letter or digit must the neighbouring character not be one, so ``car`` does
not match inside ``scare`` while ``外卖`` matches inside ``美团外卖太慢``.
"""
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from monitoring.contract import MAX_QUERY_LENGTH

OPERATORS = ("AND", "OR", "NOT")
MAX_DEPTH = 20
TOKEN = re.compile(r'\s*(?:(?P<open>\()|(?P<close>\))|"(?P<phrase>[^"]*)"|(?P<quote>")|(?P<word>[^\s()"]+))')


class RuleSyntaxError(ValueError):
    """A query that cannot be read; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message, position):
        super().__init__(f"{message} at position {position}")
        self.position = position


def normalise(text: str) -> str:
    """The form both queries and posts are compared in."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def is_word_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


@dataclass(frozen=True)
class Term:
    text: str
    prefix: bool = False  # written with a trailing * : any word starting with it

    def matches(self, text: str) -> bool:
        start = text.find(self.text)
        while start != -1:
            end = start + len(self.text)
            left_ok = not is_word_char(self.text[0]) or start == 0 or not is_word_char(text[start - 1])
            right_ok = self.prefix or not is_word_char(self.text[-1]) or end == len(text) or not is_word_char(text[end])
            if left_ok and right_ok:
                return True
            start = text.find(self.text, start + 1)
        return False

    def terms(self):
        yield self.text


@dataclass(frozen=True)
class Not:
    operand: object

    def matches(self, text):
        return not self.operand.matches(text)

    def terms(self):
        return iter(())  # what a post must not say is no topic term


@dataclass(frozen=True)
class All:
    operands: tuple

    def matches(self, text):
        return all(operand.matches(text) for operand in self.operands)

    def terms(self):
        for operand in self.operands:
            yield from operand.terms()


@dataclass(frozen=True)
class Any:
    operands: tuple

    def matches(self, text):
        return any(operand.matches(text) for operand in self.operands)

    def terms(self):
        for operand in self.operands:
            yield from operand.terms()


def tokenize(query):
    """(kind, value, position) with kind one of ( ) phrase word operator."""
    position = 0
    tokens = []
    while position < len(query):
        match = TOKEN.match(query, position)
        if match is None:  # only trailing white space is left
            break
        start = match.start(match.lastgroup)
        kind = match.lastgroup
        if kind == "quote":
            raise RuleSyntaxError("unclosed quote", start)
        value = match.group(kind)
        if kind == "word" and value in OPERATORS:
            kind = "operator"
        tokens.append((kind, value, start))
        position = match.end()
    return tokens


class Parser:
    def __init__(self, query):
        self.query = query
        self.tokens = tokenize(query)
        self.index = 0
        self.depth = 0

    def peek(self):
        return self.tokens[self.index] if self.index < len(self.tokens) else (None, None, len(self.query))

    def take(self):
        token = self.peek()
        self.index += 1
        return token

    def parse(self):
        if not self.tokens:
            raise RuleSyntaxError("empty query", 0)
        node = self.either()
        kind, value, position = self.peek()
        if kind is not None:
            raise RuleSyntaxError(f"unexpected {value!r}", position)
        return node

    def either(self):
        operands = [self.both()]
        while self.peek()[:2] == ("operator", "OR"):
            self.take()
            operands.append(self.both())
        return operands[0] if len(operands) == 1 else Any(tuple(operands))

    def both(self):
        operands = [self.negation()]
        while True:
            kind, value, _ = self.peek()
            if (kind, value) == ("operator", "AND"):
                self.take()
            elif kind not in ("word", "phrase", "open") and (kind, value) != ("operator", "NOT"):
                break
            operands.append(self.negation())
        return operands[0] if len(operands) == 1 else All(tuple(operands))

    def negation(self):
        if self.peek()[:2] == ("operator", "NOT"):
            self.take()
            return Not(self.negation())
        return self.atom()

    def atom(self):
        kind, value, position = self.take()
        if kind == "open":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise RuleSyntaxError(f"parentheses nested deeper than {MAX_DEPTH}", position)
            node = self.either()
            closing, _, at = self.take()
            if closing != "close":
                raise RuleSyntaxError("missing closing parenthesis", at)
            self.depth -= 1
            return node
        if kind in ("word", "phrase"):
            return self.term(value, position)
        if kind is None:
            raise RuleSyntaxError("query ends where a term was expected", position)
        raise RuleSyntaxError(f"expected a term, found {value!r}", position)

    @staticmethod
    def term(value, position):
        prefix = value.endswith("*")
        text = normalise(value.rstrip("*") if prefix else value)
        if not text:
            raise RuleSyntaxError("empty term", position)
        return Term(text, prefix)


@lru_cache(maxsize=1024)  # every batch matches against every active rule: parse each query once
def parse(query: str):
    """The query's tree (``.matches(normalised_text)``, ``.terms()``; immutable), or RuleSyntaxError."""
    if len(query) > MAX_QUERY_LENGTH:
        raise RuleSyntaxError(f"query longer than {MAX_QUERY_LENGTH} characters", MAX_QUERY_LENGTH)
    return Parser(query).parse()


@dataclass(frozen=True)
class WatchRule:
    """A topic: a query plus filters on where and by whom a post was written."""
    id: int
    name: str
    query: object
    platforms: tuple = ()        # empty: every platform
    author_kinds: tuple = ()     # empty: every kind of author
    verified_only: bool = False
    min_followers: int = 0

    def matches(self, post, normalised_text) -> bool:
        author = post["author"]
        return ((not self.platforms or post["platform"] in self.platforms)
                and (not self.author_kinds or author["kind"] in self.author_kinds)
                and (author["verified"] or not self.verified_only)
                and author["followers"] >= self.min_followers
                and self.query.matches(normalised_text))


def matching_rules(rules, post) -> list:
    """The rules ``post`` (a loaded PostCreateSchema) matches; none means off-topic."""
    text = normalise(post["text"])
    return [rule for rule in rules if rule.matches(post, text)]
