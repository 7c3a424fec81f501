"""Server side of the legacy ``graphql-ws`` subprotocol (subscriptions-transport-ws).

Where the reference server and the Python servers differ (PROTOCOLS.md
section 2), this one picks:

- ``start`` before an accepted ``connection_init``: close 4401 (Strawberry, Ariadne);
- ``on_connect`` refusing or raising: ``connection_error {message}``, then close 1011;
- a document that does not parse or validate: ``error`` with the first error
  as a single object, no ``complete``;
- a subscription source raising mid-stream: ``data`` with ``errors``, then
  ``complete`` (Strawberry, Ariadne);
- ``stop`` of a running operation: ``complete``; of an unknown id: nothing;
- ``start`` reusing a running id: the old operation is stopped (``complete``)
  and the new one started;
- unparsable message: ``connection_error``; unknown type: ``error`` without id
  (both as the reference server, the connection stays open);
- ``connection_terminate``: close 1000.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

from .execution import read_operation_request
from .session import Session

__all__ = ["LegacySession"]

SUBPROTOCOL = "graphql-ws"


class LegacySession(Session):
    """One legacy ``graphql-ws`` connection."""

    _initialised = False

    async def run(self) -> None:
        """Read and answer client messages until the connection ends."""
        while True:
            frame = await self.wire.receive()
            if frame is None:
                return
            message = self._parse(frame)
            if message is None:
                await self.wire.send_json(
                    {"type": "connection_error", "payload": {"message": "Message must be JSON"}}
                )
                continue
            if not await self._dispatch(message):
                return

    @staticmethod
    def _parse(frame: str | bytes) -> dict[str, Any] | None:
        if isinstance(frame, bytes):
            return None
        try:
            message: object = json.loads(frame)
        except ValueError:
            return None
        return message if isinstance(message, dict) else None

    async def _dispatch(self, message: dict[str, Any]) -> bool:
        kind = message.get("type")
        if kind == "connection_init":
            return await self._on_init(message.get("payload"))
        if kind == "start":
            return await self._on_start(message)
        if kind == "stop":
            op_id = message.get("id")
            if isinstance(op_id, Hashable) and self.stop_operation(op_id):
                await self.send_complete(op_id)
            return True
        if kind == "connection_terminate":
            await self.wire.close(1000, "")
            return False
        await self.wire.send_json(
            {"type": "error", "payload": {"message": "Invalid message type!"}}
        )
        return True

    async def _on_init(self, payload: Any) -> bool:
        decision = await self.decide_connect(payload)
        if not decision.accepted:
            message = str(decision.error) if decision.error else "Prohibited connection!"
            await self.wire.send_json({"type": "connection_error", "payload": {"message": message}})
            await self.wire.close(1011, "")
            return False
        self._initialised = True
        ack: dict[str, Any] = {"type": "connection_ack"}
        if decision.ack_payload is not None:
            ack["payload"] = decision.ack_payload
        await self.wire.send_json(ack)
        self.expire_at(decision)
        interval = self.settings.keep_alive_interval
        if interval is not None:
            await self._send_keep_alive()
            self.start_timer(interval, self._send_keep_alive)
        return True

    async def _on_start(self, message: dict[str, Any]) -> bool:
        if not self._initialised:
            await self.wire.close(4401, "Unauthorized")
            return False
        op_id = message.get("id")
        if not isinstance(op_id, (str, int)) or isinstance(op_id, bool):
            await self.wire.send_json(
                {"type": "error", "payload": {"message": "'start' needs a string id"}}
            )
            return True
        request = read_operation_request(message.get("payload"))
        if isinstance(request, str):
            await self.send_rejected(op_id, [{"message": request}])
            return True
        if self.stop_operation(op_id):
            await self.send_complete(op_id)
        if await self.refused_at_cap(op_id):
            return True
        self.start_operation(op_id, request)
        return True

    async def _send_keep_alive(self) -> None:
        await self.wire.send_json({"type": "ka"})

    async def send_result(self, op_id: Hashable, result: dict[str, Any]) -> None:
        """Send ``data``."""
        await self.wire.send_json({"id": op_id, "type": "data", "payload": result})

    async def send_rejected(self, op_id: Hashable, errors: list[dict[str, Any]]) -> None:
        """Send ``error`` with the first error as a single object."""
        await self.wire.send_json({"id": op_id, "type": "error", "payload": errors[0]})

    async def send_stream_failed(self, op_id: Hashable, error: dict[str, Any]) -> None:
        """Send ``data`` with the error, then ``complete``."""
        await self.send_result(op_id, {"data": None, "errors": [error]})
        await self.send_complete(op_id)
