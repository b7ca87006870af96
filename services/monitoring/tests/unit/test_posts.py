import pytest
from marshmallow import ValidationError

from monitoring.contract import PostCreateSchema
from monitoring.ingest import rules as posts

POST = {"platform": "weibo", "external_id": "4990001", "author": {"id": "u1", "name": "Xiao Wang"},
        "text": "快递又丢件了", "posted_at": "2026-05-01T10:00:00+08:00"}


def test_merged_counts_keep_the_higher_figure_of_each():
    stored = {"reposts": 10, "comments": 5, "likes": 100}
    seen = {"reposts": 12, "comments": 3, "likes": 100}
    assert posts.merge_counts(stored, seen) == {"reposts": 12, "comments": 5, "likes": 100}


def test_counts_never_go_down_when_a_stale_report_arrives():
    stored = {"reposts": 7, "comments": 7, "likes": 7}
    assert posts.merge_counts(stored, {"reposts": 0, "comments": 0, "likes": 0}) == stored


def test_merge_ignores_fields_other_than_counts():
    merged = posts.merge_counts({"reposts": 1}, {"likes": 2, "text": "x"})
    assert merged == {"reposts": 1, "comments": 0, "likes": 2}


def test_create_schema_defaults_counts_and_author():
    loaded = PostCreateSchema().load(POST)
    assert (loaded["reposts"], loaded["comments"], loaded["likes"]) == (0, 0, 0)
    assert loaded["author"] == {"id": "u1", "name": "Xiao Wang", "followers": 0, "verified": False, "kind": "person"}


def test_create_schema_refuses_a_posted_at_without_zone():
    with pytest.raises(ValidationError) as raised:
        PostCreateSchema().load(dict(POST, posted_at="2026-05-01T10:00:00"))
    assert set(raised.value.normalized_messages()) == {"posted_at"}
