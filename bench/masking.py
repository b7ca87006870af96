"""How the masking of log lines and event text grows with the text.

    .venv/bin/python bench/masking.py        # ~40 s; writes bench/results/masking.md and .json

``plumbing.privacy.mask_text`` on texts made to be hard for it (a long run
of letters before an at sign, digits in groups, a query of many parameters,
...) at N and 4N characters. Linear time grows 4x from N to 4N, quadratic
16x. The baseline, measured on the same texts in the same run, is one pass
of a single-character regex over them (linear by construction); the pattern
the email masking used before issue 16 runs beside it for comparison. No
broker or database: it imports plumbing.privacy and nothing else of the
platform.
"""
import argparse
import re
import sys
import time
from pathlib import Path

from kit import RESULTS, report

from plumbing.privacy import mask_text

SMALL = 10_000
# the email pattern before issue 16: every position of a run of letters rescans the run to its end
BEFORE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
BASELINE = re.compile(r"[@%\d]")
SHAPES = {
    "letters, then an at sign": lambda n: "a" * n + "@example.com",
    "letters and dots, no at sign": lambda n: "a." * (n // 2),
    "Chinese text, then an at sign": lambda n: "张" * n + "@例子.中国",
    "at signs": lambda n: "a@" * (n // 2),
    "digits in groups": lambda n: "1 " * (n // 2),
    "digits and dashes": lambda n: "12-" * (n // 3),
    "a query of many parameters": lambda n: "/api?" + "text=%41&" * (n // 9),
    "percent escapes": lambda n: "%25" * (n // 3),
    "ordinary log lines": lambda n: ('127.0.0.1 - - [23/Nov/2026 08:00:00] "GET /api/v1/tickets?text=tel%3A13800005678 '
                                     'HTTP/1.1" 200 9971 0.012345 ticket 1234 for li@example.com ') * (n // 130),
}


def seconds(fn, text, repeat):
    """Best of ``repeat`` calls."""
    best = None
    for _ in range(repeat):
        began = time.perf_counter()
        fn(text)
        elapsed = time.perf_counter() - began
        best = elapsed if best is None else min(best, elapsed)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the report goes")
    parser.add_argument("--chars", type=int, default=SMALL, help="N: the smaller text's length")
    args = parser.parse_args(argv)
    small, large = args.chars, 4 * args.chars
    rows = []
    for shape, make in SHAPES.items():
        texts = make(small), make(large)
        measured = {name: [seconds(fn, text, repeat) for text in texts] for name, fn, repeat in (
            ("masking", mask_text, 5), ("baseline", lambda text: BASELINE.sub("", text), 5),
            ("before", lambda text: BEFORE.sub("", text), 1))}  # seconds each at 4N: once is enough
        row = {"shape": shape, **{f"{name}_ms": [round(1000 * value, 2) for value in values]
                                  for name, values in measured.items()},
               **{f"{name}_growth": round(values[1] / values[0], 1) for name, values in measured.items()},
               "vs_baseline": round(measured["masking"][1] / measured["baseline"][1], 1)}
        rows.append(row)
        print(f"{shape:32} masking {row['masking_ms'][1]:8.2f} ms at {large:,} (x{row['masking_growth']} from "
              f"{small:,}), {row['vs_baseline']}x the baseline; before: x{row['before_growth']}", flush=True)
    lines = [f"# Masking: time against the text's length ({small:,} and {large:,} characters)", "",
             "Growth is the time at 4N over the time at N: 4 is linear, 16 quadratic. The baseline is one pass "
             "of `re.sub(r\"[@%\\d]\", \"\", text)` over the same text; *before* is the email pattern used "
             "before issue 16.", "",
             "| text | masking at N, 4N (ms) | growth | x baseline at 4N | baseline growth | before at N, 4N (ms) "
             "| before growth |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        lines.append(f"| {row['shape']} | {report.fmt(row['masking_ms'][0], 2)}, {report.fmt(row['masking_ms'][1], 2)}"
                     f" | {row['masking_growth']} | {row['vs_baseline']} | {row['baseline_growth']}"
                     f" | {report.fmt(row['before_ms'][0], 2)}, {report.fmt(row['before_ms'][1], 2)}"
                     f" | {row['before_growth']} |")
    path = report.write(args.out, "masking", {"chars": [small, large], "rows": rows}, "\n".join(lines) + "\n")
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
