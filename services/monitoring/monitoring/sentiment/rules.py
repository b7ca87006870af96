"""Sentiment of a post, Chinese or English, offline (M3).

The model is a linear classifier over hashed character 1-3-grams and word
1-2-grams, TF-IDF weighted: it needs no word segmentation for Chinese, reads
English words as words, and scores thousands of texts a second on one core.
It ships in the repository as ``sentiment_model.npz`` (plain arrays, no
pickle) and is trained by ``python -m monitoring.sentiment.train``.

Its probability that a text is positive becomes a score in [-1, 1]; a score
inside the neutral band is neutral. English texts also get VADER's rule-based
score (negation, intensifiers, emoticons: made for social posts), averaged
with the model's: the model alone, with little English base data, called
English right 0.55-0.64 of the time on the evaluation sets, the average
0.66-0.90 (with a neutral band half as wide, as two scores that disagree
meet near 0); the model keeps the factual complaints VADER misses. A
crisis-keyword layer flags posts for review whatever the model says.
"""
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

MODEL_PATH = Path(__file__).with_name("sentiment_model.npz")
DEFAULT_NEUTRAL_BAND = 0.2
ENGLISH_RULES_WEIGHT = 0.5  # VADER's share of an English text's score
N_FEATURES = 2 ** 20
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN = re.compile(r"[A-Za-z]")
LINK_OR_MENTION = re.compile(r"https?://\S+|www\.\S+|@[\w\u4e00-\u9fff-]+", re.IGNORECASE)


def without_names(text: str) -> str:
    """NFKC, without links or @mentions (names are no sentiment); case kept, which VADER reads."""
    return LINK_OR_MENTION.sub(" ", unicodedata.normalize("NFKC", text))


def clean(text: str) -> str:
    """What the model reads: ``without_names`` in lower case."""
    return without_names(text).lower()


def detect_language(text: str) -> str:
    """``zh`` when Han characters make up a fifth of the letters, ``en`` for
    Latin letters, ``und`` (undetermined) otherwise."""
    han, latin = len(CJK.findall(text)), len(LATIN.findall(text))
    if han and han * 5 >= han + latin / 4:  # a Latin word of about four letters weighs as one Han character
        return "zh"
    return "en" if latin else "und"


@cache  # stateless: one pair serves every call
def vectorizers():
    common = dict(n_features=N_FEATURES, alternate_sign=False, norm=None, lowercase=False, dtype=np.float32)
    return (HashingVectorizer(analyzer="char", ngram_range=(1, 3), **common),
            HashingVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"(?u)\b\w\w+\b", **common))


def features(texts, idf=None):
    """Sublinear term frequencies of both kinds of n-grams, summed into one
    hashed space (collisions between them are rare at 2**20), times idf."""
    cleaned = [clean(text) for text in texts]
    chars, words = vectorizers()
    counts = chars.transform(cleaned) + words.transform(cleaned)
    counts.data = 1 + np.log(counts.data)
    if idf is not None:
        counts = counts.multiply(idf).tocsr()
    return normalize(counts)


@dataclass(frozen=True)
class Verdict:
    sentiment: str
    score: float  # -1 most negative .. 1 most positive
    language: str


class SentimentModel:
    def __init__(self, idf, coef, intercept, neutral_band=DEFAULT_NEUTRAL_BAND):
        self.idf = idf
        self.coef = coef
        self.intercept = float(intercept)
        self.neutral_band = neutral_band
        self.english_rules = SentimentIntensityAnalyzer()

    @classmethod
    def load(cls, path=MODEL_PATH, neutral_band=DEFAULT_NEUTRAL_BAND):
        with np.load(path) as arrays:
            return cls(arrays["idf"], arrays["coef"], arrays["intercept"], neutral_band)

    def save(self, path=MODEL_PATH):
        np.savez_compressed(path, idf=self.idf.astype(np.float32), coef=self.coef.astype(np.float32),
                            intercept=np.float32(self.intercept))

    def positive_probability(self, texts) -> np.ndarray:
        margins = features(texts, self.idf) @ self.coef + self.intercept
        return 1 / (1 + np.exp(-margins))

    def label(self, score: float, band: float | None = None) -> str:
        band = self.neutral_band if band is None else band
        if score <= -band:
            return "negative"
        return "positive" if score >= band else "neutral"

    def analyse(self, texts, languages=None) -> list[Verdict]:
        """One verdict per text, in order; ``languages`` are the posts' own tags where known.
        Texts equal but for links and @mentions (reposts of one story, mostly) are scored once."""
        if not texts:
            return []
        read = [without_names(text) for text in texts]
        distinct = dict.fromkeys(read)
        model_scores = dict(zip(distinct, 2 * self.positive_probability(list(distinct)) - 1))
        rule_scores = {}
        languages = [primary(given) or detect_language(text)
                     for text, given in zip(texts, languages or [None] * len(texts))]
        verdicts = []
        for text, language in zip(read, languages):
            score, band = model_scores[text], self.neutral_band
            if language == "en":
                if text not in rule_scores:
                    rule_scores[text] = self.english_rules.polarity_scores(text)["compound"]
                score = (1 - ENGLISH_RULES_WEIGHT) * score + ENGLISH_RULES_WEIGHT * rule_scores[text]
                band = self.neutral_band / 2  # two scores that disagree average towards 0: a narrower band
            verdicts.append(Verdict(self.label(score, band), round(float(score), 4), language))
        return verdicts


def primary(language_tag):
    """``zh`` of ``zh-Hans``; None for no tag."""
    return language_tag.split("-")[0].lower() if language_tag else None


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
