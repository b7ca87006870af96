import pytest

from monitoring.ingest import severity
from monitoring.ingest.severity import Signals

MEDIA = dict(negativity=0.9, followers=3_000_000, engagement=200, hours_since_posted=0.1, author_kind="media",
             verified=True, cluster_size=1, crisis=False)
PERSON = dict(MEDIA, followers=800, engagement=5, hours_since_posted=1, author_kind="person", verified=False)


def test_a_verified_media_post_is_level_three_alone_and_two_once_it_spreads():
    alone = severity.score(Signals(**MEDIA))
    assert severity.level(alone) == "III"
    assert severity.level(severity.with_spread(alone, 10)) == "II"
    assert severity.with_spread(alone, 1) == alone


def test_an_ordinary_complaint_stays_low():
    assert severity.level(severity.score(Signals(**PERSON))) in (None, "IV")


def test_each_signal_raises_the_score():
    base = severity.score(Signals(**PERSON))
    for change in ({"negativity": 1.0}, {"followers": 100_000}, {"engagement": 5000}, {"verified": True},
                   {"author_kind": "kol"}, {"cluster_size": 50}, {"crisis": True}):
        assert severity.score(Signals(**dict(PERSON, **change))) > base, change


def test_parts_are_capped_at_one():
    parts = severity.parts(Signals(**dict(MEDIA, followers=10**10, engagement=10**9, cluster_size=10**6,
                                          negativity=3.0, crisis=True)))
    assert max(parts.values()) == 1.0
    assert severity.score(Signals(**dict(MEDIA, followers=10**10, engagement=10**9, cluster_size=10**6,
                                         crisis=True, negativity=1.0))) == sum(severity.WEIGHTS.values())


@pytest.mark.parametrize("value, level", [(0, None), (34.99, None), (35, "IV"), (49.9, "IV"),
                                          (50, "III"), (60, "II"), (79.99, "II"), (80, "I"), (100, "I")])
def test_levels_at_the_default_thresholds(value, level):
    assert severity.level(value) == level


def test_thresholds_come_from_configuration_and_must_rise():
    assert severity.thresholds_from({}) == severity.DEFAULT_THRESHOLDS
    thresholds = severity.thresholds_from({"MONITORING_SEVERITY_THRESHOLDS": "10,20,30,40"})
    assert severity.level(35, thresholds) == "II"
    for bad in ("10,20,30", "40,30,20,10", "10,10,20,30"):
        with pytest.raises(ValueError, match="rising"):
            severity.thresholds_from({"MONITORING_SEVERITY_THRESHOLDS": bad})


def test_graver_and_at_least():
    assert severity.graver("III", "II") == "II" and severity.graver(None, "IV") == "IV"
    assert severity.at_least("I", "II") and not severity.at_least("III", "II") and not severity.at_least(None, "IV")
