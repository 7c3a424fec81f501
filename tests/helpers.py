"""Small helpers shared by the tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

from graphql import DocumentNode, ExecutionResult, parse

from gql_aiohttp_websockets.testing import scaled_timeout

T = TypeVar("T")


def doc(text: str) -> DocumentNode:
    """Parse GraphQL text."""
    return parse(text)


async def within(awaitable: Awaitable[T], seconds: float = 10.0) -> T:
    """Await ``awaitable`` with a scaled timeout."""
    return await asyncio.wait_for(awaitable, scaled_timeout(seconds))


async def collect(results: AsyncIterator[ExecutionResult], seconds: float = 10.0) -> list[Any]:
    """Gather the ``data`` of every result of a subscription, with a scaled timeout."""

    async def gather() -> list[Any]:
        return [result.data async for result in results]

    return await within(gather(), seconds)


async def until_failure(
    transport: Any, query: str = "subscription { countdown(from: 3) }"
) -> tuple[list[Any], Exception | None]:
    """Subscribe and collect ``data`` until the stream ends; return it and the error, if any."""
    seen: list[Any] = []
    try:
        async for result in transport.subscribe(doc(query)):
            seen.append(result.data)
    except Exception as exc:
        return seen, exc
    return seen, None
