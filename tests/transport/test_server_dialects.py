"""What real servers send beside the letter of the protocols, played by the scripted server.

Each test plays one server's wire behaviour (docs/protocols.rst lists the
servers): gqlgen's and Mercurius's legacy ``error`` with a list of errors,
Mercurius's ``connection_error`` on graphql-transport-ws and its close frame
without a status code, async-graphql's 1002 with a reason, AppSync's
``start_ack``, and tartiflette-aiohttp's handshake answer that names no
subprotocol.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from gql.transport.exceptions import TransportProtocolError, TransportQueryError

from gql_aiohttp_websockets import (
    Connected,
    ConnectionRejectedError,
    Disconnected,
    RetryPolicy,
    TransportConnectionClosed,
    TransportEvent,
)
from gql_aiohttp_websockets.lifecycle import State
from gql_aiohttp_websockets.testing import ScriptedWebsocketServer, scaled_timeout
from tests.helpers import doc, until_failure, within
from tests.transport.conftest import BOTH, MakeTransport

NEXT_TYPE = {"graphql-transport-ws": "next", "graphql-ws": "data"}
QUICK = RetryPolicy(attempts=3, wait=lambda attempt: 0.01)
ERRORS = [
    {"message": "boom", "locations": [{"line": 1, "column": 3}], "path": ["fail"]},
    {"message": "second"},
]


def result(conn: Any, op_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": NEXT_TYPE[conn.subprotocol], "id": op_id, "payload": {"data": data}}


async def test_an_error_with_a_list_of_errors_fails_only_its_operation(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    # gqlgen and Mercurius send the list on the legacy subprotocol too.
    async def script(conn: Any) -> None:
        await conn.accept_init()
        failing = await conn.receive_json()
        going_on = await conn.receive_json()
        await conn.send_json(result(conn, failing["id"], {"n": 1}))
        await conn.send_json({"type": "error", "id": failing["id"], "payload": ERRORS})
        await conn.send_json(result(conn, going_on["id"], {"n": 2}))
        await conn.send_json({"type": "complete", "id": going_on["id"]})
        query = await conn.receive_json()
        await conn.send_json(result(conn, query["id"], {"hello": "still here"}))
        await conn.send_json({"type": "complete", "id": query["id"]})
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(script, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        failing, going_on = await within(
            asyncio.gather(until_failure(transport), until_failure(transport))
        )
        seen, error = failing
        assert seen == [{"n": 1}], "the result before the error is delivered first"
        assert isinstance(error, TransportQueryError)
        assert error.errors == ERRORS
        assert "boom" in str(error)
        assert going_on == ([{"n": 2}], None)
        assert transport.state is State.OPEN
        answer = await within(transport.execute(doc("{ hello }")))
        assert answer.data == {"hello": "still here"}


async def test_connection_error_rejects_the_connection_on_either_subprotocol(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    # Mercurius: the legacy rejection even on graphql-transport-ws, then a close
    # frame without a status code.
    async def script(conn: Any) -> None:
        await conn.expect("connection_init")
        await conn.send_json({"type": "connection_error", "payload": {"message": "Forbidden"}})
        await conn.close_without_status()

    async with ScriptedWebsocketServer(script, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url)
        with pytest.raises(ConnectionRejectedError) as caught:
            await within(transport.connect())
        assert "Forbidden" in str(caught.value)
        assert "connection_error" in str(caught.value)
        assert transport.state is State.CLOSED
        assert len(server.connections) == 1


async def test_a_close_without_status_code_is_1005(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    async def script(conn: Any) -> None:
        await conn.accept_init()
        start = await conn.receive_json()
        await conn.send_json(result(conn, start["id"], {"n": 1}))
        await conn.close_without_status()

    async with ScriptedWebsocketServer(script, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        seen, error = await within(until_failure(transport))
        assert seen == [{"n": 1}]
        assert isinstance(error, TransportConnectionClosed)
        assert error.code == 1005
        assert error.retryable
        assert "code 1005 (No Status Received)" in str(error)
        # The client answered the close frame, as RFC 6455 asks.
        record = server.connections[0]
        assert await record.wait_closed(scaled_timeout(5)) == 1005


async def test_a_close_without_status_code_is_retried(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    events: list[TransportEvent] = []

    async def script(conn: Any) -> None:
        await conn.accept_init()
        start = await conn.receive_json()
        first = len(server.connections) == 1
        await conn.send_json(result(conn, start["id"], {"n": 1 if first else 2}))
        if first:
            await conn.close_without_status()
        else:
            await conn.send_json({"type": "complete", "id": start["id"]})
            await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(script, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url, reconnect=QUICK, on_event=events.append)
        await within(transport.connect())
        assert await within(until_failure(transport)) == ([{"n": 1}, {"n": 2}], None)
        disconnected = [event for event in events if isinstance(event, Disconnected)]
        assert disconnected[0].code == 1005
        assert disconnected[0].will_retry
        assert [event.attempt for event in events if isinstance(event, Connected)] == [0, 1]


async def test_1002_with_a_reason_after_init_is_the_answer(
    make_transport: MakeTransport,
) -> None:
    # async-graphql refuses an init on graphql-transport-ws with 1002 and the
    # reason its on_connection_init gave: one handshake, that close reported.
    async def script(conn: Any) -> None:
        await conn.expect("connection_init")
        await conn.close(1002, "invalid token")

    async with ScriptedWebsocketServer(script) as server:
        transport = make_transport(server.url)
        with pytest.raises(TransportConnectionClosed) as caught:
            await within(transport.connect())
        assert caught.value.code == 1002
        assert caught.value.reason == "invalid token"
        assert "'invalid token'" in str(caught.value)
        assert [record.subprotocol for record in server.connections] == ["graphql-transport-ws"]


async def test_1002_after_a_message_is_the_answer(make_transport: MakeTransport) -> None:
    # gqlgen closes 1002 over a message it could not decode; a server that
    # spoke (here a keep-alive ping) speaks the subprotocol it agreed to.
    async def script(conn: Any) -> None:
        await conn.expect("connection_init")
        await conn.send_json({"type": "ping"})
        await conn.close(1002)

    async with ScriptedWebsocketServer(script) as server:
        transport = make_transport(server.url)
        with pytest.raises(TransportConnectionClosed) as caught:
            await within(transport.connect())
        assert caught.value.code == 1002
        assert len(server.connections) == 1


async def test_1002_without_a_reason_before_the_ack_offers_the_other_subprotocol(
    make_transport: MakeTransport,
) -> None:
    # subscriptions-transport-ws with ws 7: it echoes the first offer, then
    # closes 1002 at once, with no reason.
    async def script(conn: Any) -> None:
        if conn.subprotocol != "graphql-ws":
            await conn.close(1002)
            return
        await conn.accept_init()
        query = await conn.receive_json()
        await conn.send_json(result(conn, query["id"], {"hello": "legacy"}))
        await conn.send_json({"type": "complete", "id": query["id"]})
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(script) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        assert (await within(transport.execute(doc("{ hello }")))).data == {"hello": "legacy"}
        assert [record.subprotocol for record in server.connections] == list(BOTH)


async def test_start_ack_is_ignored(
    make_transport: MakeTransport, caplog: pytest.LogCaptureFixture
) -> None:
    # AppSync confirms each start with start_ack before any data.
    async def script(conn: Any) -> None:
        await conn.accept_init({"connectionTimeoutMs": 300000})
        start = await conn.receive_json()
        await conn.send_json({"type": "start_ack", "id": start["id"]})
        await conn.send_json({"type": "ka"})
        for n in range(3):
            await conn.send_json(result(conn, start["id"], {"n": n}))
        await conn.send_json({"type": "complete", "id": start["id"]})
        await conn.wait_closed(scaled_timeout(10))

    caplog.set_level(logging.DEBUG, logger="gql_aiohttp_websockets")
    async with ScriptedWebsocketServer(script, subprotocols=("graphql-ws",)) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        assert await within(until_failure(transport)) == ([{"n": 0}, {"n": 1}, {"n": 2}], None)
        assert transport.state is State.OPEN
    assert "ignored a 'start_ack' message, which graphql-ws does not define" in caplog.text


async def test_a_server_that_agrees_to_no_subprotocol_is_named_as_the_cause(
    make_transport: MakeTransport, caplog: pytest.LogCaptureFixture
) -> None:
    # tartiflette-aiohttp: no Sec-WebSocket-Protocol in its answer, an ack,
    # then an 'error' about the message type it does not handle.
    events: list[TransportEvent] = []

    async def script(conn: Any) -> None:
        await conn.accept_init()
        start = await conn.receive_json()
        await conn.send_json(
            {
                "type": "error",
                "id": start["id"],
                "payload": {"message": "Unhandled message type < subscribe >"},
            }
        )
        await conn.wait_closed(scaled_timeout(10))

    caplog.set_level(logging.DEBUG, logger="gql_aiohttp_websockets")
    async with ScriptedWebsocketServer(script, subprotocols=()) as server:
        transport = make_transport(
            server.url, subprotocols=["graphql-transport-ws"], on_event=events.append
        )
        await within(transport.connect())
        connected = [event for event in events if isinstance(event, Connected)]
        assert connected == [Connected("graphql-transport-ws", None, 0, subprotocol_assumed=True)]
        _, error = await within(until_failure(transport))
        assert server.connections[0].subprotocol is None
    assert isinstance(error, TransportProtocolError)
    message = str(error)
    assert "Unhandled message type" in message
    assert "the server never agreed to 'graphql-transport-ws'" in message
    assert "named no subprotocol" in message
    assert "assuming 'graphql-transport-ws', which the server never agreed to" in caplog.text


async def test_an_agreed_subprotocol_is_not_reported_as_assumed(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    events: list[TransportEvent] = []

    async def script(conn: Any) -> None:
        await conn.accept_init()
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(script, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url, on_event=events.append)
        await within(transport.connect())
    assert [event for event in events if isinstance(event, Connected)] == [
        Connected(subprotocol, None, 0, subprotocol_assumed=False)
    ]
