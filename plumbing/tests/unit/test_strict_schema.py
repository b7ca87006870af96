"""plumbing.schemas.StrictSchema: unknown fields refused, date-times kept in UTC (its input checks:
test_inputs.py)."""
from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import ValidationError, fields

from plumbing.schemas import StrictSchema


class Window(StrictSchema):
    since = fields.AwareDateTime(required=True)
    until = fields.DateTime(data_key="to", attribute="until_at", load_default=None)
    label = fields.String(load_default="2026-05-01T10:00:00+08:00")


def test_every_date_time_field_is_converted_to_utc_and_nothing_else_is_touched():
    loaded = Window().load({"since": "2026-05-01T10:00:00+08:00", "to": "2026-05-01T23:30:00-05:00"})
    assert loaded["since"] == datetime(2026, 5, 1, 2, 0, tzinfo=timezone.utc)
    assert loaded["since"].utcoffset() == timedelta(0)
    assert loaded["until_at"] == datetime(2026, 5, 2, 4, 30, tzinfo=timezone.utc)
    assert loaded["until_at"].tzinfo == timezone.utc
    assert loaded["label"] == "2026-05-01T10:00:00+08:00"


def test_a_naive_or_missing_date_time_is_left_as_it_is():
    loaded = Window().load({"since": "2026-05-01T10:00:00Z", "to": "2026-05-01T10:00:00"})
    assert loaded["until_at"] == datetime(2026, 5, 1, 10, 0) and loaded["until_at"].tzinfo is None
    assert Window().load({"since": "2026-05-01T10:00:00Z"})["until_at"] is None


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError) as refused:
        Window().load({"since": "2026-05-01T10:00:00Z", "sinse": "x"})
    assert "sinse" in refused.value.messages

