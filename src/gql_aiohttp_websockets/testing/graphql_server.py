"""`GraphQLWebsocketServer`: a real GraphQL websocket server for tests, both subprotocols."""

from __future__ import annotations

import ssl as ssl_module
from collections.abc import Iterable, Mapping
from typing import Any

from graphql import GraphQLSchema

from .admission import Admission
from .legacy_session import SUBPROTOCOL as LEGACY_SUBPROTOCOL
from .legacy_session import LegacySession
from .server_base import BOTH_SUBPROTOCOLS, LoopbackWebsocketServer
from .session import DEFAULT_CONTEXT, OnConnect, ServerSettings, Session
from .ticker import SequenceTicker
from .transport_ws_session import SUBPROTOCOL as TRANSPORT_WS_SUBPROTOCOL
from .transport_ws_session import TransportWsSession
from .wire import ServerWire

__all__ = ["GraphQLWebsocketServer"]

_SESSIONS: dict[str, type[Session]] = {
    TRANSPORT_WS_SUBPROTOCOL: TransportWsSession,
    LEGACY_SUBPROTOCOL: LegacySession,
}


def _graphql_core_schema(schema: object) -> GraphQLSchema:
    if isinstance(schema, GraphQLSchema):
        return schema
    # Graphene (and others) wrap the graphql-core schema in this attribute.
    inner = getattr(schema, "graphql_schema", None)
    if isinstance(inner, GraphQLSchema):
        return inner
    raise TypeError(
        f"expected a graphql-core GraphQLSchema or an object with a 'graphql_schema' "
        f"attribute holding one, got {type(schema).__name__}"
    )


class GraphQLWebsocketServer(LoopbackWebsocketServer):
    """A GraphQL websocket server on 127.0.0.1, for tests.

    It speaks ``graphql-transport-ws`` and the legacy ``graphql-ws`` as
    compliant servers do (see PROTOCOLS.md, and the docstrings of
    `TransportWsSession` and `LegacySession` for the choices where servers
    differ), runs operations with graphql-core, and records every connection.

    Example:
        >>> async def test_hello():  # doctest: +SKIP
        ...     async with GraphQLWebsocketServer(example_schema()) as server:
        ...         transport = AIOHTTPWebsocketsTransport(url=server.url)
        ...         ...

    Args:
        schema: A graphql-core ``GraphQLSchema``, or an object whose
            ``graphql_schema`` attribute is one (Graphene).
        subprotocols: The subprotocols to accept. The first entry of the
            client's offer that is in this list wins; when none is, the
            upgrade completes without a subprotocol and the server closes 4406.
        on_connect: Called (plain or async) with the ``connection_init``
            payload: ``False`` refuses the connection (4403, or legacy
            ``connection_error`` then 1011), a dict becomes the
            ``connection_ack`` payload, anything else accepts.
        context: The ``context_value`` for resolvers, or a callable (plain or
            async) building it from the init payload. Default:
            ``{"connection_params": payload}``.
        keep_alive_interval: Legacy: send ``ka`` right after the ack, then
            every this many seconds.
        ping_interval: graphql-transport-ws: send a ``ping`` every this many
            seconds after the ack.
        connection_init_timeout: graphql-transport-ws: close 4408 when no
            ``connection_init`` arrived within this many seconds.
        path: The URL path.
        ssl: A server TLS context; the URL then starts with ``wss://``.
        response_headers: Extra headers for the upgrade response.
        max_operations_per_connection: The most operations one connection may
            run at once; one more gets ``error`` "Subscription limit reached"
            for that operation, as from Strawberry (``None``: no cap).
        port: The TCP port to listen on; 0 (the default) picks a free one.
        token_lifetime: Ask every ``connection_init`` for a token this server
            issued (``{"token": server.issue_token()}``), valid this many
            seconds: a connection is closed with 4403 when its token expires,
            as Hasura does (``None``: no token is asked for).
        tick_interval: Seconds between the numbers of the ``sequence``
            subscription (see :attr:`ticker`); ``None``: only
            ``server.ticker.tick()`` moves it.

    Attributes:
        ticker: The global sequence every ``sequence`` subscriber gets, the
            root value of every operation.
        admission: Who is let in (see :meth:`refuse_inits`, :meth:`issue_token`).

    Raises:
        ValueError: A name in ``subprotocols`` is not one this server speaks.
    """

    def __init__(
        self,
        schema: Any,
        *,
        subprotocols: Iterable[str] = BOTH_SUBPROTOCOLS,
        on_connect: OnConnect | None = None,
        context: object = DEFAULT_CONTEXT,
        keep_alive_interval: float | None = None,
        ping_interval: float | None = None,
        connection_init_timeout: float | None = None,
        path: str = "/graphql",
        ssl: ssl_module.SSLContext | None = None,
        response_headers: Mapping[str, str] | None = None,
        max_operations_per_connection: int | None = None,
        port: int = 0,
        token_lifetime: float | None = None,
        tick_interval: float | None = 0.01,
    ) -> None:
        super().__init__(
            subprotocols=subprotocols,
            path=path,
            ssl=ssl,
            response_headers=response_headers,
            port=port,
        )
        unknown = [name for name in self.subprotocols if name not in _SESSIONS]
        if unknown:
            raise ValueError(f"unsupported subprotocols {unknown}; choose from {list(_SESSIONS)}")
        self.ticker = SequenceTicker(tick_interval)
        self.admission = Admission(token_lifetime)
        self.settings = ServerSettings(
            schema=_graphql_core_schema(schema),
            on_connect=on_connect,
            context=context,
            keep_alive_interval=keep_alive_interval,
            ping_interval=ping_interval,
            connection_init_timeout=connection_init_timeout,
            max_operations_per_connection=max_operations_per_connection,
            admission=self.admission,
            root_value=self.ticker,
        )

    def issue_token(self) -> str:
        """A token for ``connection_init`` (``{"token": ...}``), valid ``token_lifetime`` seconds.

        Raises:
            RuntimeError: The server was made without ``token_lifetime``.
        """
        return self.admission.issue_token()

    def refuse_inits(self) -> None:
        """Refuse every new ``connection_init`` (4403; legacy: ``connection_error``).

        The connections already acknowledged go on.
        """
        self.admission.refusing = True

    def accept_inits(self) -> None:
        """Let new connections in again (see :meth:`refuse_inits`)."""
        self.admission.refusing = False

    async def _after_connections_closed(self) -> None:
        await self.ticker.stop()

    async def _serve(self, wire: ServerWire) -> None:
        subprotocol = wire.record.subprotocol
        session_type = _SESSIONS.get(subprotocol) if subprotocol is not None else None
        if session_type is None:
            # graphql-ws completes the upgrade, then refuses (PROTOCOLS.md section 1).
            await wire.close(4406, "Subprotocol not acceptable")
            return
        await session_type(wire, self.settings, self._report_error).serve()
