import json

from monitoring.ingest.import_posts import batches, run
from plumbing.errors import InvalidInput


def lines(count):
    return [json.dumps({"external_id": str(n)}) + "\n" for n in range(count)]


def test_batches_of_a_thousand_with_line_numbers_and_bad_lines():
    chunks = list(batches(lines(1500) + ["{not json\n", "\n"]))
    assert [len(batch) for batch, _ in chunks] == [1000, 500]
    assert chunks[1][0][0] == (1001, {"external_id": "1000"})
    assert [number for number, _ in chunks[1][1]] == [1501]


def test_run_counts_reports_and_goes_on_after_a_refused_batch():
    calls, said = [], []

    def ingest(data):
        calls.append(len(data["posts"]))
        if len(calls) == 2:
            raise InvalidInput("request failed validation", {"posts": {"3": {"platform": ["bad"]}}})
        return {"created": len(data["posts"]) - 1, "updated": 1}

    created, updated, rejected = run(lines(2500), ingest, said.append)
    assert calls == [1000, 1000, 500]
    assert (created, updated, len(rejected)) == (1498, 2, 1000)
    assert "line 1004: {'platform': ['bad']}" in said
    assert said[-1].startswith("1500 posts imported (1498 new, 2 seen before), 1000 lines rejected")
