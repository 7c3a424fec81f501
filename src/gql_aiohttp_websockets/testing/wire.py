"""The server end of one websocket: send, read, close and drop, all recorded."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import WSMsgType, web

from .records import ConnectionRecord

__all__ = ["ServerWire"]

# RFC 6455 section 5.5: a control frame carries at most 125 bytes, two of them the code.
_MAX_REASON_BYTES = 123


def _encode_reason(reason: str) -> bytes:
    encoded = reason.encode("utf-8")
    if len(encoded) <= _MAX_REASON_BYTES:
        return encoded
    return encoded[:_MAX_REASON_BYTES].decode("utf-8", "ignore").encode("utf-8")


class ServerWire:
    """One accepted websocket plus its `ConnectionRecord`.

    Exactly one task calls `receive()`; any task may send, close or drop.
    """

    def __init__(self, request: web.Request, ws: web.WebSocketResponse, record: ConnectionRecord):
        self.request = request
        self.ws = ws
        self.record = record
        self._send_lock = asyncio.Lock()
        self._server_close: tuple[int, str] | None = None
        # Cleared while the server holds its messages back (see hold()).
        self._sending = asyncio.Event()
        self._sending.set()

    def hold(self) -> None:
        """Hold back every message from now on (in order) until `release`: a lagging server."""
        self._sending.clear()

    def release(self) -> None:
        """Send what was held back, and send at once again."""
        self._sending.set()

    @property
    def closing(self) -> bool:
        """Whether the websocket is closed or closing (nothing more can be sent)."""
        return self.ws.closed or self._server_close is not None or self.record.closed

    async def send_json(self, message: Any) -> bool:
        """Send one JSON message and record it.

        Returns:
            ``False`` when the websocket was already closing, so nothing was sent.
        """
        return await self._send(json.dumps(message), message)

    async def send_text(self, text: str) -> bool:
        """Send a raw text frame (recorded in ``sent`` only if it is valid JSON)."""
        try:
            parsed: Any = json.loads(text)
        except ValueError:
            return await self._send(text, None, record=False)
        return await self._send(text, parsed)

    async def send_bytes(self, data: bytes) -> bool:
        """Send a binary frame (not recorded in ``sent``)."""
        if self.closing:
            return False
        async with self._send_lock:
            try:
                await self.ws.send_bytes(data)
            except ConnectionError:
                return False
        return True

    async def _send(self, text: str, message: Any, *, record: bool = True) -> bool:
        if self.closing:
            return False
        async with self._send_lock:
            await self._sending.wait()
            try:
                await self.ws.send_str(text)
            except ConnectionError:
                # The peer went away mid-send; the reader records how.
                return False
        if record:
            self.record.record_sent(message)
        return True

    async def close(self, code: int, reason: str = "") -> None:
        """Close with a close frame carrying ``code`` and ``reason``.

        Does nothing if the websocket is already closing.
        """
        if self.closing:
            return
        self._server_close = (code, reason)
        await self.ws.close(code=code, message=_encode_reason(reason))
        self.record.mark_closed(code, reason, "server")

    async def close_without_status(self) -> None:
        """Close with a close frame that carries no status code (RFC 6455's 1005).

        As Node's ``ws`` does for ``socket.close()`` without a code (Mercurius,
        for one); aiohttp's own ``close()`` always sends a code.  The client's
        answering close frame then ends the connection as usual.  Does nothing
        if the websocket is already closing.
        """
        if self.closing:
            return
        self._server_close = (1005, "")
        transport = self.request.transport
        async with self._send_lock:
            if transport is not None and not transport.is_closing():
                # FIN + opcode 8 (close), unmasked, no payload.
                transport.write(b"\x88\x00")

    def drop(self) -> None:
        """Cut the TCP connection without a close frame."""
        if self.closing:
            return
        self._server_close = (1006, "dropped by the server")
        transport = self.request.transport
        if transport is not None:
            transport.abort()
        self.record.mark_closed(1006, "dropped by the server", "server")

    async def receive(self) -> str | bytes | None:
        """Return the next data frame from the client, or ``None`` once the connection ended.

        Only one task may call this.  Each frame is recorded before it is
        returned; when the connection ends the record is marked closed with
        whoever ended it.
        """
        if self.record.closed:
            return None
        message = await self.ws.receive()
        if message.type is WSMsgType.TEXT:
            text: str = message.data
            try:
                parsed: Any = json.loads(text)
            except ValueError:
                self.record.record_frame(text, None, is_json=False)
            else:
                self.record.record_frame(text, parsed, is_json=True)
            return text
        if message.type is WSMsgType.BINARY:
            data: bytes = message.data
            self.record.record_frame(data, None, is_json=False)
            return data
        if message.type is WSMsgType.CLOSE and self._server_close is None:
            # aiohttp reports a close frame without a status code as 0; RFC 6455 calls it 1005.
            self.record.mark_closed(message.data or 1005, message.extra or "", "client")
        else:
            self.mark_ended()
        return None

    def mark_ended(self) -> None:
        """Record the end of the connection when no client close frame says how."""
        if self._server_close is not None:
            self.record.mark_closed(*self._server_close, "server")
        elif self.ws.close_code not in (None, 1000, 1006):
            # aiohttp closed it after a protocol violation (e.g. a frame too big).
            self.record.mark_closed(self.ws.close_code, "", "server")
        else:
            self.record.mark_closed(1006, "", "client")
