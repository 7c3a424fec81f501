"""SequenceTicker: one global sequence of numbers, sent to every current subscriber.

A server that sends every event to every current subscriber is what lets a
test check continuity across connections: each subscriber of the
``sequence`` subscription (:func:`~gql_aiohttp_websockets.testing.example_schema`)
gets the same numbers from the moment it subscribed, whichever connection it
came on, so a client that moves a subscription from one connection to another
can count what it missed and what it got twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

__all__ = ["SequenceTicker"]


class SequenceTicker:
    """Counts up, and sends each number to every subscriber at that moment.

    Args:
        interval: Seconds between ticks once the first subscriber came;
            ``None``: only :meth:`tick` moves it.

    Attributes:
        value: The last number sent (0 before the first tick).
    """

    def __init__(self, interval: float | None = 0.01) -> None:
        if interval is not None and not interval > 0:
            raise ValueError(f"interval must be None or > 0 seconds, got {interval}")
        self.interval = interval
        self.value = 0
        # In the order they subscribed: each tick reaches them in that order.
        self._subscribers: dict[asyncio.Queue[int], None] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._joined = asyncio.Event()

    @property
    def subscribers(self) -> int:
        """How many subscriptions get the numbers now."""
        return len(self._subscribers)

    def tick(self) -> int:
        """Send the next number to every subscriber now, and return it."""
        self.value += 1
        for queue in self._subscribers:
            queue.put_nowait(self.value)
        return self.value

    async def numbers(self, *, current: bool = False) -> AsyncIterator[int]:
        """Yield each number from the next tick on, until the caller stops.

        Args:
            current: Yield the last number first (once there was a tick), as
                a live query answers with the current state.
        """
        queue: asyncio.Queue[int] = asyncio.Queue()
        if current and self.value:
            queue.put_nowait(self.value)
        self._subscribers[queue] = None
        self._joined.set()
        self._run_if_timed()
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.pop(queue, None)

    async def wait_for_subscribers(self, count: int, timeout: float) -> None:
        """Wait until at least ``count`` subscriptions get the numbers.

        Raises:
            TimeoutError: Fewer subscribed within ``timeout`` seconds.
        """

        async def enough() -> None:
            while len(self._subscribers) < count:
                self._joined.clear()
                await self._joined.wait()

        try:
            await asyncio.wait_for(enough(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(
                f"{len(self._subscribers)} of {count} subscribers after {timeout:g} s"
            ) from None

    async def stop(self) -> None:
        """Stop ticking by itself; waits until its task is gone."""
        self._stopped = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _run_if_timed(self) -> None:
        if self.interval is not None and self._task is None and not self._stopped:
            self._task = asyncio.get_running_loop().create_task(self._run(self.interval))

    async def _run(self, interval: float) -> None:
        loop = asyncio.get_running_loop()
        # Ticks keep to a schedule: a slow turn makes the next one sooner.
        due = loop.time()
        while True:
            due += interval
            await asyncio.sleep(max(due - loop.time(), 0.0))
            self.tick()
