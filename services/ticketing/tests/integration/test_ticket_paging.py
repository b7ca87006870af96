"""The ticket list paged by cursor through the service, on SQLite and PostgreSQL (issue 21): a walk
meets every ticket once, newest first; the total is exact up to the cap, then says "more"."""
import pytest

from plumbing.errors import InvalidInput
from plumbing.testing import call_as

TICKET = {"subject": "Invoice missing", "channel": "email", "kind": "inquiry", "team": "billing",
          "customer": {"name": "Sun Li", "contact": "sun@example.com"}}


def walk(ticketing, **query):
    pages = [call_as("sue", ticketing, "list_tickets", query)]
    while pages[-1]["next_cursor"]:
        assert len(pages) < 50
        pages.append(call_as("sue", ticketing, "list_tickets", dict(query, cursor=pages[-1]["next_cursor"])))
    return pages


def test_a_walk_by_cursors_meets_every_ticket_once_newest_first_and_the_total_stops_at_the_cap(
        ticketing, monkeypatch):
    opened = [call_as("carol", ticketing, "create_ticket", dict(TICKET, tags=["vip"] if n % 3 == 0 else []))["id"]
              for n in range(11)]
    pages = walk(ticketing, per_page=4)
    assert [t["id"] for page in pages for t in page["items"]] == opened[::-1]
    assert [page["page"] for page in pages] == [1, 2, 3] and pages[-1]["next_cursor"] is None
    assert {(page["total"], page["total_exact"]) for page in pages} == {(11, True)}

    vip = walk(ticketing, per_page=2, tag="VIP")
    assert [t["id"] for page in vip for t in page["items"]] == opened[9::-3]  # the 10th, 7th, 4th and 1st

    monkeypatch.setenv("PAGE_TOTAL_CAP", "5")
    capped = walk(ticketing, per_page=4)
    assert [t["id"] for page in capped for t in page["items"]] == opened[::-1]  # the cap is the count's only
    assert {(page["total"], page["total_exact"]) for page in capped} == {(5, False)}
    assert (vip[0]["total"], vip[0]["total_exact"]) == (4, True)


def test_a_cursor_is_good_for_its_own_filters_only(ticketing):
    for _ in range(3):
        call_as("carol", ticketing, "create_ticket", TICKET)
    first = call_as("sue", ticketing, "list_tickets", {"per_page": 1, "team": "billing"})
    with pytest.raises(InvalidInput) as refused:
        call_as("sue", ticketing, "list_tickets", {"per_page": 1, "team": "sales", "cursor": first["next_cursor"]})
    assert "cursor" in refused.value.details
    with pytest.raises(InvalidInput):
        call_as("sue", ticketing, "list_tickets", {"per_page": 1, "team": "billing", "breached": True,
                                                   "cursor": first["next_cursor"]})
    with pytest.raises(InvalidInput):
        call_as("sue", ticketing, "list_tickets", {"per_page": 1, "team": "billing",
                                                   "cursor": first["next_cursor"][::-1]})
    second = call_as("sue", ticketing, "list_tickets", {"per_page": 5, "team": "billing",
                                                        "cursor": first["next_cursor"]})
    assert len(second["items"]) == 2 and second["next_cursor"] is None
