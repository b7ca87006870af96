"""The labelled data of this repository (``data/README.md``) and the rule that splits it."""
import csv
import hashlib
from pathlib import Path

DATA = Path(__file__).with_name("data")
SOCIAL_POSTS = DATA / "social_posts.tsv"
SEED_POSTS = DATA / "seed_posts.tsv"
CRISIS_PROTOTYPES = DATA / "crisis_prototypes.tsv"


def split_of(topic: str) -> str:
    """``dev`` for a quarter of the topics, by hash, else ``train``: fixed before any model was measured."""
    return "dev" if int(hashlib.sha256(topic.encode()).hexdigest(), 16) % 4 == 0 else "train"


def social_posts(split=None, path=SOCIAL_POSTS) -> list[dict]:
    """Rows of ``social_posts.tsv`` (text, lang, label, crisis as bool, case_type, topic), of one split or all."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [dict(row, crisis=row["crisis"] == "1") for row in csv.DictReader(handle, delimiter="\t")]
    return [row for row in rows if split is None or split_of(row["topic"]) == split]


def tab_separated(path) -> list[tuple[str, str]]:
    """(first column, rest) of each line that is not blank or a # comment."""
    return [tuple(line.split("\t", 1)) for line in path.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]


def seed_posts() -> list[tuple[str, str]]:
    """(text, label) of the older hand-written posts (repository licence)."""
    return [(text, label) for label, text in tab_separated(SEED_POSTS)]


def crisis_prototypes() -> list[tuple[str, str]]:
    """(kind, description) of each crisis prototype."""
    return tab_separated(CRISIS_PROTOTYPES)
