"""A drop-in replacement for gql's AIOHTTPWebsocketsTransport.

Change one import line::

    from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport

and keep the rest of your gql code as it is.
"""

from __future__ import annotations

from .close_codes import CloseCode, CloseCodeInfo, classify_close_code
from .exceptions import (
    AckTimeoutError,
    ConnectionInterrupted,
    ConnectionRejectedError,
    ConnectTimeoutError,
    HeartbeatTimeoutError,
    QueueFullError,
    ServerUnreachableError,
    TransportConnectionClosed,
    TransportConnectionFailed,
    UpgradeRefusedError,
)
from .flow_control import Overflow
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
from .retry import Backoff, RetryPolicy, is_retryable
from .transport import AIOHTTPWebsocketsTransport
from .transport_events import (
    Closed,
    Connected,
    Connecting,
    Disconnected,
    EventCallback,
    Resubscribed,
    Retrying,
    TransportEvent,
)

__all__ = [
    "AIOHTTPWebsocketsTransport",
    "AckTimeoutError",
    "ApolloHandler",
    "Backoff",
    "CloseCode",
    "CloseCodeInfo",
    "Closed",
    "ConnectTimeoutError",
    "Connected",
    "Connecting",
    "ConnectionInterrupted",
    "ConnectionRejectedError",
    "Disconnected",
    "EventCallback",
    "GraphQLTransportWSHandler",
    "HeartbeatTimeoutError",
    "InitPayloadFactory",
    "ListenerQueue",
    "Overflow",
    "ProtocolHandler",
    "QueueFullError",
    "Resubscribed",
    "RetryPolicy",
    "Retrying",
    "ServerUnreachableError",
    "State",
    "TransportConnectionClosed",
    "TransportConnectionFailed",
    "TransportEvent",
    "UpgradeRefusedError",
    "classify_close_code",
    "get_protocol",
    "is_retryable",
    "register_protocol",
    "registered_protocols",
]

__version__ = "0.1.0"
