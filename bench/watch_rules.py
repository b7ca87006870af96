"""What matching watch rules costs a post, each figure against one rule of one term in the same run.

    .venv/bin/python bench/watch_rules.py     # ~15 s; writes bench/results/watch_rules.md and .json

Pure CPU, in one thread: ``monitoring.watch_rules.rules.matching_rules`` as the pipeline calls it
for each new post, on a post of 10,000 characters (the longest a post may be) whose words hold
the letter ``a`` thousands of times but never alone, so a term ``a`` is looked for everywhere and
found nowhere, and on a post of 200 characters (a usual one). Issue 16 found one rule of
``a OR a OR ...`` (399 terms) costing 1.7 s per long post: a post is now searched once per
distinct term, and a rule holds at most ``MAX_TERMS`` terms, the active rules together
``MAX_ACTIVE_TERMS``. The ratios show the cost following distinct terms, not repetitions.
A term that is one Latin word is looked up among the post's words; any other (a prefix
``refund*``, Chinese, a phrase) is a search of the text by the regular-expression engine:
the prefixes ``a0x0*`` start with the letter the long post holds everywhere, the worst case.
"""
import argparse
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from kit import RESULTS, report

from monitoring.watch_rules import rules


def post_text(length, seed=16):
    """Words of Latin letters (``a`` inside most of them) and Chinese, ``length`` characters."""
    randomness = random.Random(seed)
    words = ["".join(randomness.choice("abcdefghij") for _ in range(randomness.randint(2, 8))) + "a"
             for _ in range(500)] + ["外卖", "退款太慢", "客服"]
    text = ""
    while len(text) < length:
        text += randomness.choice(words) + " "
    return text[:length]


def rule_set(*queries):
    return [rules.WatchRule(number, f"rule {number}", rules.parse(query)) for number, query in enumerate(queries)]


def per_post(rule_list, text, seconds=0.5, repeat=3):
    """Best of ``repeat`` runs of about ``seconds`` each: microseconds to match one post."""
    post = {"platform": "weibo", "text": text, "author": {"kind": "person", "verified": False, "followers": 0}}
    rules.matching_rules(rule_list, post)  # warm: the terms' patterns are compiled once
    best = None
    for _ in range(repeat):
        calls, began = 0, time.perf_counter()
        while True:
            rules.matching_rules(rule_list, post)
            calls += 1
            elapsed = time.perf_counter() - began
            if elapsed >= seconds:
                break
        best = min(best or float("inf"), 1e6 * elapsed / calls)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the report goes")
    args = parser.parse_args(argv)
    limit, active_limit = rules.MAX_TERMS, rules.MAX_ACTIVE_TERMS
    repeated, count = " OR ".join(["a"] * limit), active_limit // limit

    def distinct(suffix=""):  # rules at the limit, together at the active rules' limit: a0x0 OR a0x1 ...
        return [" OR ".join(f"a{rule}x{term}{suffix}" for term in range(limit)) for rule in range(count)]
    cases = [
        ("one rule, one term `a` (baseline)", rule_set("a"), 1, 1),
        (f"one rule, `a` {limit} times (`a OR a OR ...`, at the limit)", rule_set(repeated), limit, 1),
        (f"one rule, {limit} distinct words (at the limit)", rule_set(distinct()[0]), limit, limit),
        (f"one rule, {limit} distinct prefixes `a0x0*` (at the limit)", rule_set(distinct("*")[0]), limit, limit),
        (f"{count} rules, each `a` {limit} times", rule_set(*[repeated] * count), active_limit, 1),
        (f"{count} rules, {active_limit} distinct words (the active rules at their limit)", rule_set(*distinct()),
         active_limit, active_limit),
        (f"{count} rules, {active_limit} distinct prefixes (the active rules at their limit)",
         rule_set(*distinct("*")), active_limit, active_limit),
    ]
    rows = []
    for length in (10_000, 200):
        text = post_text(length)
        baseline = None
        for label, rule_list, written, different in cases:
            micros = per_post(rule_list, text)
            baseline = baseline or micros
            rows.append({"post_characters": length, "rules": label, "terms_written": written,
                         "distinct_terms": different, "us_per_post": round(micros, 1),
                         "ratio": round(micros / baseline, 1)})
            print(f"{length:>6} chars  {label}: {micros:,.1f} µs per post, {micros / baseline:,.1f}× the baseline",
                  flush=True)
    date = datetime.now(timezone.utc).isoformat(timespec="seconds")
    lines = ["# Matching watch rules against a post (bench/watch_rules.py)", "",
             f"{date}: `matching_rules` in one thread, best of 3 runs of 0.5 s; each ratio is against one rule of "
             f"one term on the same post in the same run. Limits: {limit} terms a rule, {active_limit} in all "
             "active rules.", "",
             "| post | rules | terms written | distinct terms | µs per post | ratio to the baseline |",
             "| ---: | --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['post_characters']:,} chars | {r['rules']} | {r['terms_written']:,} | {r['distinct_terms']:,} | "
              f"{report.fmt(r['us_per_post'], 1)} | {r['ratio']}× |" for r in rows]
    result = {"date": date, "max_terms": limit, "max_active_terms": active_limit, "rows": rows}
    print(f"wrote {report.write(args.out, 'watch_rules', result, chr(10).join(lines) + chr(10))}")


if __name__ == "__main__":
    sys.exit(main())
