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
    first, second = report["trend"]
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
    assert [p["period_start"] for p in report["trend"]] == ["2026-05-04", "2026-05-11"]
    assert reports.period_start(datetime(2026, 5, 10, tzinfo=timezone.utc), "week") == date(2026, 5, 4)


def test_csv_and_png():
    report = reports.build(CRITERIA, ROWS, [], {}, [])
    lines = reports.as_csv(report).splitlines()
    assert lines[0] == "period_start,total,negative,neutral,positive,off_topic,negative_share,douyin,weibo"
    assert lines[1] == "2026-05-04,4,2,0,1,1,0.6667,1,3"
    assert reports.as_png(report).startswith(b"\x89PNG")
