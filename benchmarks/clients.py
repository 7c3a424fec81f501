"""The clients under test, behind one small interface the workloads drive.

``ours``, ``ours-orjson``, ``ours-reconnect`` (``reconnect=True``: each
subscription keeps its payload for a re-subscribe), ``gql-aiohttp`` and
``gql-websockets`` are gql-style
transports used exactly as an application would (``transport.subscribe`` /
``execute`` with a ``GraphQLRequest`` built from a document parsed once, or
through ``gql.Client``).  ``raw-aiohttp`` is the floor: an aiohttp websocket that
``json.loads`` each frame and looks at its ``type``, nothing more; where several
operations run at once it reads them all in one loop instead of dispatching.

Libraries are imported when a client is built, so a missing one makes that
client skip with its ImportError instead of breaking the others.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import json
from collections.abc import Callable
from typing import Any, Protocol

from payloads import STREAM_QUERY, SUBPROTOCOL, TINY_QUERY, stream_variables

__all__ = ["CLIENT_NAMES", "BenchClient", "client_factory"]

CLIENT_NAMES = (
    "ours",
    "ours-orjson",
    "ours-reconnect",
    "gql-aiohttp",
    "gql-websockets",
    "raw-aiohttp",
)


class BenchClient(Protocol):
    """What a workload needs from a client; one instance is one connection."""

    async def open(self) -> None:
        """Connect and complete ``connection_init`` / ``connection_ack``."""

    async def close(self) -> None:
        """Close the connection."""

    async def stream(self, kind: str, count: int) -> int:
        """Subscribe to ``count`` messages of ``kind``; return how many were consumed."""

    async def fan_in(self, kind: str, count: int, subscriptions: int) -> int:
        """Run ``subscriptions`` streams at once; return the total consumed."""

    async def execute_tiny(self) -> None:
        """Execute the tiny query and wait for its result."""

    async def execute_batch(self, size: int) -> None:
        """Execute the tiny query ``size`` times concurrently."""


class TransportClient:
    """A gql-style async transport, bare or wrapped in ``gql.Client``.

    Args:
        make_transport: Builds a fresh, unconnected transport.
        via_client: Drive it through ``gql.Client``'s session instead of directly.
    """

    def __init__(self, make_transport: Callable[[], Any], via_client: bool) -> None:
        from gql import GraphQLRequest

        self._make_transport = make_transport
        self._via_client = via_client
        self._request_type = GraphQLRequest
        # Parsed once per process, as an application does: parsing is not part
        # of any workload (workload 5 builds a fresh client per cycle).
        self._stream_document, self._tiny = _parsed_documents()
        self._transport: Any = None
        self._client: Any = None
        self._session: Any = None

    async def open(self) -> None:
        self._transport = self._make_transport()
        if self._via_client:
            from gql import Client

            self._client = Client(transport=self._transport)
            self._session = await self._client.connect_async()
        else:
            await self._transport.connect()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close_async()
        elif self._transport is not None:
            await self._transport.close()

    async def stream(self, kind: str, count: int) -> int:
        request = self._request_type(
            self._stream_document, variable_values=stream_variables(kind, count)
        )
        received = 0
        if self._session is not None:
            async for _data in self._session.subscribe(request):
                received += 1
        else:
            async for _result in self._transport.subscribe(request):
                received += 1
        return received

    async def fan_in(self, kind: str, count: int, subscriptions: int) -> int:
        totals = await asyncio.gather(*(self.stream(kind, count) for _ in range(subscriptions)))
        return sum(totals)

    async def execute_tiny(self) -> None:
        if self._session is not None:
            data = await self._session.execute(self._tiny)
        else:
            data = (await self._transport.execute(self._tiny)).data
        if data != {"hello": "world"}:
            raise AssertionError(f"unexpected result {data!r}")

    async def execute_batch(self, size: int) -> None:
        await asyncio.gather(*(self.execute_tiny() for _ in range(size)))


class RawAiohttpClient:
    """The floor: aiohttp's websocket client plus ``json.loads`` of each frame."""

    def __init__(self, url: str) -> None:
        import aiohttp

        self._aiohttp = aiohttp
        self._url = url
        self._session: Any = None
        self._ws: Any = None
        self._next_id = 0

    async def open(self) -> None:
        self._session = self._aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(self._url, protocols=(SUBPROTOCOL,))
        await self._ws.send_str('{"type":"connection_init","payload":{}}')
        if (await self._receive())["type"] != "connection_ack":
            raise AssertionError("expected connection_ack")

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()

    async def _receive(self) -> Any:
        message = await self._ws.receive()
        if message.type is not self._aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"unexpected websocket message {message.type!r}")
        return json.loads(message.data)

    async def _subscribe(self, query: str, variables: dict[str, Any] | None) -> None:
        self._next_id += 1
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        message = {"id": str(self._next_id), "type": "subscribe", "payload": payload}
        await self._ws.send_str(json.dumps(message))

    async def _drain(self, operations: int) -> int:
        """Read until ``operations`` operations completed; return the ``next`` count."""
        received = 0
        while operations:
            kind = (await self._receive())["type"]
            if kind == "next":
                received += 1
            elif kind == "complete":
                operations -= 1
            else:
                raise AssertionError(f"unexpected message type {kind!r}")
        return received

    async def stream(self, kind: str, count: int) -> int:
        await self._subscribe(STREAM_QUERY, stream_variables(kind, count))
        return await self._drain(1)

    async def fan_in(self, kind: str, count: int, subscriptions: int) -> int:
        for _ in range(subscriptions):
            await self._subscribe(STREAM_QUERY, stream_variables(kind, count))
        return await self._drain(subscriptions)

    async def execute_tiny(self) -> None:
        await self._subscribe(TINY_QUERY, None)
        await self._drain(1)

    async def execute_batch(self, size: int) -> None:
        for _ in range(size):
            await self._subscribe(TINY_QUERY, None)
        await self._drain(size)


def _transport_class(name: str) -> Any:
    module_name, _, attribute = {
        "ours": "gql_aiohttp_websockets:AIOHTTPWebsocketsTransport",
        "gql-aiohttp": "gql.transport.aiohttp_websockets:AIOHTTPWebsocketsTransport",
        "gql-websockets": "gql.transport.websockets:WebsocketsTransport",
    }[name].partition(":")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ImportError(f"cannot import name {attribute!r} from {module_name!r}") from None


@functools.cache
def _parsed_documents() -> tuple[Any, Any]:
    from gql import GraphQLRequest, gql

    return gql(STREAM_QUERY), GraphQLRequest(gql(TINY_QUERY))


def client_factory(name: str, url: str, via_client: bool = False) -> Callable[[], BenchClient]:
    """Return a builder of fresh ``name`` clients for ``url``.

    Raises:
        ImportError: The client's library (or our transport) cannot be imported.
        ValueError: ``name`` is unknown, or ``via_client`` is asked of the floor.
    """
    if name == "raw-aiohttp":
        if via_client:
            raise ValueError("the raw floor has no gql.Client mode")
        return lambda: RawAiohttpClient(url)
    if name not in CLIENT_NAMES:
        raise ValueError(f"unknown client {name!r}")
    transport_class = _transport_class("ours" if name.startswith("ours") else name)
    options: dict[str, Any] = {"subprotocols": [SUBPROTOCOL]}
    if name == "ours-reconnect":
        options["reconnect"] = True
    if name == "ours-orjson":
        import orjson

        options["json_serialize"] = lambda message: orjson.dumps(message).decode()
        options["json_deserialize"] = orjson.loads
    # Fail now, not inside a workload, if the constructor rejects these options.
    transport_class(url, **options)
    return lambda: TransportClient(lambda: transport_class(url, **options), via_client)
