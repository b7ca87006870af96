"""The search index in the database, for tickets and the knowledge base.

One index is a table keyed by the ticket's (article's) id with its fields'
terms (``rules.document``): on PostgreSQL a ``tsvector`` under a GIN index
(each field a weight, A-D), on SQLite an FTS5 table with a column per field
(the rowid is the key). The migration that builds them is
``migrations/d4e5f6a7b8c9_search_index.py``; they are not ORM models because
each engine's is its own kind of table.

Ticket lists call ``parse_query``, ``condition`` and ``order`` (handlers.list_tickets);
the ticket steps call ``index_ticket`` and ``add_message``; a merge calls ``index_ticket``
for the ticket it went into.
"""
from sqlalchemy import (
    Integer, and_, bindparam, case, cast, column, exists, func, literal, literal_column, not_, or_, select, table, text,
    true, union,
)
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR

from plumbing.errors import InvalidInput
from ticketing.contract import CHANNELS, KINDS, PRIORITIES, STATES
from ticketing.models import Ticket, TicketMessage
from ticketing.search import rules

# Relevance ranks the newest matches only, so a common word (a third of a million tickets) costs
# as much as a rare one: the best of the newest RELEVANCE_CANDIDATES, newest first on equal rank.
RELEVANCE_CANDIDATES = 1000
WEIGHTS = {"A": 1.0, "B": 0.4, "C": 0.2, "D": 0.1}   # PostgreSQL's default ts_rank weights


class Index:
    """One search table: ``fields`` maps each field to its weight (A-D), in column order."""

    def __init__(self, name, key, fields):
        self.name, self.key, self.fields = name, key, fields
        self.postgres = table(name, column(key, Integer), column("document", TSVECTOR))
        self.sqlite = table(name, column("rowid", Integer), *(column(field) for field in fields))

    def put(self, session, key, field_terms):
        """The document of ``key``, replacing any before; ``field_terms`` maps fields to terms."""
        self.put_many(session, [(key, field_terms)])

    def put_many(self, session, documents):
        """``put`` for many ``(key, field_terms)`` at once (one statement, executed for each)."""
        if not documents:
            return
        if is_postgres(session):
            session.execute(text(
                f"INSERT INTO {self.name} ({self.key}, document) VALUES (:key, CAST(:document AS tsvector)) "
                f"ON CONFLICT ({self.key}) DO UPDATE SET document = excluded.document"),
                [{"key": key, "document": self.tsvector(field_terms)} for key, field_terms in documents])
            return
        session.execute(text(f"DELETE FROM {self.name} WHERE rowid = :key"), [{"key": key} for key, _ in documents])
        session.execute(text(f"INSERT INTO {self.name} (rowid, {', '.join(self.fields)}) "
                             f"VALUES (:key, {', '.join(':' + field for field in self.fields)})"),
                        [dict({field: " ".join(field_terms.get(field, ())) for field in self.fields}, key=key)
                         for key, field_terms in documents])

    def append(self, session, key, field, terms):
        """More terms at the end of one field of ``key``'s document (a new message)."""
        if not terms:
            return
        if is_postgres(session):
            session.execute(text(f"UPDATE {self.name} SET document = document || CAST(:more AS tsvector) "
                                 f"WHERE {self.key} = :key"),
                            {"key": key, "more": rules.tsvector_literal([(terms, self.fields[field])])})
        else:
            session.execute(text(f"UPDATE {self.name} SET {field} = {field} || ' ' || :more WHERE rowid = :key"),
                            {"key": key, "more": " ".join(terms)})

    def tsvector(self, field_terms):
        return rules.tsvector_literal([(field_terms.get(field, ()), weight) for field, weight in self.fields.items()])

    def matching(self, session, key_column, tree):
        """The rows whose ``key_column`` has a document matching the words/phrases of ``tree``."""
        if is_postgres(session):
            search, loose = self.postgres, rules.loosened(tree)
            exact = [] if loose == tree else [func.ts_match_vq(search.c.document, tsquery(tree))]  # see loosened
            return exists().where(search.c[self.key] == key_column,
                                  search.c.document.op("@@")(tsquery(loose)), *exact)
        if isinstance(tree, rules.Not):
            return not_(self.matching(session, key_column, tree.child))
        if rules.has_not(tree):
            parts = [self.matching(session, key_column, child) for child in tree.children]
            return and_(*parts) if isinstance(tree, rules.All) else or_(*parts)
        return key_column.in_(select(self.sqlite.c.rowid).where(self.match(tree)))

    def match(self, tree):
        """SQLite: ``<table> MATCH <the FTS5 query of tree>``."""
        return literal_column(self.name).op("MATCH")(literal(rules.fts5_query(tree)))

    def score(self, session, key_column, texts):
        """How well ``key_column``'s document matches any of ``texts``, higher better (a scalar subquery)."""
        anything = texts[0] if len(texts) == 1 else rules.Any(tuple(texts))
        if is_postgres(session):
            search = self.postgres
            weights = "{" + ",".join(str(WEIGHTS[w]) for w in "DCBA") + "}"
            query = cast(literal(rules.tsquery(anything)), TSQUERY)
            return select(func.ts_rank_cd(text(f"'{weights}'::float4[]"), search.c.document, query)).where(
                search.c[self.key] == key_column).scalar_subquery()
        bm25 = func.bm25(literal_column(self.name), *(WEIGHTS[weight] for weight in self.fields.values()))
        return func.coalesce(select(-bm25).select_from(self.sqlite).where(
            self.sqlite.c.rowid == key_column, self.match(anything)).scalar_subquery(), 0.0)

TICKETS = Index("ticket_search", "ticket_id", {"subject": "A", "description": "B", "messages": "D"})
ARTICLES = Index("kb_search", "article_id", {"title": "A", "tags": "B", "body": "D"})


def tsquery(tree):
    return cast(literal(rules.tsquery(tree)), TSQUERY)


def is_postgres(session):
    return session.get_bind().dialect.name == "postgresql"


def article_terms(title, body, tags):
    """A knowledge-base article's fields; tags are whole terms each (a set: a tag counts once)."""
    return {"title": rules.document(title), "body": rules.document(body),
            "tags": sorted({term for tag in tags for term in rules.terms(tag)})}


# -- keeping the ticket index current ---------------------------------------------------------
def ticket_terms(subject, description, messages):
    return {"subject": rules.document(subject), "description": rules.document(description),
            "messages": rules.document(*messages)}


def index_ticket(uow, ticket):
    """(Re)build a ticket's document: its subject, description and messages, and those of the
    tickets merged into it (their conversation shows on it, so a search finds it by them)."""
    merged = select(Ticket.id).where(Ticket.merged_into_id == ticket.id)
    session = uow.session
    messages = list(session.scalars(select(TicketMessage.body).where(
        or_(TicketMessage.ticket_id == ticket.id, TicketMessage.ticket_id.in_(merged))).order_by(TicketMessage.id)))
    for subject, description in session.execute(select(Ticket.subject, Ticket.description).where(
            Ticket.merged_into_id == ticket.id).order_by(Ticket.id)):
        messages += [subject, description]
    TICKETS.put(session, ticket.id, ticket_terms(ticket.subject, ticket.description, messages))


def index_new_ticket(uow, ticket):
    TICKETS.put(uow.session, ticket.id, ticket_terms(ticket.subject, ticket.description, []))


def add_message(uow, ticket_id, body):
    TICKETS.append(uow.session, ticket_id, "messages", rules.document(body))


# -- the query of a ticket list ---------------------------------------------------------------
CHOICES = {"state": STATES, "priority": PRIORITIES, "kind": KINDS, "channel": CHANNELS}
FREE_FIELDS = ("assignee", "team", "tag")
SORTS = {"id": Ticket.id, "created_at": Ticket.created_at, "updated_at": Ticket.updated_at,
         "priority": case({p: n for n, p in enumerate(PRIORITIES)}, value=Ticket.priority),
         "state": case({s: n for n, s in enumerate(STATES)}, value=Ticket.state),
         "subject": Ticket.subject, "assignee": Ticket.assignee, "team": Ticket.team,
         "kind": Ticket.kind, "channel": Ticket.channel, "escalation_level": Ticket.escalation_level}


NULLABLE = ("assignee", "team")


def parse_query(q):
    """The tree of the ``q`` parameter, None without one; InvalidInput (400) naming the position and
    reason of what cannot be read."""
    if q is None:
        return None
    try:
        return rules.parse(q, CHOICES, FREE_FIELDS)
    except rules.QueryError as exc:
        raise InvalidInput(f"q: {exc}", {"q": [str(exc)]}) from None


def condition(uow, tree):
    """The tickets ``tree`` matches, as an SQL condition on ``Ticket``."""
    session = uow.session
    if rules.is_text(tree):
        return TICKETS.matching(session, Ticket.id, tree)
    if isinstance(tree, rules.Field):
        return field_condition(tree)
    if isinstance(tree, rules.Not):
        return not_(condition(uow, tree.child))
    texts = [child for child in tree.children if rules.is_text(child)]
    others = [condition(uow, child) for child in tree.children if not rules.is_text(child)]
    joined = (rules.All if isinstance(tree, rules.All) else rules.Any)(tuple(texts)) if len(texts) > 1 else None
    parts = ([TICKETS.matching(session, Ticket.id, joined)] if joined and not (
        rules.has_not(joined) and not is_postgres(session)) else [condition(uow, child) for child in texts])
    if isinstance(tree, rules.All):
        return and_(*parts, *others)
    # OR of conditions on two tables: as a union of the ids each finds, so each part uses its index
    # (an OR of EXISTS would test every ticket)
    return Ticket.id.in_(union(*(select(Ticket.id).where(part).correlate(None) for part in (*parts, *others))))


def uses_field(tree, name):
    if isinstance(tree, rules.Field):
        return tree.name == name
    if isinstance(tree, rules.Not):
        return uses_field(tree.child, name)
    return isinstance(tree, (rules.All, rules.Any)) and any(uses_field(child, name) for child in tree.children)


def field_condition(field):
    name, value = field.name, field.value
    if name in rules.DATE_FIELDS:
        column_ = Ticket.created_at if name == "created" else Ticket.updated_at
        low, high = value
        return and_(column_ >= low if low else true(), column_ < high if high else true())
    if name == "tag":
        from ticketing.models import TicketTag
        return exists().where(TicketTag.ticket_id == Ticket.id, TicketTag.tag == value)
    return getattr(Ticket, name) == value


def order(uow, tree, sort, conditions):
    """``(order_by, conditions)`` of a list: by ``sort`` (a column, ``-column`` descending, or
    ``relevance``, the default with words to search), ties newest first. Relevance keeps the
    newest ``RELEVANCE_CANDIDATES`` matching tickets and ranks them."""
    texts = rules.positive_texts(tree) if tree is not None else []
    if sort is None:
        sort = "relevance" if texts else "-id"
    if sort == "relevance":
        if not texts:
            return [Ticket.id.desc()], conditions
        # newest by id: the primary key walked backwards, an index-only scan; with a range of
        # creation dates, by created_at, whose index starts the walk inside the range (1 s -> 0.2 s
        # for a month a year back at 1M tickets; for words alone it is twice the id's cost)
        recency = [Ticket.created_at.desc(), Ticket.id.desc()] if uses_field(tree, "created") else [Ticket.id.desc()]
        newest = select(Ticket.id).where(*conditions).order_by(*recency).limit(RELEVANCE_CANDIDATES).correlate(None)
        return [TICKETS.score(uow.session, Ticket.id, texts).desc(), Ticket.id.desc()], [Ticket.id.in_(newest)]
    descending = sort.startswith("-")
    key = SORTS[sort.lstrip("-")]
    if sort.lstrip("-") == "id":
        return [Ticket.id.desc() if descending else Ticket.id.asc()], conditions
    if sort.lstrip("-") in NULLABLE:
        return [key.desc().nulls_last() if descending else key.asc().nulls_last(), Ticket.id.desc()], conditions
    # no NULLS LAST on the others: DESC NULLS LAST is not the order of an index scanned backwards
    return [key.desc() if descending else key.asc(), Ticket.id.desc()], conditions


# -- the knowledge base's candidates and their statistics (ranked by knowledge.rules.rank) --------
ARTICLE_CANDIDATES = 100   # the best by the index's own rank that BM25 then orders
FIELD_OF_WEIGHT = {"A": "title", "B": "tag", "D": "body"}


def article_candidates(session, wanted, need, category):
    """Ids of the articles (in ``category``, if given) holding at least ``need`` of the ``wanted``
    terms, best first by the index's rank, at most ``ARTICLE_CANDIDATES`` (on SQLite, where bases
    are small, every one: the share rule is then ``knowledge.rules.rank``'s)."""
    any_term = " | ".join(map(rules.quoted, wanted))
    if is_postgres(session):
        share = " + ".join(f"(s.document @@ CAST(:t{n} AS tsquery))::int" for n in range(len(wanted)))
        statement = text(
            "SELECT s.article_id FROM kb_search s JOIN kb_articles a ON a.id = s.article_id "
            "WHERE s.document @@ CAST(:any AS tsquery) "
            "AND (CAST(:category AS varchar) IS NULL OR a.category = :category) "
            f"AND {share} >= :need ORDER BY ts_rank(s.document, CAST(:any AS tsquery)) DESC, s.article_id "
            "LIMIT :limit")
        values = {f"t{n}": rules.quoted(term) for n, term in enumerate(wanted)}
        return list(session.scalars(statement, dict(values, any=any_term, category=category, need=need,
                                                    limit=ARTICLE_CANDIDATES)))
    statement = text("SELECT s.rowid FROM kb_search s JOIN kb_articles a ON a.id = s.rowid "
                     "WHERE kb_search MATCH :any AND (:category IS NULL OR a.category = :category)")
    return list(session.scalars(statement, {"any": " OR ".join(f'"{term}"' for term in wanted),
                                            "category": category}))


def article_counts(session, ids, wanted):
    """``(term, article_id, field, count)`` of the ``wanted`` terms in those articles (field title, body, tag)."""
    if not ids:
        return []
    if is_postgres(session):
        rows = session.execute(text(
            "SELECT u.lexeme, s.article_id, u.weights FROM kb_search s, unnest(s.document) u "
            "WHERE s.article_id = ANY(:ids) AND u.lexeme = ANY(:terms)"), {"ids": list(ids), "terms": list(wanted)})
        counted = []
        for term, article_id, weights in rows:
            for weight in set(weights):
                counted.append((term, article_id, FIELD_OF_WEIGHT.get(weight, "body"), weights.count(weight)))
        return counted
    rows = session.execute(text(
        "SELECT term, doc, col, count(*) FROM kb_search_terms WHERE term IN :terms AND doc IN :ids "
        "GROUP BY term, doc, col").bindparams(bindparam("terms", expanding=True), bindparam("ids", expanding=True)),
        {"ids": list(ids), "terms": list(wanted)})
    columns = {"title": "title", "tags": "tag", "body": "body"}
    return [(term, article_id, columns[col], count) for term, article_id, col, count in rows]


def article_frequency(session, wanted):
    """Articles having each term, in any field."""
    if is_postgres(session):
        counts = ", ".join(f"count(*) FILTER (WHERE document @@ CAST(:t{n} AS tsquery))" for n in range(len(wanted)))
        values = {f"t{n}": rules.quoted(term) for n, term in enumerate(wanted)}
        row = session.execute(text(f"SELECT {counts} FROM kb_search WHERE document @@ CAST(:any AS tsquery)"),
                              dict(values, any=" | ".join(map(rules.quoted, wanted)))).one()
        return dict(zip(wanted, row))
    return dict(session.execute(text(
        "SELECT term, count(DISTINCT doc) FROM kb_search_terms WHERE term IN :terms GROUP BY term").bindparams(
        bindparam("terms", expanding=True)), {"terms": list(wanted)}).all())
