"""aiohttp's private attributes, read off real aiohttp objects of the installed version."""

from __future__ import annotations

import aiohttp

from gql_aiohttp_websockets.aiohttp_internals import (
    connection_key,
    parsed_frames,
    response_headers,
)
from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema
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
