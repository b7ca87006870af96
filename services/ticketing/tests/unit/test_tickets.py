from ticketing import tickets


def test_tags_are_trimmed_lowercased_and_unique_in_first_seen_order():
    assert tickets.normalise_tags([" Refund", "refund", "VIP", "", "vip ", "late"]) == ["refund", "vip", "late"]


def test_no_tags_gives_an_empty_list():
    assert tickets.normalise_tags(None) == []


def test_ticket_with_assignee_starts_assigned_otherwise_new():
    assert tickets.initial_state("alice") == "assigned"
    assert tickets.initial_state(None) == "new"
