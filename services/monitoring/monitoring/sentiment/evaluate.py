"""Measure the sentiment model: ``python -m monitoring.sentiment.evaluate [DATA_DIR]``
(``make eval-sentiment``).

1. The dev split of this repository's social posts (``data/README.md``), three
   classes: accuracy, negative precision/recall/F1 and crisis recall/precision
   per language, and accuracy per case type.
2. Each binary set in DATA_DIR (default ../shared/data/sentiment): accuracy of
   the polarity (the sign of the score), and negative P/R/F1 as the service
   gives it. Weibo emoticons such as ``[哈哈]`` are removed first (that set's
   labels were made from them). By default the Weibo set only: the review sets
   (``--all-sets``) are 75,000 texts.
Then the model version, texts/s of the whole run and the process's peak memory.
The model is the active version in the monitoring database, or the shipped one.
"""
import argparse
import csv
import json
import re
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

from monitoring.sentiment.corpus import social_posts
from monitoring.sentiment.rules import SentimentModel, crisis_signals

DEFAULT_DATA_DIR = Path("..") / "shared" / "data" / "sentiment"
WEIBO_EMOTICON = re.compile(r"\[[^\[\]]{1,8}\]")
BATCH = 1000


def verdicts_of(model, texts, languages=None):
    verdicts = []
    for start in range(0, len(texts), BATCH):
        verdicts += model.analyse(texts[start:start + BATCH], languages and languages[start:start + BATCH])
    return verdicts


def ratio(part, whole):
    return part / whole if whole else 0.0


def negative_figures(called, truth):
    """Precision, recall and F1 of the negative label."""
    true_positive = sum(c and t for c, t in zip(called, truth))
    precision, recall = ratio(true_positive, sum(called)), ratio(true_positive, sum(truth))
    return precision, recall, ratio(2 * precision * recall, precision + recall)


def three_way_figures(rows, verdicts) -> dict:
    """Figures of labelled posts (dicts with label and crisis) and the model's verdicts of them."""
    right = [v.sentiment == row["label"] for row, v in zip(rows, verdicts)]
    precision, recall, f1 = negative_figures([v.sentiment == "negative" for v in verdicts],
                                             [row["label"] == "negative" for row in rows])
    flagged = [bool(crisis_signals(row["text"], v)) for row, v in zip(rows, verdicts)]
    crises = [row["crisis"] for row in rows]
    caught = sum(f and c for f, c in zip(flagged, crises))
    return {"rows": len(rows), "accuracy": ratio(sum(right), len(rows)), "negative_precision": precision,
            "negative_recall": recall, "negative_f1": f1, "crisis_rows": sum(crises),
            "crisis_recall": ratio(caught, sum(crises)), "crisis_precision": ratio(caught, sum(flagged))}


def corpus_figures(model, rows) -> dict:
    """{"zh": figures, "en": ..., "zh/<case type>": ...} of labelled posts."""
    verdicts = verdicts_of(model, [row["text"] for row in rows], [row["lang"] for row in rows])
    groups = defaultdict(list)
    for row, verdict in zip(rows, verdicts):
        groups[row["lang"]].append((row, verdict))
        groups[f"{row['lang']}/{row['case_type']}"].append((row, verdict))
    return {name: three_way_figures(*zip(*pairs)) for name, pairs in sorted(groups.items(), key=lambda kv: (
        "/" in kv[0], kv[0]))}


def binary_sets(folder: Path, every_set=False):
    """(name, [(text, is_negative)]) of the binary sets found."""
    names = ("weibo_senti_sample.csv", "waimai_10k.csv", "online_shopping_10_cats.csv")
    for name in names if every_set else names[:1]:
        path = folder / name
        if path.exists():
            with path.open(encoding="utf-8-sig", newline="") as handle:
                rows = [(WEIBO_EMOTICON.sub("", (row.get("review") or "").lstrip("\ufeff")), row["label"] == "0")
                        for row in csv.DictReader(handle)]
            yield name, [(text, negative) for text, negative in rows if text.strip()]


def binary_figures(model, rows) -> dict:
    verdicts = verdicts_of(model, [text for text, _ in rows])
    truth = [negative for _, negative in rows]
    precision, recall, f1 = negative_figures([v.sentiment == "negative" for v in verdicts], truth)
    return {"rows": len(rows), "accuracy": ratio(sum((v.score < 0) == t for v, t in zip(verdicts, truth)), len(rows)),
            "negative_precision": precision, "negative_recall": recall, "negative_f1": f1}


def active_model(database_url=None):
    """The active version in the monitoring database; the shipped model when there is none or no database."""
    from sqlalchemy.exc import SQLAlchemyError

    from monitoring.sentiment.versions import load_active
    try:
        return load_active(database_url) or SentimentModel.load()
    except SQLAlchemyError:
        return SentimentModel.load()


def row_line(name, figures):
    cells = [f"{name:<44}{figures['rows']:>6}{figures['accuracy']:>7.3f}", f"{figures['negative_precision']:>7.3f}",
             f"{figures['negative_recall']:>7.3f}", f"{figures['negative_f1']:>7.3f}"]
    if "crisis_rows" in figures:
        cells.append(f"{figures['crisis_rows']:>7}{figures['crisis_recall']:>7.3f}{figures['crisis_precision']:>7.3f}")
    return "".join(cells)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--all-sets", action="store_true", help="the review sets too")
    parser.add_argument("--database-url", default=None, help="monitoring database (default: as the service)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    model = active_model(args.database_url)
    print(f"model version {model.version}")
    print(f"{'set':<44}{'rows':>6}{'acc':>7}{'neg P':>7}{'neg R':>7}{'neg F1':>7}{'crises':>7}{'cri R':>7}{'cri P':>7}")
    started, texts = time.perf_counter(), 0
    results = {"model_version": model.version}
    dev = social_posts("dev")
    for name, figures in corpus_figures(model, dev).items():
        results[f"dev:{name}"] = figures
        print(row_line(f"social posts dev {name}", figures), flush=True)
    texts += len(dev)
    for name, rows in binary_sets(args.data_dir, args.all_sets):
        results[name] = figures = binary_figures(model, rows)
        texts += len(rows)
        print(row_line(f"{name} (zh, binary)", figures), flush=True)
    results["texts_per_second"] = texts / (time.perf_counter() - started)
    results["peak_memory_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{texts} texts at {results['texts_per_second']:.0f} texts/s; peak memory {results['peak_memory_mib']:.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
