"""The wake-up policy of the receive loop, without a socket.

The loop holds consumers' wake-ups while more of what the server sent is
already there to read, and wakes them when the turn is long enough, when
nothing more has arrived, or at the latest HOLD_SECONDS into a wait for the
rest of a frame.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque

import pytest

from gql_aiohttp_websockets import ListenerQueue
from gql_aiohttp_websockets.waiting import BREATHE_SECONDS, Breather
from gql_aiohttp_websockets.wakeups import (
    BUSY_TURN_SECONDS,
    BYTES_PER_WAKE,
    HOLD_SECONDS,
    TURN_BYTES,
    TURN_SECONDS,
    Turn,
    readable_probe,
)
from tests.helpers import within


async def waiting_queues(count: int) -> tuple[list[ListenerQueue], list[asyncio.Future[None]]]:
    """Queues whose consumers wait, each with the future it waits on."""
    queues = [ListenerQueue(n, send_stop=False) for n in range(count)]
    waiters = [asyncio.ensure_future(queue.wait()) for queue in queues]
    await asyncio.sleep(0)  # let each waiter register
    return queues, waiters


def hold(turn: Turn, queues: list[ListenerQueue], size: int) -> None:
    """Queue one result of ``size`` bytes for each queue, as the receive loop does."""
    for queue in queues:
        if queue.feed("text"):
            turn.held.append(queue)
        turn.bytes += size


async def test_a_held_wake_up_is_released_within_the_hold_bound() -> None:
    loop = asyncio.get_running_loop()
    (queue,), (waiting,) = await waiting_queues(1)
    turn = Turn(loop)
    hold(turn, [queue], 100)
    started = loop.time()
    turn.hold_briefly()
    assert turn.holding
    await within(waiting)
    assert loop.time() - started >= HOLD_SECONDS * 0.5
    assert not turn.holding
    assert turn.held == []
    assert turn.bytes == 0


async def test_ending_a_turn_wakes_each_held_consumer_once() -> None:
    turn = Turn(asyncio.get_running_loop())
    queues, waiters = await waiting_queues(3)
    for _ in range(3):
        hold(turn, queues, 10)
    assert turn.held == queues, "a queue is held once however many results it got"
    turn.hold_briefly()
    turn.end()
    assert not turn.holding, "ending the turn cancels the hold bound"
    await within(asyncio.gather(*waiters))
    assert [len(queue) for queue in queues] == [3, 3, 3]


async def test_a_full_turn_ends_and_asks_the_loop_to_yield() -> None:
    frames: deque[object] = deque(["more"])
    turn = Turn(asyncio.get_running_loop(), frames, lambda: True)
    queues, waiters = await waiting_queues(1)
    hold(turn, queues, TURN_BYTES)
    assert turn.before_receive() is True
    assert turn.held == []
    await within(waiters[0])


async def test_a_turn_goes_on_while_frames_are_already_parsed() -> None:
    frames: deque[object] = deque(["more"])
    turn = Turn(asyncio.get_running_loop(), frames, lambda: False)
    queues, waiters = await waiting_queues(1)
    hold(turn, queues, 100)
    assert turn.before_receive() is False
    assert turn.held == queues
    assert not turn.holding
    assert not waiters[0].done()
    turn.end()


async def test_many_consumers_need_more_bytes_before_the_turn_is_full() -> None:
    frames: deque[object] = deque(["more"])
    turn = Turn(asyncio.get_running_loop(), frames, lambda: False)
    count = TURN_BYTES // BYTES_PER_WAKE + 10
    queues, _ = await waiting_queues(count)
    hold(turn, queues, TURN_BYTES // count + 1)
    assert turn.bytes >= TURN_BYTES
    assert turn.before_receive() is False, "fewer than BYTES_PER_WAKE per consumer"
    assert len(turn.held) == count
    hold(turn, queues[:1], count * BYTES_PER_WAKE)
    assert turn.before_receive() is True
    assert turn.held == []


async def test_with_nothing_parsed_bytes_on_the_socket_hold_the_turn_briefly() -> None:
    turn = Turn(asyncio.get_running_loop(), deque(), lambda: True)
    queues, waiters = await waiting_queues(1)
    hold(turn, queues, 100)
    assert turn.before_receive() is False
    assert turn.holding
    assert turn.held == queues
    turn.stop_holding()
    assert not turn.holding
    assert turn.held == queues, "stopping the hold bound wakes nobody"
    assert not waiters[0].done()
    turn.end()


@pytest.mark.parametrize(
    ("frames", "readable"),
    [
        pytest.param(deque(), lambda: False, id="nothing parsed, nothing readable"),
        pytest.param(None, lambda: True, id="aiohttp's queue not visible"),
        pytest.param(deque(), None, id="socket cannot be polled"),
    ],
)
async def test_with_nothing_more_to_read_the_turn_ends(frames: object, readable: object) -> None:
    turn = Turn(asyncio.get_running_loop(), frames, readable)  # type: ignore[arg-type]
    queues, waiters = await waiting_queues(2)
    hold(turn, queues, 100)
    assert turn.before_receive() is False
    assert not turn.holding
    assert turn.held == []
    await within(asyncio.gather(*waiters))


def test_the_readable_probe_sees_unread_bytes_without_waiting() -> None:
    left, right = socket.socketpair()
    with left, right:
        readable = readable_probe(left)
        assert readable is not None
        assert readable() is False
        right.sendall(b"x")
        assert readable() is True
        left.recv(1)
        assert readable() is False
    assert readable_probe(None) is None


class Clock:
    """The loop's clock as a test moves it: the one thing Turn.due and Breather read."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.now = 0.0
        self._loop = loop

    def time(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: object) -> asyncio.TimerHandle:
        return self._loop.call_later(delay, callback)  # type: ignore[arg-type]


async def test_a_turn_read_for_turn_seconds_ends_and_asks_for_a_yield() -> None:
    clock = Clock(asyncio.get_running_loop())
    queues, waiters = await waiting_queues(3)
    turn = Turn(clock)  # type: ignore[arg-type]
    hold(turn, queues, 10)
    # The first check after a wait for the network starts the count.
    clock.now = 1.0
    assert not turn.due()
    clock.now = 1.0 + TURN_SECONDS / 2
    assert not turn.due()
    assert len(turn.held) == 3
    clock.now = 1.0 + TURN_SECONDS * 1.01
    assert turn.due()
    # Every consumer held is woken; while results keep coming, the next
    # turns are longer.
    assert turn.held == []
    await within(asyncio.gather(*waiters))
    start = clock.now
    clock.now = start + TURN_SECONDS * 2
    assert not turn.due()
    clock.now = start + BUSY_TURN_SECONDS * 1.01
    assert turn.due()


async def test_a_breather_yields_once_its_work_ran_for_breathe_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()
    clock = Clock(loop)
    monkeypatch.setattr(loop, "time", clock.time)
    breather = Breather(every=4)
    others = 0

    async def other() -> None:
        nonlocal others
        while True:
            others += 1
            await asyncio.sleep(0)

    running = asyncio.ensure_future(other())
    await asyncio.sleep(0)
    seen = others
    # Work that takes no time on the clock never yields...
    for _ in range(100):
        await breather.breathe()
    assert others == seen
    # ...and once it has run BREATHE_SECONDS, the next check lets others run.
    clock.now = BREATHE_SECONDS
    for _ in range(4):
        await breather.breathe()
    assert others == seen + 1
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
