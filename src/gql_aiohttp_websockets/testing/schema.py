"""The example schema the test servers serve: small, deterministic, with failures on demand.

It matches the schema of the Node.js reference servers, plus two demo subscriptions::

    type Query {
      hello(name: String = "world"): String!
      echo(input: String!): String!
      error(message: String = "intentional error"): String
      errorNonNull(message: String = "intentional non-null error"): String!
      connectionParams: String
      sleep(ms: Int!): Int!
    }
    type Mutation { addNumbers(a: Int!, b: Int!): Int! }
    type Price { symbol: String!  price: Float!  seq: Int! }
    type Subscription {
      countdown(from: Int!, delay_ms: Int = 10): Int!
      errorAfter(n: Int!, delay_ms: Int = 10): Int!
      ticks(count: Int = 5, delay_ms: Int = 0): Int!
      prices(symbol: String!, count: Int = 5, delay_ms: Int = 0): Price!
      sequence(current: Boolean = false): Int!
    }

``sequence`` needs a :class:`~gql_aiohttp_websockets.testing.ticker.SequenceTicker`
as the root value, as ``GraphQLWebsocketServer`` gives it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLError,
    GraphQLField,
    GraphQLFloat,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLString,
)

from .ticker import SequenceTicker

__all__ = ["example_schema", "price_at"]

# GraphQLResolveInfo is generic in graphql-core 3.3 and not in 3.2: the
# subscripted annotations below are only read by type checkers.


def price_at(symbol: str, seq: int) -> float:
    """The price the ``prices`` subscription reports for ``symbol`` at step ``seq``.

    Deterministic, so tests can compare exact values.

    Args:
        symbol: The ticker symbol.
        seq: The 0-based step.

    Returns:
        ``100 + len(symbol) + seq / 4``.
    """
    return 100.0 + len(symbol) + seq / 4


async def _pause(delay_ms: int | None) -> None:
    # Even without a delay, yield to the loop so one busy stream cannot starve the others.
    await asyncio.sleep((delay_ms or 0) / 1000)


def _hello(_root: object, _info: GraphQLResolveInfo[Any], name: str) -> str:
    return f"Hello {name}!"


def _echo(_root: object, _info: GraphQLResolveInfo[Any], input: str) -> str:
    return input


def _fail(_root: object, _info: GraphQLResolveInfo[Any], message: str) -> str:
    raise GraphQLError(message)


def _connection_params(_root: object, info: GraphQLResolveInfo[Any]) -> str | None:
    context = info.context
    if not isinstance(context, dict):
        return None
    params = context.get("connection_params")
    if params is None:
        return None
    return json.dumps(params, separators=(",", ":"))


async def _sleep(_root: object, _info: GraphQLResolveInfo[Any], ms: int) -> int:
    await asyncio.sleep(ms / 1000)
    return ms


async def _sequence(
    root: object, _info: GraphQLResolveInfo[Any], current: bool = False
) -> AsyncIterator[int]:
    if not isinstance(root, SequenceTicker):
        raise GraphQLError("sequence needs the server's SequenceTicker as the root value")
    async for value in root.numbers(current=current):
        yield value


def _add_numbers(_root: object, _info: GraphQLResolveInfo[Any], a: int, b: int) -> int:
    return a + b


async def _countdown(
    _root: object, _info: GraphQLResolveInfo[Any], **args: Any
) -> AsyncIterator[int]:
    start: int = args["from"]
    for value in range(start, -1, -1):
        yield value
        if value > 0:
            await _pause(args.get("delay_ms"))


async def _error_after(
    _root: object, _info: GraphQLResolveInfo[Any], n: int, delay_ms: int | None = 10
) -> AsyncIterator[int]:
    for value in range(n):
        yield value
        await _pause(delay_ms)
    raise RuntimeError(f"errorAfter: failing after {n} items")


async def _ticks(
    _root: object, _info: GraphQLResolveInfo[Any], count: int = 5, delay_ms: int | None = 0
) -> AsyncIterator[int]:
    for value in range(count):
        yield value
        if value < count - 1:
            await _pause(delay_ms)


async def _prices(
    _root: object,
    _info: GraphQLResolveInfo[Any],
    symbol: str,
    count: int = 5,
    delay_ms: int | None = 0,
) -> AsyncIterator[dict[str, Any]]:
    for seq in range(count):
        yield {"symbol": symbol, "price": price_at(symbol, seq), "seq": seq}
        if seq < count - 1:
            await _pause(delay_ms)


def _event(event: object, _info: GraphQLResolveInfo[Any], **_args: Any) -> object:
    return event


def _int_arg(default: int | None = None, *, required: bool = False) -> GraphQLArgument:
    if required:
        return GraphQLArgument(GraphQLNonNull(GraphQLInt))
    return GraphQLArgument(GraphQLInt, default_value=default)


def example_schema() -> GraphQLSchema:
    """Build the example schema (a new instance on each call).

    Resolvers that need the connection read ``info.context["connection_params"]``
    (the ``connection_init`` payload), which is what the test servers put in
    the context by default.

    Returns:
        A graphql-core schema with the query, mutation and subscription
        fields listed in this module's docstring.
    """
    string = GraphQLNonNull(GraphQLString)
    query = GraphQLObjectType(
        "Query",
        {
            "hello": GraphQLField(
                string,
                args={"name": GraphQLArgument(GraphQLString, default_value="world")},
                resolve=_hello,
                description="Returns 'Hello <name>!'",
            ),
            "echo": GraphQLField(
                string,
                args={"input": GraphQLArgument(string)},
                resolve=_echo,
                description="Returns its argument unchanged",
            ),
            "error": GraphQLField(
                GraphQLString,
                args={"message": GraphQLArgument(GraphQLString, default_value="intentional error")},
                resolve=_fail,
                description="Always fails: data.error is null and errors has one entry",
            ),
            "errorNonNull": GraphQLField(
                string,
                args={
                    "message": GraphQLArgument(
                        GraphQLString, default_value="intentional non-null error"
                    )
                },
                resolve=_fail,
                description="Always fails on a non-null field, so the whole data is null",
            ),
            "connectionParams": GraphQLField(
                GraphQLString,
                resolve=_connection_params,
                description="JSON text of this websocket's connection_init payload",
            ),
            "sleep": GraphQLField(
                GraphQLNonNull(GraphQLInt),
                args={"ms": _int_arg(required=True)},
                resolve=_sleep,
                description="Answers ms after ms milliseconds",
            ),
        },
    )
    mutation = GraphQLObjectType(
        "Mutation",
        {
            "addNumbers": GraphQLField(
                GraphQLNonNull(GraphQLInt),
                args={"a": _int_arg(required=True), "b": _int_arg(required=True)},
                resolve=_add_numbers,
                description="Returns a + b",
            )
        },
    )
    price = GraphQLObjectType(
        "Price",
        {
            "symbol": GraphQLField(string),
            "price": GraphQLField(GraphQLNonNull(GraphQLFloat)),
            "seq": GraphQLField(GraphQLNonNull(GraphQLInt)),
        },
    )
    subscription = GraphQLObjectType(
        "Subscription",
        {
            "countdown": GraphQLField(
                GraphQLNonNull(GraphQLInt),
                args={"from": _int_arg(required=True), "delay_ms": _int_arg(10)},
                subscribe=_countdown,
                resolve=_event,
                description="Emits from, from-1, ..., 0, then completes",
            ),
            "errorAfter": GraphQLField(
                GraphQLNonNull(GraphQLInt),
                args={"n": _int_arg(required=True), "delay_ms": _int_arg(10)},
                subscribe=_error_after,
                resolve=_event,
                description="Emits 0..n-1, then raises 'errorAfter: failing after <n> items'",
            ),
            "ticks": GraphQLField(
                GraphQLNonNull(GraphQLInt),
                args={"count": _int_arg(5), "delay_ms": _int_arg(0)},
                subscribe=_ticks,
                resolve=_event,
                description="Emits 0..count-1, then completes",
            ),
            "prices": GraphQLField(
                GraphQLNonNull(price),
                args={
                    "symbol": GraphQLArgument(string),
                    "count": _int_arg(5),
                    "delay_ms": _int_arg(0),
                },
                subscribe=_prices,
                resolve=_event,
                description="Emits count deterministic prices for symbol (see price_at)",
            ),
            "sequence": GraphQLField(
                GraphQLNonNull(GraphQLInt),
                args={"current": GraphQLArgument(GraphQLBoolean, default_value=False)},
                subscribe=_sequence,
                resolve=_event,
                description="The server's global sequence: each number goes to every "
                "subscriber at that moment, whatever its connection; with current, "
                "the last one first",
            ),
        },
    )
    return GraphQLSchema(query=query, mutation=mutation, subscription=subscription)
