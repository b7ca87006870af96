"""Ingest rules that need no framework: what a re-seen post's counts become."""
COUNTS = ("reposts", "comments", "likes")


def merge_counts(stored, seen) -> dict[str, int]:
    """Counts of a re-seen post never go down: a lower figure is a stale or
    cached report, not lost engagement."""
    return {name: max(stored.get(name, 0), seen.get(name, 0)) for name in COUNTS}
