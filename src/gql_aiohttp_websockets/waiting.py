"""Bounded waits, cleanup that a cancellation cannot cut short, and long work that yields."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

__all__ = ["BREATHE_SECONDS", "Breather", "Waiters", "shielded", "within"]

#: The longest a batch of the transport's own work runs without yielding to the loop.
BREATHE_SECONDS = 0.005

_T = TypeVar("_T")


if sys.version_info >= (3, 11):

    async def within(awaitable: Awaitable[_T], timeout: float | None) -> _T:
        """Await ``awaitable`` for at most ``timeout`` seconds (``None``: no limit)."""
        # Unlike wait_for before 3.12, no extra task per call: this runs on
        # every connect and close.
        async with asyncio.timeout(timeout):
            return await awaitable

else:

    async def within(awaitable: Awaitable[_T], timeout: float | None) -> _T:
        """Await ``awaitable`` for at most ``timeout`` seconds (``None``: no limit)."""
        # Not wait_for: on 3.10 it swallows a cancellation that arrives as the
        # awaitable completes (CPython gh-86296), and a timer that pings in a
        # loop then never stops.  Awaiting the task itself keeps the cancel.
        if timeout is None:
            return await awaitable
        task = asyncio.ensure_future(awaitable)
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            task.cancel()

        handle = asyncio.get_running_loop().call_later(max(timeout, 0.0), expire)
        try:
            return await task
        except asyncio.CancelledError:
            if expired and task.cancelled():
                raise asyncio.TimeoutError from None
            raise
        finally:
            handle.cancel()


async def shielded(cleanup: Coroutine[Any, Any, None]) -> None:
    """Run ``cleanup`` to its end, even if the caller is cancelled meanwhile.

    The cleanup runs in a task of its own; a cancellation of the caller waits
    for it to finish and is then raised.  ``cleanup`` must bound its own
    waits: nothing here times it out.
    """
    task = asyncio.ensure_future(cleanup)
    cancelled: asyncio.CancelledError | None = None
    while not task.done():
        try:
            await asyncio.wait([task])
        except asyncio.CancelledError as exc:
            cancelled = exc
    task.result()
    if cancelled is not None:
        raise cancelled


class Waiters:
    """Callers waiting for one piece of work, each on a future of its own.

    Cancelling a caller cancels its future, never the work; and it resumes
    one loop iteration sooner than through :func:`asyncio.shield`.
    """

    __slots__ = ("_futures",)

    def __init__(self) -> None:
        self._futures: list[asyncio.Future[None]] = []

    async def wait(self) -> None:
        """Wait until :meth:`release` is called."""
        future = asyncio.get_running_loop().create_future()
        self._futures.append(future)
        await future

    def release(self, _: object = None) -> None:
        """Resume every caller waiting (usable as a done callback)."""
        futures, self._futures = self._futures, []
        for future in futures:
            if not future.done():
                future.set_result(None)


class Breather:
    """Lets a long loop of the transport's own work yield to the rest of the event loop.

    A send to a socket that is not full does not suspend, so a loop of
    thousands of them (subscribing again after a loss, moving subscriptions
    in a renewal) would hold every other coroutine until it is done.
    :meth:`breathe`, called once per step, yields once every
    :data:`BREATHE_SECONDS` (reading the clock every ``every`` steps).
    """

    __slots__ = ("_countdown", "_every", "_loop", "_since")

    def __init__(self, every: int = 64) -> None:
        self._loop = asyncio.get_running_loop()
        self._every = every
        self._countdown = every
        self._since = self._loop.time()

    async def breathe(self) -> None:
        """Yield to the event loop if this work has run long enough."""
        self._countdown -= 1
        if self._countdown:
            return
        self._countdown = self._every
        now = self._loop.time()
        if now - self._since >= BREATHE_SECONDS:
            await asyncio.sleep(0)
            self._since = self._loop.time()
