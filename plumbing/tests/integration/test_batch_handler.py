"""Batch event handlers on a real broker: events arrive in lists, and a
failing batch falls back to one event at a time (X2)."""
import pytest

from plumbing import deadletter
from plumbing.consumer import batch_event_handler
from plumbing.errors import UnprocessableEvent
from plumbing.testing import publish_event, wait_for

DLQ = "evt-source-thing.happened--batcher.on_things.dlq"


class Batcher:
    """Records each batch it is given; a 'poison' event fails every batch it is in."""
    name = "batcher"
    batches = []
    handled = []

    @batch_event_handler("source", "thing.happened")
    def on_things(self, events):
        self.batches.append([event["data"]["n"] for event in events])
        if any(event["data"]["n"] == "poison" for event in events):
            raise UnprocessableEvent("poison")
        self.handled.extend(event["data"]["n"] for event in events)


@pytest.fixture
def batcher(container_factory, service_config):
    Batcher.batches, Batcher.handled = [], []
    container = container_factory(Batcher, dict(service_config, EVENT_BATCH_SIZE=10,
                                                 EVENT_BATCH_LINGER_SECONDS=0.3))
    container.start()
    return service_config["AMQP_URI"]


def test_events_arriving_together_are_handled_in_batches_of_at_most_the_batch_size(batcher):
    for n in range(25):
        publish_event(batcher, "source", "thing.happened", {"n": n})
    wait_for(lambda: len(Batcher.handled) == 25, message="all 25 events")
    assert sorted(Batcher.handled) == list(range(25))
    assert max(len(batch) for batch in Batcher.batches) == 10
    assert len(Batcher.batches) < 25  # they did not go one by one


def test_a_poison_event_fails_its_batch_which_is_redone_one_by_one_and_only_it_is_dead_lettered(batcher):
    for n in [1, 2, "poison", 3]:
        publish_event(batcher, "source", "thing.happened", {"n": n})
    wait_for(lambda: sorted(Batcher.handled) == [1, 2, 3], message="the good events")
    [letter] = wait_for(lambda: deadletter.peek(DLQ, uri=batcher), message="the dead letter")
    assert "poison" in letter["reason"]
    assert Batcher.batches[0] == [1, 2, "poison", 3]  # lingered together, then each alone
    assert sorted(map(str, Batcher.batches[1:])) == sorted(str([n]) for n in [1, 2, "poison", 3])
