"""A tiny application: watch a stock's price over a GraphQL subscription and summarize it.

The market-data API it talks to has this subscription::

    type Quote { symbol: String!  price: Float! }
    type Subscription { quotes(symbol: String!, count: Int!): Quote! }

`summarize_quotes` takes a connected-or-not gql transport, so that the tests
can point it at an in-process server (see test_ticker.py), and production code
at the real one::

    transport = AIOHTTPWebsocketsTransport(
        url="wss://market.example.com/graphql", init_payload={"token": token}
    )
    summary = await summarize_quotes(transport, "ACME", count=20)
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gql import Client, gql
from gql import __version__ as gql_version
from gql.transport.async_transport import AsyncTransport
from gql.transport.exceptions import TransportError, TransportQueryError

QUOTES = """
subscription Quotes($symbol: String!, $count: Int!) {
  quotes(symbol: $symbol, count: $count) { price }
}
"""


def quotes_subscription(symbol: str, count: int) -> tuple[Any, dict[str, Any]]:
    """The request and the keyword arguments for ``session.subscribe``."""
    request: Any = gql(QUOTES)
    variables = {"symbol": symbol, "count": count}
    if int(gql_version.split(".")[0]) >= 4:
        request.variable_values = variables  # gql 4: variables travel on the request
        return request, {}
    return request, {"variable_values": variables}  # gql 3.5


@dataclass(frozen=True)
class PriceSummary:
    """What the ticker reports about the prices it received."""

    symbol: str
    count: int
    low: float
    high: float
    average: float
    last: float

    @classmethod
    def of(cls, symbol: str, prices: Sequence[float]) -> PriceSummary | None:
        """Summarize ``prices`` (``None`` when there are none)."""
        if not prices:
            return None
        return cls(
            symbol=symbol,
            count=len(prices),
            low=min(prices),
            high=max(prices),
            average=sum(prices) / len(prices),
            last=prices[-1],
        )


class TickerError(Exception):
    """The ticker could not watch the prices to the end.

    Attributes:
        partial: The summary of the prices received before the failure, if any.
    """

    def __init__(self, message: str, partial: PriceSummary | None = None) -> None:
        super().__init__(message)
        self.partial = partial


async def summarize_quotes(transport: AsyncTransport, symbol: str, count: int) -> PriceSummary:
    """Subscribe to ``count`` quotes of ``symbol`` and summarize them.

    Raises:
        TickerError: The server could not be reached or refused the connection,
            refused the subscription, or the connection broke (``partial``
            then holds what arrived before).
    """
    client = Client(transport=transport)
    try:
        session = await client.connect_async()
    except (TransportError, asyncio.TimeoutError) as error:
        raise TickerError(f"cannot connect to the market data server: {error}") from error
    prices: list[float] = []
    try:
        request, options = quotes_subscription(symbol, count)
        async for result in session.subscribe(request, **options):
            prices.append(float(result["quotes"]["price"]))
    except TransportQueryError as error:
        raise TickerError(
            f"the server refused the subscription: {error}", PriceSummary.of(symbol, prices)
        ) from error
    except TransportError as error:
        raise TickerError(
            f"connection lost after {len(prices)} quotes: {error}", PriceSummary.of(symbol, prices)
        ) from error
    finally:
        await client.close_async()
    summary = PriceSummary.of(symbol, prices)
    if summary is None:
        raise TickerError(f"the server sent no quotes for {symbol}")
    return summary
