"""The events a protocol handler turns received frames into.

Small dataclasses, one per kind of server message, shared by every
subprotocol: the transport reacts to an event's class, never to a message
``type`` string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from graphql import ExecutionResult

__all__ = [
    "Ack",
    "Complete",
    "ConnectionRejected",
    "Event",
    "Ignored",
    "KeepAlive",
    "Next",
    "OperationError",
    "Ping",
    "Pong",
    "ServerNotice",
    "describe",
]


@dataclass(frozen=True, slots=True)
class Ack:
    """``connection_ack``: the server accepted ``connection_init``."""

    payload: Any = None


# Not frozen: one may be built per received result, and a frozen
# dataclass's __init__ is much slower (benchmarks/README.md).
@dataclass(slots=True)
class Next:
    """One result (``next``, or ``data`` in the legacy protocol) for an operation."""

    op_id: int
    result: ExecutionResult


@dataclass(frozen=True, slots=True)
class OperationError:
    """``error``: the operation failed as a whole; no result or ``complete`` follows."""

    op_id: int
    errors: list[Any]


@dataclass(frozen=True, slots=True)
class Complete:
    """``complete``: the server finished the operation."""

    op_id: int


@dataclass(frozen=True, slots=True)
class Ping:
    """``ping`` from the server; answer it with a ``pong``."""

    payload: Any = None


@dataclass(frozen=True, slots=True)
class Pong:
    """``pong`` from the server."""

    payload: Any = None


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """``ka``: the legacy protocol's server keep-alive."""


@dataclass(frozen=True, slots=True)
class ConnectionRejected:
    """``connection_error``: the server refused the connection (legacy protocol)."""

    payload: Any = None


@dataclass(frozen=True, slots=True)
class ServerNotice:
    """A connection-level complaint that names no operation.

    The legacy reference server answers a message it does not understand with
    an ``error`` that has no ``id``; it does not end the connection.
    """

    payload: Any = None


@dataclass(frozen=True, slots=True)
class Ignored:
    """A message of a type the subprotocol does not define, known to carry no result.

    Some servers send such messages beside the subprotocol's own (AppSync
    confirms each ``start`` with ``start_ack``).  A handler turns only the
    types it lists into this event; any other unknown type is an error.
    """

    message_type: str


Event: TypeAlias = (
    Ack
    | Next
    | OperationError
    | Complete
    | Ping
    | Pong
    | KeepAlive
    | ConnectionRejected
    | ServerNotice
    | Ignored
)

_NAMES: dict[type[Any], str] = {
    Ack: "connection_ack",
    Next: "a result",
    OperationError: "an error",
    Complete: "complete",
    Ping: "ping",
    Pong: "pong",
    KeepAlive: "a keep-alive",
    ConnectionRejected: "connection_error",
    ServerNotice: "an error without id",
    Ignored: "a message of a type the subprotocol does not define",
}


def describe(event: Event) -> str:
    """Name the message ``event`` came from, for error messages."""
    return _NAMES.get(type(event), type(event).__name__)
