"""Group commit for requests that arrive together.

Concurrent callers each ``submit`` one item. A caller that finds fewer than
``max_in_flight`` batches in flight becomes a leader and sends a batch of its
own item and whatever is waiting, in one call; callers that arrive while
the calls are full wait, and when a call returns the oldest of them leads
the next batch, with everyone queued behind it. Nothing waits for a timer: with
one caller a batch is one item, and batches grow by themselves with
concurrency (the same rule as a database's group commit). Cooperative green
threads (eventlet) make the bookkeeping safe without locks.
"""
from eventlet.event import Event

LEAD = object()  # what a waiting caller is woken with when it must send the next batch


class Coalescer:
    def __init__(self, max_batch=64, max_in_flight=1):
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight  # batches sent at once; more overlap the backend's waits
        self.in_flight = 0
        self.waiting = []  # slots no batch has taken yet, oldest first; only while max_in_flight are in flight

    def submit(self, item, send):
        """``item``'s result, computed by ``send(items) -> results`` (one per
        item, in order) together with whatever other callers submitted.
        ``send`` raising fails every item of its batch with that error."""
        slot = Slot(item)
        if self.in_flight < self.max_in_flight:
            self.in_flight += 1
        else:
            self.waiting.append(slot)
            try:
                woken = slot.wait()
            except BaseException:  # killed while waiting: must not strand the callers behind it
                self.abandon(slot)
                raise
            if woken is not LEAD:
                return slot.result()
        batch = [slot] + self.waiting[:self.max_batch - 1]
        del self.waiting[:self.max_batch - 1]
        try:
            results = send([each.item for each in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"sent {len(batch)} items, got {len(results)} results")
        except BaseException as exc:  # a timeout or a kill must still release the waiting callers
            for each in batch:
                each.fail(exc)
        else:
            for each, result in zip(batch, results):
                each.succeed(result)
        finally:
            self.hand_over()
        return slot.result()

    def hand_over(self):
        """A batch is done: the oldest waiting caller sends the next one."""
        if self.waiting:
            self.waiting.pop(0).promote()
        else:
            self.in_flight -= 1

    def abandon(self, slot):
        if slot in self.waiting:
            self.waiting.remove(slot)
        elif slot.promoted and slot.outcome is None:  # made leader, killed before it could send
            self.hand_over()


class Slot:
    def __init__(self, item):
        self.item = item
        self.event = Event()
        self.outcome = None
        self.promoted = False

    def wait(self):
        return self.event.wait()

    def promote(self):
        self.promoted = True
        self.event.send(LEAD)
        self.event = Event()  # the new leader's own result comes from its own batch, not this wake-up

    def succeed(self, result):
        self.outcome = (result, None)
        self.event.send(None)

    def fail(self, exc):
        self.outcome = (None, exc)
        self.event.send(None)

    def result(self):
        result, exc = self.outcome
        if exc is not None:
            raise exc
        return result
