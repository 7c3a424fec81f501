"""Connection on its own: one websocket against the package's server, used once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from gql.transport.exceptions import TransportProtocolError, TransportQueryError

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport
from gql_aiohttp_websockets.close_codes import CloseCode
from gql_aiohttp_websockets.connection import Connection, close_wait
from gql_aiohttp_websockets.exceptions import (
    HeartbeatTimeoutError,
    TransportConnectionClosed,
    TransportConnectionFailed,
)
from gql_aiohttp_websockets.lifecycle import ConnectionState
from gql_aiohttp_websockets.operations import Operation, OperationKind, Operations
from gql_aiohttp_websockets.request_payload import build_payload
from gql_aiohttp_websockets.testing import (
    GraphQLWebsocketServer,
    ScriptedWebsocketServer,
    example_schema,
    scaled_timeout,
)
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
) -> tuple[Connection, Operations]:
    operations = Operations()
    connection = Connection(
        AIOHTTPWebsocketsTransport(url, **options).connection_settings(),
        session,
        operations=operations,
        ping_received=asyncio.Event(),
        pong_received=asyncio.Event(),
        on_end=ended,
    )
    return connection, operations


async def opened(connection: Connection) -> Connection:
    await within(connection.open(("graphql-transport-ws", "graphql-ws"), 5))
    await within(connection.initialize({}, 5))
    connection.start()
    return connection


async def test_a_connection_runs_an_operation_and_closes_with_nothing_left(
    server: GraphQLWebsocketServer, session: aiohttp.ClientSession
) -> None:
    ended = Ended()
    connection, operations = make(server.url, session, ended)
    assert connection.state is ConnectionState.NEW
    await opened(connection)
    assert connection.state is ConnectionState.OPEN
    assert connection.subprotocol == server.subprotocols[0]
    assert "connection_ack" in connection.payloads
    assert connection.decode_result is not None
    listener = registered(operations, connection).buffer
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


# -- the receive loop, one kind of received message at a time -------------------------


def connection_to(
    server: ScriptedWebsocketServer, session: aiohttp.ClientSession, ended: Ended
) -> tuple[Connection, Operations, asyncio.Event, asyncio.Event]:
    operations = Operations()
    ping, pong = asyncio.Event(), asyncio.Event()
    connection = Connection(
        AIOHTTPWebsocketsTransport(server.url).connection_settings(),
        session,
        operations=operations,
        ping_received=ping,
        pong_received=pong,
        on_end=ended,
    )
    return connection, operations, ping, pong


def registered(operations: Operations, connection: Connection) -> Operation:
    """An operation registered before the connection starts, placed on it once it has."""
    return operations.register(OperationKind.SUBSCRIPTION, connection, stop_on_leave=False)


async def opened_with(connection: Connection, operations: Operations) -> None:
    # The receive loop's task has not run yet when start() returns: placing the
    # operations now gives them the connection's decoder before any result.
    await opened(connection)
    for operation in list(operations.running.values()):
        operations.place(operation, connection)


@pytest.mark.parametrize("subprotocol", BOTH)
async def test_results_and_ends_go_to_their_operation_only(
    session: aiohttp.ClientSession, subprotocol: str
) -> None:
    kind = "next" if subprotocol == "graphql-transport-ws" else "data"

    async def script(conn: Any) -> None:
        await conn.accept_init()
        for op_id in ("2", "1", "2", "7"):
            await conn.send_json({"type": kind, "id": op_id, "payload": {"data": {"n": op_id}}})
        await conn.send_json({"type": "complete", "id": "2"})
        await conn.send_json({"type": "error", "id": "1", "payload": [{"message": "boom"}]})
        await conn.wait_closed(scaled_timeout(10))

    ended = Ended()
    async with ScriptedWebsocketServer(script, subprotocols=(subprotocol,)) as server:
        connection, operations, _, _ = connection_to(server, session, ended)
        one = registered(operations, connection).buffer
        two = registered(operations, connection).buffer
        await opened_with(connection, operations)
        assert (await within(two.get()))[1].data == {"n": "2"}  # type: ignore[union-attr]
        assert (await within(two.get()))[1].data == {"n": "2"}  # type: ignore[union-attr]
        assert await within(two.get()) == ("complete", None)
        assert (await within(one.get()))[1].data == {"n": "1"}  # type: ignore[union-attr]
        with pytest.raises(TransportQueryError, match="boom"):
            await within(one.get())
        assert ended == [], "a result for an unknown id (7) ends nothing"
        await within(connection.close(5, goodbye=False))


async def test_a_ping_is_answered_and_the_payloads_kept(
    session: aiohttp.ClientSession,
) -> None:
    async def script(conn: Any) -> None:
        await conn.accept_init()
        await conn.send_json({"type": "ping", "payload": {"at": 1}})
        await conn.expect("pong")
        await conn.send_json({"type": "pong", "payload": {"at": 2}})
        await conn.wait_closed(scaled_timeout(10))

    ended = Ended()
    async with ScriptedWebsocketServer(script, subprotocols=("graphql-transport-ws",)) as server:
        connection, _, ping, pong = connection_to(server, session, ended)
        await opened(connection)
        await within(pong.wait())
        assert ping.is_set()
        assert connection.payloads["ping"] == {"at": 1}
        assert connection.payloads["pong"] == {"at": 2}
        assert [message["type"] for message in server.connections[0].received] == [
            "connection_init",
            "pong",
        ]
        await within(connection.close(5, goodbye=False))


async def test_notices_and_ignored_messages_are_logged_and_end_nothing(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    async def script(conn: Any) -> None:
        await conn.accept_init()
        await conn.send_json({"type": "error", "payload": {"message": "what?"}})
        await conn.send_json({"type": "start_ack", "id": "1"})
        await conn.send_json({"type": "data", "id": "1", "payload": {"data": {"n": 1}}})
        await conn.wait_closed(scaled_timeout(10))

    caplog.set_level(logging.DEBUG, logger="gql_aiohttp_websockets")
    ended = Ended()
    async with ScriptedWebsocketServer(script, subprotocols=("graphql-ws",)) as server:
        connection, operations, _, _ = connection_to(server, session, ended)
        listener = registered(operations, connection).buffer
        await opened_with(connection, operations)
        assert (await within(listener.get()))[1].data == {"n": 1}  # type: ignore[union-attr]
        assert ended == []
        await within(connection.close(5, goodbye=False))
    assert "the server complained about the connection: {'message': 'what?'}" in caplog.text
    assert "ignored a 'start_ack' message, which graphql-ws does not define" in caplog.text


async def test_a_malformed_frame_in_the_loop_ends_the_connection_with_the_protocol_code(
    session: aiohttp.ClientSession,
) -> None:
    async def script(conn: Any) -> None:
        await conn.accept_init()
        await conn.send_text("not json")
        await conn.wait_closed(scaled_timeout(10))

    ended = Ended()
    async with ScriptedWebsocketServer(script, subprotocols=("graphql-transport-ws",)) as server:
        connection, _, _, _ = connection_to(server, session, ended)
        await opened(connection)
        await within(ended.reported.wait())
        await within(connection.close(5, goodbye=False))
        assert await server.connections[0].wait_closed(scaled_timeout(5)) == 4004
    (_, error, code), *_ = ended
    assert isinstance(error, TransportProtocolError)
    assert code == 4004


@pytest.mark.parametrize(
    ("error", "remaining", "pong_timeout", "keep_alive_timeout", "wait"),
    [
        # A server that stopped answering gets as long as the liveness limit it missed.
        (HeartbeatTimeoutError("no pong"), 10.0, 0.5, None, 0.5),
        (HeartbeatTimeoutError("silent"), 10.0, None, 2.0, 2.0),
        (HeartbeatTimeoutError("silent"), 10.0, 0.5, 2.0, 0.5),
        (HeartbeatTimeoutError("silent"), None, None, 2.0, 2.0),
        (HeartbeatTimeoutError("silent"), 0.1, None, 2.0, 0.1),
        (HeartbeatTimeoutError("silent"), 10.0, None, None, 10.0),
        # Any other end: the rest of close_timeout.
        (RuntimeError("closed"), 10.0, 0.5, 2.0, 10.0),
        (None, None, 0.5, 2.0, None),
    ],
)
def test_close_wait(
    error: Exception | None,
    remaining: float | None,
    pong_timeout: float | None,
    keep_alive_timeout: float | None,
    wait: float | None,
) -> None:
    assert close_wait(error, remaining, pong_timeout, keep_alive_timeout) == wait
