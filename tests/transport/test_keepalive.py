"""Protocol ping/pong, legacy keep-alive and the liveness timeouts."""

from __future__ import annotations

from typing import Any

import pytest
from gql.transport.exceptions import TransportProtocolError, TransportServerError

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport
from gql_aiohttp_websockets.lifecycle import State
from gql_aiohttp_websockets.testing import (
    GraphQLWebsocketServer,
    ScriptedWebsocketServer,
    example_schema,
    scaled_timeout,
)
from tests.helpers import collect, doc, until_failure, within
from tests.transport.conftest import MakeTransport

TRANSPORT_WS = ("graphql-transport-ws",)
LEGACY = ("graphql-ws",)


async def test_ping_interval_sends_pings_and_receives_pongs(make_transport: MakeTransport) -> None:
    async with GraphQLWebsocketServer(example_schema(), subprotocols=TRANSPORT_WS) as server:
        transport = make_transport(server.url, ping_interval=0.05, pong_timeout=scaled_timeout(2))
        await within(transport.connect())
        assert transport.pong_timeout == scaled_timeout(2)
        record = server.connections[0]
        for _ in range(3):
            await within(transport.pong_received.wait())
            transport.pong_received.clear()
        assert len(record.messages_of_type("ping")) >= 3
        assert transport.state is State.OPEN


def test_pong_timeout_defaults_to_half_the_ping_interval() -> None:
    transport = AIOHTTPWebsocketsTransport(url="ws://127.0.0.1:9/graphql", ping_interval=3)
    assert transport.pong_timeout == 1.5
    assert AIOHTTPWebsocketsTransport(url="ws://127.0.0.1:9/graphql").pong_timeout is None


async def test_a_missing_pong_fails_the_connection(make_transport: MakeTransport) -> None:
    async def ack_and_ignore_pings(conn: Any) -> None:
        await conn.accept_init()
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(ack_and_ignore_pings, subprotocols=TRANSPORT_WS) as server:
        transport = make_transport(server.url, ping_interval=0.05, pong_timeout=0.1)
        await within(transport.connect())
        seen, error = await within(until_failure(transport))
        assert seen == []
        assert isinstance(error, TransportServerError)
        assert "No pong received within pong_timeout=0.1s" in str(error)
        await within(transport.wait_closed())
        assert transport.state is State.CLOSED


async def test_ping_interval_is_ignored_by_the_legacy_protocol(
    make_transport: MakeTransport,
) -> None:
    async with GraphQLWebsocketServer(example_schema(), subprotocols=LEGACY) as server:
        transport = make_transport(server.url, ping_interval=0.01, pong_timeout=0.01)
        await within(transport.connect())
        data = await collect(
            transport.subscribe(doc("subscription { countdown(from: 3, delay_ms: 20) }"))
        )
        assert data == [{"countdown": n} for n in (3, 2, 1, 0)]
        assert server.connections[0].messages_of_type("ping") == []


async def test_server_pings_are_answered(make_transport: MakeTransport) -> None:
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=TRANSPORT_WS, ping_interval=0.05
    ) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        await within(transport.ping_received.wait())
        record = server.connections[0]
        await record.wait_for_message(lambda m: m.get("type") == "pong", scaled_timeout(5))


async def test_answer_pings_false_leaves_pings_unanswered(make_transport: MakeTransport) -> None:
    async def ping_then_serve(conn: Any) -> None:
        await conn.accept_init()
        await conn.send_json({"type": "ping", "payload": {"n": 1}})
        message = await conn.receive_json()
        # Had the client answered, its pong would have come before this subscribe.
        assert message["type"] == "subscribe", message
        await conn.send_json({"type": "next", "id": message["id"], "payload": {"data": {"a": 1}}})
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(ping_then_serve, subprotocols=TRANSPORT_WS) as server:
        transport = make_transport(server.url, answer_pings=False)
        await within(transport.connect())
        await within(transport.ping_received.wait())
        assert transport.payloads["ping"] == {"n": 1}
        result = await within(transport.execute(doc("{ hello }")))
        assert result.data == {"a": 1}
        await within(transport.send_pong({"late": True}))
        await server.connections[0].wait_for_message(
            lambda m: m == {"type": "pong", "payload": {"late": True}}, scaled_timeout(5)
        )


async def test_send_ping_with_payload_and_the_pong_payload(make_transport: MakeTransport) -> None:
    async with GraphQLWebsocketServer(example_schema(), subprotocols=TRANSPORT_WS) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        await within(transport.send_ping({"hello": "there"}))
        await within(transport.pong_received.wait())
        record = server.connections[0]
        assert record.messages_of_type("ping") == [{"type": "ping", "payload": {"hello": "there"}}]
        assert "pong" in transport.payloads


async def test_send_ping_under_the_legacy_protocol_is_refused(
    make_transport: MakeTransport,
) -> None:
    async with GraphQLWebsocketServer(example_schema(), subprotocols=LEGACY) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        with pytest.raises(TransportProtocolError, match="'graphql-ws' subprotocol has no ping"):
            await transport.send_ping()
        with pytest.raises(TransportProtocolError, match="no pong"):
            await transport.send_pong()
        assert transport.state is State.OPEN


async def test_legacy_keep_alives_keep_the_connection_alive(make_transport: MakeTransport) -> None:
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=LEGACY, keep_alive_interval=0.05
    ) as server:
        transport = make_transport(server.url, keep_alive_timeout=0.4)
        await within(transport.connect())
        # Gaps between results are longer than keep_alive_timeout: only 'ka' bridges them.
        query = "subscription { countdown(from: 3, delay_ms: 600) }"
        data = await collect(transport.subscribe(doc(query)))
        assert data == [{"countdown": n} for n in (3, 2, 1, 0)]
        assert len(server.connections[0].sent) > 4
        assert transport.state is State.OPEN


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_a_silent_server_fails_keep_alive_timeout(
    make_transport: MakeTransport, protocol: str
) -> None:
    async def ack_then_silence(conn: Any) -> None:
        await conn.accept_init()
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(ack_then_silence, subprotocols=(protocol,)) as server:
        transport = make_transport(server.url, keep_alive_timeout=0.2)
        await within(transport.connect())
        seen, error = await within(until_failure(transport))
        assert seen == []
        assert isinstance(error, TransportServerError)
        assert "keep_alive_timeout=0.2s" in str(error)
        await within(transport.wait_closed())
        code = await server.connections[0].wait_closed(scaled_timeout(5))
        assert code == 1001


async def test_results_count_as_liveness(make_transport: MakeTransport) -> None:
    async with GraphQLWebsocketServer(example_schema(), subprotocols=TRANSPORT_WS) as server:
        transport = make_transport(server.url, keep_alive_timeout=0.3)
        await within(transport.connect())
        data = await collect(
            transport.subscribe(doc("subscription { countdown(from: 8, delay_ms: 100) }"))
        )
        assert len(data) == 9
        await within(transport.close())
