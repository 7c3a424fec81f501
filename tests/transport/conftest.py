"""Servers and transports for the transport tests, all on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport
from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema

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


MakeTransport = Callable[..., AIOHTTPWebsocketsTransport]


@pytest.fixture
async def make_transport() -> AsyncIterator[MakeTransport]:
    """Build transports; any still open at teardown are closed (newest first)."""
    made: list[AIOHTTPWebsocketsTransport] = []

    def make(url: str, **kwargs: Any) -> AIOHTTPWebsocketsTransport:
        transport = AIOHTTPWebsocketsTransport(url=url, **kwargs)
        made.append(transport)
        return transport

    yield make
    for transport in reversed(made):
        await transport.close()


@pytest.fixture
async def transport(
    server: GraphQLWebsocketServer, make_transport: MakeTransport
) -> AIOHTTPWebsocketsTransport:
    """A connected transport talking to ``server``."""
    connected = make_transport(server.url)
    await connected.connect()
    return connected
