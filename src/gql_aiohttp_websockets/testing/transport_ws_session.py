"""Server side of ``graphql-transport-ws``, as PROTOCOL.md of graphql-ws specifies it.

Close codes: 4400 invalid message, 4401 ``subscribe`` before the ack, 4403
``on_connect`` refused, 4408 no ``connection_init`` in time, 4409 duplicate
active id, 4429 second ``connection_init``, 4500 ``on_connect`` raised.
A subscription whose source raises mid-stream ends with an ``error`` message
(as the graphql-ws reference server does), never followed by ``complete``.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

from .execution import read_operation_request
from .session import Session

__all__ = ["TransportWsSession"]

SUBPROTOCOL = "graphql-transport-ws"


class _Invalid(Exception):
    """The client message breaks the protocol: close 4400 with this reason."""


def _parse(frame: str | bytes) -> dict[str, Any]:
    if isinstance(frame, bytes):
        raise _Invalid("Invalid message received: binary frames are not allowed")
    try:
        message: object = json.loads(frame)
    except ValueError:
        raise _Invalid("Invalid message received: not JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise _Invalid("Invalid message received: no string 'type'")
    return message


def _optional_object_payload(message: dict[str, Any]) -> dict[str, Any] | None:
    payload = message.get("payload")
    if payload is not None and not isinstance(payload, dict):
        raise _Invalid(f'Invalid message received: "{message["type"]}" payload must be an object')
    return payload


def _operation_id(message: dict[str, Any]) -> str:
    op_id = message.get("id")
    if not isinstance(op_id, str) or not op_id:
        raise _Invalid(f'Invalid message received: "{message["type"]}" needs a non-empty id')
    return op_id


class TransportWsSession(Session):
    """One ``graphql-transport-ws`` connection."""

    _init_received = False
    _acknowledged = False

    async def run(self) -> None:
        """Read and answer client messages until the connection ends."""
        timeout = self.settings.connection_init_timeout
        if timeout is not None:
            self.call_later(timeout, self._check_init_arrived)
        while True:
            frame = await self.wire.receive()
            if frame is None:
                return
            try:
                message = _parse(frame)
                keep_going = await self._dispatch(message)
            except _Invalid as invalid:
                await self.wire.close(4400, str(invalid))
                return
            if not keep_going:
                return

    async def _dispatch(self, message: dict[str, Any]) -> bool:
        kind = message["type"]
        if kind == "connection_init":
            return await self._on_init(message)
        if kind == "ping":
            pong: dict[str, Any] = {"type": "pong"}
            if "payload" in message:
                pong["payload"] = _optional_object_payload(message)
            await self.wire.send_json(pong)
            return True
        if kind == "pong":
            _optional_object_payload(message)
            return True
        if kind == "subscribe":
            return await self._on_subscribe(message)
        if kind == "complete":
            self.stop_operation(_operation_id(message))
            return True
        raise _Invalid(f'Invalid message received: unexpected type "{kind}"')

    async def _on_init(self, message: dict[str, Any]) -> bool:
        payload = _optional_object_payload(message)
        if self._init_received:
            await self.wire.close(4429, "Too many initialisation requests")
            return False
        self._init_received = True
        decision = await self.decide_connect(payload)
        if decision.error is not None:
            await self.wire.close(4500, str(decision.error) or "Internal server error")
            return False
        if not decision.accepted:
            await self.wire.close(4403, "Forbidden")
            return False
        self._acknowledged = True
        ack: dict[str, Any] = {"type": "connection_ack"}
        if decision.ack_payload is not None:
            ack["payload"] = decision.ack_payload
        await self.wire.send_json(ack)
        self.expire_at(decision)
        if self.settings.ping_interval is not None:
            self.start_timer(self.settings.ping_interval, self._send_ping)
        return True

    async def _on_subscribe(self, message: dict[str, Any]) -> bool:
        op_id = _operation_id(message)
        request = read_operation_request(message.get("payload"))
        if isinstance(request, str):
            raise _Invalid(f"Invalid message received: {request}")
        if not self._acknowledged:
            await self.wire.close(4401, "Unauthorized")
            return False
        if self.is_active(op_id):
            await self.wire.close(4409, f"Subscriber for {op_id} already exists")
            return False
        if await self.refused_at_cap(op_id):
            return True
        self.start_operation(op_id, request)
        return True

    async def _check_init_arrived(self) -> None:
        if not self._init_received:
            await self.wire.close(4408, "Connection initialisation timeout")

    async def _send_ping(self) -> None:
        await self.wire.send_json({"type": "ping"})

    async def send_result(self, op_id: Hashable, result: dict[str, Any]) -> None:
        """Send ``next``."""
        await self.wire.send_json({"id": op_id, "type": "next", "payload": result})

    async def send_rejected(self, op_id: Hashable, errors: list[dict[str, Any]]) -> None:
        """Send ``error`` with the list of errors (no ``complete`` follows)."""
        await self.wire.send_json({"id": op_id, "type": "error", "payload": errors})

    async def send_stream_failed(self, op_id: Hashable, error: dict[str, Any]) -> None:
        """Send ``error`` with a one-error list (no ``complete`` follows)."""
        await self.send_rejected(op_id, [error])

    async def on_internal_error(self, error: Exception) -> None:
        """Close 4500, as graphql-ws does when handling a message fails."""
        await self.wire.close(4500, "Internal server error")
