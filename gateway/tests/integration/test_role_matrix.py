"""Every route against every role (X1, X6), generated from the route table:
``@router.api(..., roles=...)`` in gateway/routes and ``auth.ROLES``.

A role a route does not allow gets 403 naming the roles it does. A role it
allows is never refused (no 401 or 403) and causes no 5xx: with a request
from ``EXAMPLES`` it succeeds (2xx); without one it gets an empty body, so
validation (400), a missing resource (404) or a conflict (409) answers.
"""
import re
from datetime import date, datetime, timedelta, timezone

import eventlet

from gateway.api import routes
from gateway.auth import ROLES
from gateway.service import GatewayService

NOW = datetime.now(timezone.utc)
TODAY = date.today().isoformat()
# path values, 1 for other ids: the resources seeded below are the first of their kind
# no such watch rule: the rule routes' empty bodies (an empty edit, a deletion) would change what concurrent cells
# create, so they answer 404 after the role check
# (the same for canned responses and macros, which the cells' examples create)
# no such organisation either: the cells' own organisations (create_organisation) would be edited or deleted
# (nor such a view: the views each role saves meanwhile would be one role's and not another's)
PATH_VALUES = {"username": "{me}", "level": "specialist", "token": "no-such-rating-link", "rule_id": 1_000_000,
               "canned_id": 1_000_000, "macro_id": 1_000_000, "organisation_id": 1_000_000, "view_id": 1_000_000}
TEAM = "billing"  # every account's, so the seeded ticket is within each role's scope (test_ticket_scope: without)
TICKET = {"subject": "Parcel arrived damaged", "channel": "phone", "kind": "complaint",
          "customer": {"name": "Li Lei", "contact": "+86 138 0000 5678"}}

# routes that end the caller's session: asked last, once every other answer is in
SESSION_ENDERS = {"sign_out"}
# A request every allowed role succeeds with, by route: "query" or "json", formatted with the caller's
# username as {me} (each role's request is its own, so none gets in another's way).
EXAMPLES = {
    "me": {}, "list_tickets": {}, "get_ticket": {}, "list_ticket_messages": {}, "ticket_history": {},
    "list_callbacks": {}, "list_agents": {}, "list_accounts": {}, "list_sla_policies": {}, "get_article": {},
    "knowledge_gaps": {}, "list_webhooks": {}, "list_deliveries": {}, "customer_data_access": {},
    "list_courses": {}, "get_course": {}, "list_enrolments": {}, "list_certifications": {},
    "list_career_levels": {}, "agent_standing": {}, "list_question_categories": {}, "list_questions": {},
    "list_posts": {}, "list_watch_rules": {}, "list_opinion_alerts": {}, "ticket_counts": {}, "review_queue": {},
    "list_sentiment_models": {}, "list_mailboxes": {}, "get_mailbox": {}, "list_inbound": {},
    "create_mailbox": {"json": {"address": "{me}@shop.example.com"}},
    "update_mailbox": {"json": {"name": "Support"}},
    "take_raw_mail": {"raw": "From: {me} <{me}@example.net>\r\nTo: support@shop.example.com\r\nSubject: Parcel\r\n"
                             "Message-ID: <role-matrix-{me}@example.net>\r\n\r\nThe parcel is late.\r\n"},
    "list_ticket_deliveries": {}, "my_notifications": {}, "opinion_on_call": {},
    "list_canned_responses": {}, "list_macros": {},
    "create_canned_response": {"json": {"title": "Hello from {me}", "language": "en", "body": "Hello"}},
    "create_macro": {"json": {"title": "Tag by {me}", "actions": [{"action": "add_tags", "tags": ["{me}"]}]}},
    "preview_mail_template": {"query": {"kind": "survey", "language": "en"}},
    "set_my_notifications": {"json": {"email": "{me}@staff.example.com", "kinds": {"sla_warning": False}}},
    "set_opinion_on_call": {"json": {"usernames": ["{me}"]}},
    "list_customers": {}, "get_customer": {}, "customer_tickets": {}, "list_organisations": {}, "list_erasures": {},
    "create_customer": {"json": {"name": "Customer of {me}", "contacts": [
        {"kind": "email", "value": "{me}@customers.example.com"}]}},
    "create_organisation": {"json": {"name": "Organisation of {me}", "domains": ["{me}.example.org"]}},
    "list_kpi_definitions": {}, "list_templates": {}, "list_cycles": {}, "list_appeals": {},
    "health": {}, "metrics": {}, "openapi_document": {}, "deactivate_webhook": {}, "replay_appraisal": {},
    "delete_sla_policy": {},  # the seeded "urgent": no ticket here runs on it
    "sign_out": {},
    "list_views": {}, "create_view": {"json": {"name": "view of {me}", "query": {"assignee": "@me"}}},
    "ticket_presence": {}, "presence_heartbeat": {"json": {"activity": "viewing"}},
    "list_followers": {}, "follow_ticket": {"json": {}}, "unfollow_ticket": {}, "list_ticket_links": {},
    "search_articles": {"query": {"q": "refund"}},
    "kpis": {"query": {"agent": "{me}", "date_from": TODAY, "date_to": TODAY}},
    "opinion_report": {"query": {"since": (NOW - timedelta(days=7)).isoformat(), "until": NOW.isoformat()}},
    "opinion_report_csv": {}, "opinion_report_png": {},  # the last 7 days by default
    "create_ticket": {"json": dict(TICKET, subject="opened by {me}")},
    "preview_sla": {"json": {"ticket": {"channel": "phone", "kind": "complaint"}, "created_at": NOW.isoformat()}},
    "add_ticket_message": {"json": {"kind": "note", "body": "a note by {me}"}},
    "escalate_ticket": {"json": {"reason": "{me} asks for help"}},
    "schedule_callback": {"json": {"scheduled_for": (NOW + timedelta(days=1)).isoformat()}},
    "create_account": {"json": {"username": "new-{me}", "password": "password-123", "roles": ["agent"]}},
    "update_account": {"json": {"skills": ["en"]}},
    "set_duty": {"json": {"on_duty": False}},
    "create_article": {"json": {"title": "Refunds by {me}", "body": "How refunds work.", "category": "billing"}},
    "update_article": {"json": {"title": "Refunds", "body": "How refunds work, by {me}.", "category": "billing"}},
    "create_webhook": {"json": {"url": "http://127.0.0.1:9/{me}", "event_types": ["ticket.created"]}},
    "create_course": {"json": {"title": "Onboarding by {me}", "kind": "onboarding", "mode": "online",
                               "duration_hours": 8, "target_role": "agent"}},
    "create_question_category": {"json": {"name": "Products of {me}"}},
    "create_watch_rule": {"json": {"name": "brand of {me}", "query": "acme AND refund"}},
    "analyse_texts": {"json": {"texts": ["The parcel arrived broken"]}},
    "ingest_post": {"json": {"platform": "weibo", "external_id": "post-of-{me}", "text": "Acme refund is slow",
                             "posted_at": NOW.isoformat(), "author": {"id": "a-1", "name": "someone"}}},
    "create_kpi_definition": {"json": {"key": "courtesy_{me}", "name": "Courtesy", "category": "attitude",
                                       "source": "rated", "measure": "courtesy", "direction": "higher_better",
                                       "target": 100, "floor": 0}},
}


def seed(sessions, url):
    """The first ticket (the agent's, in the team of every account), article, webhook (the integration's),
    course, and mailbox (with a mail in its log, so deleting it meets its state: 409)."""
    for role, path, body in (
            ("admin", "/api/v1/tickets", dict(TICKET, assignee="agent", team=TEAM)),
            ("admin", "/api/v1/kb/articles", {"title": "Refunds", "body": "How refunds work.", "category": "billing"}),
            ("integration", "/api/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "event_types": ["ticket.created"]}),
            ("admin", "/api/v1/training/courses", {"title": "Onboarding", "kind": "onboarding", "mode": "online",
                                                   "duration_hours": 8, "target_role": "agent"})):
        response = sessions[role].post(url(path), json=body)
        assert response.status_code == 201, (path, response.text)
    assert sessions["admin"].post(url("/api/v1/channels/mailboxes"), json={"address": "support@shop.example.com"}
                                  ).status_code == 201
    mail = sessions["integration"].post(url("/api/v1/channels/mailboxes/1/inbound"), headers={
        "Content-Type": "message/rfc822"}, data=b"From: a@example.net\r\nSubject: x\r\nMessage-ID: <seed@x>\r\n\r\nx")
    assert mail.status_code == 201, mail.text


def formatted(value, me):
    if isinstance(value, str):
        return value.format(me=me)
    if isinstance(value, dict):
        return {key: formatted(item, me) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(formatted(item, me) for item in value)
    return value


def request_of(name, entrypoint, me):
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda match: str(PATH_VALUES.get(match.group(1), 1)), entrypoint.url)
    example = EXAMPLES.get(name, {"json": {}} if entrypoint.body_schema else {})
    path, example = formatted((path, example), me)
    if "raw" in example:  # a route whose body is a document of its media type (a mail), not JSON
        return entrypoint.method, path, None, {"data": example["raw"].encode(),
                                                "headers": {"Content-Type": entrypoint.raw.media_type}}
    return entrypoint.method, path, example.get("query"), {"json": example.get("json")}


def outcome(entrypoint, name, role, response):
    """What is wrong with the answer, or None."""
    if entrypoint.roles is not None and role not in entrypoint.roles:
        error = response.json().get("error", {}) if response.status_code == 403 else {}
        return None if error.get("details") == {"roles": list(entrypoint.roles)} else "expected 403 naming the roles"
    if name in EXAMPLES:
        return None if 200 <= response.status_code < 300 else "expected 2xx"
    return None if response.status_code in (400, 404, 409) else "expected 400, 404 or 409 past the role check"


def test_every_route_answers_every_role_as_its_roles_say(start_platform, client, make_account):
    start_platform()
    pool = eventlet.GreenPool(len(ROLES))  # no request depends on another's answer: they may go at once
    staff = [role for role in ROLES if role != "admin"]
    sessions = dict(zip(staff, pool.imap(lambda role: make_account(role, [role], teams=[TEAM]), staff)),
                    admin=client.login())
    seed(sessions, client.url)

    def ask(name, entrypoint, role):
        method, path, query, body = request_of(name, entrypoint, me=role)  # each account is named after its role
        response = sessions[role].request(method, client.url(path), params=query, **body)
        problem = outcome(entrypoint, name, role, response)
        return problem and f"{method} {path} as {role}: {response.status_code} {response.text[:160]} ({problem})"

    matrix = [(name, entrypoint, role) for name, entrypoint in routes(GatewayService) for role in ROLES]
    wrong = [problem for last in (False, True) for problem in pool.starmap(
        ask, [case for case in matrix if (case[0] in SESSION_ENDERS) == last]) if problem]
    assert not wrong, "\n".join(wrong)
