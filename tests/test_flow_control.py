"""The buffer's water marks and the three policies' reactions, without a socket; the options."""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest
from graphql import ExecutionResult

from gql_aiohttp_websockets import ListenerQueue, Overflow, QueueFullError
from gql_aiohttp_websockets.flow_control import (
    INHERITED,
    NO_LIMIT,
    Pressure,
    overflow_policy,
    queue_limit,
    queue_options,
    reactions,
)
from gql_aiohttp_websockets.listener_queue import COMPLETE
from tests.helpers import within


def result(n: int) -> ExecutionResult:
    return ExecutionResult(data={"n": n})


def drain(queue: ListenerQueue) -> list[object]:
    taken: list[object] = []
    while ready := list(queue.take()):
        for item in ready:
            if item is COMPLETE:
                return taken
            assert isinstance(item, ExecutionResult)
            taken.append(item.data["n"] if item.data else None)
    return taken


class Reader:
    """A connection's reactions, with what they did recorded."""

    def __init__(self) -> None:
        self.pressure = Pressure()
        self.stopped: list[int] = []
        self.reactions = reactions(self.pressure, self.stopped.append)

    def buffer(self, query_id: int, high: int, policy: Overflow) -> ListenerQueue:
        queue = ListenerQueue(query_id, True, high=high)
        pause, resume = self.reactions[policy]
        queue.attach(None, pause=pause, resume=resume)
        return queue


class Marks:
    """A reader that only counts the calls of its pause and resume."""

    def __init__(self, make_room: bool = False) -> None:
        self.paused: list[ListenerQueue] = []
        self.resumed: list[ListenerQueue] = []
        self.make_room = make_room

    def pause(self, queue: ListenerQueue) -> None:
        self.paused.append(queue)
        if self.make_room:
            queue.drop_oldest()

    def resume(self, queue: ListenerQueue) -> None:
        self.resumed.append(queue)


def marked(marks: Marks, high: int) -> ListenerQueue:
    queue = ListenerQueue(1, True, high=high)
    queue.attach(None, pause=marks.pause, resume=marks.resume)
    return queue


# The buffer's marks, whatever the reader does.


def test_pause_is_called_once_at_the_high_mark_and_resume_at_the_low_one() -> None:
    marks = Marks()
    queue = marked(marks, high=4)
    for n in range(10):
        queue.feed(result(n))
    assert marks.paused == [queue], "once, however many arrive past the mark"
    assert queue.paused
    assert len(queue) == 10, "a pause that makes no room loses nothing"
    queue.take(7)
    assert marks.resumed == []
    queue.take(1)
    assert marks.resumed == [queue], "back at half the high mark: 2 left"
    assert not queue.paused
    assert drain(queue) == [8, 9]


def test_a_pause_that_makes_room_leaves_the_buffer_unpaused() -> None:
    marks = Marks(make_room=True)
    queue = marked(marks, high=3)
    for n in range(6):
        queue.feed(result(n))
    assert len(marks.paused) == 3, "called for each result that found it at the mark"
    assert not queue.paused
    assert marks.resumed == [], "no resume is owed"
    assert drain(queue) == [3, 4, 5]


@pytest.mark.parametrize("ending", ["complete", "exception", "left"])
def test_an_ended_or_left_buffer_resumes_its_reader(ending: str) -> None:
    marks = Marks()
    queue = marked(marks, high=1)
    queue.feed(result(0))
    queue.feed(result(1))
    assert queue.paused
    if ending == "complete":
        queue.feed(COMPLETE)
    elif ending == "exception":
        queue.fail(RuntimeError("ended"))
    else:
        queue.left()
    assert marks.resumed == [queue]
    assert not queue.paused


def test_a_new_reader_is_told_anew() -> None:
    first, second = Marks(), Marks()
    queue = marked(first, high=1)
    queue.feed(result(0))
    queue.feed(result(1))
    queue.attach(None, pause=second.pause, resume=second.resume)
    queue.feed(result(2))
    assert first.paused == [queue]
    assert second.paused == [queue]


def test_complete_is_queued_at_the_mark_without_a_pause() -> None:
    marks = Marks()
    queue = marked(marks, high=2)
    queue.feed(result(0))
    queue.feed(result(1))
    queue.feed(COMPLETE)
    assert marks.paused == []
    assert drain(queue) == [0, 1]
    assert queue.closed


def test_the_mark_counts_what_is_waiting_not_what_was_taken() -> None:
    marks = Marks()
    queue = marked(marks, high=300)
    for n in range(300):
        queue.feed(result(n))
    # The list keeps taken slots for a while: the mark must not count them.
    for _ in range(200):
        queue.take(1)
    for n in range(200):
        queue.feed(result(300 + n))
    assert marks.paused == []
    assert len(queue) == 300
    queue.feed(result(999))
    assert marks.paused == [queue]


# The three policies, as a connection's reactions.


def test_fail_keeps_what_came_before_the_limit_then_raises_and_stops() -> None:
    reader = Reader()
    queue = reader.buffer(7, 3, Overflow.FAIL)
    for n in range(5):
        queue.feed(result(n))
    assert reader.stopped == [7]
    assert queue.closed
    assert not queue.send_stop
    assert drain_until_error(queue) == [0, 1, 2]
    with pytest.raises(QueueFullError) as raised:
        queue.take()
    assert raised.value.query_id == 7
    assert raised.value.limit == 3
    assert "max_queued_results=3" in str(raised.value)
    assert "on_queue_full='keep_newest'" in str(raised.value)


def drain_until_error(queue: ListenerQueue) -> list[object]:
    taken: list[object] = []
    while True:
        try:
            ready = list(queue.take(1))
        except QueueFullError:
            return taken
        assert isinstance(ready[0], ExecutionResult)
        taken.append(ready[0].data["n"] if ready[0].data else None)


def test_keep_newest_drops_the_oldest() -> None:
    reader = Reader()
    queue = reader.buffer(1, 3, Overflow.KEEP_NEWEST)
    for n in range(10):
        queue.feed(result(n))
    assert drain(queue) == [7, 8, 9]
    assert queue.dropped == 7
    assert reader.stopped == []
    assert not queue.closed


def test_keep_newest_under_a_long_run_keeps_memory_bounded() -> None:
    queue = Reader().buffer(1, 5, Overflow.KEEP_NEWEST)
    texts = [f'{{"n": {n}}}' for n in range(100_000)]
    tracemalloc.start()
    try:
        for text in texts:
            queue.feed(text)
        grown, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(queue) == 5
    # The dropped slots are let go of, not kept behind the head (100,000
    # kept slots would take 800 KB).
    assert grown < 20_000


async def test_backpressure_holds_the_reader_until_every_buffer_caught_up() -> None:
    reader = Reader()
    queues = [reader.buffer(n, 1, Overflow.BACKPRESSURE) for n in range(3)]
    for queue in queues:
        queue.feed(result(0))
        queue.feed(result(1))
    assert reader.pressure.paused == set(queues)
    waiting = asyncio.ensure_future(reader.pressure.relieved())
    for queue in queues[:2]:
        queue.take()
    await asyncio.sleep(0)
    assert not waiting.done()
    queues[2].fail(RuntimeError("gone"))
    await within(waiting)
    assert reader.pressure.paused == set()
    assert all(len(queue) == 0 or queue is queues[2] for queue in queues)


async def test_pressure_stop_ends_the_wait() -> None:
    reader = Reader()
    queue = reader.buffer(1, 1, Overflow.BACKPRESSURE)
    queue.feed(result(0))
    queue.feed(result(1))
    waiting = asyncio.ensure_future(reader.pressure.relieved())
    await asyncio.sleep(0)
    reader.pressure.stop()
    await within(waiting)


def test_options() -> None:
    assert queue_limit(None) == NO_LIMIT
    assert queue_limit(5) == 5
    with pytest.raises(ValueError, match="at least 1"):
        queue_limit(0)
    assert overflow_policy("keep_newest") is Overflow.KEEP_NEWEST
    assert overflow_policy(Overflow.BACKPRESSURE) is Overflow.BACKPRESSURE
    with pytest.raises(ValueError, match="'fail', 'keep_newest', 'backpressure'"):
        overflow_policy("drop")
    assert queue_options(INHERITED, INHERITED, default_limit=10, default_policy=Overflow.FAIL) == (
        10,
        Overflow.FAIL,
    )
    assert queue_options(None, "backpressure", default_limit=10, default_policy=Overflow.FAIL) == (
        NO_LIMIT,
        Overflow.BACKPRESSURE,
    )
    with pytest.raises(ValueError, match="at least 1"):
        ListenerQueue(1, True, high=0)
