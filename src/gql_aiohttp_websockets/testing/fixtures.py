"""The pytest fixtures, built on pytest-asyncio (this module imports it).

The plugin (`gql_aiohttp_websockets.testing.plugin`) registers this module
when pytest-asyncio is available and active.

The three public fixtures are views on one private fixture,
``_graphql_ws_resources``, which records every server and transport the test
creates, in creation order, and closes them in reverse order when the test
ends.  A transport is always created after the server it points at, so it is
closed before that server, whatever order the test requested the fixtures in.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any, TypeVar

import pytest
import pytest_asyncio

from ..transport import AIOHTTPWebsocketsTransport
from .factories import GraphQLServerFactory, ScriptedServerFactory, TransportFactory
from .graphql_server import GraphQLWebsocketServer
from .scripted_server import ScriptedWebsocketServer, ScriptHandler
from .server_base import LoopbackWebsocketServer

__all__ = [
    "FixtureResources",
    "graphql_ws_scripted_server",
    "graphql_ws_server",
    "graphql_ws_transport",
]

_ServerT = TypeVar("_ServerT", bound=LoopbackWebsocketServer)


class FixtureResources:
    """What the factories created during one test, closed in reverse order.

    Attributes:
        created: Every server and transport, in creation order.
    """

    def __init__(self, stack: AsyncExitStack, loop: asyncio.AbstractEventLoop) -> None:
        self.created: list[LoopbackWebsocketServer | AIOHTTPWebsocketsTransport] = []
        self._stack = stack
        self._loop = loop

    async def start_server(self, server: _ServerT) -> _ServerT:
        """Start ``server`` and close it at teardown.

        Raises:
            RuntimeError: Called from another event loop than the fixture's.
        """
        self._check_loop("a server", required=True)
        await self._stack.enter_async_context(server)
        self.created.append(server)
        return server

    def add_transport(self, transport: AIOHTTPWebsocketsTransport) -> AIOHTTPWebsocketsTransport:
        """Close ``transport`` at teardown (closing a closed transport does nothing).

        Raises:
            RuntimeError: Called from another event loop than the fixture's.
        """
        self._check_loop("a transport", required=False)
        self._stack.push_async_callback(transport.close)
        self.created.append(transport)
        return transport

    def _check_loop(self, what: str, *, required: bool) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            # A transport does no event-loop work until it connects.
            if not required:
                return
            running = None
        if running is not self._loop:
            raise RuntimeError(
                f"{what} from the gql_aiohttp_websockets fixtures must be created on the "
                "event loop of the fixtures (function scope by default): run the test in "
                "the same loop scope as asyncio_default_fixture_loop_scope"
            )


@pytest_asyncio.fixture
async def _graphql_ws_resources() -> AsyncIterator[FixtureResources]:
    async with AsyncExitStack() as stack:
        yield FixtureResources(stack, asyncio.get_running_loop())


@pytest.fixture
def graphql_ws_server(_graphql_ws_resources: FixtureResources) -> GraphQLServerFactory:
    """A factory starting GraphQL websocket servers on 127.0.0.1.

    Use: ``server = await graphql_ws_server(schema, **options)``, with the
    options of `GraphQLWebsocketServer`.  Each server is closed when the test
    ends, after the transports created later; an unexpected error the server
    met is raised then.
    """

    async def start(schema: Any, **options: Any) -> GraphQLWebsocketServer:
        return await _graphql_ws_resources.start_server(GraphQLWebsocketServer(schema, **options))

    return start


@pytest.fixture
def graphql_ws_scripted_server(_graphql_ws_resources: FixtureResources) -> ScriptedServerFactory:
    """A factory starting scripted websocket servers on 127.0.0.1, for faults.

    Use: ``server = await graphql_ws_scripted_server(handler, **options)``,
    with the options of `ScriptedWebsocketServer`.  Each server is closed
    when the test ends, after the transports created later; an exception the
    script raised is raised then, so the test reports it.
    """

    async def start(handler: ScriptHandler, **options: Any) -> ScriptedWebsocketServer:
        return await _graphql_ws_resources.start_server(ScriptedWebsocketServer(handler, **options))

    return start


@pytest.fixture
def graphql_ws_transport(_graphql_ws_resources: FixtureResources) -> TransportFactory:
    """A factory building transports pointed at a test server (or a URL).

    Use: ``transport = graphql_ws_transport(server, **kwargs)``, with the
    keyword arguments of `AIOHTTPWebsocketsTransport`.  The transport is not
    connected; it is closed when the test ends, before the servers.
    """

    def build(
        server: GraphQLWebsocketServer | ScriptedWebsocketServer | str, **kwargs: Any
    ) -> AIOHTTPWebsocketsTransport:
        url = server if isinstance(server, str) else server.url
        transport = AIOHTTPWebsocketsTransport(url, **kwargs)
        return _graphql_ws_resources.add_transport(transport)

    return build
