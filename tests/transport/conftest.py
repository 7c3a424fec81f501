"""Servers and transports for the transport tests, all on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport
from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema
from tests.conftest import MakeTransport

__all__ = ["BOTH", "MakeTransport"]

BOTH = ("graphql-transport-ws", "graphql-ws")


@pytest.fixture(params=BOTH)
def subprotocol(request: pytest.FixtureRequest) -> str:
    """Each test using it runs once per subprotocol."""
    return str(request.param)


@pytest.fixture
async def server(subprotocol: str) -> AsyncIterator[GraphQLWebsocketServer]:
    """The package's own GraphQL server, speaking only ``subprotocol``."""
    async with GraphQLWebsocketServer(example_schema(), subprotocols=(subprotocol,)) as running:
        yield running


@pytest.fixture
async def transport(
    server: GraphQLWebsocketServer, make_transport: MakeTransport
) -> AIOHTTPWebsocketsTransport:
    """A connected transport talking to ``server``."""
    connected = make_transport(server.url)
    await connected.connect()
    return connected
