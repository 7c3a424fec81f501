"""ListenerQueue: ordering, and errors raised only after the results queued before them."""

from __future__ import annotations

import asyncio

import pytest
from gql.transport.exceptions import TransportProtocolError
from graphql import ExecutionResult

from gql_aiohttp_websockets import ListenerQueue
from gql_aiohttp_websockets.listener_queue import COMPLETE, EMPTY
from tests.helpers import within


def result(n: int) -> ExecutionResult:
    return ExecutionResult(data={"n": n})


async def waiting_get(queue: ListenerQueue) -> asyncio.Task[object]:
    """Start a consumer and return once it is blocked inside ``get()``."""
    started = asyncio.Event()

    async def consume() -> object:
        started.set()
        return await queue.get()

    task = asyncio.ensure_future(consume())
    # set() wakes us only after consume() ran on into get() and blocked there.
    await within(started.wait())
    return task


async def test_items_come_out_in_order() -> None:
    queue = ListenerQueue(1, send_stop=True)
    for n in range(3):
        await queue.put(("data", result(n)))
    got = [await queue.get() for _ in range(3)]
    assert [item[1].data for item in got] == [{"n": 0}, {"n": 1}, {"n": 2}]  # type: ignore[union-attr]
    assert queue.query_id == 1
    assert queue.send_stop is True


async def test_an_exception_comes_after_the_queued_results() -> None:
    queue = ListenerQueue(1, send_stop=True)
    await queue.put(("data", result(1)))
    await queue.set_exception(RuntimeError("broken"))
    assert queue.send_stop is False
    assert (await queue.get())[1] == result(1)
    with pytest.raises(RuntimeError, match="broken"):
        await queue.get()
    with pytest.raises(RuntimeError, match="broken"):
        await queue.get()


async def test_nothing_is_queued_after_complete_or_an_exception() -> None:
    queue = ListenerQueue(1, send_stop=True)
    queue.put_nowait(("complete", None))
    queue.put_nowait(("data", result(9)))
    assert len(queue) == 1
    assert await queue.get() == ("complete", None)
    assert queue.send_stop is False

    failed = ListenerQueue(2, send_stop=False)
    failed.set_exception_nowait(ValueError("first"))
    failed.set_exception_nowait(ValueError("second"))
    failed.put_nowait(("data", result(1)))
    with pytest.raises(ValueError, match="first"):
        await failed.get()


async def test_a_waiting_consumer_is_woken_by_put_and_by_an_exception() -> None:
    queue = ListenerQueue(1, send_stop=True)
    waiting = await waiting_get(queue)
    queue.put_nowait(("data", result(5)))
    assert (await within(waiting))[1] == result(5)  # type: ignore[index]

    waiting = await waiting_get(queue)
    queue.set_exception_nowait(KeyError("gone"))
    with pytest.raises(KeyError):
        await within(waiting)


async def test_a_cancelled_get_leaves_the_queue_usable() -> None:
    queue = ListenerQueue(1, send_stop=True)
    waiting = await waiting_get(queue)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    queue.put_nowait(("data", result(2)))
    assert (await within(queue.get()))[1] == result(2)


# Results queued as text, decoded when taken.


def decode_n(query_id: int, text: str) -> ExecutionResult:
    if not text.isdigit():
        raise TransportProtocolError(f"operation {query_id}: {text!r} is not a number")
    return result(int(text))


def test_text_is_decoded_when_taken_and_keeps_its_place() -> None:
    queue = ListenerQueue(4, send_stop=True, decode=decode_n)
    queue.put_result("1")
    queue.put_result(result(2))
    queue.put_held("3")
    queue.put_complete()
    taken = [queue.take_nowait() for _ in range(4)]
    assert taken[:3] == [result(1), result(2), result(3)]
    assert taken[3] is COMPLETE
    assert queue.take_nowait() is EMPTY


def test_a_malformed_text_closes_the_queue_and_reports_once() -> None:
    reported: list[TransportProtocolError] = []
    queue = ListenerQueue(4, send_stop=True, decode=decode_n, on_malformed=reported.append)
    for text in ("1", "oops", "3"):
        queue.put_result(text)
    assert queue.take_nowait() == result(1)
    with pytest.raises(TransportProtocolError, match="operation 4: 'oops'") as caught:
        queue.take_nowait()
    assert reported == [caught.value]
    assert queue.closed
    assert queue.send_stop is False, "the connection fails; there is nothing to stop"
    assert len(queue) == 0, "nothing queued after the malformed frame is delivered"
    queue.put_result("4")
    assert queue.take_nowait() is EMPTY


async def test_put_held_asks_for_one_wake_and_wake_resumes_the_consumer() -> None:
    queue = ListenerQueue(1, send_stop=True)
    assert queue.put_held(result(0)) is False, "nobody is waiting"
    assert queue.take_nowait() == result(0)
    waiting = asyncio.ensure_future(queue.waiter())
    await asyncio.sleep(0)
    assert queue.put_held(result(1)) is True
    assert queue.put_held(result(2)) is False, "one wake covers every result of the turn"
    assert not waiting.done()
    queue.wake()
    await within(waiting)
    assert [queue.take_nowait(), queue.take_nowait()] == [result(1), result(2)]


def test_a_long_backlog_taken_slowly_stays_in_order() -> None:
    queue = ListenerQueue(1, send_stop=True)
    taken: list[object] = []
    for n in range(2000):
        queue.put_result(result(n))
        if n % 3 == 0:
            taken.append(queue.take_nowait())
    while (item := queue.take_nowait()) is not EMPTY:
        taken.append(item)
    assert taken == [result(n) for n in range(2000)]
    assert len(queue) == 0


def test_take_ready_hands_over_a_batch_next_item_last() -> None:
    queue = ListenerQueue(1, send_stop=True, decode=decode_n)
    for n in range(3):
        queue.put_result(str(n))
    queue.put_complete()
    ready = queue.take_ready()
    assert ready == [COMPLETE, "2", "1", "0"]
    assert queue.take_ready() == []
    assert [queue.result_of(ready.pop()) for _ in range(3)] == [result(0), result(1), result(2)]


def test_take_ready_takes_a_long_backlog_a_batch_at_a_time() -> None:
    queue = ListenerQueue(1, send_stop=True)
    for n in range(150):
        queue.put_result(result(n))
    taken: list[object] = []
    while ready := queue.take_ready():
        assert len(ready) <= 64
        taken.extend(reversed(ready))
        if len(taken) == 64:
            queue.put_result(result(1000))  # arrives while the backlog is taken
    assert taken == [result(n) for n in range(150)] + [result(1000)]


def test_take_ready_raises_only_once_the_results_are_taken() -> None:
    reported: list[TransportProtocolError] = []
    queue = ListenerQueue(1, send_stop=True, decode=decode_n, on_malformed=reported.append)
    queue.put_result("bad")
    queue.put_result("2")
    queue.set_exception_nowait(KeyError("later"))
    ready = queue.take_ready()
    with pytest.raises(TransportProtocolError):
        queue.result_of(ready.pop())
    assert len(reported) == 1
    with pytest.raises(KeyError):
        queue.take_ready()


async def test_a_held_complete_asks_for_a_wake_only_when_it_is_all_the_consumer_waits_for() -> None:
    queue = ListenerQueue(1, send_stop=True)
    waiting = asyncio.ensure_future(queue.waiter())
    await asyncio.sleep(0)
    assert queue.put_held(result(1)) is True
    assert queue.put_held(COMPLETE) is False, "the wake for the result covers it"
    assert queue.put_held(COMPLETE) is False, "nothing after the end"
    queue.wake()
    await within(waiting)
    assert [queue.take_nowait(), queue.take_nowait()] == [result(1), COMPLETE]

    alone = ListenerQueue(2, send_stop=True)
    waiting = asyncio.ensure_future(alone.waiter())
    await asyncio.sleep(0)
    assert alone.put_held(COMPLETE) is True
    alone.wake()
    await within(waiting)
    assert alone.take_nowait() is COMPLETE
