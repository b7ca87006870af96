"""The group-commit coalescer, with green threads and a fake slow backend."""
import eventlet
import eventlet.event
import pytest

from plumbing.batching import Coalescer


class Backend:
    """Answers each item with its double after ``delay``; remembers its batches."""

    def __init__(self, delay=0.01, fail_on=None):
        self.delay = delay
        self.fail_on = fail_on
        self.batches = []

    def send(self, items):
        self.batches.append(list(items))
        eventlet.sleep(self.delay)
        if self.fail_on in items:
            raise ValueError(f"refused {self.fail_on}")
        return [item * 2 for item in items]


def submit_all(coalescer, backend, items):
    threads = [eventlet.spawn(coalescer.submit, item, backend.send) for item in items]
    return [thread.wait() for thread in threads]


def test_a_lone_caller_sends_its_item_alone():
    backend = Backend()
    assert Coalescer().submit(21, backend.send) == 42
    assert backend.batches == [[21]]


def test_callers_arriving_during_a_call_share_the_next_one_and_each_gets_its_own_result():
    backend = Backend()
    assert submit_all(Coalescer(), backend, range(10)) == [n * 2 for n in range(10)]
    # the first goes alone; the nine that queued behind it go together
    assert backend.batches == [[0], list(range(1, 10))]


def test_batches_never_exceed_the_maximum_and_keep_arrival_order():
    backend = Backend()
    assert submit_all(Coalescer(max_batch=4), backend, range(10)) == [n * 2 for n in range(10)]
    assert backend.batches == [[0], [1, 2, 3, 4], [5, 6, 7, 8], [9]]


def test_up_to_max_in_flight_batches_are_sent_at_once_and_the_rest_queue_behind_them():
    backend = Backend()
    concurrent = {"now": 0, "most": 0}

    def counted_send(items):
        concurrent["now"] += 1
        concurrent["most"] = max(concurrent["most"], concurrent["now"])
        try:
            return backend.send(items)
        finally:
            concurrent["now"] -= 1

    coalescer = Coalescer(max_in_flight=2)
    threads = [eventlet.spawn(coalescer.submit, item, counted_send) for item in range(10)]
    assert [thread.wait() for thread in threads] == [n * 2 for n in range(10)]
    assert backend.batches[:2] == [[0], [1]]  # two leaders at once, then the eight waiting go in the next two
    assert len(backend.batches) == 4 and sorted(sum(backend.batches[2:], [])) == list(range(2, 10))
    assert concurrent["most"] == 2 and coalescer.in_flight == 0


def test_a_failing_call_fails_its_own_batch_only():
    backend = Backend(fail_on=3)
    coalescer = Coalescer(max_batch=4)
    threads = [eventlet.spawn(coalescer.submit, item, backend.send) for item in range(7)]
    outcomes = []
    for thread in threads:
        try:
            outcomes.append(thread.wait())
        except ValueError as exc:
            outcomes.append(str(exc))
    assert outcomes == [0] + ["refused 3"] * 4 + [10, 12]
    assert coalescer.in_flight == 0 and not coalescer.waiting


def test_a_backend_answering_with_the_wrong_count_fails_the_batch():
    coalescer = Coalescer()
    with pytest.raises(RuntimeError, match="sent 1 items, got 0 results"):
        coalescer.submit(1, lambda items: [])
    assert coalescer.submit(2, Backend().send) == 4  # and the coalescer is free again


def test_a_caller_killed_while_waiting_does_not_strand_the_others():
    backend = Backend(delay=0.05)
    coalescer = Coalescer(max_batch=1)
    first = eventlet.spawn(coalescer.submit, 1, backend.send)
    eventlet.sleep(0)
    doomed = eventlet.spawn(coalescer.submit, 2, backend.send)
    behind = eventlet.spawn(coalescer.submit, 3, backend.send)
    eventlet.sleep(0)
    doomed.kill()
    with eventlet.Timeout(2):
        assert (first.wait(), behind.wait()) == (2, 6)
    assert backend.batches == [[1], [3]]


def test_a_caller_killed_just_after_being_made_leader_hands_the_lead_on():
    release = eventlet.event.Event()
    batches = []

    def held_send(items):
        batches.append(list(items))
        release.wait()
        return [item * 2 for item in items]

    coalescer = Coalescer(max_batch=1)
    first = eventlet.spawn(coalescer.submit, 1, held_send)
    eventlet.sleep(0)
    doomed = eventlet.spawn(coalescer.submit, 2, held_send)
    behind = eventlet.spawn(coalescer.submit, 3, held_send)
    eventlet.sleep(0)
    release.send()
    eventlet.sleep(0)  # the first leader returns and hands the lead to the doomed caller, which has not run yet
    assert first.dead and not doomed.dead
    doomed.kill()
    with eventlet.Timeout(2):
        assert behind.wait() == 6
    assert batches == [[1], [3]]
    assert coalescer.in_flight == 0
