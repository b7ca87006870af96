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

The work is bounded: a query holds at most ``MAX_TERMS`` terms (repeats
count) nested at most ``MAX_DEPTH`` deep (parentheses and NOT), and a post
is searched once for each distinct term, however many rules and places
name it (``Text``), each search one pass of the regular-expression engine.
"""
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache

from monitoring.contract import MAX_QUERY_LENGTH

OPERATORS = ("AND", "OR", "NOT")
MAX_DEPTH = 20  # of parentheses and NOT
MAX_TERMS = 100  # in one query, repeats included
MAX_ACTIVE_TERMS = 1000  # in all active rules together: each post is searched for each
WORD_CHAR = "[A-Za-z0-9]"
WORDS = re.compile(f"{WORD_CHAR}+")
TOKEN = re.compile(r'\s*(?:(?P<open>\()|(?P<close>\))|"(?P<phrase>[^"]*)"|(?P<quote>")|(?P<word>[^\s()"]+))')


class RuleSyntaxError(ValueError):
    """A query that cannot be read, or is beyond the limits; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message, position):
        super().__init__(f"{message} at position {position}")
        self.position = position


def normalise(text: str) -> str:
    """The form both queries and posts are compared in."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def is_word_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


class Text:
    """A post's text as rules are matched against it: normalised once, and each distinct term
    searched for once (``searched``), whichever rules and places name it."""

    def __init__(self, text: str):
        self.text = normalise(text)
        self.searched = {}

    @cached_property
    def words(self) -> frozenset:
        """Its runs of Latin letters and digits, found in one pass: a term that is one such word
        is then found by a look-up, however long the post and however many such terms."""
        return frozenset(WORDS.findall(self.text))

    def holds(self, term) -> bool:
        found = self.searched.get(term)
        if found is None:
            found = self.searched[term] = term.found_in(self)
        return found


@dataclass(frozen=True)
class Term:
    text: str
    prefix: bool = False  # written with a trailing * : any word starting with it

    @cached_property
    def pattern(self):
        """The term where its ends meet no Latin letter or digit, if they are one. The text comes
        first, so the engine skips to where it occurs; the check of the character before it is a
        look-behind over the text too (at the start of the post it cannot match, so it passes)."""
        text = re.escape(self.text)
        before = f"(?<!{WORD_CHAR}{text})" if is_word_char(self.text[0]) else ""
        after = f"(?!{WORD_CHAR})" if is_word_char(self.text[-1]) and not self.prefix else ""
        return re.compile(text + before + after)

    @cached_property
    def is_word(self) -> bool:
        return not self.prefix and self.text.isascii() and self.text.isalnum()

    def found_in(self, text: Text) -> bool:
        return self.text in text.words if self.is_word else self.pattern.search(text.text) is not None

    def matches(self, text: Text) -> bool:
        return text.holds(self)

    def terms(self):
        yield self.text

    def size(self):
        return 1


@dataclass(frozen=True)
class Not:
    operand: object

    def matches(self, text):
        return not self.operand.matches(text)

    def terms(self):
        return iter(())  # what a post must not say is no topic term

    def size(self):
        return self.operand.size()


@dataclass(frozen=True)
class Group:
    operands: tuple

    def terms(self):
        for operand in self.operands:
            yield from operand.terms()

    def size(self):
        return sum(operand.size() for operand in self.operands)


class All(Group):
    def matches(self, text):
        return all(operand.matches(text) for operand in self.operands)


class Any(Group):
    def matches(self, text):
        return any(operand.matches(text) for operand in self.operands)


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
        self.written = 0  # terms so far

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
        return group(Any, operands)

    def both(self):
        operands = [self.negation()]
        while True:
            kind, value, _ = self.peek()
            if (kind, value) == ("operator", "AND"):
                self.take()
            elif kind not in ("word", "phrase", "open") and (kind, value) != ("operator", "NOT"):
                break
            operands.append(self.negation())
        return group(All, operands)

    def negation(self):
        if self.peek()[:2] == ("operator", "NOT"):
            self.deeper(self.take()[2])
            node = Not(self.negation())
            self.depth -= 1
            return node
        return self.atom()

    def atom(self):
        kind, value, position = self.take()
        if kind == "open":
            self.deeper(position)
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

    def deeper(self, position):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RuleSyntaxError(f"nested deeper than {MAX_DEPTH} levels (parentheses and NOT)", position)

    def term(self, value, position):
        self.written += 1
        if self.written > MAX_TERMS:
            raise RuleSyntaxError(f"more than {MAX_TERMS} terms, the most one rule may hold (repeats count)", position)
        prefix = value.endswith("*")
        text = normalise(value.rstrip("*") if prefix else value)
        if not text:
            raise RuleSyntaxError("empty term", position)
        return Term(text, prefix)


def group(kind, operands):
    """``kind`` of the operands, each once: ``a OR a`` is evaluated as ``a``."""
    distinct = tuple(dict.fromkeys(operands))
    return distinct[0] if len(distinct) == 1 else kind(distinct)


@lru_cache(maxsize=1024)  # every batch matches against every active rule: parse each query once
def parse(query: str):
    """The query's tree (``.matches(Text(post))``, ``.terms()``, ``.size()``: the terms it evaluates; immutable),
    or RuleSyntaxError."""
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

    def matches(self, post, text: Text) -> bool:
        author = post["author"]
        return ((not self.platforms or post["platform"] in self.platforms)
                and (not self.author_kinds or author["kind"] in self.author_kinds)
                and (author["verified"] or not self.verified_only)
                and author["followers"] >= self.min_followers
                and self.query.matches(text))


def matching_rules(rules, post) -> list:
    """The rules ``post`` (a loaded PostCreateSchema) matches; none means off-topic."""
    text = Text(post["text"])
    return [rule for rule in rules if rule.matches(post, text)]
