"""Starting, negotiating, recording and shutting down the GraphQL test server."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence

import aiohttp
import pytest
import trustme

from gql_aiohttp_websockets.testing import (
    GraphQLWebsocketServer,
    WebsocketClosed,
    choose_subprotocol,
    example_schema,
    scaled_timeout,
)

from .conftest import LEGACY, TRANSPORT_WS, Connect


@pytest.mark.parametrize(
    ("offered", "supported", "chosen"),
    [
        ([LEGACY, TRANSPORT_WS], [TRANSPORT_WS, LEGACY], LEGACY),
        ([TRANSPORT_WS, LEGACY], [LEGACY], LEGACY),
        (["other", TRANSPORT_WS], [TRANSPORT_WS, LEGACY], TRANSPORT_WS),
        (["other"], [TRANSPORT_WS, LEGACY], None),
        ([], [TRANSPORT_WS], None),
    ],
)
def test_choose_subprotocol_takes_the_clients_first_supported(
    offered: list[str], supported: list[str], chosen: str | None
) -> None:
    assert choose_subprotocol(offered, supported) == chosen


async def test_url_points_at_the_listening_port(server: GraphQLWebsocketServer) -> None:
    assert server.url == f"ws://127.0.0.1:{server.port}/graphql"


def test_url_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = GraphQLWebsocketServer(example_schema()).url


async def test_start_twice_is_an_error(server: GraphQLWebsocketServer) -> None:
    with pytest.raises(RuntimeError, match="started once"):
        await server.start()


async def test_start_and_close_without_context_manager(connect: Connect) -> None:
    server = await GraphQLWebsocketServer(example_schema(), path="/ws").start()
    try:
        assert server.url.endswith("/ws")
        client = await connect(server.url, (TRANSPORT_WS,))
        await client.init()
    finally:
        await server.close()
    await server.close()  # a second close does nothing


@pytest.mark.parametrize(
    ("offered", "negotiated"),
    [
        ((LEGACY, TRANSPORT_WS), LEGACY),
        ((TRANSPORT_WS, LEGACY), TRANSPORT_WS),
        (("unknown", LEGACY), LEGACY),
    ],
)
async def test_negotiation_follows_the_clients_order(
    server: GraphQLWebsocketServer, connect: Connect, offered: Sequence[str], negotiated: str
) -> None:
    client = await connect(server.url, offered)
    assert client.subprotocol == negotiated
    record = (await server.wait_for_connections(1, scaled_timeout(5)))[0]
    assert record.subprotocol == negotiated
    assert record.offered_subprotocols == list(offered)


async def test_server_subprotocols_restrict_the_choice(connect: Connect) -> None:
    async with GraphQLWebsocketServer(example_schema(), subprotocols=(LEGACY,)) as legacy_only:
        client = await connect(legacy_only.url, (TRANSPORT_WS, LEGACY))
        assert client.subprotocol == LEGACY


@pytest.mark.parametrize("offered", [(), ("graphql-subscriptions",)], ids=["none", "unknown"])
async def test_no_acceptable_subprotocol_upgrades_then_closes_4406(
    server: GraphQLWebsocketServer, connect: Connect, offered: Sequence[str]
) -> None:
    client = await connect(server.url, offered)
    assert client.subprotocol is None
    assert await client.receive_close() == (4406, "Subprotocol not acceptable")
    record = server.connections[0]
    assert await record.wait_closed(scaled_timeout(5)) == 4406
    assert record.subprotocol is None


async def test_close_ends_live_connections_with_1001(connect: Connect) -> None:
    server = await GraphQLWebsocketServer(example_schema()).start()
    client = await connect(server.url, (TRANSPORT_WS,))
    await client.init()
    await client.send(
        {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": "subscription { ticks(count: 100000, delay_ms: 5) }"},
        }
    )
    assert (await client.receive())["type"] == "next"
    await asyncio.wait_for(server.close(), scaled_timeout(5))
    assert (await client.receive_close())[0] == 1001
    record = server.connections[0]
    assert (record.close_code, record.closed_by) == (1001, "server")


async def test_wait_for_connections_times_out(server: GraphQLWebsocketServer) -> None:
    with pytest.raises(TimeoutError, match="0 of 1 connections"):
        await server.wait_for_connections(1, timeout=0.01)


async def test_wait_for_message_times_out_then_fails_on_close(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await connect(server.url, (TRANSPORT_WS,))
    await client.init()
    record = (await server.wait_for_connections(1, scaled_timeout(5)))[0]
    with pytest.raises(TimeoutError, match="no matching client message"):
        await record.wait_for_type("subscribe", timeout=0.01)
    with pytest.raises(TimeoutError, match="still open"):
        await record.wait_closed(timeout=0.01)
    waiter = asyncio.ensure_future(record.wait_for_type("subscribe", scaled_timeout(5)))
    await client.ws.close()
    with pytest.raises(WebsocketClosed) as closed:
        await waiter
    assert closed.value.code == 1000


async def test_wait_for_message_sees_messages_that_already_arrived(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await connect(server.url, (TRANSPORT_WS,))
    await client.init({"k": "v"})
    record = server.connections[0]
    init = await record.wait_for_message(lambda m: m["type"] == "connection_init")
    assert init == {"type": "connection_init", "payload": {"k": "v"}}
    assert record.messages_of_type("connection_init") == [init]


async def test_upgrade_request_is_recorded(
    server: GraphQLWebsocketServer, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(
        server.url + "?token=abc", protocols=(TRANSPORT_WS,), headers={"Authorization": "Bearer x"}
    ):
        record = (await server.wait_for_connections(1, scaled_timeout(5)))[0]
        assert record.request_headers["authorization"] == "Bearer x"
        assert record.query["token"] == "abc"
        assert record.path == "/graphql"


async def test_response_headers_are_sent(http: aiohttp.ClientSession) -> None:
    async with (
        GraphQLWebsocketServer(example_schema(), response_headers={"X-Test": "yes"}) as server,
        http.ws_connect(server.url, protocols=(TRANSPORT_WS,)) as ws,
    ):
        assert ws._response.headers["X-Test"] == "yes"


async def test_plain_http_request_is_refused(
    server: GraphQLWebsocketServer, http: aiohttp.ClientSession
) -> None:
    http_url = server.url.replace("ws://", "http://")
    async with http.get(http_url) as response:
        assert response.status == 400


async def test_tls(http: aiohttp.ClientSession) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    async with GraphQLWebsocketServer(example_schema(), ssl=server_context) as server:
        assert server.url.startswith("wss://127.0.0.1:")
        async with http.ws_connect(server.url, protocols=(TRANSPORT_WS,), ssl=client_context) as ws:
            await ws.send_json({"type": "connection_init"})
            reply = await ws.receive_json(timeout=scaled_timeout(5))
            assert reply == {"type": "connection_ack"}


class GrapheneLike:
    def __init__(self) -> None:
        self.graphql_schema = example_schema()


async def test_schema_wrapper_with_graphql_schema_attribute(connect: Connect) -> None:
    async with GraphQLWebsocketServer(GrapheneLike()) as server:
        client = await connect(server.url, (TRANSPORT_WS,))
        await client.init()
        await client.send({"id": "1", "type": "subscribe", "payload": {"query": "{ hello }"}})
        assert (await client.receive())["payload"] == {"data": {"hello": "Hello world!"}}


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(TypeError, match="GraphQLSchema"):
        GraphQLWebsocketServer(object())
    with pytest.raises(ValueError, match="unsupported subprotocols"):
        GraphQLWebsocketServer(example_schema(), subprotocols=("graphql-subscriptions",))


async def test_many_concurrent_operations_and_connections(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    clients = [await connect(server.url, (proto,)) for proto in (TRANSPORT_WS, LEGACY) * 2]
    for client in clients:
        await client.init()
        kind = "subscribe" if client.subprotocol == TRANSPORT_WS else "start"
        for n in range(5):
            query = f"subscription {{ ticks(count: {n + 1}) }}"
            await client.send({"id": str(n), "type": kind, "payload": {"query": query}})
    for client in clients:
        done = 0
        while done < 5:
            message = await client.receive()
            done += message["type"] == "complete"
    assert len(server.connections) == 4


@pytest.mark.parametrize("code", [1000, 1011, 4500])
async def test_close_connections_keeps_the_server_listening(
    server: GraphQLWebsocketServer, connect: Connect, code: int
) -> None:
    first = await connect(server.url, (TRANSPORT_WS,))
    await first.init()
    await server.close_connections(code, "restart")
    assert await first.receive_close() == (code, "restart")
    second = await connect(server.url, (LEGACY,))
    await second.init()
    assert [record.close_code for record in server.connections] == [code, None]


async def test_drop_connections_ends_them_without_close_frame(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await connect(server.url, (LEGACY,))
    await client.init()
    await client.send(
        {"id": "1", "type": "start", "payload": {"query": "subscription { ticks(count: 100000) }"}}
    )
    assert (await client.receive())["type"] == "data"
    server.drop_connections()
    while True:
        frame = await client.ws.receive(timeout=scaled_timeout(5))
        if frame.type is not aiohttp.WSMsgType.TEXT:
            break
    assert frame.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    assert client.ws.close_code == 1006
    record = server.connections[0]
    assert await record.wait_closed(scaled_timeout(5)) == 1006
