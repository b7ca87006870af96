from datetime import datetime, timedelta, timezone

import pytest

from ticketing.contract import customer, first_contact_resolution
from ticketing.tickets import rules as tickets


def test_tags_are_trimmed_lowercased_and_unique_in_first_seen_order():
    assert tickets.normalise_tags([" Refund", "refund", "VIP", "", "vip ", "late"]) == ["refund", "vip", "late"]


def test_no_tags_gives_an_empty_list():
    assert tickets.normalise_tags(None) == []


def test_ticket_with_assignee_starts_assigned_otherwise_new():
    assert tickets.initial_state("alice") == "assigned"
    assert tickets.initial_state(None) == "new"


@pytest.mark.parametrize("current, target, assignee, expected", [
    ("new", "assigned", "alice", "assigned"),
    ("assigned", "in_progress", "alice", "in_progress"),
    ("in_progress", "waiting_customer", "alice", "waiting_customer"),
    ("waiting_customer", "in_progress", "alice", "in_progress"),
    ("in_progress", "resolved", "alice", "resolved"),
    ("new", "resolved", None, "resolved"),
    ("resolved", "closed", "alice", "closed"),
    ("resolved", "reopened", "alice", "in_progress"),
    ("closed", "reopened", None, "new"),
])
def test_allowed_changes(current, target, assignee, expected):
    assert tickets.next_state(current, target, assignee) == expected


@pytest.mark.parametrize("current, target, allowed", [
    ("new", "in_progress", ("assigned", "resolved", "closed")),
    ("closed", "resolved", ("reopened",)),
    ("resolved", "in_progress", ("closed", "reopened")),
    ("in_progress", "reopened", ("waiting_customer", "resolved", "closed")),
])
def test_an_invalid_change_names_the_allowed_ones(current, target, allowed):
    with pytest.raises(tickets.InvalidTransition) as raised:
        tickets.next_state(current, target, "alice")
    assert raised.value.allowed == allowed
    assert f" {current} ticket cannot become {target}; allowed: " in str(raised.value)


def test_working_states_need_an_owner():
    with pytest.raises(tickets.NeedsAssignee):
        tickets.next_state("new", "assigned", None)


@pytest.mark.parametrize("current, kind, expected", [
    ("waiting_customer", "customer", "in_progress"),   # the customer answered: clocks resume
    ("resolved", "customer", "in_progress"),           # not settled: reopens
    ("closed", "customer", "in_progress"),
    ("assigned", "reply", "in_progress"),
    ("new", "reply", "in_progress"),
    ("in_progress", "note", "in_progress"),
    ("waiting_customer", "reply", "waiting_customer"),
    ("assigned", "note", "assigned"),
])
def test_messages_move_the_ticket(current, kind, expected):
    assert tickets.state_after_message(current, kind, "alice") == expected


def test_a_customer_message_on_an_unowned_closed_ticket_reopens_it_as_new():
    assert tickets.state_after_message("closed", "customer", None) == "new"


@pytest.mark.parametrize("state, reopens, transfers, expected", [
    ("in_progress", 0, 0, None),
    ("resolved", 0, 0, True),
    ("closed", 0, 0, True),
    ("resolved", 1, 0, False),
    ("resolved", 0, 2, False),
])
def test_first_contact_resolution(state, reopens, transfers, expected):
    assert first_contact_resolution(state, reopens, transfers) is expected


def test_reopen_is_leaving_resolved_or_closed_for_an_open_state():
    assert tickets.is_reopen("resolved", "in_progress")
    assert tickets.is_reopen("closed", "new")
    assert not tickets.is_reopen("resolved", "closed")
    assert not tickets.is_reopen("waiting_customer", "in_progress")


@pytest.mark.parametrize("roles, actor, assignee, sees", [
    (None, None, "alice", True),                 # a service, not a person through the gateway
    (["supervisor"], "sue", "alice", True),
    (["admin"], "mei", None, True),
    (["integration"], "crm", None, True),        # it created the ticket
    (["agent"], "alice", "alice", True),         # her own ticket
    (["agent"], "bob", "alice", False),
    (["agent"], "bob", None, False),
    (["agent", "trainer"], "bob", "alice", False),
])
def test_an_agent_sees_the_customer_of_their_own_tickets_only(roles, actor, assignee, sees):
    assert tickets.sees_customer(roles, actor, assignee) is sees


def test_a_masked_customer_keeps_a_first_letter_and_enough_of_the_contact_to_confirm_it():
    assert customer("Li Lei", "+86 138 0000 5678", masked=True) == {"name": "L*", "contact": "+86 138****5678"}
    assert customer("Li Lei", "li@example.com") == {"name": "Li Lei", "contact": "li@example.com"}


# -- object scope (X1): who reads and who changes a ticket --------------------------------------------------
# (roles, actor, teams) of each caller; the ticket is (assignee, team)
ANN = (["agent"], "ann", ["billing"])           # an agent of billing
SUE = (["supervisor"], "sue", ["billing"])      # billing's supervisor
LEAD = (["agent", "supervisor"], "lee", ["billing"])
ADMIN = (["admin"], "root", [])
BRIDGE = (["integration"], "crm", [])
SERVICE = (None, None, [])                      # a service or an operator's tool, not a person


@pytest.mark.parametrize("caller, assignee, team, reads, acts", [
    (ANN, "ann", None, True, True),             # her own, in no team
    (ANN, "ann", "tech", True, True),           # her own, in another team
    (ANN, None, "billing", True, True),         # her team's queue, unassigned: she may take it
    (ANN, "bob", "billing", True, False),       # a teammate's: she reads it, does not change it
    (ANN, "bob", "tech", False, False),         # another team's
    (ANN, None, "tech", False, False),          # another team's queue
    (ANN, None, None, False, False),            # in no queue at all
    ((["agent"], "ann", []), None, None, False, False),
    (SUE, "bob", "billing", True, True),        # her team's, whoever owns it
    (SUE, None, "billing", True, True),
    (SUE, "bob", "tech", False, False),         # another team's
    (SUE, "bob", None, False, False),           # in no team
    (SUE, "sue", "tech", True, True),           # her own, wherever it is
    (LEAD, "bob", "billing", True, True),       # as supervisor of billing
    (LEAD, "bob", "tech", False, False),
    ((["trainer"], "tina", ["billing"]), "bob", "billing", False, False),  # no ticket role
    (ADMIN, "bob", "tech", True, True),
    (ADMIN, None, None, True, True),
    (BRIDGE, "bob", "tech", True, True),
    (SERVICE, None, None, True, True),
])
def test_who_reads_and_who_changes_a_ticket(caller, assignee, team, reads, acts):
    roles, actor, teams = caller
    assert tickets.ticket_scope(roles, actor, teams, acting=False).covers(assignee, team) is reads
    assert tickets.ticket_scope(roles, actor, teams, acting=True).covers(assignee, team) is acts


@pytest.mark.parametrize("roles, customers_side", [
    (["integration"], True), (None, True),
    (["agent"], False), (["supervisor"], False), (["admin"], False),
    (["integration", "admin"], False),          # staff too: staff never speak for the customer
    ([], False),
])
def test_only_the_customers_side_writes_as_the_customer_and_gets_the_rating_link(roles, customers_side):
    assert tickets.on_customers_side(roles) is customers_side


def test_only_an_import_may_let_a_ticket_nobody_owns_wait_and_the_customers_answer_queues_it_again():
    with pytest.raises(tickets.InvalidTransition):
        tickets.next_state("new", "waiting_customer", None)
    assert tickets.next_state("new", "waiting_customer", None, imported=True) == "waiting_customer"
    assert tickets.state_after_message("waiting_customer", "customer", None) == "new"
    assert tickets.state_after_message("waiting_customer", "customer", "alice") == "in_progress"


def test_imported_times_may_run_ahead_of_ours_by_the_clock_skew_only():
    now = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
    skew, tick = tickets.IMPORT_CLOCK_SKEW, timedelta(microseconds=1)
    ticket = {"created_at": now, "history": [{"at": now + skew}, {"at": now + skew + tick}]}
    assert list(tickets.future_times(ticket, now)["history"]) == ["1"]
    assert tickets.future_times(dict(ticket, history=[]), now) == {}
    assert list(tickets.future_times({"created_at": now + skew + tick}, now)) == ["created_at"]
