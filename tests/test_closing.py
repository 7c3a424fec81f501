"""closing.py: one shutdown at a time, and excused closes."""

from __future__ import annotations

import asyncio

from gql_aiohttp_websockets.closing import ExcusedCloses, Shutdown
from tests.helpers import within


async def test_a_shutdown_is_awaited_by_every_caller_and_survives_their_cancellation() -> None:
    shutdown = Shutdown()
    release = asyncio.Event()
    finished: list[str] = []

    async def steps() -> None:
        await release.wait()
        finished.append("done")

    shutdown.start(steps())
    first = asyncio.ensure_future(shutdown.wait())
    second = asyncio.ensure_future(shutdown.wait())
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    await within(second)
    assert finished == ["done"]
    assert shutdown.task is None
    assert first.cancelled()
    # Nothing running: waiting returns at once.
    await within(shutdown.wait())


async def test_a_shutdown_cancelled_before_its_first_step_still_releases() -> None:
    shutdown = Shutdown()
    task = shutdown.start(asyncio.sleep(10))
    waiting = asyncio.ensure_future(shutdown.wait())
    await asyncio.sleep(0)
    task.cancel()
    await within(waiting)


async def test_an_excused_close_is_excused_once_and_only_at_once() -> None:
    excused = ExcusedCloses()
    task = asyncio.current_task()
    assert task is not None
    assert not excused.take(task)
    excused.excuse(task)
    assert excused.take(task)
    assert not excused.take(task)
    excused.excuse(task)
    # The excuse lapses at the loop's next iteration.
    await asyncio.sleep(0)
    assert not excused.take(task)
    assert not excused.take(None)
