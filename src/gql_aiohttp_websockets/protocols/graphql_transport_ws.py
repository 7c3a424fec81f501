"""The ``graphql-transport-ws`` subprotocol (the graphql-ws library).

Message shapes follow PROTOCOL.md of enisdenjo/graphql-ws: ``subscribe`` /
``next`` / ``error`` (a list of errors, terminal, never followed by
``complete``) / ``complete`` (both directions, unconfirmed when sent by the
client) and ``ping`` / ``pong`` in both directions.  There is no terminate
message: a normal shutdown is a close with code 1000.  One legacy message is
taken too: Mercurius rejects ``connection_init`` with ``connection_error`` on
this subprotocol as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .base import ProtocolHandler
from .server_messages import (
    Ack,
    Complete,
    ConnectionRejected,
    Event,
    Next,
    OperationError,
    Ping,
    Pong,
)

__all__ = ["GraphQLTransportWSHandler"]


class GraphQLTransportWSHandler(ProtocolHandler):
    """Handler for ``graphql-transport-ws``."""

    result_type: ClassVar[str] = "next"
    complete_type: ClassVar[str] = "complete"
    subprotocol: ClassVar[str] = "graphql-transport-ws"
    supports_ping: ClassVar[bool] = True
    stop_is_answered: ClassVar[bool] = False
    # The graphql-ws reference client closes with 4004 "Bad response".
    protocol_error_close_code: ClassVar[int] = 4004  # CloseCode.BAD_RESPONSE

    __slots__ = ()

    def start(self, op_id: int, payload: Mapping[str, Any]) -> str:
        """Build ``subscribe`` (PROTOCOL.md: ``Subscribe``)."""
        return self._operation_frame("subscribe", op_id, payload)

    def stop(self, op_id: int) -> str:
        """Build the client's ``complete``; the server sends no confirmation."""
        return self._dumps({"id": str(op_id), "type": "complete"})

    def ping(self, payload: Any = None) -> str:
        """Build ``ping``, with ``payload`` when given."""
        if payload is None:
            return '{"type":"ping"}'
        return self._dumps({"type": "ping", "payload": payload})

    def pong(self, payload: Any = None) -> str:
        """Build ``pong``, with ``payload`` when given."""
        if payload is None:
            return '{"type":"pong"}'
        return self._dumps({"type": "pong", "payload": payload})

    def _receive_message(self, text: str, message: dict[str, Any]) -> Event:
        kind = message.get("type")
        if kind == "next":
            return Next(self._op_id(text, message), self._result(text, message))
        if kind == "complete":
            return Complete(self._op_id(text, message))
        if kind == "error":
            op_id = self._op_id(text, message)
            errors = message.get("payload")
            # PROTOCOL.md: the payload of Error is a non-empty list of GraphQL errors.
            if type(errors) is not list or not errors:
                raise self._malformed(
                    text, "the payload of an 'error' message is not a list of errors"
                )
            return OperationError(op_id, errors)
        # PROTOCOL.md wants these payloads to be objects, but gql keeps
        # whatever comes (its own test server acks with a string), and an odd
        # payload hurts no operation: it is kept as it is.
        if kind == "ping":
            return Ping(message.get("payload"))
        if kind == "pong":
            return Pong(message.get("payload"))
        if kind == "connection_ack":
            return Ack(message.get("payload"))
        if kind == "connection_error":
            return ConnectionRejected(message.get("payload"))
        return self._unknown_type(text, message)
