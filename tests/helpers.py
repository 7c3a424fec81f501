"""Small helpers shared by the tests."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import aiohttp
from graphql import DocumentNode, ExecutionResult, parse

from gql_aiohttp_websockets.testing import scaled_timeout

T = TypeVar("T")


def basic_auth(login: str, password: str) -> aiohttp.BasicAuth:
    """aiohttp's BasicAuth, without the deprecation warning aiohttp 3.14 gives for it."""
    # gql users still pass BasicAuth, so the transport accepts it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return aiohttp.BasicAuth(login, password)


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
