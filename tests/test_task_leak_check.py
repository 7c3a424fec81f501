"""The suite's own guard: a test that leaves a task of the package running fails."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = (Path(__file__).parent / "conftest.py").read_text()

LEAKY_TEST = """
import asyncio

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport, ListenerQueue
from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema


async def test_forgets_a_task():
    # A package coroutine left waiting, and nothing else: no socket or session
    # that could warn during some later test.
    asyncio.ensure_future(ListenerQueue(1, send_stop=False).get())


async def test_closes():
    async with GraphQLWebsocketServer(example_schema()) as server:
        transport = AIOHTTPWebsocketsTransport(url=server.url)
        await transport.connect()
        await transport.close()
"""


def test_a_leaked_task_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST.replace('\npytest_plugins = ("pytester",)\n', "\n"))
    pytester.makepyfile(test_leaky=LEAKY_TEST)
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*left 1 task(s) of the package running*"])
