"""The package's own server on 127.0.0.1, for ``gql-ws`` run as a child process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema

BOTH = ("graphql-transport-ws", "graphql-ws")


@pytest.fixture(params=BOTH)
def subprotocol(request: pytest.FixtureRequest) -> str:
    """Each test using it runs once per subprotocol."""
    return str(request.param)


@pytest.fixture
async def server(subprotocol: str) -> AsyncIterator[GraphQLWebsocketServer]:
    """The example schema's server, speaking only ``subprotocol``."""
    async with GraphQLWebsocketServer(example_schema(), subprotocols=(subprotocol,)) as running:
        yield running
