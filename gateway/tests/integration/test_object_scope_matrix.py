"""Object scope (X1), generated from the route table like test_role_matrix: every route whose path
names an object (an id, a username, a level, a token), against every role the route admits, on an
object inside the caller's scope and on its twin outside it.

``ROUTE_KINDS`` names the kind of object each such route takes (a new route fails the test until
it is classified there). ``EVERY_OBJECT`` says which roles reach every object of a scoped kind,
``TEAMMATE`` what a teammate's twin is to a role, and ``GLOBAL`` lists the kinds no caller's scope
narrows. Twins are one object for different people (``SIDES``): ann's in billing, whose supervisor
is sue; bob's in tech; amy's, ann's teammate; crm's and erp's webhooks.

Outside the caller's scope an object is 404, as if it did not exist; a teammate's ticket an agent
only reads is 403 on every route that changes it. Inside (and anywhere for a role reaching every
object) the request succeeds, or meets the object's state (409: the cells run at once, so a ticket
one role resolved another cannot resolve again).
"""
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import eventlet
import requests

from gateway.api import routes
from gateway.auth import ROLES
from gateway.service import GatewayService
from plumbing.testing import wait_for

ANONYMOUS = "anonymous"  # the caller of a public route: no token
ACCOUNTS = {"ann": (["agent"], ["billing"]), "amy": (["agent"], ["billing"]), "bob": (["agent"], ["tech"]),
            "sue": (["supervisor"], ["billing"]), "tim": (["trainer"], []), "cleo": (["committee"], []),
            "crm": (["integration"], []), "erp": (["integration"], [])}
CALLER = {"agent": "ann", "supervisor": "sue", "trainer": "tim", "committee": "cleo", "admin": "admin",
          "integration": "crm", ANONYMOUS: None}
# whose each side's twin is; the teammate's only for the kinds in TEAMMATE
SIDES = {"inside": {"agent": "ann", "team": "billing", "integration": "crm"},
         "outside": {"agent": "bob", "team": "tech", "integration": "erp"},
         "teammate's": {"agent": "amy", "team": "billing"}}
TWINS = ("inside", "outside")

TICKETS = ("ticket", "complaint", "suggestion", "duplicate", "resolved ticket", "callback", "attachment")
TRAINING = ("enrolment", "attempt", "certification")
# a ticket as a reader acts on it (presence, following): to an agent, a teammate's as her own
READER_ACTS = "ticket, reader's"
# scoped kinds -> the roles that reach every object of the kind (to the others the outside twin is 404)
EVERY_OBJECT = {
    **{kind: ("admin", "integration") for kind in TICKETS},  # ticketing.tickets.rules.ticket_scope
    "webhook": ("admin",),  # an integration its own
    **{kind: ("trainer", "committee", "admin") for kind in (*TRAINING, "person")},  # gateway.scope.people_in_view
    "account": ("admin",),  # a supervisor: her teams' agents'
    "appeal": ("committee", "admin"),  # anyone else their own, by no route that names one
    "rating link": (),  # the token is the key: only a link's current token opens it
    # a team's (the twins): its members' to use and change; a personal one, only its owner's (macros.rules)
    "canned response": ("admin",), "macro": ("admin",),
    # what a reader does on a ticket (presence, following): a teammate's as on her own
    READER_ACTS: ("admin", "integration"),
    "view": ("admin",),  # personal views: their owner's (shared ones: tests/integration/test_workspace.py)
}
# what ann's teammate's twin is to a role, where it is not as one inside: an agent reads her teammates'
# tickets but changes only her own (403 on a route that changes one: a rule about an object she sees);
# she sees her own training and standing, not her teammates' (404)
READ_ONLY = "read-only"
TEAMMATE = {**{kind: {"agent": READ_ONLY} for kind in TICKETS}, READER_ACTS: {},
            **{kind: {"agent": "404"} for kind in (*TRAINING, "person")}}
# kinds no caller's scope narrows: every role a route admits reaches every such object
GLOBAL = ("course", "module", "question", "kpi definition", "template", "career level", "article", "post", "opinion alert",
          "watch rule", "cycle", "sla policy", "mailbox", "customer", "organisation")

ROUTE_KINDS = {
    "get_ticket": "ticket", "list_ticket_messages": "ticket", "ticket_history": "ticket",
    "list_ticket_deliveries": "ticket",
    "change_ticket_state": "ticket", "assign_ticket": "ticket", "escalate_ticket": "ticket",
    "add_ticket_message": "ticket", "record_complaint": "ticket", "schedule_callback": "ticket",
    "edit_ticket": "ticket", "apply_macro": "ticket",
    "get_canned_response": "canned response", "update_canned_response": "canned response",
    "delete_canned_response": "canned response", "render_canned_response": "canned response",
    "get_macro": "macro", "update_macro": "macro", "delete_macro": "macro",
    "ticket_presence": "ticket", "list_followers": "ticket", "list_ticket_links": "ticket", "link_ticket": "ticket",
    "unlink_ticket": "ticket",  # from the side's ticket its duplicate (HOLDERS)
    "presence_heartbeat": READER_ACTS, "follow_ticket": READER_ACTS, "unfollow_ticket": READER_ACTS,
    "get_view": "view", "update_view": "view", "delete_view": "view", "view_tickets": "view",
    "download_attachment": "attachment",
    "get_complaint": "complaint", "coordinate_complaint": "complaint", "report_complaint_result": "complaint",
    "complaint_verdict": "complaint",
    "forward_suggestion": "suggestion", "decide_suggestion": "suggestion",
    "merge_ticket": "duplicate",
    "issue_rating_link": "resolved ticket",
    "record_callback_outcome": "callback",
    "submit_rating": "rating link", "show_rating_page": "rating link", "submit_rating_page": "rating link",
    "deactivate_webhook": "webhook", "list_deliveries": "webhook",
    "get_enrolment": "enrolment", "record_attendance": "enrolment", "record_progress": "enrolment",
    "grant_override": "enrolment", "start_attempt": "enrolment",
    "get_attempt": "attempt", "save_answers": "attempt", "submit_attempt": "attempt", "assess_attempt": "attempt",
    "revoke_certification": "certification",
    "agent_standing": "person", "update_account": "account", "reset_password": "account",
    "investigate_appeal": "appeal", "decide_appeal": "appeal",
    "get_course": "course", "add_course_module": "course", "enrol": "course",
    "update_course_module": "module", "delete_course_module": "module",
    "update_kpi_definition": "kpi definition", "delete_kpi_definition": "kpi definition",
    "update_template": "template",
    "set_question_active": "question",
    "set_career_level": "career level",
    "get_article": "article", "update_article": "article",
    "get_post": "post", "correct_sentiment": "post",
    "get_opinion_alert": "opinion alert", "change_opinion_alert_state": "opinion alert",
    "add_opinion_alert_action": "opinion alert", "add_opinion_alert_note": "opinion alert",
    "update_watch_rule": "watch rule", "delete_watch_rule": "watch rule",  # matched posts: 409, it stays
    "get_sla_policy": "sla policy", "update_sla_policy": "sla policy", "delete_sla_policy": "sla policy",
    "list_sla_policy_versions": "sla policy", "get_sla_policy_version": "sla policy",
    # a mailbox is the platform's, admins' to manage and an integration's to pipe mail to
    "get_mailbox": "mailbox", "update_mailbox": "mailbox", "delete_mailbox": "mailbox", "take_raw_mail": "mailbox",
    # a cycle is every reader's; the result and the appeal these two name are the caller's own by construction
    "get_cycle": "cycle", "advance_cycle": "cycle", "audit_trail": "cycle", "list_results": "cycle",
    "my_result": "cycle", "file_appeal": "cycle",
    # every customer-reading role finds every customer (an agent sees one masked unless a ticket of theirs is
    # the customer's: a rule about what is shown, not whom); merging and erasing are an admin's
    "get_customer": "customer", "update_customer": "customer", "customer_tickets": "customer",
    "merge_customer": "customer", "erase_customer": "customer",
    "get_organisation": "organisation", "update_organisation": "organisation", "delete_organisation": "organisation",
}
# routes that delete what they name: each cell deletes a twin made for it alone (fresh_twin), so that
# the other cells still find theirs
FRESH = {"delete_canned_response": "canned response", "delete_macro": "macro"}
# (route, role, side) cells that answer wrongly while a fix is under way: such a cell fails the test once
# it answers rightly, so its entry goes with the change that fixes it
PENDING = {}
# the twin accounts changed: amy's (sue's team) and bob's, whom nobody signs in as while the cells run
ACCOUNT_TWINS = {"inside": "amy", "outside": "bob"}

NOW = datetime.now(timezone.utc)
SOON = (NOW + timedelta(days=1)).isoformat()
# a valid body for each route that takes one, from the values of the side (the twin's objects and owner)
BODIES = {
    "change_ticket_state": lambda v: {"state": "in_progress"},
    "assign_ticket": lambda v: {"assignee": v["agent"]},  # its owner again: the twin stays the side's
    "escalate_ticket": lambda v: {"reason": "needs a supervisor"},
    "edit_ticket": lambda v: {"tags": ["checked"]},  # If-Match: * (every conditional route's cells send it)
    "apply_macro": lambda v: {"macro_id": v["macro"]},  # the side's macro: it tags the ticket
    "update_canned_response": lambda v: {"title": "Sorry, revised"},
    "render_canned_response": lambda v: {"ticket_id": v["ticket"]},
    "update_macro": lambda v: {"title": "Tag it, revised"},
    "add_ticket_message": lambda v: {"kind": "note", "body": "checked the parcel"},
    "record_complaint": lambda v: {"issue": "broken", "demand": "refund", "occurred_at": NOW.isoformat(),
                                   "category": "delivery"},
    "schedule_callback": lambda v: {"scheduled_for": SOON},
    "coordinate_complaint": lambda v: {"department": "logistics", "note": "asked the carrier"},
    "report_complaint_result": lambda v: {"result": "refunded"},
    "complaint_verdict": lambda v: {"satisfied": True},
    "forward_suggestion": lambda v: {"department": "product"},
    "decide_suggestion": lambda v: {"adopted": True, "decision": "we will do it"},
    "merge_ticket": lambda v: {"into": v["ticket"]},
    "record_callback_outcome": lambda v: {"outcome": "reached"},
    "submit_rating": lambda v: {"score": 5},
    "record_attendance": lambda v: {"module_id": v["session module"], "attended": True},
    "record_progress": lambda v: {"module_id": v["content module"], "percent": 50},
    "grant_override": lambda v: {"module_id": v["exam module"], "reason": "a second chance"},
    "start_attempt": lambda v: {"module_id": v["exam module"]},
    "save_answers": lambda v: {"answers": {}},
    "submit_attempt": lambda v: {"answers": {}},
    "assess_attempt": lambda v: {"parts": {"practical": 80}},
    "revoke_certification": lambda v: {"reason": "issued in error"},
    "update_account": lambda v: {"skills": ["en"]},
    "reset_password": lambda v: {"new_password": "another-password-123"},
    "investigate_appeal": lambda v: {},
    "decide_appeal": lambda v: {"decision": "rejected", "reason": "the score stands"},
    "add_course_module": lambda v: {"title": "Returns policy", "kind": "content"},
    # a module of a started course: the first edit makes a new version, later ones (and deleting) meet 409
    "update_course_module": lambda v: {"title": "Returns policy, revised"},
    # the published cycle keeps the rule it was planned with: these change nothing the other cells read
    "update_kpi_definition": lambda v: {"description": "Courtesy phrases heard in the call"},
    "update_template": lambda v: {"name": "Rated"},  # deleting its KPI definition meets 409: the template names it
    "enrol": lambda v: {"agent": v["agent"], "reason": "new product"},
    "set_question_active": lambda v: {"active": True},
    "set_career_level": lambda v: {"certifications": []},
    "update_article": lambda v: {"title": "Refunds", "body": "How refunds work, again.", "category": "billing"},
    "correct_sentiment": lambda v: {"sentiment": "neutral"},
    "change_opinion_alert_state": lambda v: {"state": "acknowledged"},
    "add_opinion_alert_action": lambda v: {"action": "reply_clarify", "note": "replied under the post"},
    "add_opinion_alert_note": lambda v: {"note": "watching it"},
    "update_watch_rule": lambda v: {"name": "delivery", "query": "外卖 OR delivery"},
    "update_sla_policy": lambda v: {"warn_share": 0.8},
    "presence_heartbeat": lambda v: {"activity": "viewing"},
    "follow_ticket": lambda v: {},
    "link_ticket": lambda v: {"ticket_id": v["duplicate"], "kind": "related"},  # later cells: 409, linked already
    "update_view": lambda v: {"name": "renamed"},
    "update_mailbox": lambda v: {"name": "Support"},
    # the customer is merged into its twin and erased, one of them first: the other meets its state (409),
    # as an edit after either does; reading it follows the merge's redirect
    "update_customer": lambda v: {"language": "en"},
    "merge_customer": lambda v: {"into": v["surviving customer"]},
    "erase_customer": lambda v: {"confirm": True},
    "update_organisation": lambda v: {"tier": "gold"},
    # bytes: the body of a route that takes a document of its media type (a mail), not JSON
    "take_raw_mail": lambda v: b"From: a@example.net\r\nSubject: x\r\nMessage-ID: <scope@x>\r\n\r\nThe parcel.",  # as it is: changes nothing the other cells read
    "advance_cycle": lambda v: {"action": "start"},  # the cycle is published: 409 names the actions left
    "file_appeal": lambda v: {"items": ["courtesy"], "reason": "the sampled call was a fraud attempt"},
}

TICKET = {"subject": "Parcel arrived damaged", "channel": "phone", "kind": "complaint",
          "customer": {"name": "Li Lei", "contact": "+86 138 0000 5678"}}
COURSE = {"kind": "special", "mode": "in_person", "duration_hours": 2, "target_role": "agent"}
STORY = "外卖后厨卫生太差，操作台上有老鼠，顾客吃完身体不适，商家至今没有回应"
PATH_VALUE = re.compile(r"<(?:\w+:)?(\w+)>")
# path values that number a part of the object the route names, not another object: a policy's version
PARTS = {"version": 1}
# path values that name the object holding the one a route names, by kind: an attachment's ticket (the
# side's value under the name given here), whose scope is the attachment's
HOLDERS = {"attachment": {"ticket_id": "attachment's ticket"}, READER_ACTS: {"ticket_id": "ticket"},
           "ticket": {"linked_id": "duplicate"}}


@dataclass(frozen=True)
class Cell:
    route: str
    role: str
    side: str
    expected: str  # "404", "403", or "seen": 2xx or 409


# the form each page route (HTML for the customer, gateway.pages) posts
PAGE_FORMS = {"submit_rating_page": {"score": "5"}}


def ok(response, status=200):
    assert response.status_code == status, (response.request.method, response.request.url, response.text)
    return response.json()


def id_taking_routes():
    return {name: entrypoint for name, entrypoint in routes(GatewayService) if PATH_VALUE.search(entrypoint.url)}


def test_every_route_that_names_an_object_is_classified():
    taking = id_taking_routes()
    assert set(taking) - set(ROUTE_KINDS) == set(), "classify these routes in ROUTE_KINDS"
    assert set(ROUTE_KINDS) - set(taking) == set(), "these routes are gone or name no object now"
    assert set(ROUTE_KINDS.values()) == set(EVERY_OBJECT) | set(GLOBAL) and not set(EVERY_OBJECT) & set(GLOBAL)
    two = {name: entrypoint.url for name, entrypoint in taking.items()
           if len(set(PATH_VALUE.findall(entrypoint.url)) - set(PARTS) - set(HOLDERS.get(ROUTE_KINDS[name], ()))) > 1}
    assert not two, "a route naming two objects needs a side for each"
    assert {name for name, entrypoint in taking.items() if entrypoint.body_schema or entrypoint.raw} == set(BODIES)


# -- the twins and the global objects -------------------------------------------------------------------
def seed_tickets(url, people):
    """On each side: a ticket (a complaint, not recorded yet), one with its complaint recorded, a suggestion,
    a duplicate, a resolved ticket, a callback; and ann's rating link: its current token inside, outside
    the token that one replaced."""
    admin, seeds = people["admin"], {}

    def opened(agent, team, **fields):
        return ok(admin.post(url("/api/v1/tickets"), json=dict(TICKET, assignee=agent, team=team, **fields)),
                  201)["id"]

    def resolved(ticket):
        ok(admin.post(url(f"/api/v1/tickets/{ticket}/state"), json={"state": "resolved"}))
        return ticket

    for side, values in SIDES.items():
        agent, team = values["agent"], values["team"]
        twins = seeds[side] = {kind: opened(agent, team) for kind in ("ticket", "complaint", "duplicate")}
        twins.update({"suggestion": opened(agent, team, kind="suggestion"),
                      "resolved ticket": resolved(opened(agent, team))})
        ok(admin.post(url(f"/api/v1/tickets/{twins['complaint']}/complaint"), json=BODIES["record_complaint"](twins)),
           201)
        twins["callback"] = ok(admin.post(url(f"/api/v1/tickets/{twins['ticket']}/callbacks"),
                                          json=BODIES["schedule_callback"](twins)), 201)["id"]
        [attached] = ok(admin.post(url(f"/api/v1/tickets/{twins['ticket']}/messages"), data={
            "kind": "note", "body": "the customer's photo"}, files={"attachments": ("parcel.txt", b"a photo")}),
            201)["attachments"]
        twins.update({"attachment": attached["id"], "attachment's ticket": twins["ticket"]})
    link = url(f"/api/v1/tickets/{resolved(opened('ann', 'billing'))}/rating-link")
    for side in ("outside", "inside"):  # the second link replaces the first
        seeds[side]["rating link"] = ok(people["crm"].post(link), 201)["rating_token"]
    return seeds


def twin_of(url, admin, kind, side):
    """A canned response or macro of the side's team (shared with it, as the twins are)."""
    team = SIDES[side]["team"]
    if kind == "canned response":
        return ok(admin.post(url("/api/v1/canned-responses"), json={
            "title": "Sorry", "language": "en", "visibility": "team", "team": team,
            "body": "Dear {{ customer.name }}, sorry about ticket {{ ticket.id }}."}), 201)["id"]
    return ok(admin.post(url("/api/v1/macros"), json={
        "title": "Tag it", "visibility": "team", "team": team, "actions": [{"action": "add_tags", "tags": ["seen"]}]}),
        201)["id"]


def seed_workspace(url, people):
    """On each side: a canned response and a macro of the side's team; the teammate's ticket is applied
    the inside one."""
    seeds = {side: {kind: twin_of(url, people["admin"], kind, side) for kind in ("canned response", "macro")}
             for side in TWINS}
    return dict(seeds, **{"teammate's": {"macro": seeds["inside"]["macro"]}})


def seed_webhooks(url, people):
    return {side: {"webhook": ok(people[SIDES[side]["integration"]].post(url("/api/v1/webhooks"), json={
        "url": f"http://127.0.0.1:9/{side}", "event_types": ["ticket.created"]}), 201)["id"]} for side in TWINS}


def seed_training(url, people):
    """On each side: an enrolment in a course of content, a session and an exam, an attempt at the exam, and
    a certification (of a course of one session, attended); a course, a question, a level and a module of
    the started course for all."""
    tim = people["tim"]

    def course(title, **more):
        return ok(tim.post(url("/api/v1/training/courses"), json=dict(COURSE, title=title, **more)), 201)["id"]

    def module(course_id, kind, **more):
        return ok(tim.post(url(f"/api/v1/training/courses/{course_id}/modules"),
                           json=dict(title=f"{kind} of {course_id}", kind=kind, **more)), 201)["id"]

    def enrolment(course_id, agent):
        return ok(tim.post(url(f"/api/v1/training/courses/{course_id}/enrolments"),
                           json={"agent": agent, "reason": "new hire"}), 201)["items"][0]["id"]

    returns, safety = course("Returns"), course("Safety", certification="safety", certification_validity_days=365)
    exam = {"parts": [{"kind": "practical", "weight": 100}], "pass_mark": 60, "max_attempts": 3}
    modules = {f"{kind} module": module(returns, kind, **({"exam": exam} if kind == "exam" else {}))
               for kind in ("content", "session", "exam")}
    safety_session = module(safety, "session")
    category = ok(tim.post(url("/api/v1/training/question-categories"), json={"name": "policy"}), 201)["id"]
    question = ok(tim.post(url("/api/v1/training/questions"), json={
        "category_id": category, "kind": "true_false", "prompt": "Refunds within 7 days?", "correct": True}), 201)
    seeds = {side: dict(modules) for side in SIDES}
    seeds["inside"].update({"course": course("Products"), "question": question["id"], "career level": "manager",
                            "module": module(returns, "content")})
    for side, values in SIDES.items():
        agent = values["agent"]
        seeds[side]["enrolment"] = enrolment(returns, agent)
        ok(tim.post(url(f"/api/v1/training/enrolments/{enrolment(safety, agent)}/attendance"),
                    json={"module_id": safety_session, "attended": True}))
        seeds[side]["attempt"] = ok(people[agent].post(
            url(f"/api/v1/training/enrolments/{seeds[side]['enrolment']}/attempts"),
            json={"module_id": modules["exam module"]}), 201)["id"]
        [certification] = ok(tim.get(url("/api/v1/training/certifications"), params={"agent": agent}))["items"]
        seeds[side]["certification"] = certification["id"]
    return seeds


def seed_appraisal(url, people):
    """A published cycle in which every appraisal reader has a result of their own (the committee rates
    them, an admin the committee), and each twin's appeal."""
    cleo = people["cleo"]
    ok(cleo.post(url("/api/v1/appraisal/kpi-definitions"), json={
        "key": "courtesy", "name": "Courtesy", "category": "attitude", "source": "rated", "measure": "courtesy",
        "direction": "higher_better", "target": 100, "floor": 0}), 201)
    template = ok(cleo.post(url("/api/v1/appraisal/templates"), json={
        "name": "Rated", "role": "agent", "period_type": "monthly", "items": [{"kpi": "courtesy", "weight": 100}],
        "reviewer_weights": {"quality": 100}, "bands": [{"grade": "A", "min_score": 0}]}), 201)["id"]
    cycle = ok(cleo.post(url("/api/v1/appraisal/cycles"), json={
        "template_id": template, "period_start": date.today().replace(day=1).isoformat()}), 201)["id"]
    steps = url(f"/api/v1/appraisal/cycles/{cycle}/transitions")
    ok(cleo.post(steps, json={"action": "start"}))
    for rater, rated in (("cleo", "ann"), ("cleo", "bob"), ("cleo", "sue"), ("cleo", "admin"), ("admin", "cleo")):
        ok(people[rater].post(url("/api/v1/appraisal/ratings"), json={
            "cycle_id": cycle, "agent": rated, "reviewer_role": "quality", "scores": {"courtesy": 80}}), 201)
    for action in ("compute", "review", "publish"):
        ok(cleo.post(steps, json={"action": action}))
    appeals = url(f"/api/v1/appraisal/cycles/{cycle}/appeals")
    return {side: {"appeal": ok(people[SIDES[side]["agent"]].post(appeals, json=BODIES["file_appeal"]({})),
                                201)["id"]} for side in TWINS} | {"global": {
        "cycle": cycle, "template": template, "kpi definition": "courtesy"}}


def seed_monitoring(url, people):
    """A watch rule, and a dozen posts of one story, which raise an alert."""
    admin = people["admin"]
    rule = ok(admin.post(url("/api/v1/monitoring/rules"), json={"name": "外卖", "query": "外卖 OR delivery"}), 201)
    posts = [{"platform": "weibo", "external_id": f"s{n}", "text": f"转发微博 //@网友{n}: {STORY}",
              "author": {"id": f"u{n}", "name": "网友", "followers": 100},
              "posted_at": (NOW - timedelta(minutes=1)).isoformat()} for n in range(12)]
    posts[0].update(reposts=120, comments=40, likes=300, author={
        "id": "m1", "name": "都市快报", "followers": 3_000_000, "verified": True, "kind": "media"})
    post = ok(admin.post(url("/api/v1/monitoring/posts/batch"), json={"posts": posts}))["items"][0]["id"]
    alerts = wait_for(lambda: ok(admin.get(url("/api/v1/monitoring/alerts")))["items"], message="the story's alert")
    return {"global": {"watch rule": rule["id"], "post": post, "opinion alert": alerts[0]["id"]}}


def seed_channels(url, people):
    """A mailbox with a mail in its log, so deleting it meets its state (409) while the other cells read it."""
    mailbox = ok(people["admin"].post(url("/api/v1/channels/mailboxes"), json={"address": "support@shop.example.com"}),
                 201)
    ok(people["crm"].post(url(f"/api/v1/channels/mailboxes/{mailbox['id']}/inbound"), data=b"From: b@example.net\r\n"
                          b"Subject: y\r\nMessage-ID: <seed@y>\r\n\r\ny", headers={"Content-Type": "message/rfc822"}),
       201)
    return {"global": {"mailbox": mailbox["id"]}}


def seed_customers(url, people):
    """A customer in an organisation (so deleting it meets its state: 409), and the customer it merges into."""
    admin = people["admin"]
    organisation = ok(admin.post(url("/api/v1/organisations"), json={"name": "Acme", "domains": ["acme.example"]}),
                      201)

    def customer(name, address):
        return ok(admin.post(url("/api/v1/customers"), json={
            "name": name, "organisation_id": organisation["id"], "contacts": [{"kind": "email", "value": address}]}),
            201)["id"]
    return {"global": {"organisation": organisation["id"], "customer": customer("Li Lei", "li@acme.example"),
                       "surviving customer": customer("Lei Li", "lei@acme.example")}}


def seed_knowledge(url, people):
    return {"global": {"article": ok(people["admin"].post(url("/api/v1/kb/articles"), json={
        "title": "Refunds", "body": "How refunds work.", "category": "billing"}), 201)["id"]}}


def seed_sla(url, people):
    """An SLA policy a ticket runs on, so deleting it meets its state (409) while the other cells read it."""
    admin = people["admin"]
    policy = ok(admin.post(url("/api/v1/sla/policies"), json={
        "name": "matrix", "position": 0, "conditions": {"channel": ["chat"]}, "targets": {"first_response": 60},
        "calendar": {"timezone": "UTC", "windows": {"mon": ["09:00-17:00"]}}}), 201)
    ticket = ok(admin.post(url("/api/v1/tickets"), json=dict(TICKET, channel="chat")), 201)
    assert ticket["sla_policy"]["id"] == policy["id"]
    return {"global": {"sla policy": policy["id"]}}


VIEW_ROUTES = ("get_view", "update_view", "delete_view", "view_tickets")
VIEW_OWNERS = {"agent": "ann", "supervisor": "sue", "admin": "admin"}  # inside: the role's own; outside: bob's


def seed_views(url, people):
    """A personal view for each cell (a deletion would take a shared one from the other cells)."""
    def made(owner, route, role):
        return ok(people[owner].post(url("/api/v1/views"), json={"name": f"{route} as {role}"}), 201)["id"]
    return {side: {"view": {(route, role): made(VIEW_OWNERS[role] if side == "inside" else "bob", route, role)
                            for route in VIEW_ROUTES for role in VIEW_OWNERS}} for side in TWINS}


def seeded(url, people, pool):
    """{side: {kind: its path value, and what bodies use}}; the global objects are inside."""
    seeds = {side: dict(values, person=values["agent"], account=ACCOUNT_TWINS.get(side))
             for side, values in SIDES.items()}
    parts = [pool.spawn(seed, url, people) for seed in (
        seed_tickets, seed_workspace, seed_webhooks, seed_training, seed_appraisal, seed_monitoring, seed_knowledge,
        seed_sla, seed_channels, seed_customers, seed_views)]
    for part in parts:
        for side, values in part.wait().items():
            seeds["inside" if side == "global" else side].update(values)
    return seeds


# -- the matrix -----------------------------------------------------------------------------------------
def cells():
    for name, entrypoint in sorted(id_taking_routes().items()):
        kind = ROUTE_KINDS[name]
        sides = ("inside",) if kind in GLOBAL else (*TWINS, "teammate's") if kind in TEAMMATE else TWINS
        for role in entrypoint.roles or (ANONYMOUS,):
            for side in sides:
                teammate = TEAMMATE.get(kind, {}).get(role) if side == "teammate's" else None
                if (side == "outside" and role not in EVERY_OBJECT[kind]) or teammate == "404":
                    expected = "404"
                elif teammate == READ_ONLY and entrypoint.method != "GET":
                    expected = "403"
                else:
                    expected = "seen"
                yield Cell(name, role, side, expected)


def per_cell(cell, value):
    """A seed made for each cell (``seed_views``), or the side's one."""
    return value[(cell.route, cell.role)] if isinstance(value, dict) else value


def wrong(cell, response):
    """What is wrong with the answer, or None."""
    if response.status_code < 400:
        code = None
    elif response.headers.get("Content-Type", "").startswith("text/html"):  # a page's: its status says
        code = {403: "forbidden", 404: "not_found"}.get(response.status_code)
    else:
        code = response.json().get("error", {}).get("code")
    if cell.expected == "404":
        return None if code == "not_found" else "expected 404: outside the caller's scope"
    if cell.expected == "403":
        return None if code == "forbidden" else "expected 403: a teammate's, hers to read, not to change"
    return None if 200 <= response.status_code < 300 or response.status_code == 409 else "expected 2xx or 409"


def table(answers, problems):
    """Routes by role: the statuses inside/outside/on a teammate's twin, ! where wrong."""
    roles = [*ROLES, ANONYMOUS]
    lines = ["statuses inside/outside/teammate's, ! where wrong",
             f"{'route':26} {'kind':15} " + " ".join(f"{role[:11]:11}" for role in roles)]
    for name in sorted({cell.route for cell in answers}):
        shown = ["/".join(f"{status}{'!' if cell in problems else ''}" for cell, status in answers.items()
                          if (cell.route, cell.role) == (name, role)) or "." for role in roles]
        kind = ("global " if ROUTE_KINDS[name] in GLOBAL else "") + ROUTE_KINDS[name]
        lines.append(f"{name:26} {kind[:15]:15} " + " ".join(f"{status:11}" for status in shown))
    return "\n".join(lines)


def test_every_role_reaches_the_objects_in_its_scope_and_no_others(start_platform, client, make_account):
    start_platform()
    pool = eventlet.GreenPool(len(ACCOUNTS))  # no request depends on another's answer: they may go at once
    people = dict(zip(ACCOUNTS, pool.starmap(lambda name, roles, teams: make_account(name, roles, teams=teams),
                                             ((name, *spec) for name, spec in ACCOUNTS.items()))),
                  admin=client.login())
    seeds = seeded(client.url, people, pool)
    sessions = {role: people[name] if name else requests.Session() for role, name in CALLER.items()}
    taking = id_taking_routes()

    def ask(cell):
        entrypoint, values = taking[cell.route], seeds[cell.side]
        kind = ROUTE_KINDS[cell.route]
        holders = HOLDERS.get(kind, {})
        if cell.route in FRESH:
            values = dict(values, **{kind: twin_of(client.url, people["admin"], kind, cell.side)})
        path = PATH_VALUE.sub(lambda value: str(per_cell(cell, PARTS.get(
            value[1], values[holders.get(value[1], kind)]))), entrypoint.url)
        body = BODIES[cell.route](values) if cell.route in BODIES else None
        sent = {"data": body, "headers": {"Content-Type": entrypoint.raw.media_type}} if isinstance(body, bytes) \
            else {"data": PAGE_FORMS.get(cell.route)} if entrypoint.page else {"json": body}
        if entrypoint.conditional:  # on whatever version the object is at: the cells change it at once
            sent["headers"] = {"If-Match": "*"}
        return cell, sessions[cell.role].request(entrypoint.method, client.url(path), **sent)

    answers, problems = {}, {}
    for cell, response in pool.imap(ask, list(cells())):
        answers[cell] = response.status_code
        problem, pending = wrong(cell, response), PENDING.get((cell.route, cell.role, cell.side))
        if problem and not pending:
            problems[cell] = f"{response.request.method} {response.request.path_url}: {response.text[:160]} ({problem})"
        elif pending and not problem:
            problems[cell] = f"answers rightly now: remove it from PENDING ({pending})"
    assert not problems, table(answers, problems) + "\n\n" + "\n".join(
        f"{cell.route} as {cell.role}, {cell.side}: {problem}" for cell, problem in problems.items())
