"""Measure the sentiment model: ``python -m monitoring.sentiment.evaluate [DATA_DIR]``
(``make eval-sentiment``).

For each labelled set in DATA_DIR (default ../shared/data/sentiment, whose
README says what each is): accuracy of the model's polarity (the sign of
its score), precision, recall and F1 of the ``negative`` label as the
service gives it (a score inside the neutral band is not negative), the
share called neutral, and texts/s over the whole set in batches of 1,000.
Weibo emoticons such as ``[哈哈]`` are removed first: that set's labels
were made from them. English ratings are a mean in [-4, 4]; ones within
0.5 of zero are neither and are left out.
"""
import argparse
import csv
import json
import re
import sys
import time
from pathlib import Path

from monitoring.sentiment.rules import SentimentModel

DEFAULT_DATA_DIR = Path("..") / "shared" / "data" / "sentiment"
WEIBO_EMOTICON = re.compile(r"\[[^\[\]]{1,8}\]")
BATCH = 1000
ENGLISH_MARGIN = 0.5


def chinese_csv(path, strip_emoticons=False):
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            text = (row.get("review") or "").lstrip("\ufeff")
            if strip_emoticons:
                text = WEIBO_EMOTICON.sub("", text)
            if text.strip():
                yield text, row["label"] == "0"


def english_ground_truth(path):
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and abs(float(parts[1])) >= ENGLISH_MARGIN:
            yield parts[2], float(parts[1]) < 0


def labelled_sets(folder: Path):
    """(name, language, [(text, is_negative)]) for each set found."""
    for name, strip in (("waimai_10k.csv", False), ("online_shopping_10_cats.csv", False),
                        ("weibo_senti_sample.csv", True)):
        if (folder / name).exists():
            yield name, "zh", list(chinese_csv(folder / name, strip))
    for path in sorted((folder / "en_hutto").glob("*GroundTruth.txt")):
        yield f"en_hutto/{path.name}", "en", list(english_ground_truth(path))


def measure(model, rows):
    texts = [text for text, _ in rows]
    started = time.perf_counter()
    verdicts = []
    for start in range(0, len(texts), BATCH):
        verdicts += model.analyse(texts[start:start + BATCH])
    seconds = time.perf_counter() - started
    truth = [negative for _, negative in rows]
    polarity_right = sum((v.score < 0) == negative for v, negative in zip(verdicts, truth))
    called = [v.sentiment == "negative" for v in verdicts]
    true_positive = sum(c and t for c, t in zip(called, truth))
    precision = true_positive / max(sum(called), 1)
    recall = true_positive / max(sum(truth), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"rows": len(rows), "negative_rows": sum(truth), "accuracy": polarity_right / len(rows),
            "negative_precision": precision, "negative_recall": recall, "negative_f1": f1,
            "neutral_share": sum(v.sentiment == "neutral" for v in verdicts) / len(rows),
            "texts_per_second": len(rows) / seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    model = SentimentModel.load()
    results = {}
    print(f"{'set':<46}{'lang':<6}{'rows':>7}{'acc':>7}{'neg P':>7}{'neg R':>7}{'neg F1':>8}{'neutral':>9}"
          f"{'texts/s':>9}")
    for name, language, rows in labelled_sets(args.data_dir):
        if not rows:
            continue
        figures = results[name] = dict(measure(model, rows), language=language)
        print(f"{name:<46}{language:<6}{figures['rows']:>7}{figures['accuracy']:>7.3f}"
              f"{figures['negative_precision']:>7.3f}{figures['negative_recall']:>7.3f}{figures['negative_f1']:>8.3f}"
              f"{figures['neutral_share']:>9.3f}{figures['texts_per_second']:>9.0f}", flush=True)
    if not results:
        print(f"no labelled sets found in {args.data_dir}", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
