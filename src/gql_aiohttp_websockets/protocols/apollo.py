"""The legacy ``graphql-ws`` subprotocol (Apollo's subscriptions-transport-ws).

Message shapes follow PROTOCOL.md of apollographql/subscriptions-transport-ws:
``start`` / ``data`` / ``error`` (one error object; gqlgen and Mercurius send a
list of them, Hasura an object holding ``errors``, both taken too) / ``complete``,
client ``stop``, server keep-alive ``ka``, ``connection_error`` on rejection and
``connection_terminate`` before a normal close.  There are no ping/pong messages.
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
    # AppSync confirms each start.
    ignored_types: ClassVar[frozenset[str]] = frozenset({"start_ack"})

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
            if type(payload) is dict:
                # Hasura and django-channels-graphql-ws wrap their errors as a
                # result does; an error object of its own has a message.
                errors = payload.get("errors")
                if "message" not in payload and type(errors) is list and errors:
                    return OperationError(op_id, errors)
                return OperationError(op_id, [payload])
            # The protocol says one object; gqlgen and Mercurius send the list
            # graphql-transport-ws has, and it means the same.
            if type(payload) is list and payload:
                return OperationError(op_id, payload)
            raise self._malformed(
                text, "the payload of an 'error' message is neither an object nor a list of errors"
            )
        if kind == "connection_ack":
            return Ack(message.get("payload"))
        if kind == "connection_error":
            return ConnectionRejected(message.get("payload"))
        return self._unknown_type(text, message)
