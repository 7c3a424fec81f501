"""close(), a connection that drops or is closed by the server, and connecting again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gql_aiohttp_websockets import (
    AIOHTTPWebsocketsTransport,
    TransportConnectionClosed,
    TransportConnectionFailed,
)
from gql_aiohttp_websockets.lifecycle import State
from gql_aiohttp_websockets.testing import (
    GraphQLWebsocketServer,
    ScriptedWebsocketServer,
    scaled_timeout,
)
from tests.gql_compat import CLOSED_BY_SERVER
from tests.helpers import doc, until_failure, within
from tests.transport.conftest import MakeTransport

COUNTDOWN = "subscription { countdown(from: 5) }"
STOP_TYPE = {"graphql-transport-ws": "complete", "graphql-ws": "stop"}
NEXT_TYPE = {"graphql-transport-ws": "next", "graphql-ws": "data"}


async def start_streams(
    transport: AIOHTTPWebsocketsTransport, count: int
) -> list[asyncio.Task[Any]]:
    """Start ``count`` endless subscriptions, each collecting into a list until it fails."""
    firsts = [asyncio.Event() for _ in range(count)]

    async def consume(index: int) -> list[Any]:
        seen: list[Any] = []
        try:
            async for result in transport.subscribe(
                doc("subscription { countdown(from: 100000, delay_ms: 20) }")
            ):
                seen.append(result.data)
                firsts[index].set()
        except Exception as exc:
            return [seen, exc]
        return [seen, None]

    tasks = [asyncio.ensure_future(consume(i)) for i in range(count)]
    await within(asyncio.gather(*(first.wait() for first in firsts)))
    return tasks


async def test_close_stops_subscriptions_and_ends_their_loops_normally(
    transport: AIOHTTPWebsocketsTransport, server: GraphQLWebsocketServer, subprotocol: str
) -> None:
    # As gql: each subscription is stopped, and its `async for` ends without
    # an error once the server's complete (legacy) or the local one
    # (graphql-transport-ws) is in.
    tasks = await start_streams(transport, 3)
    await within(transport.close())
    outcomes = await within(asyncio.gather(*tasks))
    for seen, error in outcomes:
        assert seen, "results received before close() are delivered"
        assert error is None
    record = server.connections[0]
    code = await record.wait_closed(scaled_timeout(5))
    assert code == 1000
    stops = record.messages_of_type(STOP_TYPE[subprotocol])
    assert sorted(m["id"] for m in stops) == ["1", "2", "3"]
    if subprotocol == "graphql-ws":
        assert record.received[-1] == {"type": "connection_terminate"}
    assert transport.state is State.CLOSED
    assert transport.listeners == {}


async def test_close_twice_and_wait_closed(transport: AIOHTTPWebsocketsTransport) -> None:
    await within(asyncio.gather(transport.close(), transport.close()))
    await within(transport.close())
    await within(transport.wait_closed())
    assert transport.state is State.CLOSED


async def test_close_of_a_never_connected_transport_does_nothing(
    make_transport: MakeTransport,
) -> None:
    transport = make_transport("ws://127.0.0.1:9/graphql")
    await within(transport.close())
    await within(transport.wait_closed())
    assert transport.state is State.CLOSED


async def test_connecting_again_after_close_restarts_ids(
    transport: AIOHTTPWebsocketsTransport, server: GraphQLWebsocketServer
) -> None:
    await within(transport.execute(doc("{ hello }")))
    await within(transport.execute(doc("{ hello }")))
    await within(transport.close())
    await within(transport.connect())
    await within(transport.execute(doc("{ hello }")))
    second = server.connections[1]
    assert [m.get("id") for m in second.received] == [None, "1"]


async def test_using_a_closed_transport_fails_clearly(
    transport: AIOHTTPWebsocketsTransport,
) -> None:
    await within(transport.close())
    with pytest.raises(TransportConnectionFailed, match="not connected"):
        await transport.execute(doc("{ hello }"))


@pytest.mark.parametrize(
    ("code", "meaning"),
    [
        (1000, "Normal Closure"),
        (1001, "Going Away"),
        (1009, "Message Too Big"),
        (1011, "Internal Error"),
        (4400, "Bad Request"),
        (4401, "Unauthorized"),
        (4403, "Forbidden"),
        (4406, "Subprotocol Not Acceptable"),
        (4408, "Connection Initialisation Timeout"),
        (4409, "Subscriber Already Exists"),
        (4429, "Too Many Initialisation Requests"),
        (4500, "Internal Server Error"),
        (4504, "Connection Acknowledgement Timeout"),
    ],
)
async def test_a_server_close_mid_stream_fails_every_operation_after_its_results(
    make_transport: MakeTransport, subprotocol: str, code: int, meaning: str
) -> None:
    async def two_results_then_close(conn: Any) -> None:
        await conn.accept_init()
        first = await conn.receive_json()
        second = await conn.receive_json()
        for op in (first, second):
            await conn.send_json(
                {"type": NEXT_TYPE[conn.subprotocol], "id": op["id"], "payload": {"data": {"n": 1}}}
            )
        await conn.close(code, "bye now")

    async with ScriptedWebsocketServer(
        two_results_then_close, subprotocols=(subprotocol,)
    ) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        outcomes = await within(
            asyncio.gather(*(until_failure(transport, COUNTDOWN) for _ in range(2)))
        )
        for seen, error in outcomes:
            assert seen == [{"n": 1}]
            assert isinstance(error, TransportConnectionClosed)
            assert isinstance(error, CLOSED_BY_SERVER)
            assert error.code == code
            assert error.reason == "bye now"
            assert f"code {code} ({meaning})" in str(error)
        await within(transport.wait_closed())
        assert transport.state is State.CLOSED
        assert transport.session is None
        assert isinstance(transport.close_exception, TransportConnectionClosed)
        # and it can connect again (the script closes each connection the same way)
        await within(transport.connect())
        assert transport.state is State.OPEN


async def test_a_dropped_connection_fails_every_operation_after_its_results(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    async def result_then_drop(conn: Any) -> None:
        await conn.accept_init()
        op = await conn.receive_json()
        await conn.send_json(
            {"type": NEXT_TYPE[conn.subprotocol], "id": op["id"], "payload": {"data": {"n": 7}}}
        )
        await conn.drop()

    async with ScriptedWebsocketServer(result_then_drop, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        seen, error = await within(until_failure(transport, COUNTDOWN))
        assert seen == [{"n": 7}]
        assert isinstance(error, TransportConnectionClosed)
        assert error.code is None
        assert "without a close frame" in str(error)
        await within(transport.wait_closed())
        # and the transport can connect again
        await within(transport.connect())
        assert transport.state is State.OPEN


async def test_cancelling_close_does_not_abandon_the_cleanup(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    paused = asyncio.Event()
    resume = asyncio.Event()

    async def hang_then_read(conn: Any) -> None:
        await conn.accept_init()
        conn.pause_reading()  # our close frame waits unread: close() hangs in the handshake
        paused.set()
        await resume.wait()
        conn.resume_reading()
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(hang_then_read, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        await within(paused.wait())
        closing = asyncio.ensure_future(transport.close())
        # close() is cancelled while the shutdown waits for the server's close frame.
        done, _ = await asyncio.wait([closing], timeout=scaled_timeout(0.2))
        assert not done, "close() should still be waiting for the server"
        assert transport.state is State.CLOSING
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await closing
        assert transport.state is State.CLOSING, "the shutdown goes on without its caller"
        resume.set()
        await within(transport.wait_closed())
        assert transport.state is State.CLOSED
        assert transport.session is None
        assert await within(server.connections[0].wait_closed(scaled_timeout(5))) == 1000
