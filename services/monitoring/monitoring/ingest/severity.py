"""How much a post matters (M4): a severity score 0-100 and a level.

Levels follow Chinese opinion desks: I (red) is the gravest, then II
(orange), III (yellow), IV (blue); below level IV a post is no matter. The
score adds up weighted parts, each scaled to 0..1:

- negativity: how negative the model finds it: its probability of the negative label for a post
  it reads as negative (posts analysed before the model said it: minus its score);
- reach: log10 of the author's followers, 10 million followers = 1;
- engagement: log10 of reposts + comments + likes, 100,000 = 1;
- growth: engagement per hour since posting, log10, 10,000/h = 1;
- source: media outlets and key opinion leaders are read and repeated more
  than persons; a verified account more than an unverified one;
- spread: the size of its near-duplicate cluster, log10, 1,000 copies = 1;
- crisis: any crisis term.
"""
import math
import os
from dataclasses import dataclass

from monitoring.contract import LEVELS

WEIGHTS = {"negativity": 25, "reach": 20, "engagement": 10, "growth": 5, "source": 10, "spread": 15, "crisis": 15}
SOURCE = {"media": 1.0, "kol": 0.8, "person": 0.3}
UNVERIFIED_SOURCE_FACTOR = 0.6
DEFAULT_THRESHOLDS = (35.0, 50.0, 60.0, 80.0)  # minimum score of IV, III, II, I
THRESHOLDS_SETTING = "MONITORING_SEVERITY_THRESHOLDS"


def scaled_log(value, full):
    """log10(1 + value) as a share of log10(1 + full), capped at 1."""
    return min(math.log10(1 + max(value, 0)) / math.log10(1 + full), 1.0)


@dataclass(frozen=True)
class Signals:
    negativity: float          # 0..1
    followers: int
    engagement: int            # reposts + comments + likes
    hours_since_posted: float
    author_kind: str
    verified: bool
    cluster_size: int
    crisis: bool


def parts(signals: Signals) -> dict[str, float]:
    source = SOURCE.get(signals.author_kind, SOURCE["person"])
    return {
        "negativity": max(0.0, min(signals.negativity, 1.0)),
        "reach": scaled_log(signals.followers, 10_000_000),
        "engagement": scaled_log(signals.engagement, 100_000),
        "growth": scaled_log(signals.engagement / max(signals.hours_since_posted, 0.25), 10_000),
        "source": source if signals.verified else source * UNVERIFIED_SOURCE_FACTOR,
        "spread": scaled_log(signals.cluster_size - 1, 1_000),
        "crisis": 1.0 if signals.crisis else 0.0,
    }


def score(signals: Signals, weights=WEIGHTS) -> float:
    return round(sum(weights[name] * value for name, value in parts(signals).items()), 2)


def level(value: float, thresholds=DEFAULT_THRESHOLDS) -> str | None:
    """The gravest level whose threshold ``value`` reaches; None below IV."""
    reached = None
    for name, minimum in zip(LEVELS, thresholds):
        if value >= minimum:
            reached = name
    return reached


def graver(first: str | None, second: str | None) -> str | None:
    rank = {None: -1, **{name: index for index, name in enumerate(LEVELS)}}
    return first if rank[first] >= rank[second] else second


def at_least(value: str | None, minimum: str) -> bool:
    return value is not None and LEVELS.index(value) >= LEVELS.index(minimum)


def thresholds_from(config) -> tuple:
    """Thresholds from ``config`` or the environment, as ``"35,50,60,80"``; they must rise."""
    raw = config.get(THRESHOLDS_SETTING) or os.environ.get(THRESHOLDS_SETTING)
    if not raw:
        return DEFAULT_THRESHOLDS
    values = tuple(float(part) for part in str(raw).split(","))
    if len(values) != len(LEVELS) or list(values) != sorted(set(values)):
        raise ValueError(f"{THRESHOLDS_SETTING} needs {len(LEVELS)} rising numbers (IV, III, II, I), got {raw!r}")
    return values


def with_spread(peak: float, cluster_size: int, weights=WEIGHTS) -> float:
    """A cluster's severity: its gravest member's score before spread, plus the spread of all of it."""
    return round(peak + weights["spread"] * scaled_log(cluster_size - 1, 1_000), 2)


def negativity(post) -> float:
    if post.sentiment == "negative" and post.sentiment_confidence is not None:
        return post.sentiment_confidence
    return max(0.0, -post.sentiment_score)


def score_alone(post, now) -> float | None:
    """The post's severity before its cluster's spread (None when it is neither negative nor a crisis)."""
    label = post.corrected_sentiment or post.sentiment
    if label != "negative" and not post.crisis_terms:
        return None
    return score(Signals(
        negativity=negativity(post), followers=post.author_followers,
        engagement=post.reposts + post.comments + post.likes,
        hours_since_posted=max((now - post.posted_at).total_seconds() / 3600, 0.0),
        author_kind=post.author_kind, verified=post.author_verified, cluster_size=1,
        crisis=bool(post.crisis_terms)))


def score_in_cluster(config, post, alone, cluster):
    """The post's severity with its cluster's spread; the cluster's from its gravest member."""
    if alone is None:
        post.severity, post.level = 0.0, None
        return
    thresholds = thresholds_from(config)
    post.severity = with_spread(alone, cluster.size)
    post.level = level(post.severity, thresholds)
    if alone > cluster.peak_severity:
        cluster.peak_severity, cluster.lead_post_id = alone, post.id
    cluster.severity = with_spread(cluster.peak_severity, cluster.size)
    cluster.level = level(cluster.severity, thresholds)
