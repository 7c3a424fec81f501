"""The GraphQL test server end to end, through gql's Client and the transport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gql import Client, gql
from gql.transport.exceptions import TransportError, TransportQueryError

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport
from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema, scaled_timeout

from .conftest import LEGACY, TRANSPORT_WS


@pytest.fixture(params=[TRANSPORT_WS, LEGACY])
def subprotocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def session(server: GraphQLWebsocketServer, subprotocol: str) -> AsyncIterator[Any]:
    transport = AIOHTTPWebsocketsTransport(
        url=server.url, subprotocols=[subprotocol], init_payload={"user": "ada"}
    )
    async with Client(transport=transport) as connected:
        yield connected


async def within(awaitable: Any) -> Any:
    return await asyncio.wait_for(awaitable, scaled_timeout(10))


async def test_query_mutation_and_connection_params(
    server: GraphQLWebsocketServer, session: Any, subprotocol: str
) -> None:
    assert await within(session.execute(gql("{ hello }"))) == {"hello": "Hello world!"}
    assert await within(session.execute(gql("mutation { addNumbers(a: 1, b: 2) }"))) == {
        "addNumbers": 3
    }
    result = await within(session.execute(gql("{ connectionParams }")))
    assert result == {"connectionParams": '{"user":"ada"}'}
    record = server.connections[0]
    assert record.subprotocol == subprotocol
    assert record.init_payload == {"user": "ada"}


async def test_subscription_yields_every_item(session: Any) -> None:
    async def collect() -> list[Any]:
        query = gql("subscription { countdown(from: 3, delay_ms: 0) }")
        return [item["countdown"] async for item in session.subscribe(query)]

    assert await within(collect()) == [3, 2, 1, 0]


async def test_field_error_raises_transport_query_error(session: Any) -> None:
    with pytest.raises(TransportQueryError, match="boom"):
        await within(session.execute(gql('{ error(message: "boom") }')))


async def test_failing_stream_raises_after_its_items(session: Any) -> None:
    seen: list[int] = []

    async def consume() -> None:
        query = gql("subscription { errorAfter(n: 2, delay_ms: 0) }")
        async for item in session.subscribe(query):
            seen.append(item["errorAfter"])

    with pytest.raises(TransportQueryError, match="errorAfter: failing after 2 items"):
        await within(consume())
    assert seen == [0, 1]


async def test_leaving_a_subscription_early_is_seen_by_the_server(
    server: GraphQLWebsocketServer, session: Any, subprotocol: str
) -> None:
    async def first_tick() -> Any:
        query = gql("subscription { ticks(count: 100000, delay_ms: 5) }")
        generator = session.subscribe(query)
        try:
            return await generator.__anext__()
        finally:
            await generator.aclose()

    assert await within(first_tick()) == {"ticks": 0}
    stop_type = "complete" if subprotocol == TRANSPORT_WS else "stop"
    stop = await server.connections[0].wait_for_type(stop_type, scaled_timeout(5))
    assert stop["id"] == "1"


async def test_default_offer_lands_on_graphql_transport_ws(
    server: GraphQLWebsocketServer,
) -> None:
    async with Client(transport=AIOHTTPWebsocketsTransport(url=server.url)) as session:
        assert await within(session.execute(gql("{ hello }"))) == {"hello": "Hello world!"}
    assert server.connections[0].subprotocol == TRANSPORT_WS


async def test_refused_connection_fails_to_connect(subprotocol: str) -> None:
    async with GraphQLWebsocketServer(example_schema(), on_connect=lambda _: False) as refusing:
        transport = AIOHTTPWebsocketsTransport(url=refusing.url, subprotocols=[subprotocol])
        with pytest.raises(TransportError):
            async with Client(transport=transport):
                pass
