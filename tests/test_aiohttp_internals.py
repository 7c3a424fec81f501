"""aiohttp's private attributes, read off real aiohttp objects of the installed version."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from gql import Client

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport
from gql_aiohttp_websockets.aiohttp_internals import (
    READ_SIZE,
    connection_key,
    connection_transport,
    parsed_frames,
    response_headers,
    small_reads,
)
from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema
from tests.gql_compat import request
from tests.helpers import within


async def test_a_websocket_shows_its_handshake_headers_and_its_frame_queue() -> None:
    async with (
        GraphQLWebsocketServer(example_schema(), subprotocols=("graphql-ws",)) as server,
        aiohttp.ClientSession() as session,
    ):
        websocket = await within(session.ws_connect(server.url, protocols=("graphql-ws",)))
        try:
            headers = response_headers(websocket)
            assert headers["Sec-WebSocket-Protocol"] == "graphql-ws"
            assert headers["Upgrade"].lower() == "websocket"
            frames = parsed_frames(websocket)
            assert frames is not None, "this aiohttp keeps its parsed frames where we look"
            assert len(frames) == 0
            await websocket.send_str('{"type":"connection_init","payload":{}}')
            ack = await within(websocket.receive())
            assert ack.type is aiohttp.WSMsgType.TEXT
        finally:
            await within(websocket.close())


async def test_a_connector_error_keeps_its_connection_key() -> None:
    async with aiohttp.ClientSession() as session:
        try:
            await within(session.ws_connect("ws://127.0.0.1:9/graphql"))
        except aiohttp.ClientConnectorError as error:
            key = connection_key(error)
            assert (key.host, key.port) == ("127.0.0.1", 9)
        else:  # pragma: no cover - nothing listens on the discard port
            raise AssertionError("connected to 127.0.0.1:9")


def test_objects_without_the_attributes_give_nothing() -> None:
    assert response_headers(object()) == {}  # type: ignore[arg-type]
    assert parsed_frames(object()) is None  # type: ignore[arg-type]
    assert connection_key(object()) is None


@pytest.mark.parametrize("subprotocol", ["graphql-transport-ws", "graphql-ws"])
async def test_a_connection_reads_in_small_blocks_and_still_gets_large_frames(
    subprotocol: str,
) -> None:
    text = "x" * (3 * READ_SIZE + 17)
    async with GraphQLWebsocketServer(example_schema(), subprotocols=(subprotocol,)) as server:
        transport = AIOHTTPWebsocketsTransport(url=server.url, subprotocols=[subprotocol])
        async with Client(transport=transport) as session:
            assert transport.websocket is not None
            socket_transport = connection_transport(transport.websocket)
            assert getattr(socket_transport, "max_size", None) == READ_SIZE
            query, kwargs = request("query ($t: String!) { echo(input: $t) }", {"t": text})
            assert await within(session.execute(query, **kwargs)) == {"echo": text}


def test_small_reads_changes_only_transports_with_a_read_size() -> None:
    class WithReadSize(asyncio.BaseTransport):
        max_size = 256 * 1024

    class WithoutReadSize(asyncio.BaseTransport):
        pass

    tuned = WithReadSize()
    assert small_reads(tuned) is tuned
    assert tuned.max_size == READ_SIZE
    untouched = WithoutReadSize()
    assert small_reads(untouched) is untouched
    assert not hasattr(untouched, "max_size")
    assert small_reads(None) is None
