"""The signatures of the pytest fixtures' factories, as `typing.Protocol` classes.

Annotate a test's fixture arguments with them so that type checkers know what
the factories take and return::

    async def test_prices(
        graphql_ws_server: GraphQLServerFactory, graphql_ws_transport: TransportFactory
    ) -> None:
        server = await graphql_ws_server(my_schema())
        transport = graphql_ws_transport(server)

This module needs neither pytest nor pytest-asyncio.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from ssl import SSLContext
from typing import Any, Protocol

from ..transport import AIOHTTPWebsocketsTransport
from .graphql_server import GraphQLWebsocketServer
from .scripted_server import ScriptedWebsocketServer, ScriptHandler
from .session import OnConnect

__all__ = ["GraphQLServerFactory", "ScriptedServerFactory", "TransportFactory"]


class GraphQLServerFactory(Protocol):
    """The ``graphql_ws_server`` fixture: starts a `GraphQLWebsocketServer`.

    Every server it starts is closed when the test ends (after the transports
    created later), and the first unexpected error the server met while
    serving is raised then.
    """

    async def __call__(
        self,
        schema: Any,
        *,
        subprotocols: Iterable[str] = ...,
        on_connect: OnConnect | None = ...,
        context: object = ...,
        keep_alive_interval: float | None = ...,
        ping_interval: float | None = ...,
        connection_init_timeout: float | None = ...,
        path: str = ...,
        ssl: SSLContext | None = ...,
        response_headers: Mapping[str, str] | None = ...,
    ) -> GraphQLWebsocketServer:
        """Start a server for ``schema`` on 127.0.0.1.

        Args:
            schema: A graphql-core ``GraphQLSchema``, or an object whose
                ``graphql_schema`` attribute is one (Graphene).
            subprotocols: As for `GraphQLWebsocketServer`.
            on_connect: As for `GraphQLWebsocketServer`.
            context: As for `GraphQLWebsocketServer`.
            keep_alive_interval: As for `GraphQLWebsocketServer`.
            ping_interval: As for `GraphQLWebsocketServer`.
            connection_init_timeout: As for `GraphQLWebsocketServer`.
            path: As for `GraphQLWebsocketServer`.
            ssl: As for `GraphQLWebsocketServer`.
            response_headers: As for `GraphQLWebsocketServer`.

        Returns:
            The started server; ``server.url`` is its address.
        """
        ...


class ScriptedServerFactory(Protocol):
    """The ``graphql_ws_scripted_server`` fixture: starts a `ScriptedWebsocketServer`.

    Every server it starts is closed when the test ends (after the transports
    created later). An exception raised by the script is raised again then,
    so the test reports it.
    """

    async def __call__(
        self,
        handler: ScriptHandler,
        *,
        subprotocols: Iterable[str] = ...,
        path: str = ...,
        ssl: SSLContext | None = ...,
        response_headers: Mapping[str, str] | None = ...,
    ) -> ScriptedWebsocketServer:
        """Start a server on 127.0.0.1 that runs ``handler`` for each connection.

        Args:
            handler: An async function receiving a `ScriptedConnection`.
            subprotocols: As for `ScriptedWebsocketServer`.
            path: As for `ScriptedWebsocketServer`.
            ssl: As for `ScriptedWebsocketServer`.
            response_headers: As for `ScriptedWebsocketServer`.

        Returns:
            The started server; ``server.url`` is its address.
        """
        ...


class TransportFactory(Protocol):
    """The ``graphql_ws_transport`` fixture: builds an `AIOHTTPWebsocketsTransport`.

    The transport is not connected (``gql.Client`` or ``connect()`` does
    that); whatever state it is in when the test ends, it is closed then,
    before the servers.
    """

    def __call__(
        self,
        server: GraphQLWebsocketServer | ScriptedWebsocketServer | str,
        **kwargs: Any,
    ) -> AIOHTTPWebsocketsTransport:
        """Build a transport pointed at ``server``.

        Args:
            server: A test server (its ``url`` is used) or a websocket URL.
            **kwargs: Keyword arguments of `AIOHTTPWebsocketsTransport`, such
                as ``init_payload`` or ``subprotocols``.

        Returns:
            The transport, not yet connected.
        """
        ...
