"""Phone numbers and email addresses masked in logs and event text (X6)."""
import logging

import pytest
from marshmallow import Schema

from plumbing.config import log_setup
from plumbing.privacy import MaskedString, mask_contact, mask_name, mask_text


@pytest.mark.parametrize("contact, masked", [
    ("+86 138 0000 5678", "+86 138****5678"),
    ("+86-138-0000-5678", "+86 138****5678"),
    ("13800005678", "138****5678"),
    ("+8613800005678", "+861****5678"),
    ("(010) 8888-6666", "010****6666"),
    ("+1 (555) 123-4567", "+1 ****4567"),
    ("6543 2100", "****2100"),
    ("john.doe@example.com", "j***@example.com"),
    (" wang@mail.example.cn ", "w***@mail.example.cn"),
    ("weibo:m-1", "w***"),
    ("@lu", "@***"),
])
def test_a_contact_keeps_only_enough_to_tell_customers_apart(contact, masked):
    assert mask_contact(contact) == masked


def test_a_name_keeps_its_first_character():
    assert (mask_name("王芳"), mask_name("Li Lei"), mask_name("")) == ("王*", "L*", "")


def test_every_number_and_address_in_free_text_is_masked():
    text = "Call +86 138 0000 5678 or 13912345678, 电话13800005678请回电, mail j.doe@example.com (ref 42)"
    assert mask_text(text) == (
        "Call +86 138****5678 or 139****5678, 电话138****5678请回电, mail j***@example.com (ref 42)")


@pytest.mark.parametrize("text", [
    "at 2026-11-23 08:00:00,123+00:00", "from 127.0.0.1:8000 to http://10.0.0.12:15672/api/queues",
    "ticket 1234 and 12345 events in 0.1234567 s", "request 3f2a1234567890ab1234567890abcdef",
    "delivery 0c3e4d2a-1234-5678-9abc-123456789012", "version 2.14.1, 1,000 posts", "t=1700000000",
])
def test_dates_addresses_ids_and_figures_are_left_alone(text):
    assert mask_text(text) == text


def test_log_lines_of_a_service_are_masked_traceback_included(capsys):
    handlers, level = logging.root.handlers[:], logging.root.level
    try:
        log_setup("INFO")
        log = logging.getLogger("ticketing.test")
        log.info("customer %s called from %s", "li@example.com", "+86 138 0000 5678")
        try:
            raise ValueError("duplicate key (customer_contact)=(13800005678)")
        except ValueError:
            log.exception("insert failed")
    finally:
        logging.root.handlers[:] = handlers
        logging.root.setLevel(level)
    written = capsys.readouterr().err
    assert "customer l***@example.com called from +86 138****5678" in written
    assert "ValueError: duplicate key (customer_contact)=(138****5678)" in written
    assert not any(secret in written for secret in ("li@example.com", "138 0000", "13800005678"))


def test_a_masked_event_field_masks_what_a_customer_wrote_into_it():
    schema = Schema.from_dict({"subject": MaskedString()})()
    assert schema.dump({"subject": "Refund to 13800005678 please"}) == {"subject": "Refund to 138****5678 please"}
    assert schema.dump({"subject": None}) == {"subject": None}
