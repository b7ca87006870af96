"""Retries, dead letters and replay on a real broker (X2)."""
import pytest
from kombu import Connection, Queue

from plumbing import deadletter
from plumbing.consumer import event_handler
from plumbing.errors import UnprocessableEvent
from plumbing.testing import publish_event, publish_raw, wait_for

QUEUE = "evt-source-thing.happened--flaky.on_thing"
DLQ = QUEUE + ".dlq"


class Flaky:
    """Fails as each event's data says; records every try."""
    name = "flaky"
    tries = []
    handled = []
    broken = {"always": True}

    @event_handler("source", "thing.happened")
    def on_thing(self, event):
        self.tries.append(event["id"])
        behaviour = event["data"]["behaviour"]
        if behaviour == "fail_once" and self.tries.count(event["id"]) == 1:
            raise RuntimeError("first try fails")
        if behaviour == "fail_always" and self.broken["always"]:
            raise RuntimeError("still broken")
        if behaviour == "unprocessable":
            raise UnprocessableEvent("data can never be handled")
        self.handled.append(event["id"])


@pytest.fixture
def flaky(container_factory, service_config):
    Flaky.tries, Flaky.handled, Flaky.broken = [], [], {"always": True}
    container = container_factory(Flaky, service_config)
    container.start()
    return service_config["AMQP_URI"]


def dead_letters(uri, count):
    return wait_for(lambda: (letters := deadletter.peek(DLQ, uri=uri)) and len(letters) >= count and letters,
                    message=f"{count} dead letter(s)")


def test_a_failure_is_retried_after_a_delay_and_then_handled(flaky):
    event = publish_event(flaky, "source", "thing.happened", {"behaviour": "fail_once"})
    wait_for(lambda: event["id"] in Flaky.handled, message="the retry")
    assert Flaky.tries == [event["id"], event["id"]]
    assert deadletter.peek(DLQ, uri=flaky) == []


def test_what_keeps_failing_is_dead_lettered_after_the_last_try_with_its_reason(flaky):
    event = publish_event(flaky, "source", "thing.happened", {"behaviour": "fail_always"})
    [letter] = dead_letters(flaky, 1)
    assert Flaky.tries == [event["id"]] * 3  # first try + two retries (EVENT_RETRY_DELAYS)
    assert letter["attempts"] == 3
    assert "failed 3 times" in letter["reason"] and "still broken" in letter["reason"]
    assert event["id"] in letter["body"]
    # the operator's list names this vhost's dead-letter queues only, not another platform's on the broker
    # (depths come from the management API's statistics, a few seconds behind)
    with Connection(flaky.rsplit("/", 1)[0] + "/%2F") as other_vhost:
        elsewhere = Queue("another-platform.dlq", exclusive=True)(other_vhost.default_channel)  # goes with it
        elsewhere.declare()
        assert [name for name, _ in deadletter.dead_letter_queues(uri=flaky)] == [DLQ]


def test_an_operator_replays_dead_letters_once_the_fault_is_fixed(flaky):
    event = publish_event(flaky, "source", "thing.happened", {"behaviour": "fail_always"})
    dead_letters(flaky, 1)
    Flaky.broken["always"] = False
    assert deadletter.replay(DLQ, uri=flaky) == 1
    wait_for(lambda: event["id"] in Flaky.handled, message="the replayed event")
    assert deadletter.peek(DLQ, uri=flaky) == []


@pytest.mark.parametrize("body, content_type, reason", [
    (b"{not json", "application/json", "undecodable"),
    (b"\x80\x04K\x01.", "application/x-python-serialize", "undecodable"),
    ({"specversion": "1.0"}, "application/cloudevents+json", "missing attribute 'id'"),
])
def test_malformed_messages_go_straight_to_the_dlq_and_the_queue_keeps_flowing(flaky, body, content_type, reason):
    publish_raw(flaky, "source", "thing.happened", body, content_type=content_type)
    good = publish_event(flaky, "source", "thing.happened", {"behaviour": "ok"})
    [letter] = dead_letters(flaky, 1)
    assert reason in letter["reason"]
    wait_for(lambda: good["id"] in Flaky.handled, message="the next good event")
    assert Flaky.tries == [good["id"]]


def test_an_unknown_data_version_is_dead_lettered_without_a_try(flaky):
    publish_event(flaky, "source", "thing.happened", {"behaviour": "ok"}, data_version=9)
    [letter] = dead_letters(flaky, 1)
    assert "dataversion 9 not in supported [1]" in letter["reason"]
    assert Flaky.tries == []


def test_an_unprocessable_event_is_dead_lettered_at_once(flaky):
    event = publish_event(flaky, "source", "thing.happened", {"behaviour": "unprocessable"})
    [letter] = dead_letters(flaky, 1)
    assert Flaky.tries == [event["id"]]
    assert "data can never be handled" in letter["reason"]
