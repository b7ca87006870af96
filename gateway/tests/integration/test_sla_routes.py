"""SLA policies through the gateway (T4, docs/sla.md): the preview's due times worked out by
hand across a weekend and a public holiday, a ticket keeping its policy version after an edit,
and refusals that name the field."""
import pytest

# Shanghai office hours (UTC+8, no DST), China's public holidays opted in. In 2026, Friday
# September 25 is the Mid-Autumn Festival; September 26-27 is an ordinary weekend.
OFFICE = {"timezone": "Asia/Shanghai",
          "windows": {day: ["09:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
          "country_holidays": [{"country": "CN", "make_up_day_windows": ["09:00-18:00"]}]}
THURSDAY_17H = "2026-09-24T17:00:00+08:00"
EMAIL = {"name": "email", "position": 0, "conditions": {"channel": ["email"]},
         "targets": {"first_response": 120, "resolution": 600}, "calendar": OFFICE}
TICKET = {"subject": "Invoice missing", "channel": "email", "kind": "inquiry",
          "customer": {"name": "Li Lei", "contact": "li@example.com"}}


@pytest.fixture
def admin(start_platform, client):
    start_platform("ticketing")
    return client.login()


def url(client, path):
    return client.url("/api/v1/sla" + path)


def due_times(answer):
    return {clock["clock"]: (clock["warn_at"], clock["due_at"]) for clock in answer["clocks"]}


def test_the_preview_counts_business_time_across_a_holiday_and_a_weekend(admin, client):
    policy = admin.post(url(client, "/policies"), json=EMAIL).json()
    question = {"ticket": {"channel": "email", "kind": "inquiry"}, "created_at": THURSDAY_17H}
    answer = admin.post(url(client, "/preview"), json=question)
    assert answer.status_code == 200, answer.text
    assert answer.json()["policy"] == {"id": policy["id"], "name": "email", "version": 1, "draft": False}
    # Thursday 17:00-18:00 counts 1 h; Friday (holiday), Saturday and Sunday are closed; Monday opens at 09:00.
    # first response, 120 min: 60 on Thursday + 60 on Monday -> Mon 10:00 (+08:00) = 02:00 UTC;
    #   warning at 80%, 96 min: 60 + 36 -> Mon 09:36 = 01:36 UTC.
    # resolution, 600 min: 60 on Thursday + 540 on Monday (09:00-18:00) -> Mon 18:00 = 10:00 UTC;
    #   warning at 480 min: 60 + 420 -> Mon 16:00 = 08:00 UTC.
    assert due_times(answer.json()) == {
        "first_response": ("2026-09-28T01:36:00+00:00", "2026-09-28T02:00:00+00:00"),
        "resolution": ("2026-09-28T08:00:00+00:00", "2026-09-28T10:00:00+00:00")}

    # the same policy edited before saving: the Friday holiday is closed either way, but Saturday
    # 10:00-12:00 is worked: first response 60 + 60 -> Sat 11:00 = 03:00 UTC (warning 60 + 36 -> 02:36 UTC);
    # resolution 60 + 120 (Saturday) + 420 (Monday) -> Mon 16:00 = 08:00 UTC (warning 60 + 120 + 300 -> 06:00).
    draft = dict(EMAIL, calendar=dict(OFFICE, working_days=[{"date": "2026-09-26", "windows": ["10:00-12:00"]}]))
    answer = admin.post(url(client, "/preview"), json=dict(question, draft=draft, replacing=policy["id"]))
    assert answer.json()["policy"] == {"id": None, "name": "email", "version": None, "draft": True}
    assert due_times(answer.json()) == {
        "first_response": ("2026-09-26T02:36:00+00:00", "2026-09-26T03:00:00+00:00"),
        "resolution": ("2026-09-28T06:00:00+00:00", "2026-09-28T08:00:00+00:00")}
    assert admin.get(url(client, f"/policies/{policy['id']}")).json()["version"] == 1   # nothing saved


def test_a_ticket_keeps_its_policy_version_after_an_edit(admin, client):
    policy = admin.post(url(client, "/policies"), json=dict(EMAIL, calendar={"timezone": "UTC", "windows": {
        day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}})).json()
    ticket = admin.post(client.url("/api/v1/tickets"), json=TICKET).json()
    assert ticket["sla_policy"] == {"id": policy["id"], "name": "email", "version": 1}

    edited = admin.patch(url(client, f"/policies/{policy['id']}"), json={"targets": {"first_response": 15}})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["version"], edited.json()["targets"]) == (2, {"first_response": 15, "update": None, "resolution": None})

    again = admin.get(client.url(f"/api/v1/tickets/{ticket['id']}")).json()
    assert again["sla_policy"]["version"] == 1
    assert {c["clock"]: c["target_seconds"] for c in again["sla"]} == {"first_response": 7200, "resolution": 36000}
    newer = admin.post(client.url("/api/v1/tickets"), json=TICKET).json()
    assert newer["sla_policy"]["version"] == 2
    assert {c["clock"]: c["target_seconds"] for c in newer["sla"]} == {"first_response": 900}
    versions = admin.get(url(client, f"/policies/{policy['id']}/versions")).json()["items"]
    assert [(v["version"], v["targets"]) for v in versions] == [(1, {**EMAIL["targets"], "update": None}),
                                                                     (2, {"first_response": 15, "update": None, "resolution": None})]
    assert admin.get(url(client, f"/policies/{policy['id']}/versions/1")).json()["targets"] == {**EMAIL["targets"], "update": None}

    refused = admin.delete(url(client, f"/policies/{policy['id']}"))
    assert refused.status_code == 409 and "disable it instead" in refused.json()["error"]["details"]["policy"][0]
    disabled = admin.patch(url(client, f"/policies/{policy['id']}"), json={"enabled": False}).json()
    assert (disabled["enabled"], disabled["version"]) == (False, 2)


def test_a_policy_no_ticket_ran_on_is_deleted(admin, client):
    policy = admin.post(url(client, "/policies"), json=EMAIL).json()
    assert admin.delete(url(client, f"/policies/{policy['id']}")).status_code == 204
    assert admin.get(url(client, f"/policies/{policy['id']}")).status_code == 404


@pytest.mark.parametrize("change, details", [
    ({"calendar": dict(OFFICE, timezone="Asia/Atlantis")}, {"calendar": {"timezone": [
        "unknown time zone 'Asia/Atlantis'"]}}),
    ({"calendar": dict(OFFICE, windows={"mon": ["09:00-12:00", "11:30-18:00"]})}, {"calendar": {"windows": {
        "mon": ["window 11:30-18:00 overlaps the window before it"]}}}),
    ({"calendar": dict(OFFICE, windows={"mon": ["09:00-24:30"]})}, {"calendar": {"windows": {"mon": {
        "0": ["expected 'HH:MM-HH:MM' (an end up to 24:00)"]}}}}),
    ({"calendar": dict(OFFICE, holidays_country="CN")}, {"calendar": {"holidays_country": ["Unknown field."]}}),
    ({"calendar": dict(OFFICE, working_days=[{"date": "2026-09-26"}])}, {"calendar": {"working_days": {
        "0": {"windows": ["Missing data for required field."]}}}}),
    ({"conditions": {"language": ["en"]}}, {"conditions": {"language": ["Unknown field."]}}),
    ({"targets": {}}, {"targets": {"_schema": ["at least one of first_response, update, resolution"]}}),
])
def test_a_bad_policy_is_400_naming_the_field_and_the_reason(admin, client, change, details):
    response = admin.post(url(client, "/policies"), json=dict(EMAIL, **change))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"] == details

