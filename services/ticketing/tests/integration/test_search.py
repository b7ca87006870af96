"""Searching tickets (q, sort) through the handlers, on SQLite (FTS5) and PostgreSQL (tsvector, GIN)."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import sessionmaker

from plumbing.db import make_engine
from plumbing.errors import InvalidInput
from plumbing.unit_of_work import Unit
from ticketing import models
from ticketing.tickets import handlers as tickets

CONFIG = {"REQUIRE_CERTIFICATION": "false"}
CUSTOMER = {"name": "Liu Yang", "contact": "liu@example.com"}
START = datetime(2026, 1, 10, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgres"])
def unit(request, migrated):
    engine = make_engine(migrated("ticketing", request.getfixturevalue(f"{request.param}_url")))
    database = sessionmaker(engine, expire_on_commit=False)
    sessions = []

    def make(actor="alice", roles=("admin",), clock=None):
        sessions.append(database())
        return Unit.on_session(sessions[-1], service="ticketing", outbox=models.outbox, inbox=models.inbox,
                               actor=actor, roles=list(roles), clock=clock or (lambda: START))
    yield make
    for session in sessions:
        session.close()
    engine.dispose()


def open_ticket(unit, subject, description="", day=0, **fields):
    data = dict({"subject": subject, "description": description, "channel": "email", "kind": "inquiry",
                 "customer": CUSTOMER}, **fields)
    return tickets.create_ticket(unit(clock=lambda: START + timedelta(days=day)), data, CONFIG)["id"]


def found(unit, **query):
    return [ticket["id"] for ticket in tickets.list_tickets(unit(), query)["items"]]


@pytest.fixture
def desk(unit):
    ids = {
        "refund_zh": open_ticket(unit, "退款还没到账", "上周申请的退款，银行说没有收到", day=0, priority="high"),
        "parrot_msg": open_ticket(unit, "快递丢件", "包裹三天没有更新", day=1),
        "refund_en": open_ticket(unit, "Refund not received", "I asked for a refund last week", day=2,
                                 tags=["VIP"]),
        "refund_note": open_ticket(unit, "Login problem", "cannot sign in", day=3),
        "trad": open_ticket(unit, "發票開錯了", "請重新開具發票", day=4, priority="low"),
        "wang": open_ticket(unit, "找王经理", "", day=5),
    }
    tickets.add_message(unit(), ids["parrot_msg"], {"kind": "reply", "body": "您好，您说的鹦鹉玩具已经补发"}, CONFIG)
    tickets.add_message(unit(), ids["refund_note"], {"kind": "note", "body": "customer also mentioned a refund"},
                        CONFIG)
    return ids


def test_a_word_only_in_a_message_finds_the_ticket(unit, desk):
    assert found(unit, q="鹦鹉") == [desk["parrot_msg"]]
    assert found(unit, q="玩具 补发") == [desk["parrot_msg"]]


def test_a_two_character_chinese_word_inside_a_sentence_and_either_script(unit, desk):
    assert found(unit, q="到账") == [desk["refund_zh"]]
    assert found(unit, q="发票") == found(unit, q="發票") == [desk["trad"]]
    assert found(unit, q="王") == [desk["wang"]]          # one character: a prefix of its bigrams
    assert found(unit, q="理") == [desk["wang"]]          # ... or the end of a run


def test_a_phrase_needs_its_words_together(unit, desk):
    assert found(unit, q='"没到账"') == [desk["refund_zh"]]
    assert found(unit, q='"退款到账"') == []              # both words, not together
    assert found(unit, q="退款 到账") == [desk["refund_zh"]]


def test_relevance_puts_a_subject_hit_above_a_description_and_a_message_hit(unit, desk):
    assert found(unit, q="refund") == [desk["refund_en"], desk["refund_note"]]
    assert found(unit, q="refund", sort="id") == [desk["refund_en"], desk["refund_note"]]
    assert found(unit, q="refund", sort="-id") == [desk["refund_note"], desk["refund_en"]]


def test_operators(unit, desk):
    assert sorted(found(unit, q="refund OR 退款")) == sorted([desk["refund_zh"], desk["refund_en"],
                                                              desk["refund_note"]])
    assert found(unit, q="refund -login") == [desk["refund_en"]]
    assert found(unit, q="refund AND NOT (login OR spam)") == [desk["refund_en"]]
    assert found(unit, q="(refund OR 退款) NOT 银行", sort="created_at") == [desk["refund_en"], desk["refund_note"]]


def test_field_filters_and_dates(unit, desk):
    assert found(unit, q="priority:high") == [desk["refund_zh"]]
    assert found(unit, q="refund tag:vip") == [desk["refund_en"]]
    assert found(unit, q="priority:low OR priority:high", sort="created_at") == [desk["refund_zh"], desk["trad"]]
    assert found(unit, q="created:2026-01-11..2026-01-12", sort="created_at") == [desk["parrot_msg"],
                                                                                  desk["refund_en"]]
    assert found(unit, q="created:>=2026-01-14", sort="-created_at") == [desk["wang"], desk["trad"]]
    assert found(unit, q="refund created:<2026-01-12") == []
    # the reply made the parrot ticket alice's: no longer new
    assert found(unit, q="state:new -refund -退款", sort="created_at") == [desk["trad"], desk["wang"]]


def test_sort_by_a_column(unit, desk):
    assert found(unit, q="priority:low OR priority:high", sort="-priority") == [desk["refund_zh"], desk["trad"]]
    assert found(unit, sort="subject")[0] == desk["refund_note"]   # "Login problem" first: Latin sorts first


def test_the_deprecated_text_parameter_is_still_a_substring_and_goes_with_q(unit, desk):
    assert found(unit, text="fund not rec") == [desk["refund_en"]]
    assert found(unit, text="fund", q="priority:normal -login") == [desk["refund_en"]]


def test_an_unreadable_query_is_invalid_input_naming_the_position(unit, desk):
    with pytest.raises(InvalidInput) as raised:
        found(unit, q="refund (state:new")
    assert raised.value.details == {"q": ["at position 8: a '(' is not closed"]}
    with pytest.raises(InvalidInput) as raised:
        found(unit, q="statu:new")
    assert "unknown field 'statu'" in raised.value.details["q"][0]
    with pytest.raises(InvalidInput) as raised:
        found(unit, q="refund", sort="customer_contact")
    assert "sort" in raised.value.details


def test_a_merged_ticket_s_words_find_the_ticket_it_went_into(unit, desk):
    tickets.merge_ticket(unit(), desk["parrot_msg"], {"into": desk["wang"]})
    assert sorted(found(unit, q="鹦鹉")) == sorted([desk["parrot_msg"], desk["wang"]])
    assert sorted(found(unit, q="快递丢件")) == sorted([desk["parrot_msg"], desk["wang"]])


def test_imported_tickets_are_searchable(unit):
    batch = {"source": "zendesk", "tickets": [{
        "external_id": "z1", "subject": "Old parcel", "channel": "email", "kind": "inquiry", "customer": CUSTOMER,
        "created_at": "2025-06-01T08:00:00Z", "created_by": "bob",
        "history": [{"type": "message", "kind": "customer", "body": "where is my zeppelin model", "at":
                     "2025-06-01T09:00:00Z", "actor": None}]}]}
    [imported] = tickets.import_tickets(unit(roles=("admin",)), batch, CONFIG)["imported"]
    assert found(unit, q="zeppelin") == [imported["ticket_id"]]
