"""Closing: one shutdown at a time, the close() gql 4 sends after a refused connect()."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import aiohttp

from .waiting import Waiters, within

__all__ = ["ExcusedCloses", "Shutdown", "close_session"]

log = logging.getLogger("gql_aiohttp_websockets.transport")


class Shutdown:
    """The transport's shutdown: one at a time, awaited by any number of callers.

    Each step of a shutdown bounds its own wait (``close_timeout``,
    ``ssl_close_timeout``), so waiting for one is bounded too; cancelling a
    caller cancels its wait, never the cleanup.
    """

    __slots__ = ("_waiters", "task")

    def __init__(self) -> None:
        #: The running shutdown, ``None`` between shutdowns.
        self.task: asyncio.Task[None] | None = None
        self._waiters = Waiters()

    def start(self, steps: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``steps`` as the shutdown; the caller checked that none is running."""
        task = self.task = asyncio.ensure_future(self._run(steps))
        # Also if the task never ran (cancelled before its first step).
        task.add_done_callback(self._waiters.release)
        return task

    async def _run(self, steps: Coroutine[Any, Any, None]) -> None:
        try:
            await steps
        finally:
            self.task = None
            self._waiters.release()

    async def wait(self) -> None:
        """Wait until the running shutdown, if any, is over."""
        task = self.task
        if task is not None and not task.done():
            await self._waiters.wait()


class ExcusedCloses:
    """Tasks whose next ``close()`` is not the transport's to obey.

    gql 4's session answers any failed ``connect()`` with ``close()``,
    straight away in the same task.  When the failure was that the transport
    is already connected, that ``close()`` must not end the connection another
    task is making or using (gql bug #105); so it is excused, until the
    loop's next iteration and only in the refused task.
    """

    __slots__ = ("_tasks",)

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def excuse(self, task: asyncio.Task[Any]) -> None:
        """Excuse the next ``close()`` of ``task``, if it comes at once."""
        self._tasks.add(task)
        asyncio.get_running_loop().call_soon(self._tasks.discard, task)

    def take(self, task: asyncio.Task[Any] | None) -> bool:
        """Whether ``task``'s ``close()`` is excused (it is, once)."""
        if task is None or task not in self._tasks:
            return False
        self._tasks.discard(task)
        return True


async def close_session(session: aiohttp.ClientSession, timeout: float | None) -> None:
    """Close an aiohttp session the transport made, within ``timeout`` seconds."""
    try:
        await within(session.close(), timeout)
    except (Exception, asyncio.TimeoutError):
        log.debug("closing the aiohttp session failed", exc_info=True)
