"""ListenerQueue: one way in, one way out, and errors raised only after the results before them."""

from __future__ import annotations

import asyncio

import pytest
from gql.transport.exceptions import TransportProtocolError
from graphql import ExecutionResult

from gql_aiohttp_websockets import ListenerQueue
from gql_aiohttp_websockets.listener_queue import COMPLETE, Decode
from tests.helpers import within


def result(n: int) -> ExecutionResult:
    return ExecutionResult(data={"n": n})


NOTHING = object()


def take_one(queue: ListenerQueue) -> object:
    """The next item, or ``NOTHING`` when none waits."""
    ready = list(queue.take(1))
    return ready[0] if ready else NOTHING


def decoding(
    query_id: int,
    decode: Decode,
    reported: list[TransportProtocolError] | None = None,
) -> ListenerQueue:
    queue = ListenerQueue(query_id, send_stop=True)
    queue.attach(decode, on_malformed=None if reported is None else reported.append)
    return queue


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
    failed.fail(ValueError("first"))
    failed.fail(ValueError("second"))
    failed.put_nowait(("data", result(1)))
    with pytest.raises(ValueError, match="first"):
        await failed.get()


async def test_a_waiting_consumer_is_woken_by_put_and_by_an_exception() -> None:
    queue = ListenerQueue(1, send_stop=True)
    waiting = await waiting_get(queue)
    queue.put_nowait(("data", result(5)))
    assert (await within(waiting))[1] == result(5)  # type: ignore[index]

    waiting = await waiting_get(queue)
    queue.fail(KeyError("gone"))
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
    queue = decoding(4, decode_n)
    queue.feed("1")
    queue.feed(result(2))
    queue.feed("3")
    queue.feed(COMPLETE)
    taken = [take_one(queue) for _ in range(4)]
    assert taken[:3] == [result(1), result(2), result(3)]
    assert taken[3] is COMPLETE
    assert take_one(queue) is NOTHING


def test_a_malformed_text_closes_the_queue_and_reports_once() -> None:
    reported: list[TransportProtocolError] = []
    queue = decoding(4, decode_n, reported)
    for text in ("1", "oops", "3"):
        queue.feed(text)
    assert take_one(queue) == result(1)
    with pytest.raises(TransportProtocolError, match="operation 4: 'oops'") as caught:
        take_one(queue)
    assert reported == [caught.value]
    assert queue.closed
    assert queue.send_stop is False, "the connection fails; there is nothing to stop"
    assert len(queue) == 0, "nothing queued after the malformed frame is delivered"
    queue.feed("4")
    with pytest.raises(TransportProtocolError, match="'oops'"):
        take_one(queue)


async def test_put_held_asks_for_one_wake_and_wake_resumes_the_consumer() -> None:
    queue = ListenerQueue(1, send_stop=True)
    assert queue.feed(result(0)) is False, "nobody is waiting"
    assert take_one(queue) == result(0)
    waiting = asyncio.ensure_future(queue.wait())
    await asyncio.sleep(0)
    assert queue.feed(result(1)) is True
    assert queue.feed(result(2)) is False, "one wake covers every result of the turn"
    assert not waiting.done()
    queue.wake()
    await within(waiting)
    assert [take_one(queue), take_one(queue)] == [result(1), result(2)]


def test_a_long_backlog_taken_slowly_stays_in_order() -> None:
    queue = ListenerQueue(1, send_stop=True)
    taken: list[object] = []
    for n in range(2000):
        queue.feed(result(n))
        if n % 3 == 0:
            taken.append(take_one(queue))
    while (item := take_one(queue)) is not NOTHING:
        taken.append(item)
    assert taken == [result(n) for n in range(2000)]
    assert len(queue) == 0


def test_take_hands_over_a_batch_decoded_next_item_last() -> None:
    queue = decoding(1, decode_n)
    for n in range(3):
        queue.feed(str(n))
    queue.feed(COMPLETE)
    assert list(queue.take()) == [result(0), result(1), result(2), COMPLETE]
    assert list(queue.take()) == []


def test_take_takes_a_long_backlog_a_batch_at_a_time() -> None:
    queue = ListenerQueue(1, send_stop=True)
    for n in range(150):
        queue.feed(result(n))
    taken: list[object] = []
    while ready := list(queue.take()):
        assert len(ready) <= 64
        taken.extend(ready)
        if len(taken) == 64:
            queue.feed(result(1000))  # arrives while the backlog is taken
    assert taken == [result(n) for n in range(150)] + [result(1000)]


def test_a_malformed_frame_in_a_batch_comes_after_the_results_before_it() -> None:
    reported: list[TransportProtocolError] = []
    queue = decoding(1, decode_n, reported)
    for text in ("1", "2", "bad", "4"):
        queue.feed(text)
    queue.fail(KeyError("later"))
    taken: list[object] = []
    with pytest.raises(TransportProtocolError, match="'bad'"):
        taken.extend(queue.take())
    assert taken == [result(1), result(2)], "what came before it is delivered"
    assert len(reported) == 1
    with pytest.raises(TransportProtocolError, match="'bad'"):
        queue.take()


def test_text_waiting_at_a_move_is_decoded_by_the_new_reader() -> None:
    queue = decoding(1, decode_n)
    queue.feed("1")
    queue.attach(lambda query_id, text: ExecutionResult(data={"other": text}))
    queue.feed("2")
    assert list(queue.take()) == [
        ExecutionResult(data={"other": "1"}),
        ExecutionResult(data={"other": "2"}),
    ]


async def test_a_held_complete_asks_for_a_wake_only_when_it_is_all_the_consumer_waits_for() -> None:
    queue = ListenerQueue(1, send_stop=True)
    waiting = asyncio.ensure_future(queue.wait())
    await asyncio.sleep(0)
    assert queue.feed(result(1)) is True
    assert queue.feed(COMPLETE) is False, "the wake for the result covers it"
    assert queue.feed(COMPLETE) is False, "nothing after the end"
    queue.wake()
    await within(waiting)
    assert [take_one(queue), take_one(queue)] == [result(1), COMPLETE]

    alone = ListenerQueue(2, send_stop=True)
    waiting = asyncio.ensure_future(alone.wait())
    await asyncio.sleep(0)
    assert alone.feed(COMPLETE) is True
    alone.wake()
    await within(waiting)
    assert take_one(alone) is COMPLETE
