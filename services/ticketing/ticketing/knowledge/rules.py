"""Knowledge-base search (T8): turning text into index terms and ranking.

Plain Python, no framework and no database. The service stores the index as
rows ``(term, article_id, field, count)`` with field one of ``title``,
``body``, ``tag`` (see ``index_rows`` / ``articles_from_rows``); this module
only decides what the terms are and how matching articles are ordered.

Tokenising (``terms``)
----------------------
* The text is NFC-composed and each character NFKC-normalised and lowercased,
  so full-width letters and digits ("ＶＩＰ", "１５") equal half-width ones.
* Runs of CJK characters (Han, kana, Hangul) give overlapping character
  bigrams ("退货流程" -> 退货, 货流, 流程); a run of one character gives that
  character. Chinese has no spaces, so bigrams let a query match without a
  word segmenter. Before bigramming, a few question words and sentence-final
  particles (``CJK_STOP_WORDS``: 怎么, 如何, 什么, 吗, 呢 ...) cut the run, as the
  English stop words are dropped: they would otherwise add terms that count
  against the match-share rule below.
* Runs of other letters and digits are words. An apostrophe between two
  letters is dropped ("customer's" -> "customers"). Stop words
  (``STOP_WORDS``) are dropped, words with digits are kept as they are
  (order numbers "10023", model numbers "X200" -> "x200"), alphabetic words
  go through ``stem``. A word is cut to ``MAX_TERM_LENGTH`` characters.
* Everything else (punctuation of either script, spaces, symbols) separates.

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
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 3.0
TAG_BOOST = 1.5
MIN_MATCH_SHARE = 0.5
FIELDS = ("title", "body", "tag")
MAX_TERM_LENGTH = 100  # the index column's width: a longer word is cut, in queries the same way

STOP_WORDS = frozenset("""
a an the of to is are was were be been being am and or but if so as at by for from in into on onto
with about it its this that these those i me my we our you your he she they them their his her
do does did how what why when where which who can could will would should shall may might must
has have had please there here not no
""".split())

# Cut CJK runs like spaces; longest first so 为什么 wins over 什么.
CJK_STOP_WORDS = ("为什么", "怎么办", "怎么样", "怎么", "怎样", "如何", "什么", "请问", "一下",
                  "吗", "呢", "吧", "啊", "呀")
_CJK_STOP = re.compile("|".join(map(re.escape, CJK_STOP_WORDS)))

_APOSTROPHES = "'\u2019"
_VOWELS = set("aeiouy")
_SPACE = re.compile(r"\s+")


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF
            or 0x20000 <= code <= 0x3FFFF or 0x3040 <= code <= 0x30FF or 0xAC00 <= code <= 0xD7AF
            or code in (0x3005, 0x3007))


def stem(word: str) -> str:
    """A deliberately tiny English suffix stemmer for lowercase alphabetic words.

    Words of three letters or fewer are left alone. Then, in order:
    1. plural: ``-ies`` -> ``-y`` (deliveries -> delivery); otherwise a final
       ``-s`` is removed unless the word ends in ``ss``, ``us`` or ``is``
       (refunds -> refund; address, status, analysis unchanged);
    2. ``-ied`` -> ``-y`` (applied -> apply), or
       ``-ing`` / ``-ed`` is removed when at least three letters containing a
       vowel remain and the word does not end in ``-eed`` (refunded, refunding
       -> refund; need, speed, string unchanged); a doubled final consonant
       other than l, s, z is then undoubled when four letters remain
       (shipped -> ship, billed -> bill, added -> add);
    3. a final ``-e`` (but not ``-ee``) is removed from words of four letters
       or more, so that a base form and its inflections meet:
       charge, charges, charged, charging -> charg; invoice(s) -> invoic.
    Stems need not be words; they only have to agree between query and text.
    """
    if len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ied") and len(word) > 4:
        word = word[:-3] + "y"
    else:
        for suffix in ("ing", "ed"):
            base = word[: -len(suffix)]
            if (word.endswith(suffix) and not word.endswith("eed") and len(base) >= 3
                    and _VOWELS.intersection(base)):
                word = base
                if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "lszaeiou":
                    word = word[:-1]
                break
    if len(word) >= 4 and word.endswith("e") and not word.endswith("ee"):
        word = word[:-1]
    return word


def _runs(text: str) -> Iterator[tuple[str, str, int, int]]:
    """(kind, normalised run, start, end) with start/end indexing ``text``
    (already NFC): kind "cjk" or "word"."""
    kind = None
    chars: list[str] = []
    start = end = 0
    for i, original in enumerate(text):
        if original in _APOSTROPHES and kind == "word" and i + 1 < len(text) \
                and text[i + 1].isalnum() and not _is_cjk(text[i + 1]):
            continue  # customer's -> customers
        for char in unicodedata.normalize("NFKC", original).lower():
            this = "cjk" if _is_cjk(char) else "word" if char.isalnum() else None
            if this != kind:
                if kind:
                    yield kind, "".join(chars), start, end
                kind, chars, start = this, [], i
            if this:
                chars.append(char)
                end = i + 1
    if kind:
        yield kind, "".join(chars), start, end


def _cjk_pieces(run: str) -> Iterator[tuple[str, int]]:
    """The parts of a CJK run between stop words, with their offsets."""
    position = 0
    for stop in _CJK_STOP.finditer(run):
        if stop.start() > position:
            yield run[position:stop.start()], position
        position = stop.end()
    if position < len(run):
        yield run[position:], position


def _term_spans(text: str) -> Iterator[tuple[str, int, int]]:
    """Each term with where it came from in ``text`` (NFC, spaces collapsed)."""
    for kind, run, start, end in _runs(text):
        if kind == "word":
            if run in STOP_WORDS:
                continue
            yield (stem(run) if run.isalpha() else run)[:MAX_TERM_LENGTH], start, end
            continue
        # NFKC keeps CJK characters one-to-one, except rare compatibility
        # characters (㍻ -> 平成); their terms point at the whole run.
        exact = len(run) == end - start
        for piece, at in _cjk_pieces(run):
            for j in range(max(1, len(piece) - 1)):
                term = piece[j:j + 2]
                yield (term, start + at + j, start + at + j + len(term)) if exact else (term, start, end)


def _prepare(text: str | None) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text or "")).strip()


def terms(text: str) -> list[str]:
    """Index/query terms of ``text`` in order of appearance, with repeats."""
    return [term for term, _, _ in _term_spans(_prepare(text))]


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
