"""The customer's rating page (T6, W2): the survey's link, served by the gateway, no account.
GET shows the form and records nothing; POST records once; the page's headers keep the token in."""
import logging

import pytest
import requests

TICKET = {"subject": "Parcel arrived damaged", "channel": "email", "kind": "complaint",
          "customer": {"name": "Li Lei", "contact": "lilei@example.net"}}
HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
           "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@pytest.fixture
def link(start_platform, client, make_account):
    """A resolved ticket's rating link: (its ticket id, its token), and the admin's session."""
    start_platform("ticketing")
    admin = client.login()
    crm = make_account("crm", ["integration"])
    ticket = admin.post(client.url("/api/v1/tickets"), json=TICKET).json()["id"]
    assert admin.post(client.url(f"/api/v1/tickets/{ticket}/state"), json={"state": "resolved"}).status_code == 200
    issued = crm.post(client.url(f"/api/v1/tickets/{ticket}/rating-link"))
    assert issued.status_code == 201, issued.text
    return ticket, issued.json()["rating_token"], admin


def ratings(admin, client, ticket):
    """The ticket's journal entries of a rating: [{"score", "resolution"}]."""
    history = admin.get(client.url(f"/api/v1/tickets/{ticket}/history")).json()["items"]
    return [entry["changes"] for entry in history if entry["action"] == "rated"]


def page(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("text/html")
    for name, value in HEADERS.items():
        assert response.headers[name] == value, name
    return response.text


def test_get_shows_the_form_and_records_nothing_a_post_records(link, client, caplog):
    ticket, token, admin = link
    customer = requests.Session()  # no account
    url = client.url(f"/rate/{token}")
    with caplog.at_level(logging.INFO):
        for _ in range(2):  # a mail scanner opened it first: still open
            form = page(customer.get(url, headers={"Accept-Language": "en-GB,en;q=0.9"}), 200)
            assert f'<form method="post" action="/rate/{token}">' in form and 'name="score" value="5"' in form
            assert "Rate our service" in form
        assert ratings(admin, client, ticket) == []
        assert "Thank you" in page(customer.post(url, data={"score": "5"}, headers={"Accept-Language": "en"}), 200)
    assert ratings(admin, client, ticket) == [{"score": 5, "resolution": 1}]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET /rate/<token> HTTP/1.1" in logged and "POST /rate/<token> HTTP/1.1" in logged
    assert token not in logged  # the access log writes the route, not the link


def test_a_post_rates_once_and_a_second_is_refused(link, client):
    ticket, token, admin = link
    customer = requests.Session()
    url = client.url(f"/rate/{token}?lang=en")
    wrong = page(customer.post(url, data={"score": "9"}), 400)
    assert "choose a score from 1 to 5" in wrong
    thanks = page(customer.post(url, data={"score": "4", "comment": "<b>快</b> thanks"}), 200)
    assert "Thank you" in thanks
    again = page(customer.post(url, data={"score": "1"}), 409)
    assert "Already rated" in again
    assert page(customer.get(url), 409)
    # recorded once, with the first post's score, through the same call as the API's (which refuses it now)
    assert customer.post(client.url(f"/api/v1/ratings/{token}"), json={"score": 2}).status_code == 409
    assert ratings(admin, client, ticket) == [{"score": 4, "resolution": 1}]


def test_an_unknown_token_is_a_page_that_names_no_ticket(link, client):
    _, token, _ = link
    for method in ("get", "post"):
        text = page(getattr(requests, method)(client.url("/rate/" + "x" * 32), data={"score": "5"},
                                             headers={"Accept-Language": "en"}), 404)
        assert "not valid" in text and "<form" not in text
    assert page(requests.get(client.url(f"/rate/{token}?lang=en")), 200)  # the real one still open
    document = client.get(client.url("/api/v1/openapi.json")).json()  # HTML for people, not the API
    assert not [path for path in document["paths"] if path.startswith("/rate")]


def test_the_page_speaks_chinese_by_accept_language_and_escapes_what_it_shows(link, client):
    _, token, _ = link
    form = page(requests.get(client.url(f"/rate/{token}"), headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}),
                200)
    assert '<html lang="zh-CN">' in form and "为我们的服务评分" in form
    wrong = page(requests.post(client.url(f"/rate/{token}"), data={"score": "", "comment": "<script>x</script>"},
                               headers={"Accept-Language": "zh-CN"}), 400)
    assert "请选择 1 到 5 分" in wrong and "<script>" not in wrong and "&lt;script&gt;" in wrong
    assert "感谢" in page(requests.post(client.url(f"/rate/{token}"), data={"score": "5"},
                                      headers={"Accept-Language": "zh-CN"}), 200)


def expire_links(ticket):
    """The ticket's rating links past their 14 days, as if the customer came back too late: their
    expiry moved back in ticketing's own database (the pages and the calls stay the real ones)."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import update
    from sqlalchemy.orm import sessionmaker

    from plumbing.config import database_url
    from plumbing.db import make_engine
    from ticketing.models import Rating

    engine = make_engine(database_url("ticketing"))
    try:
        with sessionmaker(engine)() as session, session.begin():
            session.execute(update(Rating).where(Rating.ticket_id == ticket)
                            .values(expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    finally:
        engine.dispose()


def test_an_expired_link_is_410_gone_for_get_and_every_post_and_records_nothing(link, client):
    ticket, token, admin = link
    customer = requests.Session()
    url = client.url(f"/rate/{token}")
    assert page(customer.get(url, headers={"Accept-Language": "en"}), 200)  # open until it expires
    expire_links(ticket)
    for attempt in range(2):  # the first post after expiry and a second one: the same answer
        gone = page(customer.post(url, data={"score": "5", "comment": "late"}, headers={"Accept-Language": "en"}),
                    410)
        assert "This rating link has expired." in gone and "<form" not in gone
    shown = page(customer.get(url, headers={"Accept-Language": "en"}), 410)  # and opening it again
    assert "Link expired" in shown and "<form" not in shown
    assert "此评分链接已过期" in page(customer.get(url, headers={"Accept-Language": "zh-CN"}), 410)
    assert ratings(admin, client, ticket) == []
    assert customer.post(client.url(f"/api/v1/ratings/{token}"), json={"score": 5}).status_code == 409  # the API


def test_a_used_link_stays_already_rated_after_it_expires(link, client):
    ticket, token, admin = link
    customer = requests.Session()
    url = client.url(f"/rate/{token}?lang=en")
    assert "Thank you" in page(customer.post(url, data={"score": "3"}), 200)
    expire_links(ticket)
    for response in (customer.get(url), customer.post(url, data={"score": "1"})):
        assert "Already rated" in page(response, 409)  # what the customer did, not that time ran out
    assert ratings(admin, client, ticket) == [{"score": 3, "resolution": 1}]
