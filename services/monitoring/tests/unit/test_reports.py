from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace as Row

from monitoring.reports import rules as reports

SINCE = datetime(2026, 5, 4, tzinfo=timezone.utc)  # a Monday
CRITERIA = {"period": "day", "since": SINCE, "until": SINCE + timedelta(days=14), "top": 5}


def row(day, sentiment, platform="weibo", text="外卖太慢了 refund late", cluster_id=None):
    return Row(posted_at=SINCE + timedelta(days=day, hours=3), platform=platform, on_topic=sentiment is not None,
               text=text, cluster_id=cluster_id, sentiment=sentiment)


ROWS = [row(0, "negative", cluster_id=1), row(0, "negative", cluster_id=1), row(0, "positive", "douyin"),
        row(0, None), row(8, "neutral"), row(8, "negative", text="客服不回复")]
CLUSTERS = {1: Row(id=1, size=2, negative=2, severity=61.0, level="II"), 2: Row(id=2, size=1, negative=0,
                                                                               severity=0.0, level=None)}
ALERTS = [Row(level="II", state="resolved", raised_at=SINCE, acknowledged_at=SINCE + timedelta(minutes=10),
              resolved_at=SINCE + timedelta(minutes=90)),
          Row(level="III", state="open", raised_at=SINCE, acknowledged_at=None, resolved_at=None)]


def test_daily_trend_topics_terms_clusters_and_handling():
    report = reports.build(CRITERIA, ROWS, [("外卖", 5), ("客服", 1)], CLUSTERS, ALERTS)
    assert len(report["trend"]) == 14  # every day of the window
    first, second = report["trend"][0], report["trend"][8]
    assert (first["period_start"], first["total"], first["negative_share"]) == ("2026-05-04", 4, 0.6667)
    assert first["by_sentiment"] == {"negative": 2, "neutral": 0, "positive": 1, "off_topic": 1}
    assert first["by_platform"] == {"weibo": 3, "douyin": 1}
    assert (second["period_start"], second["negative_share"]) == ("2026-05-12", 0.5)
    assert report["top_topics"] == [{"topic": "外卖", "posts": 5}, {"topic": "客服", "posts": 1}]
    assert report["top_terms"][:2] == [{"term": "late", "negative_posts": 2}, {"term": "refund", "negative_posts": 2}]
    assert [c["cluster_id"] for c in report["top_negative_clusters"]] == [1]
    assert report["alerts"] == {"raised": 2, "by_level": {"II": 1, "III": 1}, "by_state": {"resolved": 1, "open": 1},
                                "median_minutes_to_acknowledge": 10.0, "median_minutes_to_resolve": 90.0}


def test_weekly_trend_starts_on_mondays():
    report = reports.build(dict(CRITERIA, period="week"), ROWS, [], {}, [])
    assert [p["period_start"] for p in report["trend"]] == ["2026-05-04", "2026-05-11"]  # 14 days from a Monday
    assert reports.period_start(datetime(2026, 5, 10, tzinfo=timezone.utc), "week") == date(2026, 5, 4)


def test_csv_and_png():
    report = reports.build(CRITERIA, ROWS, [], {}, [])
    lines = reports.as_csv(report).splitlines()
    assert lines[0] == "period_start,total,negative,neutral,positive,off_topic,negative_share,douyin,weibo"
    assert lines[1] == "2026-05-04,4,2,0,1,1,0.6667,1,3"
    assert reports.as_png(report).startswith(b"\x89PNG")


# -- issue 24: every day of the window, whole Chinese words, a default window ----------------------------
def test_every_period_of_the_window_is_a_bar_empty_ones_at_zero():
    three_days = dict(CRITERIA, until=SINCE + timedelta(days=3))
    report = reports.build(three_days, [row(1, "negative")], [], {}, [])
    assert [(p["period_start"], p["total"], p["negative_share"]) for p in report["trend"]] == [
        ("2026-05-04", 0, 0.0), ("2026-05-05", 1, 1.0), ("2026-05-06", 0, 0.0)]
    assert report["trend"][0]["by_sentiment"] == {"negative": 0, "neutral": 0, "positive": 0, "off_topic": 0}
    assert report["trend"][0]["by_platform"] == {}
    weeks = reports.build(dict(CRITERIA, period="week", until=SINCE + timedelta(days=20)), [], [], {}, [])
    assert [p["period_start"] for p in weeks["trend"]] == ["2026-05-04", "2026-05-11", "2026-05-18"]
    assert len(reports.as_csv(report).splitlines()) == 1 + 3


def test_top_terms_are_whole_chinese_words_without_stop_words():
    texts = ["千万要小心这家外卖，寄快递也慢，我们退款至今没有回应", "转发微博 //@网友: 外卖退款太慢了，千万别点",
             "The refund is still not here, and they are slow"]
    report = reports.build(dict(CRITERIA, top=50), [row(0, "negative", text=text) for text in texts], [], {}, [])
    terms = {term["term"]: term["negative_posts"] for term in report["top_terms"]}
    assert terms["外卖"] == 2 and terms["退款"] == 2 and terms["refund"] == 1
    assert {"快递", "回应", "slow"} <= set(terms)
    assert not {"万要", "寄快", "要小", "我们", "没有", "千万", "转发", "微博", "网友", "the", "they", "still",
                "here"} & set(terms)


def test_report_window_defaults_to_the_last_seven_days_up_to_now():
    from monitoring.contract import ReportQuerySchema

    before = datetime.now(timezone.utc)
    loaded = ReportQuerySchema().load({})
    assert before <= loaded["until"] <= datetime.now(timezone.utc)
    assert loaded["since"] == datetime.combine(loaded["until"].date() - timedelta(days=6), datetime.min.time(),
                                               tzinfo=timezone.utc)
    assert len(reports.build(dict(loaded, period="day", top=5), [], [], {}, [])["trend"]) == 7
    until = datetime(2026, 5, 11, tzinfo=timezone.utc)  # a midnight: the seven whole days before it
    assert ReportQuerySchema().load({"until": until.isoformat()})["since"] == until - timedelta(days=7)
    since = datetime.now(timezone.utc) - timedelta(days=30)
    assert ReportQuerySchema().load({"since": since.isoformat()})["since"] == since
    import pytest
    from marshmallow import ValidationError
    with pytest.raises(ValidationError) as refused:
        ReportQuerySchema().load({"since": (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()})
    assert "since" in refused.value.messages
