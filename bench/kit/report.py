"""Figures of a run and the files they go to."""
import json


def percentile(sorted_values, share):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


def latency_summary(seconds):
    ordered = sorted(seconds)
    summary = {"count": len(ordered)}
    for share in (0.5, 0.9, 0.99):
        summary[f"p{round(100 * share)}_ms"] = round(1000 * percentile(ordered, share), 2) if ordered else None
    summary["max_ms"] = round(1000 * ordered[-1], 2) if ordered else None
    return summary


def fmt(value, digits=0):
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return f"{value:,.{digits}f}"


def write(out, name, results, markdown):
    """``<out>/<name>.json`` (every figure) and ``<out>/<name>.md`` (the report); returns the report's path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (out / f"{name}.md").write_text(markdown)
    return out / f"{name}.md"
