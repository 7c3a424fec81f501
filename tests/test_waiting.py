"""Bounded waits, waiters that cancellation spares, and cleanup that cancellation cannot cut."""

from __future__ import annotations

import asyncio

import pytest

from gql_aiohttp_websockets.waiting import Waiters, shielded, within
from tests.helpers import within as bounded


async def test_within_returns_the_result_or_times_out() -> None:
    async def answer() -> int:
        return 42

    assert await within(answer(), 1) == 42
    assert await within(answer(), None) == 42
    never = asyncio.get_running_loop().create_future()
    with pytest.raises(asyncio.TimeoutError):
        await within(never, 0.01)
    assert never.cancelled()


async def test_a_cancelled_caller_waits_for_the_cleanup_then_is_cancelled() -> None:
    cleanup_started = asyncio.Event()
    release = asyncio.Event()
    finished: list[str] = []

    async def cleanup() -> None:
        cleanup_started.set()
        await release.wait()
        finished.append("cleanup")

    caller = asyncio.ensure_future(shielded(cleanup()))
    await bounded(cleanup_started.wait())
    caller.cancel()
    await asyncio.sleep(0)
    assert not caller.done(), "the caller waits for the cleanup"
    caller.cancel()  # a second cancellation is waited out too
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await bounded(caller)
    assert finished == ["cleanup"]


async def test_a_failing_cleanup_raises_to_its_caller() -> None:
    async def cleanup() -> None:
        raise ValueError("broken")

    with pytest.raises(ValueError, match="broken"):
        await shielded(cleanup())


async def test_waiters_are_released_together_and_a_cancelled_one_harms_none() -> None:
    waiters = Waiters()
    first = asyncio.ensure_future(waiters.wait())
    second = asyncio.ensure_future(waiters.wait())
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    waiters.release()
    await bounded(second)
    assert first.cancelled()
    waiters.release()  # nothing left to release: harmless


async def test_a_cancel_arriving_as_the_awaitable_completes_is_kept() -> None:
    # Python 3.10's wait_for returned the result and dropped such a cancel.
    done = asyncio.get_running_loop().create_future()

    async def complete_then_wait() -> None:
        await within(done, 5)
        await asyncio.get_running_loop().create_future()

    task = asyncio.ensure_future(complete_then_wait())
    await asyncio.sleep(0)
    done.set_result(None)
    task.cancel()
    await asyncio.wait([task], timeout=5)
    assert task.cancelled()
