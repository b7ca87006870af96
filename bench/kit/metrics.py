"""The services' Prometheus histograms (their /metrics text), compared before and after a measure."""
import re

import requests

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+([-+0-9.eEinfNa]+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(url):
    samples = []
    try:
        text = requests.get(url, timeout=5).text
    except requests.RequestException:
        return samples
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match:
            samples.append((match.group(1), dict(LABEL.findall(match.group(2) or "")), float(match.group(3))))
    return samples


def histogram(samples, name, **labels):
    """(count, sum, {le: cumulative count}) of one labelled histogram series."""
    count = total = 0.0
    buckets = {}
    for metric, metric_labels, value in samples:
        if any(metric_labels.get(k) != v for k, v in labels.items()):
            continue
        if metric == f"{name}_count":
            count = value
        elif metric == f"{name}_sum":
            total = value
        elif metric == f"{name}_bucket":
            buckets[float(metric_labels["le"])] = value
    return count, total, buckets


def histogram_delta(before, after, name, **labels):
    c0, s0, b0 = histogram(before, name, **labels)
    c1, s1, b1 = histogram(after, name, **labels)
    count, total = c1 - c0, s1 - s0
    result = {"count": int(count), "mean_ms": round(1000 * total / count, 2) if count else None}
    buckets = sorted((le, b1[le] - b0.get(le, 0.0)) for le in b1)
    for share, key in ((0.5, "p50_le_ms"), (0.99, "p99_le_ms")):
        bound = next((le for le, cumulative in buckets if count and cumulative >= share * count), None)
        result[key] = None if bound is None else (bound * 1000 if bound != float("inf") else "inf")
    return result

