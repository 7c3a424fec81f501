"""Through gql.Client, async and sync, with whichever gql version is installed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from gql import Client
from gql.transport.exceptions import TransportQueryError

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport
from gql_aiohttp_websockets.testing import (
    GraphQLWebsocketServer,
    example_schema,
    scaled_timeout,
)
from tests.gql_compat import request
from tests.helpers import within

STOP_TYPE = {"graphql-transport-ws": "complete", "graphql-ws": "stop"}


async def test_async_client_query_mutation_and_subscription(
    server: GraphQLWebsocketServer, subprotocol: str
) -> None:
    transport = AIOHTTPWebsocketsTransport(url=server.url)
    async with Client(transport=transport) as session:
        assert transport.subprotocol == subprotocol
        query, kwargs = request(
            "query Greet($name: String!) { hello(name: $name) }", {"name": "gql"}, "Greet"
        )
        assert await within(session.execute(query, **kwargs)) == {"hello": "Hello gql!"}
        mutation, kwargs = request("mutation { addNumbers(a: 20, b: 22) }")
        assert await within(session.execute(mutation, **kwargs)) == {"addNumbers": 42}
        subscription, kwargs = request("subscription { countdown(from: 2, delay_ms: 0) }")
        seen = [item async for item in session.subscribe(subscription, **kwargs)]
        assert seen == [{"countdown": 2}, {"countdown": 1}, {"countdown": 0}]
    assert transport.websocket is None


async def test_async_client_raises_query_errors(server: GraphQLWebsocketServer) -> None:
    transport = AIOHTTPWebsocketsTransport(url=server.url)
    async with Client(transport=transport) as session:
        query, kwargs = request('{ error(message: "nope") }')
        with pytest.raises(TransportQueryError, match="nope"):
            await within(session.execute(query, **kwargs))
        query, kwargs = request("{ hello }")
        assert await within(session.execute(query, **kwargs)) == {"hello": "Hello world!"}


async def test_breaking_out_of_session_subscribe_stops_the_operation(
    server: GraphQLWebsocketServer, subprotocol: str
) -> None:
    transport = AIOHTTPWebsocketsTransport(url=server.url)
    async with Client(transport=transport) as session:
        subscription, kwargs = request("subscription { countdown(from: 1000, delay_ms: 5) }")
        async for item in session.subscribe(subscription, **kwargs):
            assert item == {"countdown": 1000}
            break
        await server.connections[0].wait_for_message(
            lambda m: m.get("type") == STOP_TYPE[subprotocol], scaled_timeout(5)
        )
        query, kwargs = request("{ hello }")
        assert await within(session.execute(query, **kwargs)) == {"hello": "Hello world!"}


async def test_fetch_schema_from_transport_and_validation(server: GraphQLWebsocketServer) -> None:
    transport = AIOHTTPWebsocketsTransport(url=server.url)
    client = Client(transport=transport, fetch_schema_from_transport=True)
    async with client as session:
        assert client.schema is not None
        assert "countdown" in client.schema.subscription_type.fields  # type: ignore[union-attr]
        query, kwargs = request('{ echo(input: "validated") }')
        assert await within(session.execute(query, **kwargs)) == {"echo": "validated"}


class ServerThread:
    """The package's server on its own loop in a thread, for gql's sync API."""

    def __init__(self, subprotocol: str) -> None:
        self.subprotocol = subprotocol
        self.url = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the test thread in stop()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with GraphQLWebsocketServer(
            example_schema(), subprotocols=(self.subprotocol,)
        ) as server:
            self.url = server.url
            self._ready.set()
            await self._stop.wait()

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(scaled_timeout(10)), "the server thread did not start"
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(scaled_timeout(10))
        assert not self._thread.is_alive(), "the server thread did not stop"
        if self._error is not None:
            raise self._error


@pytest.fixture
def server_thread(subprotocol: str) -> Iterator[ServerThread]:
    running = ServerThread(subprotocol)
    running.start()
    yield running
    running.stop()


@pytest.mark.usefixtures("sync_loop")
def test_sync_client_execute_and_subscribe(server_thread: ServerThread) -> None:
    transport = AIOHTTPWebsocketsTransport(url=server_thread.url)
    client = Client(transport=transport, execute_timeout=scaled_timeout(10))
    query, kwargs = request('{ hello(name: "sync") }')
    assert client.execute(query, **kwargs) == {"hello": "Hello sync!"}
    subscription, kwargs = request("subscription { countdown(from: 2, delay_ms: 0) }")
    assert list(client.subscribe(subscription, **kwargs)) == [
        {"countdown": 2},
        {"countdown": 1},
        {"countdown": 0},
    ]
    assert transport.websocket is None
