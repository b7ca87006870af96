from datetime import datetime, timedelta, timezone

import pytest

from monitoring.spikes import rules as spikes
from monitoring.spikes.rules import Baseline, Bucket, PRESETS

MONDAY_NINE = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)


def test_buckets_and_hour_of_week():
    assert spikes.bucket_start(datetime(2026, 5, 4, 9, 17, 42, tzinfo=timezone.utc)) == MONDAY_NINE.replace(minute=10)
    assert spikes.hour_of_week(MONDAY_NINE) == 9
    assert spikes.hour_of_week(MONDAY_NINE + timedelta(days=6, hours=14)) == 167


def test_poisson_tail():
    assert spikes.poisson_upper_tail(0, 2.0) == 1.0
    assert spikes.poisson_upper_tail(1, 2.0) == pytest.approx(1 - 0.1353352832)
    assert spikes.poisson_upper_tail(30, 0.5) < 1e-30


def weekly_history(weeks, per_bucket_at_nine, per_bucket_otherwise=0):
    """``weeks`` of buckets with a busy 9 o'clock on Mondays."""
    buckets = []
    start = MONDAY_NINE - timedelta(weeks=weeks)
    moment = start
    while moment < MONDAY_NINE:
        negative = per_bucket_at_nine if spikes.hour_of_week(moment) == 9 else per_bucket_otherwise
        if negative:
            buckets.append(Bucket(moment, negative * 2, negative))
        moment += timedelta(minutes=spikes.BUCKET_MINUTES)
    return buckets, start


def test_the_seasonal_baseline_expects_the_usual_monday_morning():
    history, start = weekly_history(4, per_bucket_at_nine=6)
    expected = spikes.baseline(history, MONDAY_NINE, start)
    assert expected.negative == pytest.approx(3.0)  # 1-2-1 smoothing: half of the hour's usual 6 per bucket
    assert expected.share == pytest.approx(0.5)
    # what is usual on Monday at nine is no spike, and a quiet hour's baseline stays quiet
    assert spikes.detect(Bucket(MONDAY_NINE, 12, 6), expected, PRESETS["medium"]) == []
    quiet = spikes.baseline(history, MONDAY_NINE + timedelta(hours=5), start)
    assert quiet.negative == pytest.approx(0.0)


def test_a_burst_over_a_quiet_baseline_is_a_spike_with_its_p_value():
    history, start = weekly_history(2, per_bucket_at_nine=0, per_bucket_otherwise=1)
    expected = spikes.baseline(history, MONDAY_NINE, start)
    [spike] = spikes.detect(Bucket(MONDAY_NINE, 60, 30), Baseline(expected.negative, 0.9), PRESETS["medium"])
    assert (spike.reason, spike.observed) == ("count", 30)
    assert spike.p_value < PRESETS["medium"].alpha


def test_the_floor_and_the_presets():
    expected = Baseline(negative=0.5, share=0.2)
    bucket = Bucket(MONDAY_NINE, 100, 7)
    assert spikes.detect(bucket, expected, PRESETS["low"]) == []         # floor of 20
    assert [s.reason for s in spikes.detect(bucket, expected, PRESETS["medium"])] == []  # floor of 10
    assert [s.reason for s in spikes.detect(bucket, expected, PRESETS["high"])] == ["count"]


def test_mean_plus_k_sigma():
    expected = Baseline(negative=4.0, share=0.0)
    assert spikes.detect(Bucket(MONDAY_NINE, 10, 10), expected, PRESETS["medium"], method="sigma") == []  # 4+3*2
    [spike] = spikes.detect(Bucket(MONDAY_NINE, 11, 11), expected, PRESETS["medium"], method="sigma")
    assert spike.reason == "count" and spike.p_value is None


def test_a_jump_of_the_negative_share():
    expected = Baseline(negative=50.0, share=0.2)
    assert [s.reason for s in spikes.detect(Bucket(MONDAY_NINE, 40, 21), expected, PRESETS["medium"])] == ["share"]
    assert spikes.detect(Bucket(MONDAY_NINE, 19, 19), expected, PRESETS["medium"]) == []  # too few for a share
    assert spikes.detect(Bucket(MONDAY_NINE, 40, 19), expected, PRESETS["medium"]) == []  # 0.475 - 0.2 < 0.3


def test_no_history_expects_nothing():
    expected = spikes.baseline([], MONDAY_NINE, MONDAY_NINE)
    assert expected == Baseline(0.0, 0.0)


def test_a_bucket_below_both_floors_could_not_spike_whatever_its_history():
    medium = PRESETS["medium"]  # floors: 10 negative, or 20 posts for the share
    nothing_expected = Baseline(negative=0.0, share=0.0)
    quiet = Bucket(MONDAY_NINE, total=19, negative=9)
    assert not spikes.could_spike(quiet, medium) and spikes.detect(quiet, nothing_expected, medium) == []
    assert spikes.could_spike(Bucket(MONDAY_NINE, total=19, negative=10), medium)
    assert spikes.could_spike(Bucket(MONDAY_NINE, total=20, negative=0), medium)
