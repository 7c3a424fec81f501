"""The ping timer and the keep-alive watchdog, driven by plain callables: no socket."""

from __future__ import annotations

import asyncio

import pytest
from gql.transport.exceptions import TransportServerError

from gql_aiohttp_websockets.close_codes import CloseCode
from gql_aiohttp_websockets.exceptions import TransportConnectionFailed
from gql_aiohttp_websockets.heartbeats import keep_alive_watchdog, ping_timer
from tests.helpers import within


class Failures(list[tuple[Exception, int]]):
    """What a timer reported through ``fail``, and an event set at the first."""

    def __init__(self) -> None:
        super().__init__()
        self.reported = asyncio.Event()

    def __call__(self, error: Exception, code: int) -> None:
        self.append((error, code))
        self.reported.set()


async def test_a_late_pong_fails_the_connection_once() -> None:
    failures = Failures()
    pings = 0

    async def ping() -> None:
        nonlocal pings
        pings += 1

    timer = asyncio.ensure_future(ping_timer(0.001, 0.01, ping, asyncio.Event(), failures))
    await within(timer)
    assert pings == 1
    ((error, code),) = failures
    assert isinstance(error, TransportServerError)
    assert str(error) == "No pong received within pong_timeout=0.01s of a ping"
    assert code == CloseCode.GOING_AWAY


async def test_answered_pings_go_on_until_cancelled() -> None:
    failures = Failures()
    pong_received = asyncio.Event()
    three_answered = asyncio.Event()
    pings = 0

    async def ping() -> None:
        nonlocal pings
        pings += 1
        pong_received.set()
        if pings == 3:
            three_answered.set()

    timer = asyncio.ensure_future(ping_timer(0.001, 5, ping, pong_received, failures))
    await within(three_answered.wait())
    timer.cancel()
    await within(asyncio.wait([timer]))
    assert failures == []
    assert timer.cancelled()


@pytest.mark.parametrize(
    ("raised", "code"),
    [(TransportConnectionFailed("broken"), None), (ValueError("bug"), CloseCode.INTERNAL_ERROR)],
)
async def test_a_failing_send_ends_the_timer(raised: Exception, code: int | None) -> None:
    failures = Failures()

    async def ping() -> None:
        raise raised

    await within(ping_timer(0.001, 5, ping, asyncio.Event(), failures))
    # A broken connection is reported by the receive loop; anything else here.
    assert failures == ([] if code is None else [(raised, code)])


async def test_a_silent_server_trips_the_watchdog() -> None:
    failures = Failures()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await within(keep_alive_watchdog(0.02, lambda: 0, failures))
    assert loop.time() - started >= 0.02
    ((error, code),) = failures
    assert "within keep_alive_timeout=0.02s" in str(error)
    assert code == CloseCode.GOING_AWAY


async def test_arriving_frames_keep_the_watchdog_quiet() -> None:
    failures = Failures()
    reads = 0
    many_read = asyncio.Event()

    def frames() -> int:
        nonlocal reads
        reads += 1
        if reads == 20:
            many_read.set()
        return reads  # a new frame at every look

    watchdog = asyncio.ensure_future(keep_alive_watchdog(0.004, frames, failures))
    await within(many_read.wait())
    watchdog.cancel()
    await within(asyncio.wait([watchdog]))
    assert failures == []
