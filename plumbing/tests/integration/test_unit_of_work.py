"""plumbing.unit_of_work: one dependency gives each call its session, caller, clock, outbox,
inbox and after-commit actions; a rollback forgets the call's events and its after-commit actions."""
import json
from datetime import datetime, timezone

import pytest
from marshmallow import fields
from sqlalchemy import Column, Integer, MetaData, String, Table, select

from plumbing.consumer import event_handler
from plumbing.errors import Conflict
from plumbing.events import EventType
from plumbing.outbox import messaging_tables
from plumbing.rpc import rpc
from plumbing.schemas import StrictSchema
from plumbing.testing import call_as, publish_event, wait_for
from plumbing.unit_of_work import Unit, UnitOfWork

metadata = MetaData()
notes = Table("notes", metadata, Column("id", Integer, primary_key=True), Column("text", String(100)),
              Column("author", String(100)))
outbox, inbox = messaging_tables(metadata)


class NoteData(StrictSchema):
    text = fields.String()


NOTE_WRITTEN = EventType("note.written", NoteData, "A note was written.")
counted = []


class Notes:
    name = "notes"
    uow = UnitOfWork(outbox, inbox)

    @rpc
    def write(self, text, fail=False):
        with self.uow.transaction():
            note_id = self.uow.session.execute(notes.insert().values(text=text, author=self.uow.actor)).inserted_primary_key[0]
            self.uow.record(NOTE_WRITTEN, "note", note_id, {"text": text})
            self.uow.after_commit(counted.append, text)
            if fail:
                raise Conflict("refused after writing")
        return {"id": note_id, "actor": self.uow.actor, "roles": self.uow.roles, "teams": list(self.uow.teams)}

    @event_handler("elsewhere", "thing.happened")
    def on_thing(self, event):
        with self.uow.transaction():
            if self.uow.first_time(event):
                self.uow.session.execute(notes.insert().values(text=event["data"]["text"], author="event"))


@pytest.fixture
def container(container_factory, service_config, sqlite_url):
    from sqlalchemy import create_engine

    engine = create_engine(sqlite_url)
    metadata.create_all(engine)
    engine.dispose()
    counted.clear()
    container = container_factory(Notes, dict(service_config, DATABASE_URL=sqlite_url))
    container.start()
    return container


def rows(container, table):
    with next(d for d in container.dependencies if isinstance(d, UnitOfWork)).session_factory() as session:
        return session.execute(select(table)).all()


def test_a_call_writes_its_change_and_event_together_and_acts_after_commit(container):
    answer = call_as("lin", container, "write", "hello", roles=["agent"], teams=["billing"])
    assert (answer["actor"], answer["roles"], answer["teams"]) == ("lin", ["agent"], ["billing"])
    [note] = rows(container, notes)
    assert (note.text, note.author) == ("hello", "lin")
    [event] = rows(container, outbox)
    assert json.loads(event.envelope)["data"] == {"text": "hello"}
    assert counted == ["hello"]
    wait_for(lambda: rows(container, outbox)[0].published_at is not None, message="the relay to publish")


def test_a_failed_call_leaves_nothing_behind(container):
    with pytest.raises(Exception, match="refused after writing"):
        call_as("lin", container, "write", "no", fail=True)
    assert rows(container, notes) == [] and rows(container, outbox) == []
    assert counted == []


def test_an_event_is_handled_once_however_often_it_arrives(container, service_config):
    envelope = publish_event(service_config["AMQP_URI"], "elsewhere", "thing.happened", {"text": "once"})
    publish_event(service_config["AMQP_URI"], "elsewhere", "thing.happened", {"text": "once"}, event_id=envelope["id"])
    wait_for(lambda: len(rows(container, inbox)) == 1, message="the event")
    wait_for(lambda: rows(container, notes), message="the note")
    assert [note.text for note in rows(container, notes)] == ["once"]


def test_a_unit_on_a_plain_session_replays_history_as_of_its_time(sqlite_url):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    engine = create_engine(sqlite_url)
    metadata.create_all(engine)
    then = datetime(2020, 1, 2, 3, 4, tzinfo=timezone.utc)
    with Session(engine) as session:
        uow = Unit.on_session(session, outbox=outbox, actor="importer")
        with uow.transaction(), uow.as_of(then, "original author"):
            assert (uow.now(), uow.actor, uow.caller.actor, uow.replaying) == (then, "original author", "importer", True)
            uow.record(NOTE_WRITTEN, "note", 1, {"text": "old"}, time=uow.now())
        assert (uow.actor, uow.replaying) == ("importer", False)
        [event] = session.execute(select(outbox)).all()
        assert json.loads(event.envelope)["time"].startswith("2020-01-02T03:04")
    engine.dispose()
