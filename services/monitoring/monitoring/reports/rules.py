"""Opinion reports (M7): trend by day or week, topics, terms, clusters, alert handling.

``build`` works on plain rows, so it is tested without a database; the
chart is drawn with matplotlib's Agg backend (no display needed). The trend
has a bar for every day (week) of the window, empty ones at zero. Terms are
English words and Chinese words as jieba segments them (its dictionary loads
once, about a second and a half: the service starts loading it in the
background, ``handlers.TermSegmenter``), less stop words of both languages and
the platforms' boilerplate (转发, 回复).
"""
import base64
import csv
import io
import logging
import re
import statistics
import threading
from collections import Counter
from datetime import timedelta

from monitoring.contract import SENTIMENTS

ENGLISH_WORD = re.compile(r"[a-z][a-z'-]{2,}")
HAN = re.compile(r"[\u4e00-\u9fff]")
NOISE = re.compile(r"https?://\S+|@[^\s:：,，]+")  # links and @mentions name no topic
STOP_WORDS = frozenset("""
the and for you are but not was with this that have has they been from just our your all any can had her his its
who whom what when where which will would there their them then than too very also into about after again out over
only own same some such more most other few each both did does doing don now off once why how here were she him
get got its it's i'm i've can't won't didn't doesn't isn't wasn't still even really much many one two way
我们 你们 他们 她们 它们 自己 大家 什么 怎么 怎样 为什么 为何 如何 这个 那个 这些 那些 这样 那样 这么 那么 这里 那里 哪里
没有 没什么 不是 就是 还是 也是 都是 只是 而是 可以 可能 应该 已经 因为 所以 但是 而且 然后 如果 虽然 还有 或者 以及 并且
一个 一下 一直 一些 一样 一点 有点 现在 今天 昨天 时候 真的 非常 特别 知道 觉得 感觉 出来 起来 之后 之前 以后 以前 不会
不能 不要 不用 其实 确实 还是 只有 这种 那种 千万 到底 简直 居然 竟然 终于 怎么办 的话 一定 完全 根本 而已 罢了
转发 微博 转发微博 回复 网友 视频 链接 全文 展开 某某 这家 那家 至今 目前
""".split())
SEGMENTER_LOCK = threading.Lock()
SEGMENTER = []


def period_start(moment, period):
    day = moment.date()
    return day - timedelta(days=day.weekday()) if period == "week" else day


def period_starts(since, until, period):
    """The start of every day (Monday of every week) the window ``since`` .. ``until`` touches."""
    step = timedelta(days=7 if period == "week" else 1)
    start, last = period_start(since, period), period_start(until - timedelta(microseconds=1), period)
    starts = []
    while start <= last:
        starts.append(start)
        start += step
    return starts


def segmenter():
    """jieba's tokenizer, its dictionary loaded once, on first use."""
    if not SEGMENTER:
        with SEGMENTER_LOCK:
            if not SEGMENTER:
                import jieba

                jieba.setLogLevel(logging.WARNING)  # not the dictionary's loading, at INFO, on every start
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                SEGMENTER.append(tokenizer)
    return SEGMENTER[0]


def terms_of(text):
    """English words and Chinese words (two characters or more: a single character is rarely a topic),
    stop words left out."""
    text = NOISE.sub(" ", text.lower())
    words = ENGLISH_WORD.findall(text)
    if HAN.search(text):
        words += [word for word in segmenter().lcut(text) if len(word) > 1 and HAN.match(word)]
    return [word for word in words if word not in STOP_WORDS]


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
    for start in period_starts(criteria["since"], criteria["until"], period):
        point = trend.get(start) or {"total": 0, "by_sentiment": dict.fromkeys(SENTIMENTS + ("off_topic",), 0),
                                     "by_platform": Counter()}
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
