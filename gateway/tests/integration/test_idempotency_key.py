"""POST /api/v1/tickets with an Idempotency-Key: a client that retries after
a timeout or a dropped connection gets the ticket its first try opened."""
import pytest

TICKET = {"subject": "Charged twice", "channel": "web_form", "kind": "complaint",
          "customer": {"name": "Chen Jie", "contact": "chen@example.com"}}


@pytest.fixture
def admin(start_platform, client):
    start_platform("ticketing")
    return client.login()


def create(session, key, **changes):
    return session.post(session.url("/api/v1/tickets"), json=dict(TICKET, **changes), headers={"Idempotency-Key": key})


def test_a_retry_with_the_same_key_gets_the_same_ticket(admin):
    first, again = create(admin, "3f1c2a"), create(admin, "3f1c2a")
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert create(admin, "another").json()["id"] != first.json()["id"]
    assert admin.get(admin.url("/api/v1/tickets")).json()["total"] == 2


def test_the_same_key_with_another_ticket_is_409(admin):
    create(admin, "3f1c2a")
    refused = create(admin, "3f1c2a", subject="Something else")
    assert refused.status_code == 409
    assert refused.json()["error"]["details"] == {"idempotency_key": ["already used for another ticket"]}


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "ключ"])
def test_a_key_that_is_not_1_to_255_visible_ascii_characters_is_400(admin, key):
    refused = admin.post(admin.url("/api/v1/tickets"), json=TICKET, headers={"Idempotency-Key": key.encode()})
    assert refused.status_code == 400
    assert refused.json()["error"]["details"] == {"Idempotency-Key": ["1 to 255 visible ASCII characters"]}
