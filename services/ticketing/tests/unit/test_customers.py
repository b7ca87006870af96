"""Customer rules (ticketing.customers.rules): contacts compare however written, a tier falls back to the
organisation's, staff's text about an erased customer keeps its sense without them, retention months."""
from datetime import datetime, timezone

import pytest

from ticketing.customers import rules


@pytest.mark.parametrize("written, kind, normalised", [
    ("+86 138-0000-5678", "phone", "+8613800005678"),
    ("0086 13800005678", "phone", "+8613800005678"),
    ("138 0000 5678", "phone", "+8613800005678"),       # national: the desk's country code
    ("8613800005678", "phone", "+8613800005678"),       # with its code, the + left out
    ("010 8888 6666", "phone", "+861088886666"),        # the trunk 0 goes
    ("+44 20 7946 0958", "phone", "+442079460958"),
    (" Li.Lei@Example.COM ", "email", "li.lei@example.com"),
    ("weibo:@Li_Lei", "social", "weibo:li_lei"),
    ("WeChat: LiLei88", "social", "wechat:lilei88"),
    ("lilei88", "social", "lilei88"),
])
def test_contacts_written_differently_normalise_alike(written, kind, normalised):
    assert rules.classify(written) == kind
    assert rules.normalise(kind, written) == normalised


def test_the_desks_country_code_is_the_one_assumed():
    assert rules.normalise("phone", "020 7946 0958", country_code="44") == "+442079460958"


@pytest.mark.parametrize("kind, value, reason", [
    ("email", "not-an-address", "not an email address"),
    ("phone", "call 138", "a phone number has digits"),
    ("phone", "+12", "7 to 15 digits"),
    ("social", "  ", "empty"),
])
def test_a_contact_that_is_not_its_kind_says_why(kind, value, reason):
    with pytest.raises(rules.BadContact, match=reason):
        rules.normalise(kind, value)


def test_a_tier_is_the_customers_else_the_organisations_else_standard():
    assert rules.effective_tier("vip", "gold") == "vip"
    assert rules.effective_tier(None, "gold") == "gold"
    assert rules.effective_tier(None, None) == "standard"


def test_staff_text_about_an_erased_customer_loses_their_name_and_contacts_and_any_other_number():
    text = "Dear LI LEI, we called +86 138 0000 5678; your friend at wang@example.net too, or 139 1234 5678."
    assert rules.scrub(text, ["Li Lei", "+86 138 0000 5678", "L"]) == (
        "Dear [erased], we called [erased]; your friend at w***@example.net too, or 139****5678.")


@pytest.mark.parametrize("moment, months, expected", [
    (datetime(2026, 12, 7, 9, tzinfo=timezone.utc), 6, datetime(2026, 6, 7, 9, tzinfo=timezone.utc)),
    (datetime(2026, 3, 31, tzinfo=timezone.utc), 1, datetime(2026, 2, 28, tzinfo=timezone.utc)),
    (datetime(2028, 3, 31, tzinfo=timezone.utc), 1, datetime(2028, 2, 29, tzinfo=timezone.utc)),
    (datetime(2026, 1, 15, tzinfo=timezone.utc), 25, datetime(2023, 12, 15, tzinfo=timezone.utc)),
])
def test_retention_counts_calendar_months(moment, months, expected):
    assert rules.months_before(moment, months) == expected
