"""The receive loop's turns, end to end: held wake-ups never keep a result from its consumer.

The policy itself is unit-tested without a socket in ``tests/test_wakeups.py``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport
from tests.helpers import doc, within
from tests.raw_server import RawServer, read_client_frame, text_frame
from tests.transport.conftest import MakeTransport

_CLOSE = 0x8


class StallingServer(RawServer):
    """Acks, then answers the first operation with results and half of one more frame."""

    def __init__(self, results: int) -> None:
        super().__init__(subprotocol="graphql-transport-ws")
        self.results = results
        self.stalled = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert json.loads((await read_client_frame(reader))[1])["type"] == "connection_init"
        writer.write(text_frame('{"type":"connection_ack"}'))
        await writer.drain()
        subscribe = json.loads((await read_client_frame(reader))[1])
        assert (subscribe["type"], subscribe["id"]) == ("subscribe", "1")
        frames = b"".join(
            text_frame(json.dumps({"id": "1", "type": "next", "payload": {"data": {"n": n}}}))
            for n in range(self.results)
        )
        last = text_frame(json.dumps({"id": "1", "type": "next", "payload": {"data": {"n": -1}}}))
        writer.write(frames)
        await writer.drain()
        # Apart, so that it may arrive while the client is still reading the rest.
        writer.write(last[: len(last) // 2])
        await writer.drain()
        self.stalled.set()
        while (await read_client_frame(reader))[0] != _CLOSE:
            pass  # the client's complete
        writer.write(bytes([0x80 | _CLOSE, 2]) + (1000).to_bytes(2, "big"))
        await writer.drain()


async def test_results_before_a_partial_frame_reach_their_consumer(
    make_transport: MakeTransport,
) -> None:
    async with StallingServer(results=50).running() as server:
        transport = make_transport(server.url, subprotocols=["graphql-transport-ws"])
        await within(transport.connect())
        seen: list[Any] = []

        async def consume() -> None:
            async for result in transport.subscribe(doc("subscription { ticks }")):
                seen.append(result.data)
                if len(seen) == server.results:
                    return

        await within(consume())
        assert seen == [{"n": n} for n in range(server.results)]
        assert server.stalled.is_set()
        await within(transport.close())


async def test_interleaved_subscriptions_each_get_their_results_in_order(
    make_transport: MakeTransport, server: Any
) -> None:
    transport: AIOHTTPWebsocketsTransport = make_transport(server.url)
    await within(transport.connect())

    async def count(n: int) -> list[Any]:
        query = doc(f"subscription {{ countdown(from: {n}) }}")
        return [result.data async for result in transport.subscribe(query)]

    sizes = [1 + (k * 7) % 40 for k in range(300)]
    streams = await within(asyncio.gather(*(count(size) for size in sizes)), 30)
    for size, data in zip(sizes, streams, strict=True):
        assert data == [{"countdown": value} for value in range(size, -1, -1)]
