"""The example schema, executed directly with graphql-core (no network)."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    ExecutionResult,
    GraphQLSchema,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
    graphql,
    parse,
    subscribe,
)

from gql_aiohttp_websockets.testing import example_schema, price_at, scaled_timeout

REFERENCE_SDL = Path(__file__).parent.parent / "interop" / "schema.graphql"


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return example_schema()


async def run(schema: GraphQLSchema, query: str, context: object = None) -> ExecutionResult:
    return await asyncio.wait_for(graphql(schema, query, context_value=context), scaled_timeout(5))


async def events(schema: GraphQLSchema, query: str) -> list[Any]:
    """Every event's data; an exception from the stream is appended as its message."""
    stream: Any = subscribe(schema, parse(query))
    if inspect.isawaitable(stream):
        stream = await stream
    seen: list[Any] = []

    async def drain() -> None:
        try:
            async for result in stream:
                seen.append(result.data)
        except RuntimeError as error:
            seen.append(str(error))

    await asyncio.wait_for(drain(), scaled_timeout(5))
    return seen


@pytest.mark.parametrize(
    ("query", "data"),
    [
        ("{ hello }", {"hello": "Hello world!"}),
        ('{ hello(name: "ws") }', {"hello": "Hello ws!"}),
        ('{ echo(input: "x y") }', {"echo": "x y"}),
        ("mutation { addNumbers(a: -1, b: 3) }", {"addNumbers": 2}),
    ],
)
async def test_plain_fields(schema: GraphQLSchema, query: str, data: dict[str, Any]) -> None:
    result = await run(schema, query)
    assert (result.data, result.errors) == (data, None)


async def test_error_fields(schema: GraphQLSchema) -> None:
    nullable = await run(schema, "{ error }")
    assert nullable.data == {"error": None}
    assert [e.message for e in nullable.errors or []] == ["intentional error"]
    non_null = await run(schema, '{ errorNonNull(message: "no") }')
    assert non_null.data is None
    assert [e.message for e in non_null.errors or []] == ["no"]


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"connection_params": {"a": [1, "b"]}}, '{"a":[1,"b"]}'),
        ({"connection_params": None}, None),
        ({}, None),
        (None, None),
    ],
)
async def test_connection_params(
    schema: GraphQLSchema, context: object, expected: str | None
) -> None:
    result = await run(schema, "{ connectionParams }", context)
    assert result.data == {"connectionParams": expected}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("subscription { countdown(from: 2, delay_ms: 0) }", [{"countdown": n} for n in (2, 1, 0)]),
        ("subscription { ticks }", [{"ticks": n} for n in range(5)]),
        ("subscription { ticks(count: 0) }", []),
        (
            "subscription { errorAfter(n: 2, delay_ms: 0) }",
            [{"errorAfter": 0}, {"errorAfter": 1}, "errorAfter: failing after 2 items"],
        ),
        (
            'subscription { prices(symbol: "XYZ", count: 2) { symbol price seq } }',
            [{"prices": {"symbol": "XYZ", "price": price_at("XYZ", n), "seq": n}} for n in (0, 1)],
        ),
    ],
)
async def test_subscriptions(schema: GraphQLSchema, query: str, expected: list[Any]) -> None:
    assert await events(schema, query) == expected


def test_prices_are_deterministic() -> None:
    assert [price_at("AB", n) for n in range(3)] == [102.0, 102.25, 102.5]


@pytest.mark.skipif(not REFERENCE_SDL.exists(), reason="no reference schema in this checkout")
def test_keeps_every_field_of_the_reference_servers_schema(schema: GraphQLSchema) -> None:
    reference = build_schema(REFERENCE_SDL.read_text(encoding="utf-8"))
    assert find_breaking_changes(reference, schema) == []
    assert find_dangerous_changes(reference, schema) == []
