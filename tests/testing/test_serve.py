"""gql-ws serve (python -m gql_aiohttp_websockets.testing): the example server from a terminal."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gql import gql

from gql_aiohttp_websockets import (
    AIOHTTPWebsocketsTransport,
    ConnectionRejectedError,
    Resubscribed,
    RetryPolicy,
    TransportConnectionClosed,
    TransportConnectionFailed,
    TransportEvent,
)
from gql_aiohttp_websockets.cli import main as gql_ws
from gql_aiohttp_websockets.testing import scaled_timeout
from gql_aiohttp_websockets.testing.serve import main, serve
from tests.helpers import collect, within

HELLO = gql("{ hello }")
TICKS = gql("subscription { ticks(count: 100000, delay_ms: 20) }")


class Lines:
    """A text stream that keeps the lines written to it, and says when one came."""

    def __init__(self) -> None:
        self.text = ""
        self._changed = asyncio.Event()

    def write(self, text: str) -> int:
        self.text += text
        self._changed.set()
        return len(text)

    def flush(self) -> None:
        pass

    async def line_with(self, part: str) -> str:
        async def found() -> str:
            while True:
                for line in self.text.splitlines():
                    if part in line:
                        return line
                self._changed.clear()
                await self._changed.wait()

        return await within(found())


@pytest.fixture
async def served(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, Lines]]:
    """``serve()`` in a task, with the keywords of the test's ``serve_with`` mark."""
    mark = request.node.get_closest_marker("serve_with")
    options: dict[str, Any] = dict(mark.kwargs) if mark else {}
    lines = Lines()
    task = asyncio.ensure_future(
        serve(port=0, out=lines, handle_signals=False, max_seconds=60, **options)  # type: ignore[arg-type]
    )
    url = (await lines.line_with("serving ")).split()[1]
    yield url, lines
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_it_serves_the_example_schema_in_both_subprotocols(
    served: tuple[str, Lines],
) -> None:
    url, lines = served
    assert url.startswith("ws://127.0.0.1:")
    assert "(graphql-transport-ws, graphql-ws)" in lines.text
    assert f"try: gql-ws {url} -q " in lines.text
    for subprotocol in ("graphql-transport-ws", "graphql-ws"):
        transport = AIOHTTPWebsocketsTransport(url=url, subprotocols=[subprotocol])
        await within(transport.connect())
        try:
            result = await within(transport.execute(HELLO))
            assert result.data == {"hello": "Hello world!"}
            assert transport.subprotocol == subprotocol
        finally:
            await transport.close()


@pytest.mark.serve_with(token="s3cret")
async def test_a_token_is_required(served: tuple[str, Lines]) -> None:
    url, lines = served
    assert """--init-payload '{"token": "s3cret"}'""" in lines.text
    refused = AIOHTTPWebsocketsTransport(url=url, init_payload={"token": "wrong"})
    with pytest.raises(TransportConnectionClosed) as raised:
        await within(refused.connect())
    assert raised.value.code == 4403
    legacy = AIOHTTPWebsocketsTransport(
        url=url, init_payload={"token": "wrong"}, subprotocols=["graphql-ws"]
    )
    with pytest.raises(ConnectionRejectedError):
        await within(legacy.connect())
    for payload in ({"token": "s3cret"}, {"Authorization": "Bearer s3cret"}):
        transport = AIOHTTPWebsocketsTransport(url=url, init_payload=payload)
        await within(transport.connect())
        try:
            assert (await within(transport.execute(HELLO))).data == {"hello": "Hello world!"}
        finally:
            await transport.close()


@pytest.mark.serve_with(drop_every=0.3)
async def test_connections_are_dropped_now_and_then(served: tuple[str, Lines]) -> None:
    url, lines = served
    resubscribed = asyncio.Event()

    def on_event(event: TransportEvent) -> None:
        if isinstance(event, Resubscribed):
            resubscribed.set()

    transport = AIOHTTPWebsocketsTransport(
        url=url,
        reconnect=RetryPolicy(attempts=5, wait=lambda attempt: 0.01),
        on_event=on_event,
    )
    await within(transport.connect())
    try:

        async def watch() -> None:
            async for _result in transport.subscribe(TICKS):
                if resubscribed.is_set():
                    return

        await within(watch())
        assert "dropped 1 connection(s)" in await lines.line_with("dropped")
    finally:
        await transport.close()


@pytest.mark.serve_with(max_operations_per_connection=1)
async def test_operations_per_connection_can_be_capped(served: tuple[str, Lines]) -> None:
    url, _ = served
    transport = AIOHTTPWebsocketsTransport(url=url)
    await within(transport.connect())
    try:
        first = transport.subscribe(TICKS)
        await within(first.__anext__())
        second = transport.subscribe(gql("subscription { ticks(count: 1) }"))
        with pytest.raises(Exception, match="Subscription limit reached"):
            await collect(second)
        await first.aclose()
    finally:
        await transport.close()


class Serving:
    """The example server as a command of its own, in a child process."""

    def __init__(self, process: asyncio.subprocess.Process, url: str) -> None:
        self.process = process
        self.url = url

    async def terminate(self) -> list[str]:
        """SIGTERM it; return the lines it wrote until it exited, which must be with 0."""
        process = self.process
        assert process.stdout is not None
        process.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(process.stdout.read(), scaled_timeout(20))
        assert await asyncio.wait_for(process.wait(), scaled_timeout(20)) == 0
        return rest.decode().splitlines()


@contextlib.asynccontextmanager
async def serving(*command: str) -> AsyncIterator[Serving]:
    """Run ``command`` (it serves on a free port for at most 60 s) until it says where."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *command,
        "--port",
        "0",
        "--max-seconds",
        "60",
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    try:
        first = await asyncio.wait_for(process.stdout.readline(), scaled_timeout(20))
        yield Serving(process, first.decode().split()[1])
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_the_command_serves_until_a_signal() -> None:
    async with serving("-m", "gql_aiohttp_websockets.testing") as server:
        transport = AIOHTTPWebsocketsTransport(url=server.url)
        await within(transport.connect())
        try:
            assert (await within(transport.execute(HELLO))).data == {"hello": "Hello world!"}
        finally:
            await transport.close()
        assert (await server.terminate())[-1] == "stopped"


def test_bad_options_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--drop-every", "0"])
    assert raised.value.code == 2
    assert "must be above 0" in capsys.readouterr().err


def test_gql_ws_serve_is_the_same_program(capfd: pytest.CaptureFixture[str]) -> None:
    assert gql_ws(["serve", "--help"]) == 0
    out = capfd.readouterr().out
    assert out.startswith("usage: gql-ws serve ")
    assert "--drop-every S" in out
    assert gql_ws(["serve", "--drop-every", "0"]) == 2
    assert "must be above 0" in capfd.readouterr().err


async def test_gql_ws_serve_stops_its_server_on_sigterm() -> None:
    # gql-ws serve runs the server in a process of its own: a SIGTERM for
    # gql-ws must not leave that one running.
    gql_ws_serve = "import sys; from gql_aiohttp_websockets.cli import main; sys.exit(main())"
    async with serving("-c", gql_ws_serve, "serve") as server:
        # The server's last word came, and its port no longer answers.
        assert (await server.terminate())[-1] == "stopped"
        transport = AIOHTTPWebsocketsTransport(url=server.url, connect_timeout=scaled_timeout(5))
        with pytest.raises(TransportConnectionFailed):
            await transport.connect()
