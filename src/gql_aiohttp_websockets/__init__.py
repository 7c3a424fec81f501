"""A drop-in replacement for gql's AIOHTTPWebsocketsTransport.

Change one import line::

    from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport

and keep the rest of your gql code as it is.
"""

from __future__ import annotations

from .close_codes import CloseCode, CloseCodeInfo, classify_close_code
from .exceptions import (
    AckTimeoutError,
    ConnectTimeoutError,
    TransportConnectionClosed,
    TransportConnectionFailed,
)
from .lifecycle import State
from .listener_queue import ListenerQueue
from .options import InitPayloadFactory
from .protocols import (
    ApolloHandler,
    GraphQLTransportWSHandler,
    ProtocolHandler,
    get_protocol,
    register_protocol,
    registered_protocols,
)
from .transport import AIOHTTPWebsocketsTransport

__all__ = [
    "AIOHTTPWebsocketsTransport",
    "AckTimeoutError",
    "ApolloHandler",
    "CloseCode",
    "CloseCodeInfo",
    "ConnectTimeoutError",
    "GraphQLTransportWSHandler",
    "InitPayloadFactory",
    "ListenerQueue",
    "ProtocolHandler",
    "State",
    "TransportConnectionClosed",
    "TransportConnectionFailed",
    "classify_close_code",
    "get_protocol",
    "register_protocol",
    "registered_protocols",
]

__version__ = "0.1.0"
