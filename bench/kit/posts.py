"""The posts monitoring's benchmarks ingest, made of real social texts.

The texts are the development sets' Weibo posts, food-delivery reviews and
tweets (``../shared/data/sentiment``, or ``SENTIMENT_DATA``): seven in ten
Chinese, three in ten English, each naming the brand so that every post is
on topic and goes through the whole pipeline. A third of the posts are
reposts of twenty stories ("转发微博 //@u1: ...", "RT @u1: ..."); the rest
are distinct texts, most of them starting a cluster of their own, as in a
real stream. Authors of every kind and reach.
"""
import csv
import os
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kit import ROOT

DATA = Path(os.environ.get("SENTIMENT_DATA") or ROOT.parent / "shared/data/sentiment")
STORIES = 20
RULE = {"name": "brand", "query": '某某外卖 OR "acme delivery" OR acmedelivery'}


def texts(name, column, delimiter=",", skip_header=True):
    path = DATA / name
    if not path.exists():
        raise SystemExit(f"{path} is missing: the benchmark reads real texts from the sentiment data "
                         "(set SENTIMENT_DATA to its folder)")
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = csv.reader(handle, delimiter=delimiter)
        if skip_header:
            next(rows)
        return [row[column].strip() for row in rows if len(row) > column and row[column].strip()]


def synthetic_posts(count, seed=7):
    randomness = random.Random(seed)
    chinese = texts("weibo_senti_sample.csv", 1) + texts("waimai_10k.csv", 1)
    english = texts("en_hutto/tweets_GroundTruth.txt", 2, delimiter="\t", skip_header=False)
    randomness.shuffle(chinese)
    randomness.shuffle(english)

    def original():
        if randomness.random() < 0.7:
            return f"#某某外卖# {chinese.pop()}"
        return f"@AcmeDelivery {english.pop()}"

    stories = [original() for _ in range(STORIES)]
    now = datetime.now(timezone.utc)
    posts = []
    for index in range(count):
        if index % 3 == 0:
            story = randomness.choice(stories)
            text = f"{'RT @' if story.startswith('@') else '转发微博 //@'}u{index}: {story}"
        else:
            text = original()
        posts.append({"platform": randomness.choice(["weibo", "douyin", "twitter"]), "external_id": f"b{index}",
                      "author": {"id": f"a{index % 500}", "name": f"user{index % 500}",
                                 "followers": randomness.randint(10, 2_000_000), "verified": index % 10 == 0,
                                 "kind": randomness.choice(["person", "person", "kol", "media"])},
                      "text": text, "posted_at": (now - timedelta(seconds=index)).isoformat(),
                      "reposts": randomness.randint(0, 50), "comments": randomness.randint(0, 20),
                      "likes": randomness.randint(0, 200)})
    return posts
