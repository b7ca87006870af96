"""Webhook signatures, back-off and event matching (X2), without nameko."""
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks import Webhook

from ticketing.contract import is_valid_pattern, matches
from ticketing.webhooks.rules import (
    MAX_ATTEMPTS, fair_share, gives_up, retry_delay, sign, signature_header, signed_headers, standard_signature, verify,
)

SECRET = "whsec_test"
TIMESTAMP = 1700000000
BODY = b'{"id":"evt_1","type":"ticket.created"}'
# computed independently of Python:
#   printf '1700000000.{"id":"evt_1","type":"ticket.created"}' | openssl dgst -sha256 -hmac 'whsec_test'
EXPECTED = "525c42978d3993e94acf235fc6d62e9b8a661347612aabbf1fe360ad0f631c7d"


# -- Standard Webhooks ------------------------------------------------------------
STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"   # the example of the Standard Webhooks specification


def test_the_standard_signature_is_what_the_standard_webhooks_library_computes():
    at = datetime.fromtimestamp(TIMESTAMP, timezone.utc)
    assert standard_signature(STANDARD_SECRET, "msg_1", TIMESTAMP, BODY) == Webhook(STANDARD_SECRET).sign(
        "msg_1", at, BODY)
    older = "whsec_" + "ab" * 32   # the hex secrets made before: base64 too, and read alike
    assert standard_signature(older, "msg_1", TIMESTAMP, BODY) == Webhook(older).sign("msg_1", at, BODY)


def test_the_delivery_id_is_signed():
    assert standard_signature(STANDARD_SECRET, "msg_1", TIMESTAMP, BODY) != standard_signature(
        STANDARD_SECRET, "msg_2", TIMESTAMP, BODY)


def test_the_old_header_only_for_a_legacy_webhook():
    new = signed_headers(STANDARD_SECRET, "msg_1", TIMESTAMP, BODY, legacy=False)
    assert set(new) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert new["webhook-id"] == "msg_1" and new["webhook-timestamp"] == str(TIMESTAMP)
    old = signed_headers(STANDARD_SECRET, "msg_1", TIMESTAMP, BODY, legacy=True)
    assert old == dict(new, **{"X-CSOPS-Signature": signature_header(STANDARD_SECRET, TIMESTAMP, BODY),
                               "X-CSOPS-Delivery": "msg_1"})


# -- the legacy signature ---------------------------------------------------------
def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    assert sign(SECRET, TIMESTAMP, BODY) == EXPECTED


def test_the_header_carries_the_timestamp_and_the_v1_signature():
    assert signature_header(SECRET, TIMESTAMP, BODY) == f"t=1700000000,v1={EXPECTED}"


def test_the_timestamp_is_part_of_what_is_signed():
    assert sign(SECRET, TIMESTAMP + 1, BODY) != EXPECTED
    assert sign(SECRET, TIMESTAMP, BODY + b" ") != EXPECTED


def test_a_non_ascii_secret_and_body_sign_as_utf8():
    body = '{"subject":"包裹破损"}'.encode()
    header = signature_header("秘密", TIMESTAMP, body)
    assert verify("秘密", header, body, TIMESTAMP)


# -- verifying --------------------------------------------------------------------
HEADER = f"t={TIMESTAMP},v1={EXPECTED}"


def test_the_right_secret_verifies_at_the_time_of_sending_and_within_tolerance():
    assert verify(SECRET, HEADER, BODY, now=TIMESTAMP)
    assert verify(SECRET, HEADER, BODY, now=TIMESTAMP + 300)
    assert verify(SECRET, HEADER, BODY, now=TIMESTAMP - 300)   # the receiver's clock is a little behind
    assert verify(SECRET, HEADER, BODY, now=datetime.fromtimestamp(TIMESTAMP + 10, timezone.utc))


def test_a_wrong_secret_or_a_changed_body_fails():
    assert not verify("whsec_other", HEADER, BODY, now=TIMESTAMP)
    assert not verify(SECRET, HEADER, BODY.replace(b"created", b"closed"), now=TIMESTAMP)


def test_a_replayed_old_request_fails():
    assert not verify(SECRET, HEADER, BODY, now=TIMESTAMP + 301)
    assert not verify(SECRET, HEADER, BODY, now=TIMESTAMP + 86400)
    assert verify(SECRET, HEADER, BODY, now=TIMESTAMP + 3000, tolerance_seconds=3600)


def test_a_timestamp_too_far_in_the_future_fails():
    future = TIMESTAMP + 301
    header = signature_header(SECRET, future, BODY)   # correctly signed, but not yet
    assert not verify(SECRET, header, BODY, now=TIMESTAMP)


def test_a_signature_over_a_different_timestamp_fails():
    assert not verify(SECRET, f"t={TIMESTAMP + 1},v1={EXPECTED}", BODY, now=TIMESTAMP)


def test_one_matching_v1_among_several_is_enough_as_while_a_secret_rotates():
    old = sign("whsec_old", TIMESTAMP, BODY)
    assert verify(SECRET, f"t={TIMESTAMP},v1={old},v1={EXPECTED}", BODY, now=TIMESTAMP)
    assert verify(SECRET, f"t={TIMESTAMP}, v1={EXPECTED}, v2=whatever", BODY, now=TIMESTAMP)


@pytest.mark.parametrize("header", [
    None,
    "",
    EXPECTED,                                        # no t=
    f"t={TIMESTAMP}",                                # no v1=
    f"v1={EXPECTED}",                                # no t=
    f"t=,v1={EXPECTED}",
    f"t=abc,v1={EXPECTED}",
    f"t=-{TIMESTAMP},v1={EXPECTED}",
    f"t={TIMESTAMP}.5,v1={EXPECTED}",
    f"t={TIMESTAMP},t={TIMESTAMP},v1={EXPECTED}",    # two timestamps
    f"t={TIMESTAMP},v1={EXPECTED[:-1]}",             # too short
    f"t={TIMESTAMP},v1={EXPECTED.upper()}",          # not lowercase hex
    f"t={TIMESTAMP},v1={EXPECTED[:-1]}é",            # not ASCII
    f"t={TIMESTAMP};v1={EXPECTED}",                  # wrong separator
    f"t={TIMESTAMP},v1",                             # no value
    b"t=1,v1=00",                                    # not text
], ids=repr)
def test_a_malformed_header_fails_without_raising(header):
    assert verify(SECRET, header, BODY, now=TIMESTAMP) is False


# -- back-off ---------------------------------------------------------------------
def test_the_back_off_schedule_with_the_default_base():
    assert [retry_delay(attempt) for attempt in range(1, MAX_ATTEMPTS)] == [
        timedelta(seconds=10), timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10),
        timedelta(minutes=30), timedelta(hours=1), timedelta(hours=1)]


def test_the_delay_is_capped_at_one_hour():
    assert retry_delay(50) == timedelta(hours=1)


def test_the_base_scales_the_whole_schedule():
    assert [retry_delay(attempt, base_seconds=0.5) for attempt in (1, 2, 3, 7)] == [
        timedelta(seconds=0.5), timedelta(seconds=1.5), timedelta(seconds=6), timedelta(seconds=180)]


def test_attempts_are_counted_from_one():
    with pytest.raises(ValueError):
        retry_delay(0)


def test_eight_attempts_then_give_up():
    assert MAX_ATTEMPTS == 8
    assert [gives_up(attempts) for attempts in range(1, 10)] == [False] * 7 + [True] * 2
    total = sum((retry_delay(attempt) for attempt in range(1, MAX_ATTEMPTS)), timedelta())
    assert total == timedelta(hours=2, minutes=42, seconds=40)   # first attempt to last


# -- sharing the requests in flight ---------------------------------------------------
DUE = [("d1", 1), ("d2", 1), ("d3", 1), ("d4", 2), ("d5", 1), ("d6", 3)]   # oldest first


def test_the_oldest_due_deliveries_go_first_up_to_the_room_there_is():
    assert fair_share(DUE, 2, {}, per_webhook=5) == ["d1", "d2"]
    assert fair_share(DUE, 10, {}, per_webhook=5) == ["d1", "d2", "d3", "d4", "d5", "d6"]


def test_one_webhook_gets_no_more_than_its_share_in_flight_and_the_others_go_ahead():
    assert fair_share(DUE, 10, {}, per_webhook=2) == ["d1", "d2", "d4", "d6"]
    assert fair_share(DUE, 10, {1: 2}, per_webhook=2) == ["d4", "d6"]   # a slow webhook's requests still under way
    assert fair_share(DUE, 0, {}, per_webhook=2) == []


# -- event types ------------------------------------------------------------------
@pytest.mark.parametrize("subscribed, event_type, wanted", [
    (["ticket.created"], "ticket.created", True),
    (["ticket.created"], "ticket.closed", False),
    (["ticket.*"], "ticket.created", True),
    (["ticket.*"], "ticket.first_responded", True),
    (["ticket.*"], "sla.breached", False),
    (["ticket.*"], "ticket", False),
    (["ticket.*"], "ticket.created.v2", False),        # one segment per *
    (["*.breached"], "sla.breached", True),
    (["*"], "sla.breached", True),
    (["*"], "kb.search_missed", True),
    (["ticket.created", "sla.*"], "sla.warning", True),
    (["ticket.created", "sla.*"], "kb.search_missed", False),
    ([], "ticket.created", False),
    (["ticket.create"], "ticket.created", False),       # no prefix matching
    (["ticket.created"], "ticket_created", False),
])
def test_a_subscription_matches_exact_names_and_patterns(subscribed, event_type, wanted):
    assert matches(subscribed, event_type) is wanted


@pytest.mark.parametrize("pattern, valid", [
    ("ticket.created", True), ("ticket.*", True), ("*", True), ("*.breached", True), ("kb.search_missed", True),
    ("", False), ("ticket.", False), (".created", False), ("ticket..created", False), ("ticket.#", False),
    ("Ticket.Created", False), ("ticket.cre*", False), ("ticket created", False), (None, False),
])
def test_which_patterns_are_valid(pattern, valid):
    assert is_valid_pattern(pattern) is valid
