"""The legacy ``graphql-ws`` subprotocol (Apollo's subscriptions-transport-ws).

Message shapes follow PROTOCOL.md of apollographql/subscriptions-transport-ws:
``start`` / ``data`` / ``error`` (one error object, not a list) / ``complete``,
client ``stop``, server keep-alive ``ka``, ``connection_error`` on rejection and
``connection_terminate`` before a normal close.  There are no ping/pong messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .base import ProtocolHandler
from .events import (
    Ack,
    Complete,
    ConnectionRejected,
    Event,
    KeepAlive,
    Next,
    OperationError,
    ServerNotice,
)

__all__ = ["ApolloHandler"]

_KEEP_ALIVE = KeepAlive()


class ApolloHandler(ProtocolHandler):
    """Handler for the legacy ``graphql-ws`` subprotocol."""

    result_type: ClassVar[str] = "data"
    complete_type: ClassVar[str] = "complete"
    subprotocol: ClassVar[str] = "graphql-ws"
    supports_ping: ClassVar[bool] = False
    # gql assumes the legacy protocol when the server answers without a
    # subprotocol; old Apollo servers do not echo the header.
    assumed_when_unnegotiated: ClassVar[bool] = True

    __slots__ = ()

    def start(self, op_id: int, payload: Mapping[str, Any]) -> str:
        """Build ``start`` (GQL_START)."""
        return self._operation_frame("start", op_id, payload)

    def stop(self, op_id: int) -> str:
        """Build ``stop`` (GQL_STOP); servers usually answer with ``complete``."""
        return self._dumps({"id": str(op_id), "type": "stop"})

    def terminate(self) -> str:
        """Build ``connection_terminate`` (GQL_CONNECTION_TERMINATE)."""
        return '{"type":"connection_terminate"}'

    def _receive_message(self, text: str, message: dict[str, Any]) -> Event:
        kind = message.get("type")
        if kind == "data":
            return Next(self._op_id(text, message), self._result(text, message))
        if kind == "ka":
            return _KEEP_ALIVE
        if kind == "complete":
            return Complete(self._op_id(text, message))
        if kind == "error":
            payload = message.get("payload")
            # The reference server answers a message type it does not know with an
            # 'error' carrying no id; it is a complaint about the connection, not an
            # operation's end.
            if message.get("id") is None:
                return ServerNotice(payload)
            op_id = self._op_id(text, message)
            if type(payload) is not dict:
                raise self._malformed(text, "the payload of an 'error' message is not an object")
            return OperationError(op_id, [payload])
        if kind == "connection_ack":
            return Ack(message.get("payload"))
        if kind == "connection_error":
            return ConnectionRejected(message.get("payload"))
        if type(kind) is not str:
            raise self._malformed(text, "it has no string 'type'")
        raise self._malformed(text, f"unknown message type {self._quote(kind)}")
