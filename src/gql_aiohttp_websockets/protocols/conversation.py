"""The conversation's rules as data: which events each phase accepts.

Both subprotocols have the same shape: after ``connection_init`` the client
waits for one ``connection_ack``, accepting only ping, pong, keep-alive and
connection-level messages meanwhile; after it, everything but a second ack.
"""

from __future__ import annotations

import enum
from typing import Any

from .server_messages import (
    Ack,
    Complete,
    ConnectionRejected,
    Ignored,
    KeepAlive,
    Next,
    OperationError,
    Ping,
    Pong,
    ServerNotice,
)

__all__ = ["ACCEPTS", "OUT_OF_TURN", "Phase"]


class Phase(enum.Enum):
    """Where a connection's conversation is."""

    #: ``connection_init`` is (about to be) sent; the ack has not come.
    AWAITING_ACK = "awaiting ack"
    #: The server acknowledged the connection, and operations may run.
    ACKNOWLEDGED = "acknowledged"


# Messages that are no operation's and no answer to the init.
_CONNECTION_LEVEL: dict[type[Any], Phase] = {
    Ping: Phase.AWAITING_ACK,
    Pong: Phase.AWAITING_ACK,
    KeepAlive: Phase.AWAITING_ACK,
    ServerNotice: Phase.AWAITING_ACK,
    ConnectionRejected: Phase.AWAITING_ACK,
    Ignored: Phase.AWAITING_ACK,
}

#: For each phase, the events it accepts and the phase each one leads to.
ACCEPTS: dict[Phase, dict[type[Any], Phase]] = {
    Phase.AWAITING_ACK: {**_CONNECTION_LEVEL, Ack: Phase.ACKNOWLEDGED},
    Phase.ACKNOWLEDGED: {
        **{kind: Phase.ACKNOWLEDGED for kind in _CONNECTION_LEVEL},
        Next: Phase.ACKNOWLEDGED,
        OperationError: Phase.ACKNOWLEDGED,
        Complete: Phase.ACKNOWLEDGED,
    },
}

#: For each phase, what an event it does not accept is (``{event}`` names it).
OUT_OF_TURN: dict[Phase, str] = {
    Phase.AWAITING_ACK: (
        "the server sent {event} before connection_ack; only ping, pong "
        "and keep-alive messages may come first"
    ),
    Phase.ACKNOWLEDGED: "the server sent a second {event}",
}
