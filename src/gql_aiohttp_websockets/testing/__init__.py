"""Real GraphQL websocket servers and pytest fixtures for testing subscription code.

- `GraphQLWebsocketServer`: a compliant server for both subprotocols, running
  a graphql-core schema (for instance `example_schema`).
- `ScriptedWebsocketServer`: runs a test script per connection, for faults.
- `ConnectionRecord`: what either server saw on one websocket.
- `scaled_timeout`: every wait in a test goes through it.
- `GraphQLServerFactory`, `ScriptedServerFactory`, `TransportFactory`: the
  signatures of the pytest fixtures ``graphql_ws_server``,
  ``graphql_ws_scripted_server`` and ``graphql_ws_transport`` (the plugin is
  `gql_aiohttp_websockets.testing.plugin`; it needs the ``pytest`` extra).
"""

from __future__ import annotations

from .factories import GraphQLServerFactory, ScriptedServerFactory, TransportFactory
from .graphql_server import GraphQLWebsocketServer
from .records import ConnectionRecord, WebsocketClosed
from .schema import example_schema, price_at
from .scripted_server import ScriptedConnection, ScriptedWebsocketServer, ScriptHandler
from .server_base import BOTH_SUBPROTOCOLS, choose_subprotocol
from .session import OnConnect
from .timeouts import TIMEOUT_FACTOR_ENV, scaled_timeout

__all__ = [
    "BOTH_SUBPROTOCOLS",
    "TIMEOUT_FACTOR_ENV",
    "ConnectionRecord",
    "GraphQLServerFactory",
    "GraphQLWebsocketServer",
    "OnConnect",
    "ScriptHandler",
    "ScriptedConnection",
    "ScriptedServerFactory",
    "ScriptedWebsocketServer",
    "TransportFactory",
    "WebsocketClosed",
    "choose_subprotocol",
    "example_schema",
    "price_at",
    "scaled_timeout",
]
