from datetime import datetime, timezone

import pytest

from plumbing.events import envelope_problems, make_envelope, sequence_number


def envelope(**overrides):
    made = make_envelope(service="ticketing", event_type="ticket.created", subject="ticket/1",
                         data={"ticket_id": 1}, sequence=1, request_id="req-1",
                         time=datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc))
    made.update(overrides)
    return made


def test_envelope_carries_cloudevents_attributes_and_extensions():
    made = envelope()
    assert made["specversion"] == "1.0"
    assert made["source"] == "/csops/ticketing"
    assert made["time"] == "2026-11-23T08:00:00.000000+00:00"
    assert made["datacontenttype"] == "application/json"
    assert (made["sequence"], made["dataversion"], made["requestid"]) == ("00000000000000000001", 1, "req-1")
    assert len(made["id"]) == 36


def test_sequence_is_a_string_whose_text_order_is_its_number_order():
    """The CloudEvents sequence extension says a string compared as text: 9 must sort before 10."""
    def sequence(number):
        return make_envelope(service="s", event_type="t.x", subject="t/1", data={}, sequence=number)["sequence"]
    sequences = [sequence(number) for number in (10, 9, 2**64 - 1, 100)]
    assert all(isinstance(each, str) for each in sequences)
    assert sorted(sequences) == [sequence(number) for number in (9, 10, 100, 2**64 - 1)]
    assert [sequence_number({"sequence": each}) for each in sorted(sequences)] == [9, 10, 100, 2**64 - 1]


def test_an_integer_sequence_of_an_event_recorded_before_it_became_a_string_is_still_read():
    old = envelope(sequence=7)
    assert envelope_problems(old, "ticket.created", (1,)) == []
    assert sequence_number(old) == 7


def test_a_well_formed_envelope_has_no_problems():
    assert envelope_problems(envelope(), "ticket.created", (1,)) == []


@pytest.mark.parametrize("payload, problem", [
    ("just a string", "envelope is a str, not a JSON object"),
    (envelope(dataversion=2), "dataversion 2 not in supported [1]"),
    (envelope(type="ticket.closed"), "type 'ticket.closed' is not 'ticket.created'"),
    (envelope(specversion="0.3"), "unsupported specversion '0.3'"),
    (envelope(sequence="first"), "attribute 'sequence' must be a string of digits"),
    (envelope(sequence="-1"), "attribute 'sequence' must be a string of digits"),
    (envelope(sequence=True), "attribute 'sequence' must be str or int"),
    (envelope(data=[1]), "attribute 'data' must be dict"),
])
def test_problems_name_what_is_wrong(payload, problem):
    assert problem in envelope_problems(payload, "ticket.created", (1,))


def test_missing_attributes_are_each_named():
    partial = envelope()
    del partial["id"], partial["subject"]
    assert envelope_problems(partial) == ["missing attribute 'id'", "missing attribute 'subject'"]
