"""A drop-in replacement for gql's AIOHTTPWebsocketsTransport.

Change one import line::

    from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport

and keep the rest of your gql code as it is.

This module exports what a gql user passes to the transport and catches from
it.  The protocol handlers and their registry are in
:mod:`gql_aiohttp_websockets.protocols`; the transport's ``state`` is a
:class:`gql_aiohttp_websockets.lifecycle.State`.
"""

from __future__ import annotations

from .close_codes import CloseCode, CloseCodeInfo, classify_close_code
from .exceptions import (
    AckTimeoutError,
    CertificateVerificationFailed,
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
from .flow_control import Overflow, QueueStats
from .lifecycle_events import (
    Closed,
    Connected,
    Connecting,
    Disconnected,
    EventCallback,
    RenewalFailed,
    RenewalStarted,
    Renewed,
    Resubscribed,
    Retrying,
    TransportEvent,
)
from .listener_queue import ListenerQueue
from .options import InitPayloadFactory
from .retry import Backoff, RetryPolicy, is_retryable
from .transport import AIOHTTPWebsocketsTransport

__all__ = [
    "AIOHTTPWebsocketsTransport",
    "AckTimeoutError",
    "Backoff",
    "CertificateVerificationFailed",
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
    "HeartbeatTimeoutError",
    "InitPayloadFactory",
    "ListenerQueue",
    "Overflow",
    "QueueFullError",
    "QueueStats",
    "RenewalFailed",
    "RenewalStarted",
    "Renewed",
    "Resubscribed",
    "RetryPolicy",
    "Retrying",
    "ServerUnreachableError",
    "TransportConnectionClosed",
    "TransportConnectionFailed",
    "TransportEvent",
    "UpgradeRefusedError",
    "classify_close_code",
    "is_retryable",
]

__version__ = "0.1.0"
