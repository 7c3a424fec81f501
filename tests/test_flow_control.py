"""The queue's bound and its three policies, without a socket; and the options' checks."""

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
)
from gql_aiohttp_websockets.listener_queue import COMPLETE, EMPTY
from tests.helpers import within


def result(n: int) -> ExecutionResult:
    return ExecutionResult(data={"n": n})


def drain(queue: ListenerQueue) -> list[object]:
    taken: list[object] = []
    while True:
        item = queue.take_nowait()
        if item is EMPTY or item is COMPLETE:
            return taken
        assert isinstance(item, ExecutionResult)
        taken.append(item.data["n"] if item.data else None)


class Calls:
    def __init__(self) -> None:
        self.full: list[ListenerQueue] = []

    def __call__(self, queue: ListenerQueue) -> None:
        self.full.append(queue)


def test_fail_keeps_what_came_before_the_limit_then_raises() -> None:
    calls = Calls()
    queue = ListenerQueue(7, True, limit=3, on_full=calls)
    for n in range(5):
        queue.put_result(result(n))
    assert calls.full == [queue]
    assert queue.closed
    assert not queue.send_stop
    assert [queue.take_nowait().data for _ in range(3)] == [{"n": 0}, {"n": 1}, {"n": 2}]  # type: ignore[union-attr]
    with pytest.raises(QueueFullError) as raised:
        queue.take_nowait()
    assert raised.value.query_id == 7
    assert raised.value.limit == 3
    assert "max_queued_results=3" in str(raised.value)
    assert "on_queue_full='keep_newest'" in str(raised.value)


def test_the_limit_counts_what_is_waiting_not_what_was_taken() -> None:
    queue = ListenerQueue(1, True, limit=2)
    for n in range(1000):
        queue.put_result(result(n))
        assert queue.take_nowait().data == {"n": n}  # type: ignore[union-attr]
    for n in range(2):
        queue.put_result(result(n))
    assert not queue.closed


def test_the_limit_counts_exactly_after_partial_takes() -> None:
    # The list keeps taken slots for a while: the bound must not count them.
    queue = ListenerQueue(1, True, limit=300)
    for n in range(300):
        queue.put_result(result(n))
    for _ in range(200):
        queue.take_nowait()
    for n in range(200):
        queue.put_result(result(300 + n))
    assert not queue.closed
    assert len(queue) == 300
    queue.put_result(result(999))
    assert queue.closed


def test_complete_is_queued_at_the_limit() -> None:
    queue = ListenerQueue(1, True, limit=2)
    queue.put_result(result(0))
    queue.put_result(result(1))
    queue.put_complete()
    assert drain(queue) == [0, 1]
    assert queue.closed


def test_keep_newest_drops_the_oldest() -> None:
    calls = Calls()
    queue = ListenerQueue(1, True, limit=3, overflow=Overflow.KEEP_NEWEST, on_full=calls)
    for n in range(10):
        queue.put_result(result(n))
    assert drain(queue) == [7, 8, 9]
    assert queue.dropped == 7
    assert calls.full == []
    assert not queue.closed


def test_keep_newest_under_a_long_run_keeps_memory_bounded() -> None:
    queue = ListenerQueue(1, True, limit=5, overflow=Overflow.KEEP_NEWEST)
    texts = [f'{{"n": {n}}}' for n in range(100_000)]
    tracemalloc.start()
    try:
        for text in texts:
            queue.put_held(text)
        grown, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(queue) == 5
    # The dropped slots are let go of, not kept behind the head (100,000
    # kept slots would take 800 KB).
    assert grown < 20_000


def test_keep_newest_with_take_ready() -> None:
    queue = ListenerQueue(1, True, limit=2, overflow=Overflow.KEEP_NEWEST)
    for n in range(5):
        queue.put_result(result(n))
    ready = queue.take_ready()
    assert [item.data for item in reversed(ready)] == [{"n": 3}, {"n": 4}]  # type: ignore[union-attr]


def test_backpressure_loses_nothing_and_reports_full_once() -> None:
    calls = Calls()
    queue = ListenerQueue(1, True, limit=4, overflow=Overflow.BACKPRESSURE, on_full=calls)
    for n in range(10):
        queue.put_result(result(n))
    assert calls.full == [queue]
    assert queue.full
    assert not queue.closed
    # Relieved at half the limit: 10 queued, 8 taken leaves 2.
    for _ in range(7):
        queue.take_nowait()
    assert queue.full
    queue.take_nowait()
    assert not queue.full
    assert drain(queue) == [8, 9]


async def test_backpressure_space_is_done_once_the_consumer_caught_up() -> None:
    queue = ListenerQueue(1, True, limit=4, overflow=Overflow.BACKPRESSURE)
    for n in range(6):
        queue.put_result(result(n))
    space = queue.space()
    assert not space.done()
    queue.take_ready()
    await within(space)
    assert queue.space().done()


@pytest.mark.parametrize("ending", ["complete", "exception", "relieve"])
async def test_backpressure_ends_when_the_queue_ends(ending: str) -> None:
    queue = ListenerQueue(1, True, limit=1, overflow=Overflow.BACKPRESSURE)
    queue.put_result(result(0))
    queue.put_result(result(1))
    space = queue.space()
    if ending == "complete":
        queue.put_complete()
    elif ending == "exception":
        queue.set_exception_nowait(RuntimeError("ended"))
    else:
        queue.relieve()
    await within(space)
    assert not queue.full


async def test_pressure_waits_for_every_full_queue() -> None:
    pressure = Pressure()
    queues = [
        ListenerQueue(n, True, limit=1, overflow=Overflow.BACKPRESSURE, on_full=pressure.add)
        for n in range(3)
    ]
    for queue in queues:
        queue.put_result(result(0))
        queue.put_result(result(1))
    assert pressure.queues == queues
    waiting = asyncio.ensure_future(pressure.relieved())
    for queue in queues[:2]:
        queue.take_ready()
    await asyncio.sleep(0)
    assert not waiting.done()
    queues[2].set_exception_nowait(RuntimeError("gone"))
    await within(waiting)
    assert pressure.queues == []


async def test_pressure_stop_ends_the_wait() -> None:
    pressure = Pressure()
    queue = ListenerQueue(1, True, limit=1, overflow=Overflow.BACKPRESSURE, on_full=pressure.add)
    queue.put_result(result(0))
    queue.put_result(result(1))
    waiting = asyncio.ensure_future(pressure.relieved())
    await asyncio.sleep(0)
    pressure.stop()
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
        ListenerQueue(1, True, limit=0)
