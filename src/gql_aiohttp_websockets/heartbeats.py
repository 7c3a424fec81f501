"""The two timers that notice a server that stopped answering.

The ping timer sends a protocol ``ping`` every ``ping_interval`` seconds and
fails the connection when no ``pong`` comes within ``pong_timeout``; the
keep-alive watchdog fails it when nothing at all arrived for
``keep_alive_timeout`` seconds.  Both only read and call what they are given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from .close_codes import CloseCode
from .exceptions import HeartbeatTimeoutError, TransportConnectionFailed
from .waiting import within

__all__ = ["Fail", "keep_alive_watchdog", "ping_timer"]

#: Ends the connection with an error and the close code to close it with.
Fail = Callable[[Exception, int], None]


async def ping_timer(
    interval: float,
    pong_timeout: float | None,
    ping: Callable[[], Awaitable[None]],
    pong_received: asyncio.Event,
    fail: Fail,
    *,
    paused: Callable[[], bool] = lambda: False,
) -> None:
    """Ping every ``interval`` seconds; ``fail`` when a pong is late.

    While ``paused()`` (reading is held back on purpose, so a pong may be
    waiting unread), a late pong is waited for again instead.  Returns when
    sending fails (the connection broke: the receive loop tells why); runs
    until cancelled otherwise.
    """
    loop = asyncio.get_running_loop()

    async def ping_and_wait() -> None:
        # The send counts too: a server that stopped reading blocks it.
        started = loop.time()
        await within(ping(), pong_timeout)
        while True:
            left = None if pong_timeout is None else max(started + pong_timeout - loop.time(), 0)
            try:
                await within(pong_received.wait(), left)
                return
            except asyncio.TimeoutError:
                if not paused():
                    raise
                started = loop.time()

    try:
        while True:
            await asyncio.sleep(interval)
            pong_received.clear()
            try:
                await ping_and_wait()
            except asyncio.TimeoutError:
                fail(
                    HeartbeatTimeoutError(
                        f"No pong received within pong_timeout={pong_timeout}s of a ping"
                    ),
                    CloseCode.GOING_AWAY,
                )
                return
    except TransportConnectionFailed:
        return
    except Exception as exc:
        fail(exc, CloseCode.INTERNAL_ERROR)


async def keep_alive_watchdog(
    timeout: float,
    frames: Callable[[], int],
    fail: Fail,
    *,
    paused: Callable[[], bool] = lambda: False,
) -> None:
    """``fail`` once ``frames()`` (a count of received frames) stands still for ``timeout`` s.

    While ``paused()`` (reading is held back on purpose), silence does not count.
    """
    loop = asyncio.get_running_loop()
    seen = frames()
    last_seen_at = loop.time()
    # A quarter of the timeout, however short: a server that stays silent
    # for just over it is noticed.
    step = max(timeout / 4, 0.0001)
    while True:
        await asyncio.sleep(step)
        now = loop.time()
        count = frames()
        if count != seen or paused():
            seen = count
            last_seen_at = now
        elif now - last_seen_at >= timeout:
            fail(
                HeartbeatTimeoutError(
                    "No keep-alive message has been received from the server within "
                    f"keep_alive_timeout={timeout}s (nor any other message)"
                ),
                CloseCode.GOING_AWAY,
            )
            return
