"""Subprotocol handlers, registered by the Sec-WebSocket-Protocol name they speak.

A new subprotocol is supported by writing a :class:`ProtocolHandler` subclass
and passing it to :func:`register_protocol`; the transport offers every
registered name it is asked to and picks the handler by the server's answer.
"""

from __future__ import annotations

from .apollo import ApolloHandler
from .base import ProtocolHandler
from .conversation import Phase
from .graphql_transport_ws import GraphQLTransportWSHandler
from .server_messages import (
    Ack,
    Complete,
    ConnectionRejected,
    Event,
    Ignored,
    KeepAlive,
    Next,
    OperationError,
    Ping,
    Pong,
    ServerNotice,
)

__all__ = [
    "Ack",
    "ApolloHandler",
    "Complete",
    "ConnectionRejected",
    "Event",
    "GraphQLTransportWSHandler",
    "Ignored",
    "KeepAlive",
    "Next",
    "OperationError",
    "Phase",
    "Ping",
    "Pong",
    "ProtocolHandler",
    "ServerNotice",
    "get_protocol",
    "protocol_for_unnegotiated",
    "register_protocol",
    "registered_protocols",
]

_REGISTRY: dict[str, type[ProtocolHandler]] = {}


def register_protocol(handler: type[ProtocolHandler]) -> type[ProtocolHandler]:
    """Make ``handler`` available under its :attr:`~ProtocolHandler.subprotocol` name.

    Usable as a class decorator.  Registering a name again replaces the handler.

    Args:
        handler: The handler class.

    Returns:
        ``handler``, unchanged.
    """
    _REGISTRY[handler.subprotocol] = handler
    return handler


def get_protocol(name: str) -> type[ProtocolHandler] | None:
    """Return the handler registered for subprotocol ``name``, or ``None``."""
    return _REGISTRY.get(name)


def protocol_for_unnegotiated(offered: tuple[str, ...]) -> str:
    """Pick the subprotocol to speak when the server's handshake named none.

    Args:
        offered: The subprotocols the client offered, in order.

    Returns:
        The first offered subprotocol whose handler is assumed in that case
        (the legacy one, as gql does), else the first offered.
    """
    for name in offered:
        handler = _REGISTRY.get(name)
        if handler is not None and handler.assumed_when_unnegotiated:
            return name
    return offered[0]


def registered_protocols() -> tuple[str, ...]:
    """Return the registered subprotocol names, in registration order."""
    return tuple(_REGISTRY)


register_protocol(GraphQLTransportWSHandler)
register_protocol(ApolloHandler)
