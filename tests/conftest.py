"""Shared fixtures: the task-leak check and servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport
from tests.task_leaks import tasks_left_running

TESTS_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Only coroutine tests get the leak check: a function-scoped async fixture
    # on plain tests would give every hypothesis test an event loop it does not use.
    for item in items:
        if not item.path.is_relative_to(TESTS_DIR):
            continue  # examples/testing runs as a user's own suite would
        function = getattr(item, "obj", None)
        if function is not None and inspect.iscoroutinefunction(function):
            fixturenames = getattr(item, "fixturenames", None)
            if fixturenames is not None and "_no_task_left" not in fixturenames:
                fixturenames.insert(0, "_no_task_left")


@pytest.fixture
async def _no_task_left() -> AsyncIterator[None]:
    yield
    left = tasks_left_running()
    if left:
        for task in left:
            task.cancel()
        await asyncio.wait(left, timeout=5)
        pytest.fail(f"the test left {len(left)} task(s) of the package running: {left!r}")


@pytest.fixture
def sync_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A current event loop for gql's sync ``Client``, closed after the test.

    gql's sync API runs on the current loop and creates one when there is none,
    which nobody would close.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)


pytest_plugins = ("pytester",)


MakeTransport = Callable[..., AIOHTTPWebsocketsTransport]


@pytest.fixture
async def make_transport() -> AsyncIterator[MakeTransport]:
    """Build transports; any still open at teardown are closed (newest first)."""
    made: list[AIOHTTPWebsocketsTransport] = []

    def make(url: str, **kwargs: Any) -> AIOHTTPWebsocketsTransport:
        transport = AIOHTTPWebsocketsTransport(url=url, **kwargs)
        made.append(transport)
        return transport

    yield make
    for transport in reversed(made):
        await transport.close()
