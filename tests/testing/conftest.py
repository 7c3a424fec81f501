"""Fixtures for the test-server tests: a raw aiohttp websocket client and servers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import aiohttp
import pytest

from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema, scaled_timeout

TRANSPORT_WS = "graphql-transport-ws"
LEGACY = "graphql-ws"


class RawClient:
    """A websocket client that sends and reads protocol messages frame by frame."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
        self.ws = ws

    @property
    def subprotocol(self) -> str | None:
        return self.ws.protocol

    async def send(self, message: Any) -> None:
        await self.ws.send_str(json.dumps(message))

    async def send_text(self, text: str) -> None:
        await self.ws.send_str(text)

    async def receive(self) -> Any:
        """The next text frame, parsed; fails on anything else."""
        frame = await self.ws.receive(timeout=scaled_timeout(5))
        assert frame.type is aiohttp.WSMsgType.TEXT, frame
        return json.loads(frame.data)

    async def receive_close(self) -> tuple[int | None, str]:
        """Skip to the server's close frame; return its code and reason."""
        while True:
            frame = await self.ws.receive(timeout=scaled_timeout(5))
            if frame.type is aiohttp.WSMsgType.CLOSE:
                return frame.data, frame.extra or ""
            assert frame.type is aiohttp.WSMsgType.TEXT, frame

    async def receive_until_close(self) -> list[Any]:
        """Every message up to the server's close frame."""
        messages: list[Any] = []
        while True:
            frame = await self.ws.receive(timeout=scaled_timeout(5))
            if frame.type is not aiohttp.WSMsgType.TEXT:
                assert frame.type is aiohttp.WSMsgType.CLOSE, frame
                return messages
            messages.append(json.loads(frame.data))

    async def init(self, payload: Any = None) -> Any:
        """Send connection_init and return the ack."""
        message: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            message["payload"] = payload
        await self.send(message)
        ack = await self.receive()
        assert ack["type"] == "connection_ack", ack
        return ack

    async def receive_op(self, op_id: str) -> list[Any]:
        """Messages of one operation up to complete or error (skipping other ids and ka)."""
        messages: list[Any] = []
        while True:
            message = await self.receive()
            if message.get("id") != op_id:
                continue
            messages.append(message)
            if message["type"] in ("complete", "error"):
                return messages


Connect = Callable[..., Awaitable[RawClient]]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def connect(http: aiohttp.ClientSession) -> AsyncIterator[Connect]:
    """Open raw websockets; all are closed at teardown."""
    opened: list[aiohttp.ClientWebSocketResponse[bool]] = []

    async def open_ws(url: str, protocols: Sequence[str] = (TRANSPORT_WS,)) -> RawClient:
        ws = await asyncio.wait_for(
            http.ws_connect(url, protocols=tuple(protocols)), scaled_timeout(5)
        )
        opened.append(ws)
        return RawClient(ws)

    yield open_ws
    for ws in opened:
        await ws.close()


@pytest.fixture
async def server() -> AsyncIterator[GraphQLWebsocketServer]:
    """The GraphQL server with the example schema and default settings."""
    async with GraphQLWebsocketServer(example_schema()) as running:
        yield running
