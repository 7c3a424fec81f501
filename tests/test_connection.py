"""Connection on its own: one websocket against the package's server, used once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from gql.transport.exceptions import TransportProtocolError

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport, ListenerQueue
from gql_aiohttp_websockets.close_codes import CloseCode
from gql_aiohttp_websockets.connection import Connection
from gql_aiohttp_websockets.exceptions import TransportConnectionClosed, TransportConnectionFailed
from gql_aiohttp_websockets.lifecycle import ConnectionState
from gql_aiohttp_websockets.request_payload import build_payload
from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema
from tests.helpers import within
from tests.task_leaks import PACKAGE_DIR, tasks_left_running
from tests.transport.conftest import BOTH


class Ended(list[tuple[Connection, Exception, int]]):
    """The ends a connection reported, and an event set at the first."""

    def __init__(self) -> None:
        super().__init__()
        self.reported = asyncio.Event()

    def __call__(self, connection: Connection, error: Exception, code: int) -> None:
        self.append((connection, error, code))
        self.reported.set()


def _in_testing(coro: Any) -> bool:
    code = getattr(coro, "cr_code", None)
    return code is not None and (PACKAGE_DIR / "testing") in Path(code.co_filename).parents


@pytest.fixture(params=BOTH)
async def server(request: pytest.FixtureRequest) -> AsyncIterator[GraphQLWebsocketServer]:
    async with GraphQLWebsocketServer(example_schema(), subprotocols=(request.param,)) as running:
        yield running


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


def make(
    url: str, session: aiohttp.ClientSession, ended: Ended, **options: Any
) -> tuple[Connection, dict[int, ListenerQueue]]:
    listeners: dict[int, ListenerQueue] = {}
    connection = Connection(
        AIOHTTPWebsocketsTransport(url, **options).connection_settings(),
        session,
        listeners=listeners,
        ping_received=asyncio.Event(),
        pong_received=asyncio.Event(),
        on_end=ended,
    )
    return connection, listeners


async def opened(connection: Connection) -> Connection:
    await within(connection.open(("graphql-transport-ws", "graphql-ws"), 5))
    await within(connection.initialize({}, 5))
    connection.start()
    return connection


async def test_a_connection_runs_an_operation_and_closes_with_nothing_left(
    server: GraphQLWebsocketServer, session: aiohttp.ClientSession
) -> None:
    ended = Ended()
    connection, listeners = make(server.url, session, ended)
    assert connection.state is ConnectionState.NEW
    await opened(connection)
    assert connection.state is ConnectionState.OPEN
    assert connection.subprotocol == server.subprotocols[0]
    assert "connection_ack" in connection.payloads
    assert connection.decode_result is not None
    listener = ListenerQueue(1, False, connection.decode_result, connection.on_malformed)
    listeners[1] = listener
    await connection.send(
        connection.start_frame(1, build_payload("subscription { countdown(from: 2) }"))
    )
    taken = []
    while (item := await within(listener.get())) != ("complete", None):
        taken.append(item[1].data)  # type: ignore[union-attr]
    assert taken == [{"countdown": 2}, {"countdown": 1}, {"countdown": 0}]
    connection.begin_close(TransportConnectionFailed("done"), CloseCode.NORMAL_CLOSURE)
    await within(connection.close(5, goodbye=True))
    assert connection.state is ConnectionState.CLOSED
    assert connection.websocket is None
    # The server's tasks may still be finishing; the connection's may not.
    assert [task for task in tasks_left_running() if not _in_testing(task.get_coro())] == []
    assert [(end[1].args, end[2]) for end in ended] == [(("done",), 1000)]
    await connection.close(5, goodbye=True)  # again: nothing to do


async def test_the_end_is_reported_once_when_the_server_closes(
    server: GraphQLWebsocketServer, session: aiohttp.ClientSession
) -> None:
    ended = Ended()
    connection, _ = make(server.url, session, ended)
    await opened(connection)
    await within(server.close_connections(code=4403, reason="bye"))
    await within(ended.reported.wait())
    await within(connection.close(5, goodbye=False))
    assert len(ended) == 1
    reported, error, code = ended[0]
    assert reported is connection
    assert isinstance(error, TransportConnectionClosed)
    assert (error.code, error.reason) == (4403, "bye")
    assert code == CloseCode.NORMAL_CLOSURE
    assert connection.error is error


async def test_a_malformed_queued_result_ends_the_connection_with_the_protocol_code(
    server: GraphQLWebsocketServer, session: aiohttp.ClientSession
) -> None:
    ended = Ended()
    connection, _ = make(server.url, session, ended)
    await opened(connection)
    assert connection.on_malformed is not None
    assert connection.handler is not None
    error = TransportProtocolError("broken")
    connection.on_malformed(error)
    connection.on_malformed(TransportProtocolError("again"))
    await within(connection.close(5, goodbye=False))
    assert [(end[1], end[2]) for end in ended] == [
        (error, connection.handler.protocol_error_close_code)
    ]


async def test_a_connection_is_used_once(
    server: GraphQLWebsocketServer, session: aiohttp.ClientSession
) -> None:
    connection, _ = make(server.url, session, Ended())
    await opened(connection)
    await within(connection.close(5, goodbye=True))
    with pytest.raises(RuntimeError, match="no move from closed to opening"):
        await connection.open(("graphql-ws",), 5)
    with pytest.raises(TransportConnectionFailed, match="WebSocket connection is closed"):
        await connection.send('{"type":"ping"}')


async def test_a_connection_that_never_opened_closes_cleanly(
    session: aiohttp.ClientSession,
) -> None:
    ended = Ended()
    connection, _ = make("ws://127.0.0.1:9/graphql", session, ended)
    with pytest.raises(TransportConnectionFailed, match="could not open a websocket"):
        await within(connection.open(("graphql-ws",), 5))
    await within(connection.close(5, goodbye=False))
    assert connection.state is ConnectionState.CLOSED
    assert len(ended) == 1
