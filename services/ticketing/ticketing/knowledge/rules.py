"""Knowledge-base search (T8): ranking and snippets.

Plain Python, no framework and no database. The terms are the search engine's
(``ticketing.search.rules.terms``, re-exported here; see that module for
tokenising: CJK bigrams, stemmed English words, full-width and traditional
characters folded). The service's index (``ticketing.search``) finds the
candidate articles and their counts of the query's terms per field
(``title``, ``body``, ``tag``); this module orders them. ``index_rows`` /
``articles_from_rows`` give an article as ``(term, article_id, field, count)``
rows, the layout of the earlier ``kb_terms`` table (its migration's downgrade
rebuilds it with them).

Ranking (``rank``)
------------------
BM25 with k1=1.2, b=0.75, fields combined the BM25F way: for each distinct
query term ``t`` the pseudo term frequency is

    tf = body_count(t) / (1 - b + b * length / average_length) + 3 * title_count(t)

(the title is short, so it gets no length normalisation) and the term adds
``idf(t) * tf * (k1 + 1) / (tf + k1)`` with
``idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))``. A query term found among the
article's tags adds a fixed ``TAG_BOOST``. Matching is OR, but an article is
dropped when it contains (in any field) fewer than half of the distinct query
terms: a long Chinese query whose bigrams partly hit unrelated text must not
return junk, while the bigram across a word boundary (货流 in 退货流程) may
miss. Ties in score are broken by article id, ascending.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 3.0
TAG_BOOST = 1.5
MIN_MATCH_SHARE = 0.5
FIELDS = ("title", "body", "tag")

# The tokenizer is the search engine's, shared with the ticket search (see ticketing.search.rules).
from ticketing.search.rules import (  # noqa: E402,F401  (re-exported: the knowledge base's terms)
    CJK_STOP_WORDS, MAX_TERM_LENGTH, STOP_WORDS, _is_cjk, _prepare, _term_spans, stem, terms,
)


@dataclass(frozen=True)
class IndexedArticle:
    article_id: int
    title_terms: Counter
    body_terms: Counter
    tag_terms: frozenset
    length: int  # number of body terms, for BM25 length normalisation


def index_article(article_id: int, title: str, body: str, tags: Iterable[str] | None) -> IndexedArticle:
    body_terms = Counter(terms(body))
    return IndexedArticle(
        article_id=article_id,
        title_terms=Counter(terms(title)),
        body_terms=body_terms,
        tag_terms=frozenset(term for tag in tags or () for term in terms(tag)),
        length=sum(body_terms.values()),
    )


def index_rows(article: IndexedArticle) -> list[tuple[str, int, str, int]]:
    """The article as ``(term, article_id, field, count)`` rows for the index table."""
    rows = [(term, article.article_id, "title", count) for term, count in sorted(article.title_terms.items())]
    rows += [(term, article.article_id, "body", count) for term, count in sorted(article.body_terms.items())]
    rows += [(term, article.article_id, "tag", 1) for term in sorted(article.tag_terms)]
    return rows


def articles_from_rows(rows: Iterable[tuple[str, int, str, int]]) -> list[IndexedArticle]:
    """Rebuild articles from index rows; give *all* rows of each article, since
    the body length is the sum of its body counts. Ordered by article id."""
    fields: dict[int, dict[str, Counter]] = {}
    for term, article_id, field, count in rows:
        if field not in FIELDS:
            raise ValueError(f"unknown index field {field!r}")
        fields.setdefault(article_id, {name: Counter() for name in FIELDS})[field][term] += count
    return [
        IndexedArticle(article_id, f["title"], f["body"], frozenset(f["tag"]), sum(f["body"].values()))
        for article_id, f in sorted(fields.items())
    ]


def rank(query: str, articles: Iterable[IndexedArticle], total_articles: int,
         document_frequency: Mapping[str, int], limit: int | None = 10, *,
         average_length: float | None = None) -> list[tuple[int, float]]:
    """``(article_id, score)`` best first (score desc, then id asc), at most ``limit``.

    ``articles`` are the candidates (typically those with a row for some query
    term); ``total_articles`` is the size of the whole knowledge base and
    ``document_frequency[t]`` the number of its articles having ``t`` in any
    field. ``average_length`` is the mean body length of the whole base; when
    not given, the mean over ``articles`` is used. See the module docstring
    for the scoring and the match-share rule.
    """
    wanted = list(dict.fromkeys(terms(query)))
    if not wanted or (limit is not None and limit <= 0):
        return []
    articles = list(articles)
    if not articles:
        return []
    if average_length is None:
        average_length = sum(a.length for a in articles) / len(articles)
    n = max(total_articles, len(articles))
    idf = {}
    for term in wanted:
        df = min(max(document_frequency.get(term, 0), 0), n)
        idf[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
    scored = []
    for article in articles:
        matched = [t for t in wanted
                   if t in article.body_terms or t in article.title_terms or t in article.tag_terms]
        if not matched or len(matched) < MIN_MATCH_SHARE * len(wanted):
            continue
        norm = 1 - B + B * article.length / average_length if average_length > 0 else 1.0
        score = 0.0
        for term in matched:
            tf = article.body_terms[term] / norm + TITLE_WEIGHT * article.title_terms[term]
            if tf:
                score += idf[term] * tf * (K1 + 1) / (tf + K1)
            if term in article.tag_terms:
                score += TAG_BOOST
        scored.append((article.article_id, round(score, 6)))
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored if limit is None else scored[:limit]


def is_gap(results) -> bool:
    """True when a search found nothing: the service records the query as a
    knowledge gap ("not found" search) so the base can be improved."""
    return len(results) == 0


def snippet(text: str, query: str, width: int = 80) -> str:
    """About ``width`` characters of ``text`` around the first place a query
    term occurs, with "…" where the text was cut.

    Whitespace runs become one space. The match is centred in the window; a
    Latin word cut at either edge is dropped rather than shown in part. With
    no match (say the query hit the title only) the start of the text is
    shown. ``width`` counts characters of the text, not the "…" marks.
    """
    text = _prepare(text)
    if len(text) <= width:
        return text
    wanted = set(terms(query))
    first = next(((s, e) for term, s, e in _term_spans(text) if term in wanted), None)
    if first is None:
        start = 0
    else:
        s, e = first
        start = max(0, s - max(0, width - (e - s)) // 2)
        start = min(start, len(text) - width)
    end = min(len(text), start + width)

    def latin(i):
        return 0 <= i < len(text) and text[i].isalnum() and not _is_cjk(text[i])

    lo, hi = start, end
    if lo > 0 and latin(lo - 1) and latin(lo):
        while lo < hi and latin(lo) and (first is None or lo < first[0]):
            lo += 1
    if hi < len(text) and latin(hi - 1) and latin(hi):
        while hi > lo and latin(hi - 1) and (first is None or hi > first[1]):
            hi -= 1
    passage = text[lo:hi].strip()
    return ("…" if start > 0 else "") + passage + ("…" if end < len(text) else "")
