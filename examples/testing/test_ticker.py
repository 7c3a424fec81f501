"""The ticker's tests: a real server in the test process, from the package's pytest fixtures.

Run with ``pytest examples/testing`` (it needs ``gql-aiohttp-websockets[pytest]``,
and asyncio_mode = auto, as this repository's pyproject.toml sets).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLError,
    GraphQLField,
    GraphQLFloat,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
)
from ticker import PriceSummary, TickerError, summarize_quotes

from gql_aiohttp_websockets.testing import (
    GraphQLServerFactory,
    ScriptedConnection,
    ScriptedServerFactory,
    TransportFactory,
)

# --- A stand-in for the market-data API: our own small graphql-core schema. ---

TOKEN = "let-me-in"
MARKET = {"ACME": [101.5, 99.0, 104.25, 102.0]}


async def quotes(_root: Any, _info: Any, symbol: str, count: int) -> AsyncIterator[Any]:
    if symbol not in MARKET:
        raise GraphQLError(f"unknown symbol: {symbol}")
    for price in MARKET[symbol][:count]:
        yield {"symbol": symbol, "price": price}


def market_schema() -> GraphQLSchema:
    quote = GraphQLObjectType(
        "Quote",
        {
            "symbol": GraphQLField(GraphQLNonNull(GraphQLString)),
            "price": GraphQLField(GraphQLNonNull(GraphQLFloat)),
        },
    )
    return GraphQLSchema(
        query=GraphQLObjectType("Query", {"status": GraphQLField(GraphQLString)}),
        subscription=GraphQLObjectType(
            "Subscription",
            {
                "quotes": GraphQLField(
                    GraphQLNonNull(quote),
                    args={
                        "symbol": GraphQLArgument(GraphQLNonNull(GraphQLString)),
                        "count": GraphQLArgument(GraphQLNonNull(GraphQLInt)),
                    },
                    subscribe=quotes,
                    resolve=lambda event, _info, **_args: event,
                )
            },
        ),
    )


def check_token(payload: Any) -> bool:
    """The server's on_connect: False refuses the connection."""
    return isinstance(payload, dict) and payload.get("token") == TOKEN


# --- The tests. ---


@pytest.mark.parametrize("subprotocol", ["graphql-transport-ws", "graphql-ws"])
async def test_summarizes_every_quote(
    graphql_ws_server: GraphQLServerFactory,
    graphql_ws_transport: TransportFactory,
    subprotocol: str,
) -> None:
    server = await graphql_ws_server(market_schema(), on_connect=check_token)
    transport = graphql_ws_transport(
        server, subprotocols=[subprotocol], init_payload={"token": TOKEN}
    )

    summary = await summarize_quotes(transport, "ACME", count=4)

    assert summary == PriceSummary(
        symbol="ACME", count=4, low=99.0, high=104.25, average=101.6875, last=102.0
    )
    record = server.connections[0]
    assert record.subprotocol == subprotocol
    assert record.init_payload == {"token": TOKEN}


async def test_reports_a_graphql_error(
    graphql_ws_server: GraphQLServerFactory, graphql_ws_transport: TransportFactory
) -> None:
    server = await graphql_ws_server(market_schema())
    transport = graphql_ws_transport(server, init_payload={"token": TOKEN})

    with pytest.raises(TickerError, match="refused the subscription") as caught:
        await summarize_quotes(transport, "NOPE", count=4)

    assert "unknown symbol: NOPE" in str(caught.value)
    assert caught.value.partial is None


async def test_reports_a_refused_connection(
    graphql_ws_server: GraphQLServerFactory, graphql_ws_transport: TransportFactory
) -> None:
    server = await graphql_ws_server(market_schema(), on_connect=check_token)
    transport = graphql_ws_transport(server, init_payload={"token": "stolen"})

    with pytest.raises(TickerError, match="cannot connect to the market data server"):
        await summarize_quotes(transport, "ACME", count=4)

    # graphql-transport-ws: the server closed with 4403 Forbidden.
    assert await server.connections[0].wait_closed() == 4403


async def test_reports_what_arrived_before_the_connection_dropped(
    graphql_ws_scripted_server: ScriptedServerFactory, graphql_ws_transport: TransportFactory
) -> None:
    async def three_quotes_then_crash(conn: ScriptedConnection) -> None:
        await conn.accept_init()
        subscribe = await conn.expect("subscribe")
        assert subscribe["payload"]["variables"] == {"symbol": "ACME", "count": 10}
        for price in (10.0, 12.0, 11.0):
            data = {"quotes": {"price": price}}
            await conn.send_json({"type": "next", "id": subscribe["id"], "payload": {"data": data}})
        await conn.drop()  # no close frame: as if the server crashed

    server = await graphql_ws_scripted_server(
        three_quotes_then_crash, subprotocols=["graphql-transport-ws"]
    )
    transport = graphql_ws_transport(server)

    with pytest.raises(TickerError, match="connection lost after 3 quotes") as caught:
        await summarize_quotes(transport, "ACME", count=10)

    assert caught.value.partial == PriceSummary(
        symbol="ACME", count=3, low=10.0, high=12.0, average=11.0, last=11.0
    )
