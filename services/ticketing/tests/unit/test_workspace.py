"""The agent workspace's rules (docs/workspace.md): If-Match entity tags, what changed since a version,
what an edit changes, who may assign and share; templates checked and filled in a sandbox; an SLA
clock re-targeted keeping the business time it counted."""
from datetime import datetime, timedelta, timezone

import pytest

from ticketing.edits import rules as edits
from ticketing.macros import rules as macros
from ticketing.sla import rules as sla
from ticketing.sla.calendar import BusinessCalendar

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)  # a Monday
OFFICE = BusinessCalendar.from_config({"timezone": "UTC", "windows": {
    day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}})
ALWAYS = BusinessCalendar.from_config({"timezone": "UTC", "windows": {
    day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}})


@pytest.mark.parametrize("header, tags", [
    ("*", None), ('"12-3"', ['"12-3"']), (' "12-3" , "12-4"', ['"12-3"', '"12-4"']), ('W/"12-3"', []),
    ('"a,b"', ['"a,b"'])])
def test_if_match_holds_a_star_or_entity_tags(header, tags):
    assert edits.entity_tags(header) == tags


@pytest.mark.parametrize("header", ["12-3", '"12-3', '"12-3" "12-4"', "", '"12-3",'])
def test_anything_else_in_if_match_is_refused(header):
    with pytest.raises(edits.BadEntityTags):
        edits.entity_tags(header)


def test_the_version_named_is_the_newest_of_this_tickets_tags():
    assert edits.version_named(['"12-3"', '"12-5"', '"13-9"'], 12) == 5
    assert edits.version_named(['"13-9"', '"x"'], 12) is None


def test_what_changed_since_is_read_from_the_history_entries_macros_steps_included():
    entries = [{"action": "edited", "changes": {"priority": ["normal", "high"]}},
               {"action": "message_added", "changes": {"kind": "note", "message_id": 3}},
               {"action": "macro_applied", "changes": {"macro_id": 1, "title": "x", "steps": [
                   {"action": "state_changed", "changes": {"state": ["new", "assigned"]}},
                   {"action": "edited", "changes": {"priority": ["high", "low"]}}]}},
               {"action": "complaint_recorded", "changes": {"severity": "major"}}]
    assert edits.changed_fields(entries) == ["priority", "messages", "state"]


def test_an_edit_changes_only_what_differs():
    current = {"subject": "a", "priority": "normal", "kind": "inquiry", "team": "billing", "tags": ["x"],
               "custom_fields": {"order": "1", "vip": True}, "required_skills": ["zh", "en"]}
    assert edits.edits(current, {"subject": "a", "tags": [" X "], "required_skills": ["en", "zh", "en"]}) == {}
    assert edits.edits(current, {"priority": "high", "custom_fields": {"vip": None, "channel": "app"}}) == {
        "priority": ["normal", "high"],
        "custom_fields": [{"order": "1", "vip": True}, {"order": "1", "channel": "app"}]}
    assert edits.changed_keys({"order": "1", "vip": True}, {"order": "2", "new": 0}) == ["new", "order", "vip"]
    assert edits.tags_after(["a", "b"], add=["C", "a"], remove=["b"]) == ["a", "c"]


def test_only_supervisors_admins_and_the_customers_side_assign_others():
    assert edits.may_assign(["supervisor"], "sue", "ann") and edits.may_assign(None, None, "ann")
    assert edits.may_assign(["agent"], "ann", "ann") and not edits.may_assign(["agent"], "ann", "bob")


@pytest.mark.parametrize("visibility, owner, team, caller, roles, teams, sees, changes", [
    ("personal", "ann", None, "ann", ["agent"], ["billing"], True, True),
    ("personal", "ann", None, "bob", ["agent"], ["billing"], False, False),
    ("personal", "ann", None, "sue", ["supervisor"], ["billing"], False, False),
    ("personal", "ann", None, "root", ["admin"], [], True, True),
    ("team", None, "billing", "bob", ["agent"], ["billing"], True, True),
    ("team", None, "billing", "tom", ["agent"], ["tech"], False, False),
    ("everyone", None, None, "tom", ["agent"], ["tech"], True, False),
    ("everyone", None, None, "sue", ["supervisor"], ["billing"], True, True),
])
def test_who_sees_and_changes_a_shared_item(visibility, owner, team, caller, roles, teams, sees, changes):
    assert macros.sees(visibility, owner, team, caller, roles, teams) is sees
    assert macros.changes(visibility, owner, team, caller, roles, teams) is changes


@pytest.mark.parametrize("body, named", [
    ("Dear {{ custmer.name }}", "custmer"), ("{{ ticket.secret }}", "secret"), ("{{ customer.name", "line 1"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "not allowed"), ("{{ agent.username|nosuchfilter }}", "filter"),
    ("{{ 'x' * 1000000000 }}", "not allowed"), ("{{ 2 ** 10000000 }}", "not allowed"), ("{{ 1 / 0 }}", "failed")])
def test_a_template_that_would_not_fill_in_is_refused_naming_why(body, named):
    with pytest.raises(macros.TemplateProblem, match=named):
        macros.check(body)


def test_a_template_fills_in_the_ticket_the_customer_the_agent_and_articles():
    articles = {12: macros.Article(12, "退款须知", "https://help.example.com/articles/12")}

    def article(number):
        if number not in articles:
            raise macros.TemplateProblem(f"knowledge-base article {number} does not exist")
        return articles[number]
    values = macros.placeholders({"id": 42, "subject": "包裹破损", "priority": "high", "kind": "complaint",
                                  "channel": "phone", "state": "new", "team": "billing"}, "李雷", "ann", article)
    body = "{{ customer.name }}您好：工单 #{{ ticket.id }}（{{ ticket.subject }}）。参阅 {{ kb(12) }}，{{ kb(12).url }}。{{ agent.name }}"
    macros.check(body)
    assert macros.render(body, values) == ("李雷您好：工单 #42（包裹破损）。参阅 退款须知 (https://help.example.com/articles/12)，"
                                           "https://help.example.com/articles/12。ann")
    assert macros.render("<b>{{ customer.name }}</b>", values) == "<b>李雷</b>"  # plain text: nothing escaped
    with pytest.raises(macros.TemplateProblem, match="article 7"):
        macros.render("{{ kb(7) }}", values)


def test_a_retargeted_clock_keeps_what_it_counted_and_counts_on_to_the_new_target():
    normal = sla.Policy("normal", OFFICE, {"first_response": 240})
    urgent = sla.Policy("urgent", ALWAYS, {"first_response": 60}, warn_share=0.5)
    clock = sla.start(normal, "first_response", T0)
    at = T0 + timedelta(minutes=20)
    moved = sla.retarget(clock, OFFICE, urgent, at)
    assert moved.target == timedelta(minutes=60) and moved.due_at == T0 + timedelta(minutes=60)
    assert moved.warn_at == T0 + timedelta(minutes=30)
    assert moved.elapsed(ALWAYS, at) == timedelta(minutes=20)
    late = sla.retarget(clock, OFFICE, urgent, T0 + timedelta(minutes=90))  # counted 90 of 60 already: due now
    assert late.due_at == T0 + timedelta(minutes=90) and late.status(T0 + timedelta(minutes=90)) == sla.BREACHED
    assert sla.retarget(clock, OFFICE, sla.Policy("none", ALWAYS, {"resolution": 60}), at) is None


def test_a_paused_clock_retargeted_falls_due_what_is_left_after_it_resumes():
    normal = sla.Policy("normal", ALWAYS, {"resolution": 240})
    urgent = sla.Policy("urgent", ALWAYS, {"resolution": 60})
    paused = sla.start(normal, "resolution", T0).pause(T0 + timedelta(minutes=10))
    moved = sla.retarget(paused, ALWAYS, urgent, T0 + timedelta(minutes=30))
    resumed = moved.resume(ALWAYS, T0 + timedelta(minutes=100))
    assert resumed.due_at == T0 + timedelta(minutes=150)  # 10 counted before the pause, 50 after it
