"""The rest of the fault matrix: slow peers, mass cancellation, close() racing connect().

Other faults live beside the feature they break: malformed frames in
test_malformed.py, closes and drops in test_close.py, handshake and init faults in
test_connect.py, liveness in test_keepalive.py, size limits in test_options.py.
Every test ends with the transport able to connect again.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gql.transport.exceptions import TransportClosed, TransportServerError

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport, TransportConnectionFailed
from gql_aiohttp_websockets.lifecycle import State
from gql_aiohttp_websockets.testing import (
    GraphQLWebsocketServer,
    ScriptedWebsocketServer,
    scaled_timeout,
)
from tests.helpers import doc, within
from tests.raw_server import RawServer
from tests.transport.conftest import MakeTransport

NEXT_TYPE = {"graphql-transport-ws": "next", "graphql-ws": "data"}
STOP_TYPE = {"graphql-transport-ws": "complete", "graphql-ws": "stop"}


async def test_a_server_that_stops_reading_is_detected_by_ping(
    make_transport: MakeTransport,
) -> None:
    unread = asyncio.Event()
    client_gave_up = asyncio.Event()

    async def ack_then_stop_reading(conn: Any) -> None:
        await conn.accept_init()
        conn.pause_reading()
        unread.set()
        await asyncio.wait_for(client_gave_up.wait(), scaled_timeout(20))
        conn.resume_reading()
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(
        ack_then_stop_reading, subprotocols=("graphql-transport-ws",)
    ) as server:
        transport = make_transport(
            server.url, ping_interval=0.2, pong_timeout=0.3, close_timeout=0.5
        )
        await within(transport.connect())
        await within(unread.wait())
        big = "x" * 1_000_000

        query = doc("query Q($v: String!) { echo(input: $v) }")
        # Far more than the socket buffers hold: the writes, pings included, block.
        outcomes = await within(
            asyncio.gather(
                *(transport.execute(query, {"v": big}) for _ in range(50)),
                return_exceptions=True,
            ),
            20,
        )
        client_gave_up.set()
        for outcome in outcomes:
            # Each operation fails with the connection's end, whether it was still
            # sending (blocked writes are cut) or already waiting for its result.
            assert isinstance(outcome, (TransportServerError, TransportConnectionFailed))
            assert "No pong" in str(outcome)
        assert isinstance(transport.close_exception, TransportServerError)
        assert "No pong" in str(transport.close_exception)
        await within(transport.wait_closed())
        assert transport.state is State.CLOSED


async def test_a_consumer_far_slower_than_the_server_loses_nothing(
    transport: AIOHTTPWebsocketsTransport, server: GraphQLWebsocketServer
) -> None:
    count = 3000
    seen: list[int] = []
    async for result in transport.subscribe(
        doc(f"subscription {{ ticks(count: {count}, delay_ms: 0) }}")
    ):
        assert result.data is not None
        seen.append(result.data["ticks"])
        if len(seen) % 500 == 0:
            # Plenty of work per item: the server is long finished by the end.
            sum(range(200_000))
    assert seen == list(range(count))
    assert (await within(transport.execute(doc("{ hello }")))).data == {"hello": "Hello world!"}


async def test_a_thousand_subscriptions_cancelled_at_once(
    transport: AIOHTTPWebsocketsTransport, server: GraphQLWebsocketServer, subprotocol: str
) -> None:
    count = 1000
    started = 0
    all_started = asyncio.Event()

    async def consume() -> None:
        nonlocal started
        async for _ in transport.subscribe(
            doc("subscription { countdown(from: 100000, delay_ms: 60000) }")
        ):
            started += 1
            if started == count:
                all_started.set()

    tasks = [asyncio.ensure_future(consume()) for _ in range(count)]
    await within(all_started.wait(), 30)
    for task in tasks:
        task.cancel()
    outcomes = await within(asyncio.gather(*tasks, return_exceptions=True), 30)
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)
    assert transport.listeners == {}
    record = server.connections[0]
    stop_type = STOP_TYPE[subprotocol]
    await record.wait_for_message(
        lambda _: len(record.messages_of_type(stop_type)) >= count, scaled_timeout(20)
    )
    assert len(record.messages_of_type(stop_type)) == count
    assert (await within(transport.execute(doc("{ hello }")))).data == {"hello": "Hello world!"}


async def test_close_during_the_handshake(make_transport: MakeTransport) -> None:
    async with RawServer(answer_handshake=False).running() as server:
        transport = make_transport(server.url)
        connecting = asyncio.ensure_future(transport.connect())
        await within(server.connected.wait())
        await within(transport.close())
        with pytest.raises(TransportClosed, match="close\\(\\) was called while"):
            await within(connecting)
        assert transport.state is State.CLOSED
        assert transport.session is None


async def test_close_while_waiting_for_the_ack_then_connect_again(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    init_seen = asyncio.Event()
    attempts = 0

    async def ack_only_the_second_time(conn: Any) -> None:
        nonlocal attempts
        attempts += 1
        await conn.receive_json()
        if attempts == 1:
            init_seen.set()
            await conn.wait_closed(scaled_timeout(10))
            return
        await conn.send_json({"type": "connection_ack"})
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(
        ack_only_the_second_time, subprotocols=(subprotocol,)
    ) as server:
        transport = make_transport(server.url)
        connecting = asyncio.ensure_future(transport.connect())
        await within(init_seen.wait())
        assert transport.state is State.INITIALIZING
        await within(transport.close())
        with pytest.raises(TransportClosed):
            await within(connecting)
        assert transport.state is State.CLOSED
        assert transport.websocket is None
        await within(transport.connect())
        assert transport.state is State.OPEN
        await within(transport.close())
        assert transport.state is State.CLOSED
