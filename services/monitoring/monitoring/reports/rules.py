"""Opinion reports (M7): trend by day or week, topics, terms, clusters, alert handling.

``build`` works on plain rows, so it is tested without a database; the
chart is drawn with matplotlib's Agg backend (no display needed).
"""
import base64
import csv
import io
import re
import statistics
from collections import Counter
from datetime import timedelta

from monitoring.contract import SENTIMENTS

WORD = re.compile(r"[a-z][a-z'-]{2,}|[\u4e00-\u9fff]{2}")
STOP_WORDS = frozenset("the and for you are but not was with this that have has they been from just our your".split())


def period_start(moment, period):
    day = moment.date()
    return day - timedelta(days=day.weekday()) if period == "week" else day


def terms_of(text):
    """Words of English, and two-character runs of Chinese (no segmenter needed for a ranking)."""
    return [term for term in WORD.findall(text.lower()) if term not in STOP_WORDS]


def minutes_between(start, end):
    return (end - start).total_seconds() / 60 if start and end else None


def median(values):
    values = [value for value in values if value is not None]
    return round(statistics.median(values), 1) if values else None


def build(criteria, rows, topics, clusters, raised):
    """The report: ``rows`` have posted_at, platform, on_topic, text, cluster_id and sentiment (None
    when off-topic); ``topics`` are (name, posts); ``clusters`` by id; ``raised`` the alerts."""
    period, top = criteria["period"], criteria["top"]
    trend = {}
    negative_terms = Counter()
    for row in rows:
        point = trend.setdefault(period_start(row.posted_at, period), {
            "total": 0, "by_sentiment": dict.fromkeys(SENTIMENTS + ("off_topic",), 0), "by_platform": Counter()})
        point["total"] += 1
        point["by_sentiment"][row.sentiment if row.on_topic and row.sentiment else "off_topic"] += 1
        point["by_platform"][row.platform] += 1
        if row.sentiment == "negative":
            negative_terms.update(set(terms_of(row.text)))
    points = []
    for start in sorted(trend):
        point = trend[start]
        analysed = sum(point["by_sentiment"][name] for name in SENTIMENTS)
        points.append({"period_start": start.isoformat(), "total": point["total"],
                       "by_sentiment": point["by_sentiment"], "by_platform": dict(point["by_platform"]),
                       "negative_share": round(point["by_sentiment"]["negative"] / analysed, 4) if analysed else 0.0})
    worst = sorted((c for c in clusters.values() if c.negative), key=lambda c: (-c.severity, -c.size, c.id))[:top]
    by_level = Counter(alert.level for alert in raised)
    by_state = Counter(alert.state for alert in raised)
    return {
        "period": period, "since": criteria["since"], "until": criteria["until"], "trend": points,
        "top_topics": [{"topic": name, "posts": count} for name, count in
                       sorted(topics, key=lambda pair: (-pair[1], pair[0]))[:top]],
        "top_terms": [{"term": term, "negative_posts": count} for term, count in
                      sorted(negative_terms.items(), key=lambda pair: (-pair[1], pair[0]))[:top]],
        "top_negative_clusters": [{"cluster_id": c.id, "size": c.size, "negative": c.negative,
                                   "severity": c.severity, "level": c.level} for c in worst],
        "alerts": {"raised": len(raised), "by_level": dict(by_level), "by_state": dict(by_state),
                   "median_minutes_to_acknowledge": median(minutes_between(a.raised_at, a.acknowledged_at)
                                                           for a in raised),
                   "median_minutes_to_resolve": median(minutes_between(a.raised_at, a.resolved_at)
                                                       for a in raised)},
    }


def as_csv(report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    platforms = sorted({name for point in report["trend"] for name in point["by_platform"]})
    writer.writerow(["period_start", "total", *SENTIMENTS, "off_topic", "negative_share", *platforms])
    for point in report["trend"]:
        writer.writerow([point["period_start"], point["total"],
                         *(point["by_sentiment"][name] for name in SENTIMENTS + ("off_topic",)),
                         point["negative_share"], *(point["by_platform"].get(name, 0) for name in platforms)])
    return out.getvalue()


def as_png(report) -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4), dpi=100)
    axes = figure.subplots()
    labels = [point["period_start"] for point in report["trend"]]
    bottom = [0] * len(labels)
    for name, colour in zip(SENTIMENTS, ("#d62728", "#9e9e9e", "#2ca02c")):
        heights = [point["by_sentiment"][name] for point in report["trend"]]
        axes.bar(labels, heights, bottom=bottom, color=colour, label=name)
        bottom = [b + h for b, h in zip(bottom, heights)]
    axes.set_ylabel("on-topic posts")
    axes.set_title(f"Opinion by {report['period']}")
    axes.legend(loc="upper left")
    share = axes.twinx()
    share.plot(labels, [point["negative_share"] for point in report["trend"]], color="black", marker="o")
    share.set_ylim(0, 1)
    share.set_ylabel("negative share")
    axes.tick_params(axis="x", labelrotation=45)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def as_png_base64(report) -> str:
    """PNG bytes as base64 text, which RPC's JSON can carry."""
    return base64.b64encode(as_png(report)).decode()
