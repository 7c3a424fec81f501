"""The clients under test, behind one small interface the workloads drive.

``ours``, ``ours-orjson``, ``ours-reconnect`` (``reconnect=True``: each
subscription keeps its payload for a re-subscribe), ``gql-aiohttp`` and
``gql-websockets`` are gql-style
transports used exactly as an application would (``transport.subscribe`` /
``execute`` with a ``GraphQLRequest`` built from a document parsed once, or
through ``gql.Client``).  ``raw-aiohttp-dispatch`` (``dispatch_floor.py``) is
the floor plus the hand-over from one reader task to each operation's
consumer.  ``raw-aiohttp`` is the floor: an aiohttp websocket that
``json.loads`` each frame and looks at its ``type``, nothing more; where several
operations run at once it reads them all in one loop instead of dispatching.
Every client speaks the subprotocol it is built for (``graphql-transport-ws``
or the legacy ``graphql-ws``).

Three more run ``ours`` for the cost of the telemetry (``docs/observability.rst``),
each in a process of its own: ``ours-otel-absent`` with OpenTelemetry made
unimportable (as without the ``otel`` extra), ``ours-otel-api`` with the API
and no SDK (OpenTelemetry's no-op providers), ``ours-otel-sdk`` with the SDK
recording through the global providers (spans batched to an exporter that
drops them, metrics aggregated in memory).  They are not in the default run:
name them with ``--clients``, in an environment with ``opentelemetry-sdk``.

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

from payloads import (
    DIALECTS,
    IDLE_QUERY,
    IDLE_RESULT,
    STREAM_QUERY,
    SUBPROTOCOL,
    TINY_QUERY,
    stream_variables,
)

__all__ = ["CLIENT_NAMES", "DEFAULT_CLIENTS", "BenchClient", "client_factory"]

CLIENT_NAMES = (
    "ours",
    "ours-orjson",
    "ours-reconnect",
    "gql-aiohttp",
    "gql-websockets",
    "raw-aiohttp",
    "raw-aiohttp-dispatch",
    "ours-otel-absent",
    "ours-otel-api",
    "ours-otel-sdk",
)

#: The telemetry clients, run only when named.
OTEL_CLIENTS = ("ours-otel-absent", "ours-otel-api", "ours-otel-sdk")
DEFAULT_CLIENTS = tuple(name for name in CLIENT_NAMES if name not in OTEL_CLIENTS)


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

    async def open_idle(self, count: int) -> None:
        """Start ``count`` idle subscriptions; return once each has its first result."""

    async def close_idle(self) -> None:
        """Stop the idle subscriptions."""


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
        self._idle_document = _idle_document()
        self._transport: Any = None
        self._client: Any = None
        self._session: Any = None
        self._idle: list[asyncio.Task[None]] = []

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

    async def open_idle(self, count: int) -> None:
        ready = asyncio.get_running_loop().create_future()
        request = self._request_type(self._idle_document)
        waiting = count

        async def idle() -> None:
            nonlocal waiting
            if self._session is not None:
                results = self._session.subscribe(request)
            else:
                results = self._transport.subscribe(request)
            async for result in results:
                data = result if self._session is not None else result.data
                if data != IDLE_RESULT:
                    raise AssertionError(f"unexpected result {data!r}")
                waiting -= 1
                if not waiting and not ready.done():
                    ready.set_result(None)

        def ended(task: asyncio.Task[None]) -> None:
            if not ready.done():
                error = None if task.cancelled() else task.exception()
                ready.set_exception(AssertionError(f"an idle subscription ended: {error!r}"))

        self._idle = [asyncio.create_task(idle()) for _ in range(count)]
        for task in self._idle:
            task.add_done_callback(ended)
        await ready

    async def close_idle(self) -> None:
        for task in self._idle:
            task.cancel()
        await asyncio.gather(*self._idle, return_exceptions=True)
        self._idle.clear()


class RawAiohttpClient:
    """The floor: aiohttp's websocket client plus ``json.loads`` of each frame."""

    def __init__(self, url: str, subprotocol: str = SUBPROTOCOL) -> None:
        import aiohttp

        self._aiohttp = aiohttp
        self._url = url
        self._dialect = DIALECTS[subprotocol]
        self._session: Any = None
        self._ws: Any = None
        self._next_id = 0

    async def open(self) -> None:
        self._session = self._aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(self._url, protocols=(self._dialect.subprotocol,))
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
        message = {"id": str(self._next_id), "type": self._dialect.start, "payload": payload}
        await self._ws.send_str(json.dumps(message))

    async def _drain(self, operations: int) -> int:
        """Read until ``operations`` operations completed; return the ``next`` count."""
        received = 0
        result_type = self._dialect.result
        while operations:
            kind = (await self._receive())["type"]
            if kind == result_type:
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

    async def open_idle(self, count: int) -> None:
        for _ in range(count):
            await self._subscribe(IDLE_QUERY, None)
        result_type = self._dialect.result
        for _ in range(count):
            kind = (await self._receive())["type"]
            if kind != result_type:
                raise AssertionError(f"unexpected message type {kind!r}")

    async def close_idle(self) -> None:
        # Closing the connection ends them on the server; nothing runs here.
        return


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


@functools.cache
def _idle_document() -> Any:
    from gql import gql

    return gql(IDLE_QUERY)


def _set_up_telemetry(name: str) -> None:
    """Put this process in the telemetry case ``name`` names, before our package is imported."""
    import sys

    if name == "ours-otel-absent":
        sys.modules["opentelemetry"] = None  # type: ignore[assignment]
        return
    import opentelemetry.trace  # noqa: F401  (ImportError: the client skips)

    if name == "ours-otel-sdk":
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        class Dropped(SpanExporter):
            def export(self, spans: Any) -> SpanExportResult:
                return SpanExportResult.SUCCESS

        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(BatchSpanProcessor(Dropped()))
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))


def client_factory(
    name: str, url: str, via_client: bool = False, subprotocol: str = SUBPROTOCOL
) -> Callable[[], BenchClient]:
    """Return a builder of fresh ``name`` clients for ``url``, speaking ``subprotocol``.

    The floor has no ``gql.Client`` mode: ``via_client`` does not change it.

    Raises:
        ImportError: The client's library (or our transport) cannot be imported.
        ValueError: ``name`` or ``subprotocol`` is unknown.
    """
    if subprotocol not in DIALECTS:
        raise ValueError(f"unknown subprotocol {subprotocol!r}")
    if name == "raw-aiohttp":
        return lambda: RawAiohttpClient(url, subprotocol)
    if name == "raw-aiohttp-dispatch":
        from dispatch_floor import DispatchFloorClient

        return lambda: DispatchFloorClient(url, subprotocol)
    if name not in CLIENT_NAMES:
        raise ValueError(f"unknown client {name!r}")
    if name in OTEL_CLIENTS:
        _set_up_telemetry(name)
    transport_class = _transport_class("ours" if name.startswith("ours") else name)
    options: dict[str, Any] = {"subprotocols": [subprotocol]}
    if name == "ours-reconnect":
        options["reconnect"] = True
    if name == "ours-orjson":
        import orjson

        options["json_serialize"] = lambda message: orjson.dumps(message).decode()
        options["json_deserialize"] = orjson.loads
    # Fail now, not inside a workload, if the constructor rejects these options.
    transport_class(url, **options)
    return lambda: TransportClient(lambda: transport_class(url, **options), via_client)
