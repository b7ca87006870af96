"""SLA policies an admin runs (T4): versions that tickets keep, disabling, deleting, calendars
refused with the field and the reason, and the preview (docs/sla.md)."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic import command

from plumbing.db import make_engine
from plumbing.errors import Conflict, InvalidInput, NotFound
from plumbing.migrate import alembic_config, upgrade
from plumbing.testing import call_as
from ticketing.models import SlaClock, SlaPolicy, SlaPolicyVersion
from ticketing.sla.calendar import BusinessCalendar

UTC = timezone.utc
BEFORE_VERSIONS = "5b0c2e7d91aa"
# the ticket's plain columns at BEFORE_VERSIONS (the model has more since: versions, customers)
TICKET_COLUMNS_THEN = ("id", "subject", "description", "channel", "kind", "priority", "state", "customer_name",
                       "customer_contact", "customer_tier", "transfer_count", "reopen_count", "escalation_level")
ALWAYS_OPEN = {"timezone": "UTC", "windows": {day: ["00:00-24:00"] for day in
                                              ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
PHONE = {"name": "phone", "position": 0, "conditions": {"channel": ["phone"]},
         "targets": {"first_response": 10, "update": 20, "resolution": 60}, "calendar": ALWAYS_OPEN}
TICKET = {"subject": "Router keeps rebooting", "channel": "phone", "kind": "inquiry", "assignee": "alice",
          "customer": {"name": "Ma Rui", "contact": "ma@example.com"}}


def act(container, method, *args):
    return call_as("admin", container, method, *args)


def clocks(ticket):
    return {clock["clock"]: clock for clock in ticket["sla"]}


def due(ticket, clock):
    return datetime.fromisoformat(clocks(ticket)[clock]["due_at"])


@pytest.fixture
def phone(ticketing):
    return act(ticketing, "create_sla_policy", PHONE)


def test_a_new_policy_is_version_1_and_its_tickets_show_it(ticketing, phone):
    assert (phone["version"], phone["enabled"]) == (1, True)
    ticket = act(ticketing, "create_ticket", TICKET)
    assert ticket["sla_policy"] == {"id": phone["id"], "name": "phone", "version": 1}
    [version] = act(ticketing, "list_sla_policy_versions", phone["id"])["items"]
    assert (version["version"], version["targets"], version["created_by"]) == (1, PHONE["targets"], "admin")


def test_an_edit_makes_a_version_and_a_ticket_keeps_the_one_it_started_with(ticketing, phone):
    before = act(ticketing, "create_ticket", TICKET)
    edited = act(ticketing, "update_sla_policy", phone["id"],
                 {"targets": {"first_response": 30, "update": 40, "resolution": 120}})
    assert edited["version"] == 2 and edited["targets"]["first_response"] == 30
    after = act(ticketing, "create_ticket", TICKET)
    assert after["sla_policy"]["version"] == 2
    assert due(after, "first_response") - datetime.fromisoformat(after["created_at"]) == timedelta(minutes=30)

    kept = act(ticketing, "get_ticket", before["id"])
    assert kept["sla_policy"] == {"id": phone["id"], "name": "phone", "version": 1}
    assert due(kept, "first_response") == due(before, "first_response")    # 10 minutes, as it started
    # a clock the ticket starts after the edit runs on the ticket's version too
    act(ticketing, "add_message", before["id"], {"kind": "reply", "body": "Which model?"})
    act(ticketing, "change_state", before["id"], {"state": "waiting_customer"})
    call_as("crm", ticketing, "add_message", before["id"], {"kind": "customer", "body": "RT-1000"})
    assert clocks(act(ticketing, "get_ticket", before["id"]))["update"]["target_seconds"] == 20 * 60
    assert [v["version"] for v in act(ticketing, "list_sla_policy_versions", phone["id"])["items"]] == [1, 2]
    assert act(ticketing, "get_sla_policy_version", phone["id"], 1)["targets"] == PHONE["targets"]


def test_renaming_reordering_or_sending_the_same_fields_makes_no_version(ticketing, phone):
    same = act(ticketing, "update_sla_policy", phone["id"], {"targets": PHONE["targets"], "calendar": ALWAYS_OPEN})
    assert (same["version"], same["updated_at"]) == (1, phone["updated_at"])
    renamed = act(ticketing, "update_sla_policy", phone["id"], {"name": "hotline", "position": 5})
    assert (renamed["name"], renamed["position"], renamed["version"]) == ("hotline", 5, 1)
    with pytest.raises(Conflict):
        act(ticketing, "update_sla_policy", phone["id"], {"name": "default"})  # seeded


def test_a_disabled_policy_gets_no_new_ticket_and_keeps_its_running_ones(ticketing, phone):
    running = act(ticketing, "create_ticket", TICKET)
    assert act(ticketing, "update_sla_policy", phone["id"], {"enabled": False})["enabled"] is False
    newer = act(ticketing, "create_ticket", TICKET)
    assert newer["sla_policy"]["name"] == "default"
    assert act(ticketing, "get_ticket", running["id"])["sla_policy"]["name"] == "phone"
    assert [p["enabled"] for p in act(ticketing, "list_sla_policies")["items"] if p["name"] == "phone"] == [False]


def test_a_ticket_no_enabled_policy_matches_has_no_sla(ticketing):
    default = next(p for p in act(ticketing, "list_sla_policies")["items"] if p["name"] == "default")
    act(ticketing, "update_sla_policy", default["id"], {"enabled": False})
    ticket = act(ticketing, "create_ticket", TICKET)
    assert (ticket["sla"], ticket["sla_policy"]) == ([], None)


def test_only_a_policy_no_ticket_ran_on_can_be_deleted(ticketing, phone):
    act(ticketing, "create_ticket", TICKET)
    with pytest.raises(Conflict) as refused:
        act(ticketing, "delete_sla_policy", phone["id"])
    assert refused.value.details == {"policy": ["1 ticket(s) run on it: disable it instead (enabled false)"]}

    unused = act(ticketing, "create_sla_policy", dict(PHONE, name="email", conditions={"channel": ["email"]}))
    act(ticketing, "update_sla_policy", unused["id"], {"warn_share": 0.5})
    act(ticketing, "delete_sla_policy", unused["id"])
    for method, args in (("get_sla_policy", ()), ("list_sla_policy_versions", ()), ("get_sla_policy_version", (1,))):
        with pytest.raises(NotFound):
            act(ticketing, method, unused["id"], *args)
    act(ticketing, "create_sla_policy", dict(PHONE, name="email", conditions={"channel": ["email"]}))  # name free


@pytest.mark.parametrize("calendar, details", [
    (dict(ALWAYS_OPEN, timezone="Mars/Olympus"), {"timezone": ["unknown time zone 'Mars/Olympus'"]}),
    ({"timezone": "UTC", "windows": {"mon": ["09:00-12:00", "11:00-13:00"]}},
     {"windows": {"mon": ["window 11:00-13:00 overlaps the window before it"]}}),
    ({"timezone": "UTC", "windows": {"mon": ["12:00-09:00"]}},
     {"windows": {"mon": {"0": ["window '12:00-09:00' ends at or before its start"]}}}),
    (dict(ALWAYS_OPEN, country_holidays=[{"country": "DE", "subdivision": "XX"}]),
     {"country_holidays": {"0": {"subdivision": ["the holidays library knows no subdivision 'XX' of DE"]}}}),
    (dict(ALWAYS_OPEN, holidays=["2026-10-01"], working_days=[{"date": "2026-10-01", "windows": ["09:00-12:00"]}]),
     {"working_days": ["dates are both a holiday and a working day: 2026-10-01"]}),
])
def test_a_calendar_that_cannot_be_is_refused_naming_the_field(ticketing, calendar, details):
    with pytest.raises(InvalidInput) as refused:
        act(ticketing, "create_sla_policy", dict(PHONE, name="bad", calendar=calendar))
    assert refused.value.details == {"calendar": details}


def test_unknown_condition_keys_and_values_are_refused(ticketing, phone):
    with pytest.raises(InvalidInput) as refused:
        act(ticketing, "update_sla_policy", phone["id"], {"conditions": {"language": ["en"], "priority": ["asap"]}})
    assert refused.value.details == {"conditions": {"language": ["Unknown field."], "priority": {
        "0": ["Must be one of: low, normal, high, urgent."]}}}


def test_the_preview_tries_a_draft_at_its_position_or_in_place_of_the_policy_it_edits(ticketing, phone):
    created = datetime(2026, 6, 1, 9, tzinfo=UTC)  # a Monday; every policy here is open all day
    question = {"ticket": {"channel": "phone", "kind": "inquiry"}, "created_at": created.isoformat()}
    saved = act(ticketing, "preview_sla", question)
    assert saved["policy"] == {"id": phone["id"], "name": "phone", "version": 1, "draft": False}
    assert [(c["clock"], c["target_minutes"], c["due_at"]) for c in saved["clocks"]] == [
        ("first_response", 10, "2026-06-01T09:10:00+00:00"), ("resolution", 60, "2026-06-01T10:00:00+00:00")]

    draft = dict(PHONE, name="phone-faster", targets={"first_response": 5})
    ahead = act(ticketing, "preview_sla", dict(question, draft=dict(draft, position=0)))   # same position: after
    assert ahead["policy"]["name"] == "phone"
    edit = act(ticketing, "preview_sla", dict(question, draft=draft, replacing=phone["id"]))
    assert edit["policy"] == {"id": None, "name": "phone-faster", "version": None, "draft": True}
    assert [(c["clock"], c["warn_at"], c["due_at"]) for c in edit["clocks"]] == [
        ("first_response", "2026-06-01T09:04:00+00:00", "2026-06-01T09:05:00+00:00")]
    assert [p["name"] for p in act(ticketing, "list_sla_policies")["items"]].count("phone-faster") == 0
    with pytest.raises(NotFound):
        act(ticketing, "preview_sla", dict(question, draft=draft, replacing=999))


def test_migrated_policies_are_version_1_with_typed_calendars_and_their_clocks_run_on_it(database_url):
    """Policies and clocks from before versions: the seeded ones and an admin's with a borrowed weekday."""
    engine = make_engine(database_url)
    old_policies = sa.table("sla_policies", *(sa.column(name) for name in ("id", "name", "position", "warn_share")),
                            *(sa.column(name, sa.JSON) for name in ("conditions", "targets", "calendar")),
                            sa.column("updated_at", sa.DateTime(timezone=True)))
    with engine.begin() as connection:
        command.upgrade(alembic_config("ticketing", connection), BEFORE_VERSIONS)
        connection.execute(sa.insert(old_policies).values(
            id=10, name="weekend desk", position=0, conditions={"channel": ["phone"], "kind": []},
            targets={"first_response": 60}, warn_share=0.5, updated_at=datetime(2026, 11, 2, tzinfo=UTC),
            calendar={"timezone": "Asia/Shanghai", "windows": {"Friday": ["10:00-16:00"], "sat": ["10:00-12:00"]},
                      "working_days": ["2026-10-11"], "working_day_template": "fri", "holidays": ["2026-10-09"]}))
        old_tickets = sa.table("tickets", *(sa.column(name) for name in TICKET_COLUMNS_THEN),
                               *(sa.column(name, sa.JSON) for name in ("tags", "required_skills", "custom_fields")),
                               *(sa.column(name, sa.DateTime(timezone=True)) for name in ("created_at", "updated_at")))
        connection.execute(sa.insert(old_tickets).values(
            id=1, subject="s", description="", channel="phone", kind="inquiry", priority="normal", state="new",
            customer_name="n", customer_contact="c", customer_tier="standard", tags=[], required_skills=[],
            custom_fields={}, transfer_count=0, reopen_count=0, escalation_level=0,
            created_at=datetime(2026, 11, 2, tzinfo=UTC), updated_at=datetime(2026, 11, 2, tzinfo=UTC)))
        connection.execute(sa.text(
            "INSERT INTO sla_clocks (ticket_id, policy_id, name, started_at, target_seconds, paused_seconds, due_at, "
            "warn_at) VALUES (1, 10, 'first_response', :at, 3600, 0, :at, :at)"), {"at": datetime(2026, 11, 2)})
    upgrade("ticketing", database_url)
    with engine.connect() as connection:
        versions = {row.policy_id: row for row in connection.execute(sa.select(SlaPolicyVersion))}
        policies = {row.id: row for row in connection.execute(sa.select(SlaPolicy))}
        clock_versions = connection.execute(sa.select(SlaClock.policy_version)).scalars().all()
    engine.dispose()
    assert {(p.version, p.enabled) for p in policies.values()} == {(1, True)}
    assert set(versions) == set(policies) and clock_versions == [1]
    desk = versions[10]
    assert (desk.version, desk.conditions, desk.warn_share) == (1, {"channel": ["phone"]}, 0.5)
    assert desk.calendar == {
        "timezone": "Asia/Shanghai", "country_holidays": [], "holidays": ["2026-10-09"],
        "windows": {"mon": [], "tue": [], "wed": [], "thu": [], "fri": ["10:00-16:00"], "sat": ["10:00-12:00"],
                    "sun": []},
        "working_days": [{"date": "2026-10-11", "windows": ["10:00-16:00"]}]}   # Friday's, as it borrowed
    seeded = next(v for policy_id, v in versions.items() if policies[policy_id].name == "default")
    assert seeded.calendar["country_holidays"] == [
        {"country": "CN", "subdivision": None, "make_up_day_windows": ["09:00-18:00"]}]   # Monday's, as before
    BusinessCalendar.from_config(seeded.calendar)
    BusinessCalendar.from_config(desk.calendar)
