"""Spikes of negative mentions per topic (M5).

Mentions are counted in buckets of ``BUCKET_MINUTES``. The expected count of
a bucket comes from a seasonal baseline: the same hour of the week in past
weeks, smoothed with the neighbouring hours (weights 1-2-1) because a week
of history is thin, and blended with the recent overall mean while there is
little of it. A bucket is a spike when its negative count is at least the
preset's floor and unlikely under a Poisson law with that mean (upper tail
below ``alpha``), or, with ``method="sigma"``, above mean + k*sigma.
Separately, a jump of the negative share over the baseline share is
flagged when the bucket has enough posts to make a share mean something.
"""
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from scipy.stats import poisson

BUCKET_MINUTES = 10
HOURS_IN_WEEK = 168
PRIOR_WEEKS = 1.0  # how much history, in weeks, before the seasonal baseline is trusted fully
SENSITIVITY_SETTING = "MONITORING_SPIKE_SENSITIVITY"  # one of PRESETS; medium unless set
ALERT_LEVEL = "III"  # of the alert a spike raises


@dataclass(frozen=True)
class Sensitivity:
    alpha: float        # Poisson upper-tail probability below which a count is a spike
    sigmas: float       # k of mean + k*sigma
    min_count: int      # fewer negative mentions than this is never a spike
    share_jump: float   # negative share this much above the baseline share
    min_share_total: int


PRESETS = {
    "low": Sensitivity(alpha=1e-4, sigmas=4.0, min_count=20, share_jump=0.4, min_share_total=40),
    "medium": Sensitivity(alpha=1e-3, sigmas=3.0, min_count=10, share_jump=0.3, min_share_total=20),
    "high": Sensitivity(alpha=1e-2, sigmas=2.0, min_count=5, share_jump=0.2, min_share_total=10),
}


def bucket_start(moment: datetime, minutes=BUCKET_MINUTES) -> datetime:
    moment = moment.astimezone(timezone.utc)
    return moment.replace(minute=moment.minute - moment.minute % minutes, second=0, microsecond=0)


def hour_of_week(moment: datetime) -> int:
    return moment.weekday() * 24 + moment.hour


@dataclass(frozen=True)
class Bucket:
    start: datetime
    total: int
    negative: int


@dataclass(frozen=True)
class Baseline:
    negative: float   # expected negative mentions per bucket
    share: float      # expected negative share


def baseline(history, at: datetime, history_start: datetime, minutes=BUCKET_MINUTES) -> Baseline:
    """Expected counts for the bucket starting ``at`` from earlier buckets
    (``history``; buckets with no post are simply absent) observed since
    ``history_start``."""
    per_hour = minutes / 60
    observed_hours = max((at - history_start).total_seconds() / 3600, per_hour)
    weeks = observed_hours / HOURS_IN_WEEK
    target = hour_of_week(at)
    seasonal_negative = 0.0
    total = negative = 0
    for bucket in history:
        total += bucket.total
        negative += bucket.negative
        distance = min((hour_of_week(bucket.start) - target) % HOURS_IN_WEEK,
                       (target - hour_of_week(bucket.start)) % HOURS_IN_WEEK)
        if distance <= 1:
            seasonal_negative += bucket.negative * (2 if distance == 0 else 1)
    # each week of history gives the 1-2-1 window 4 hour-weights
    seasonal_rate = seasonal_negative / (4 * weeks)  # negative mentions per hour at this hour of the week
    overall_rate = negative / observed_hours
    trust = min(weeks / PRIOR_WEEKS, 1.0)
    rate = trust * seasonal_rate + (1 - trust) * overall_rate
    return Baseline(negative=rate * per_hour, share=negative / total if total else 0.0)


def poisson_upper_tail(observed: int, mean: float) -> float:
    """P(X >= observed) for X ~ Poisson(mean)."""
    return float(poisson.sf(observed - 1, max(mean, 1e-9)))


@dataclass(frozen=True)
class Spike:
    reason: str          # "count" or "share"
    observed: float
    expected: float
    p_value: float | None


def could_spike(bucket: Bucket, sensitivity: Sensitivity) -> bool:
    """Whether ``detect`` could find anything in the bucket, whatever its history: below both
    floors of the sensitivity it cannot."""
    return bucket.negative >= sensitivity.min_count or bucket.total >= sensitivity.min_share_total


def detect(bucket: Bucket, expected: Baseline, sensitivity: Sensitivity, method="poisson") -> list[Spike]:
    if not could_spike(bucket, sensitivity):
        return []
    spikes = []
    if bucket.negative >= sensitivity.min_count:
        if method == "sigma":
            limit = expected.negative + sensitivity.sigmas * math.sqrt(max(expected.negative, 1e-9))
            if bucket.negative > limit:
                spikes.append(Spike("count", bucket.negative, round(expected.negative, 4), None))
        else:
            p_value = poisson_upper_tail(bucket.negative, expected.negative)
            if p_value < sensitivity.alpha:
                spikes.append(Spike("count", bucket.negative, round(expected.negative, 4), p_value))
    if bucket.total >= sensitivity.min_share_total:
        share = bucket.negative / bucket.total
        if share - expected.share >= sensitivity.share_jump:
            spikes.append(Spike("share", round(share, 4), round(expected.share, 4), None))
    return spikes


def history_window(at: datetime, weeks=4) -> datetime:
    """Earliest bucket the baseline looks at."""
    return at - timedelta(weeks=weeks)
