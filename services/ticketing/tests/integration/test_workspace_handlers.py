"""The agent workspace's handlers on a unit of work over SQLite (docs/workspace.md): edits with their
history, version and event; a stale If-Match told what changed; SLA clocks re-targeted by a priority
change; a team change as a transfer; bulk edits with a result per ticket; canned responses checked
when saved and filled in for a ticket; macros all-or-nothing as one history entry."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from plumbing.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionRequired, Unprocessable
from ticketing import models
from ticketing.edits import handlers as edits
from ticketing.macros import handlers as macros
from ticketing.sla import handlers as sla
from ticketing.tickets import handlers as tickets

CONFIG = {"REQUIRE_CERTIFICATION": "false"}
TICKET = {"subject": "Refund not received", "channel": "email", "kind": "complaint", "team": "billing",
          "customer": {"name": "Liu Yang", "contact": "liu@example.com"}}
ALWAYS_OPEN = {"timezone": "UTC", "windows": {day: ["00:00-24:00"] for day in
                                              ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def at(minutes):
    return lambda: T0 + timedelta(minutes=minutes)


def etag(ticket):
    return f'"{ticket["id"]}-{ticket["version"]}"'


def history(unit, ticket_id):
    return tickets.ticket_history(unit(), ticket_id)["items"]


def test_an_edit_changes_only_what_it_gives_each_field_one_entry_and_one_event(unit, published):
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice", tags=["refund"]), CONFIG)
    assert ticket["version"] == 1  # its "created" entry
    edited = edits.edit_ticket(unit(), ticket["id"], {
        "subject": "Refund of order 42 not received", "priority": "high", "tags": ["Refund", "VIP", "vip"],
        "custom_fields": {"order": "A-7"}, "required_skills": ["zh"]}, etag(ticket), CONFIG)
    assert edited["priority"] == "high" and edited["tags"] == ["refund", "vip"]
    assert edited["custom_fields"] == {"order": "A-7"} and edited["required_skills"] == ["zh"]
    entries = [entry for entry in history(unit, ticket["id"]) if entry["action"] == "edited"]
    assert [entry["changes"] for entry in entries] == [
        {"subject": ["Refund not received", "Refund of order 42 not received"]}, {"priority": ["normal", "high"]},
        {"tags": [["refund"], ["refund", "vip"]]}, {"custom_fields": [{}, {"order": "A-7"}]},
        {"required_skills": [[], ["zh"]]}]
    assert edited["version"] == ticket["version"] + 5 + 1  # and the SLA policy chosen again (high)

    again = edits.edit_ticket(unit(), ticket["id"], {"priority": "high", "custom_fields": {"order": None}},
                              etag(edited), CONFIG)
    assert again["custom_fields"] == {} and again["version"] == edited["version"] + 1  # only the removal
    updates = [event["data"] for event in published() if event["type"] == "ticket.updated"]
    assert updates[0]["changed"] == ["subject", "priority", "tags", "custom_fields", "required_skills"]
    assert updates[0]["previous"] == {"subject": "Refund not received", "priority": "normal", "tags": ["refund"],
                                      "required_skills": []}
    assert updates[1]["custom_field_keys"] == ["order"] and "A-7" not in str(updates[1])


def test_personal_data_in_an_edited_subject_is_masked_in_the_event(unit, published):
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), CONFIG)
    edits.edit_ticket(unit(), ticket["id"], {"subject": "call me on 13812345678"}, "*", CONFIG)
    [update] = [event["data"] for event in published() if event["type"] == "ticket.updated"]
    assert "13812345678" not in str(update) and update["changed"] == ["subject"]


def test_an_edit_needs_if_match_and_a_stale_one_is_told_what_changed_since(unit):
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), CONFIG)
    with pytest.raises(PreconditionRequired) as missing:
        edits.edit_ticket(unit(), ticket["id"], {"priority": "high"}, None, CONFIG)
    assert list(missing.value.details) == ["If-Match"]
    with pytest.raises(InvalidInput) as malformed:
        edits.edit_ticket(unit(), ticket["id"], {"priority": "high"}, "version 2", CONFIG)
    assert list(malformed.value.details) == ["If-Match"]

    read = etag(ticket)
    tickets.change_state(unit(), ticket["id"], {"state": "in_progress"})
    tickets.add_message(unit(), ticket["id"], {"kind": "note", "body": "asked the bank"}, CONFIG)
    with pytest.raises(Conflict) as stale:
        edits.edit_ticket(unit(), ticket["id"], {"priority": "high"}, read, CONFIG)
    details = stale.value.details
    assert details["changed_fields"] == ["state", "messages"] and details["changed"] == {"state": "in_progress"}
    assert [entry["action"] for entry in details["changes"]] == ["state_changed", "message_added"]
    now = tickets.get_ticket(unit(), ticket["id"])
    assert details["etag"] == etag(now) and details["version"] == ticket["version"] + 2
    assert tickets.get_ticket(unit(), ticket["id"])["priority"] == "normal"  # nothing written
    # an ETag list holding the current one matches; a weak one never does
    assert edits.edit_ticket(unit(), ticket["id"], {"priority": "high"}, f'"9-1", {etag(now)}', CONFIG)
    with pytest.raises(Conflict):
        edits.edit_ticket(unit(), ticket["id"], {"priority": "low"}, f"W/{etag(now)}", CONFIG)


def test_every_write_path_moves_the_version(unit):
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), CONFIG)
    other = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), CONFIG)
    versions = [ticket["version"]]
    for change in (lambda: tickets.add_message(unit(), ticket["id"], {"kind": "note", "body": "x"}, CONFIG),
                   lambda: tickets.escalate_ticket(unit(), ticket["id"], {"reason": "help"}),
                   lambda: tickets.assign(unit(), ticket["id"], {"assignee": "bob"}, CONFIG),
                   lambda: tickets.change_state(unit(), ticket["id"], {"state": "resolved"}),
                   lambda: tickets.merge_ticket(unit(), other["id"], {"into": ticket["id"]})):
        change()
        versions.append(tickets.get_ticket(unit(), ticket["id"])["version"])
    assert all(later > earlier for earlier, later in zip(versions, versions[1:])), versions
    entries = history(unit, ticket["id"])
    assert [entry["version"] for entry in entries] == list(range(1, versions[-1] + 1))  # one version per entry


def test_a_priority_change_retargets_the_running_clocks_keeping_the_time_counted(unit):
    for name, priority, targets in (("office normal", "normal", {"first_response": 60, "resolution": 240}),
                                    ("office urgent", "urgent", {"first_response": 10})):
        sla.create_sla_policy(unit(), {"name": name, "position": 0, "conditions": {"priority": [priority]},
                                       "targets": targets, "calendar": ALWAYS_OPEN})
    ticket = tickets.create_ticket(unit(clock=at(0)), dict(TICKET, assignee="alice"), CONFIG)
    assert ticket["sla_policy"]["name"] == "office normal"
    edited = edits.edit_ticket(unit(clock=at(5)), ticket["id"], {"priority": "urgent"}, etag(ticket), CONFIG)
    assert edited["sla_policy"]["name"] == "office urgent"
    clocks = {clock["clock"]: clock for clock in edited["sla"]}
    # five minutes counted, ten to count: due ten minutes after it started; resolution has no target: cancelled
    assert datetime.fromisoformat(clocks["first_response"]["due_at"]) == T0 + timedelta(minutes=10)
    assert clocks["first_response"]["target_seconds"] == 600 and clocks["resolution"]["status"] == "cancelled"
    retargeted = [entry for entry in history(unit, ticket["id"]) if entry["action"] == "sla_retargeted"]
    assert retargeted[0]["changes"]["sla_policy"][1]["name"] == "office urgent"

    # back to normal after the urgent target passed: the clock has counted 15 minutes of 60
    back = edits.edit_ticket(unit(clock=at(15)), ticket["id"], {"priority": "normal"}, etag(edited), CONFIG)
    clocks = {clock["clock"]: clock for clock in back["sla"]}
    assert datetime.fromisoformat(clocks["first_response"]["due_at"]) == T0 + timedelta(minutes=60)


def test_a_team_change_keeps_an_owner_of_the_new_team_else_returns_the_ticket_to_its_queue(unit, database):
    with database() as session, session.begin():
        session.add_all([models.Agent(username=name, roles=["agent"], teams=teams, skills=[], capacity=10,
                                      on_duty=False, active=True, staff_sequence=0)
                         for name, teams in (("alice", ["billing", "vip"]), ("bob", ["billing"]))])
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), CONFIG)
    moved = edits.edit_ticket(unit(), ticket["id"], {"team": "vip"}, "*", CONFIG)
    assert (moved["assignee"], moved["team"], moved["transfer_count"]) == ("alice", "vip", 0)

    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="bob"), CONFIG)
    tickets.change_state(unit(), ticket["id"], {"state": "in_progress"})
    moved = edits.edit_ticket(unit(), ticket["id"], {"team": "vip"}, "*", CONFIG)
    assert (moved["assignee"], moved["team"], moved["state"], moved["transfer_count"]) == (None, "vip", "new", 1)


def test_a_closed_ticket_is_not_edited(unit):
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), CONFIG)
    tickets.change_state(unit(), ticket["id"], {"state": "closed"})
    with pytest.raises(Conflict, match="closed"):
        edits.edit_ticket(unit(), ticket["id"], {"priority": "high"}, "*", CONFIG)


def test_a_bulk_edit_answers_for_each_ticket_and_keeps_the_others_going(unit, published):
    mine = [tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), CONFIG)["id"] for _ in range(3)]
    tickets.change_state(unit(), mine[1], {"state": "closed"})
    elsewhere = tickets.create_ticket(unit(), dict(TICKET, team="tech", assignee="tom"), CONFIG)["id"]
    teammates = tickets.create_ticket(unit(), dict(TICKET, assignee="bob"), CONFIG)["id"]
    alice = dict(actor="alice", roles=["agent"], teams=["billing"])
    answer = edits.bulk_edit(unit(**alice), {"ids": [*mine, elsewhere, teammates, 999], "changes": {
        "priority": "urgent", "add_tags": ["escalated"], "state": "in_progress"}}, CONFIG)
    outcomes = [(item["ticket_id"], item["status"], item["outcome"]) for item in answer["items"]]
    assert outcomes == [(mine[0], 200, "ok"), (mine[1], 409, "conflict"), (mine[2], 200, "ok"),
                        (elsewhere, 404, "not_found"), (teammates, 403, "forbidden"), (999, 404, "not_found")]
    assert (answer["succeeded"], answer["failed"]) == (2, 4)
    done = tickets.get_ticket(unit(), mine[0])
    assert (done["priority"], done["tags"], done["state"]) == ("urgent", ["escalated"], "in_progress")
    assert tickets.get_ticket(unit(), mine[1])["priority"] == "normal"  # its transaction rolled back
    assert {event["data"]["ticket_id"] for event in published() if event["type"] == "ticket.updated"} == {
        mine[0], mine[2]}
    with pytest.raises(Forbidden):
        edits.bulk_edit(unit(**alice), {"ids": mine, "changes": {"assignee": "bob"}}, CONFIG)
    with pytest.raises(InvalidInput) as too_many:
        edits.bulk_edit(unit(), {"ids": list(range(1, 502)), "changes": {"priority": "low"}}, CONFIG)
    assert "500" in str(too_many.value.details["ids"])


def test_canned_responses_are_checked_when_saved_and_filled_in_for_a_ticket(unit):
    alice = dict(actor="alice", roles=["agent"], teams=["billing"])
    with pytest.raises(InvalidInput) as unknown:
        macros.create_canned_response(unit(**alice), {"title": "x", "language": "en",
                                                      "body": "Dear {{ customr.name }}"})
    assert "customr" in str(unknown.value.details["body"])
    with pytest.raises(InvalidInput) as attribute:
        macros.create_canned_response(unit(**alice), {"title": "x", "language": "en",
                                                      "body": "{{ ticket.secret }}"})
    assert "secret" in str(attribute.value.details["body"])
    with pytest.raises(InvalidInput):
        macros.create_canned_response(unit(**alice), {"title": "x", "language": "en",
                                                      "body": "{{ ''.__class__.__mro__ }}"})
    article = tickets_article(unit)
    canned = macros.create_canned_response(unit(**alice), {
        "title": "退款", "language": "zh-CN",
        "body": "{{ customer.name }}您好，工单 #{{ ticket.id }}（{{ ticket.subject }}）已处理。请参阅 {{ kb(%d) }}。"
                "—— {{ agent.username }}" % article})
    assert canned["visibility"] == "personal" and canned["owner"] == "alice"
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), CONFIG)
    rendered = macros.render_canned_response(unit(**alice), canned["id"], {"ticket_id": ticket["id"]}, {})
    assert rendered["body"] == (f"Liu Yang您好，工单 #{ticket['id']}（Refund not received）已处理。"
                                f"请参阅 Refunds (/api/v1/kb/articles/{article})。—— alice")
    # bob (a teammate, not the owner) does not see alice's personal one; nor her customer in full
    bob = dict(actor="bob", roles=["agent"], teams=["billing"])
    with pytest.raises(NotFound):
        macros.render_canned_response(unit(**bob), canned["id"], {"ticket_id": ticket["id"]}, {})
    shared = macros.create_canned_response(unit(**alice), {"title": "hi", "language": "en", "visibility": "team",
                                                           "team": "billing", "body": "Hi {{ customer.name }}"})
    assert macros.render_canned_response(unit(**bob), shared["id"], {"ticket_id": ticket["id"]}, {}
                                         )["body"] != "Hi Liu Yang"
    assert [item["id"] for item in macros.list_canned_responses(unit(**bob), {})["items"]] == [shared["id"]]
    with pytest.raises(Forbidden):
        macros.create_canned_response(unit(**bob), {"title": "all", "language": "en", "visibility": "everyone",
                                                    "body": "Hello"})


def tickets_article(unit):
    from ticketing.knowledge import handlers as knowledge
    return knowledge.create_article(unit(), {"title": "Refunds", "body": "How refunds work.",
                                             "category": "billing"})["id"]


def test_a_macro_applies_every_action_as_one_history_entry_or_nothing(unit, database, published):
    alice = dict(actor="alice", roles=["agent"], teams=["billing"])
    canned = macros.create_canned_response(unit(**alice), {"title": "t", "language": "en",
                                                           "body": "Dear {{ customer.name }}, refunded."})
    macro = macros.create_macro(unit(**alice), {"title": "Refund done", "actions": [
        {"action": "reply", "canned_response_id": canned["id"]},
        {"action": "add_tags", "tags": ["refunded"]},
        {"action": "set_priority", "priority": "low"},
        {"action": "set_state", "state": "resolved"}]})
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), CONFIG)
    applied = macros.apply_macro(unit(**alice), ticket["id"], {"macro_id": macro["id"]}, etag(ticket), CONFIG)
    assert (applied["state"], applied["tags"], applied["priority"]) == ("resolved", ["refunded"], "low")
    assert applied["version"] == ticket["version"] + 1
    last = history(unit, ticket["id"])[-1]
    assert last["action"] == "macro_applied" and last["changes"]["macro_id"] == macro["id"]
    assert [step["action"] for step in last["changes"]["steps"]] == [
        "message_added", "state_changed", "edited", "edited", "state_changed"]  # low and normal: one policy
    assert last["changes"]["steps"][2]["changes"] == {"tags": [[], ["refunded"]]}
    [reply] = [m for m in tickets.list_messages(unit(), ticket["id"], {})["items"] if m["kind"] == "reply"]
    assert reply["body"] == "Dear Liu Yang, refunded."

    # a failing action: named by its index, and nothing of the actions before it written
    failing = macros.create_macro(unit(**alice), {"title": "Oops", "actions": [
        {"action": "add_tags", "tags": ["tried"]}, {"action": "set_state", "state": "waiting_customer"}]})
    other = tickets.create_ticket(unit(), dict(TICKET), CONFIG)  # nobody owns it: it cannot wait on the customer
    before = len(published())
    with pytest.raises(Conflict) as refused:
        macros.apply_macro(unit(), other["id"], {"macro_id": failing["id"]}, "*", CONFIG)
    assert list(refused.value.details["actions"]) == ["1"] and "action 1" in refused.value.message
    assert tickets.get_ticket(unit(), other["id"])["tags"] == [] and len(published()) == before
    assert history(unit, other["id"])[-1]["action"] != "macro_applied"
    with database() as session:
        assert not session.scalars(select(models.TicketTag).where(models.TicketTag.ticket_id == other["id"])).all()


def test_a_macro_reply_that_cannot_be_filled_in_is_422_naming_the_action(unit):
    alice = dict(actor="alice", roles=["agent"], teams=["billing"])
    macro = macros.create_macro(unit(**alice), {"title": "kb", "actions": [
        {"action": "add_tags", "tags": ["kb"]}, {"action": "reply", "body": "See {{ kb(404) }}", "public": False}]})
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), CONFIG)
    with pytest.raises(Unprocessable) as refused:
        macros.apply_macro(unit(**alice), ticket["id"], {"macro_id": macro["id"]}, "*", CONFIG)
    assert refused.value.details["actions"]["1"]["action"] == "reply"
    assert "404" in refused.value.details["actions"]["1"]["reason"]


def test_an_edited_subject_is_found_by_search_and_the_old_one_no_longer(unit):
    ticket = tickets.create_ticket(unit(), dict(TICKET, assignee="alice"), CONFIG)
    edits.edit_ticket(unit(), ticket["id"], {"subject": "Zeppelin parcel stuck in customs"}, "*", CONFIG)
    def found(query):
        return [t["id"] for t in tickets.list_tickets(unit(), {"q": query})["items"]]
    assert found("zeppelin customs") == [ticket["id"]]
    assert found('"refund not received"') == []
