"""`ScriptedWebsocketServer`: a websocket server that does exactly what a test script says.

For fault injection: garbage frames, wrong ids, no ack, odd close codes,
dropped connections.  The script is an async function receiving a
`ScriptedConnection`; everything the client sends is recorded whether or not
the script reads it.
"""

from __future__ import annotations

import asyncio
import json
import ssl as ssl_module
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from aiohttp import web

from .records import ConnectionRecord, WebsocketClosed, resolve_timeout
from .server_base import BOTH_SUBPROTOCOLS, LoopbackWebsocketServer
from .timeouts import scaled_timeout
from .wire import ServerWire

__all__ = ["ScriptHandler", "ScriptedConnection", "ScriptedWebsocketServer"]


class ScriptedConnection:
    """The server end of one websocket, driven by a test script.

    Every ``timeout`` argument is in seconds and used as given; ``None`` means
    the scaled default of 10 s.
    """

    def __init__(self, wire: ServerWire) -> None:
        self._wire = wire
        self._inbox: deque[str | bytes] = deque()
        self._arrived = asyncio.Event()
        self._ended = False

    @property
    def record(self) -> ConnectionRecord:
        """What was recorded about this connection."""
        return self._wire.record

    @property
    def subprotocol(self) -> str | None:
        """The negotiated subprotocol, ``None`` when none was agreed."""
        return self._wire.record.subprotocol

    @property
    def request_headers(self) -> Mapping[str, str]:
        """The headers of the client's upgrade request."""
        return self._wire.record.request_headers

    @property
    def websocket(self) -> web.WebSocketResponse:
        """The aiohttp websocket, for anything the helpers do not cover (e.g. PING frames)."""
        return self._wire.ws

    @property
    def closed(self) -> bool:
        """Whether the connection has ended."""
        return self._wire.record.closed

    async def receive_frame(self, timeout: float | None = None) -> str | bytes:
        """Return the next data frame the client sent: ``str`` (text) or ``bytes``.

        Raises:
            WebsocketClosed: The connection ended and no unread frame is left.
            TimeoutError: Nothing arrived in time.
        """
        seconds = resolve_timeout(timeout)
        try:
            return await asyncio.wait_for(self._next_frame(), seconds)
        except asyncio.TimeoutError:
            raise TimeoutError(f"the client sent nothing for {seconds:g} s") from None

    async def receive_text(self, timeout: float | None = None) -> str:
        """Return the next frame, which must be a text frame.

        Raises:
            TypeError: The client sent a binary frame.
            WebsocketClosed: The connection ended and no unread frame is left.
            TimeoutError: Nothing arrived in time.
        """
        frame = await self.receive_frame(timeout)
        if isinstance(frame, bytes):
            raise TypeError(f"expected a text frame, the client sent binary {frame[:100]!r}")
        return frame

    async def receive_json(self, timeout: float | None = None) -> Any:
        """Return the next frame, parsed as JSON.

        Raises:
            ValueError: The frame is not valid JSON.
            TypeError: The client sent a binary frame.
            WebsocketClosed: The connection ended and no unread frame is left.
            TimeoutError: Nothing arrived in time.
        """
        text = await self.receive_text(timeout)
        try:
            return json.loads(text)
        except ValueError:
            raise ValueError(f"the client sent a frame that is not JSON: {text[:200]!r}") from None

    async def expect(self, message_type: str, timeout: float | None = None) -> dict[str, Any]:
        """Return the next message, which must be a JSON object of type ``message_type``.

        Raises:
            AssertionError: The next message is something else.
        """
        message = await self.receive_json(timeout)
        if not isinstance(message, dict) or message.get("type") != message_type:
            raise AssertionError(f"expected a {message_type!r} message, got {message!r}")
        return message

    async def accept_init(
        self, ack_payload: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        """Read ``connection_init`` and answer ``connection_ack``.

        Args:
            ack_payload: Sent as the ack's ``payload`` when given.
            timeout: Seconds to wait for ``connection_init``.

        Returns:
            The ``connection_init`` payload (``None`` when absent).

        Raises:
            AssertionError: The client's first message is not ``connection_init``.
        """
        init = await self.expect("connection_init", timeout)
        payload = init.get("payload")
        self._wire.record.init_payload = payload
        ack: dict[str, Any] = {"type": "connection_ack"}
        if ack_payload is not None:
            ack["payload"] = ack_payload
        await self.send_json(ack)
        return payload

    async def send_json(self, message: Any) -> None:
        """Send ``message`` as JSON in a text frame.

        Raises:
            WebsocketClosed: The connection is closed or closing.
        """
        self._check_sent(await self._wire.send_json(message))

    async def send_text(self, text: str) -> None:
        """Send a raw text frame (anything, valid JSON or not).

        Raises:
            WebsocketClosed: The connection is closed or closing.
        """
        self._check_sent(await self._wire.send_text(text))

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary frame.

        Raises:
            WebsocketClosed: The connection is closed or closing.
        """
        self._check_sent(await self._wire.send_bytes(data))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with a close frame carrying ``code`` and ``reason`` (at most 123 bytes)."""
        await self._wire.close(code, reason)

    async def close_without_status(self) -> None:
        """Close with a close frame carrying no status code (the client sees 1005)."""
        await self._wire.close_without_status()

    async def drop(self) -> None:
        """Cut the TCP connection with no close frame (the client sees 1006)."""
        self._wire.drop()

    def pause_reading(self) -> None:
        """Stop reading from the socket, like a server that hangs.

        The client's frames pile up in the TCP buffers until its writes block.
        """
        transport = self._wire.request.transport
        if transport is not None:
            transport.pause_reading()

    def resume_reading(self) -> None:
        """Read from the socket again after :meth:`pause_reading`."""
        transport = self._wire.request.transport
        if transport is not None:
            transport.resume_reading()

    async def wait_closed(self, timeout: float | None = None) -> int | None:
        """Wait until the connection has ended, e.g. the client closed it.

        Returns:
            The close code (see `ConnectionRecord.close_code`).

        Raises:
            TimeoutError: Still open after ``timeout``.
        """
        return await self._wire.record.wait_closed(timeout)

    def _check_sent(self, sent: bool) -> None:
        if not sent:
            record = self._wire.record
            raise WebsocketClosed(record.close_code, record.close_reason)

    async def _next_frame(self) -> str | bytes:
        while not self._inbox:
            if self._ended:
                record = self._wire.record
                raise WebsocketClosed(record.close_code, record.close_reason)
            self._arrived.clear()
            await self._arrived.wait()
        return self._inbox.popleft()

    def _deliver(self, frame: str | bytes) -> None:
        self._inbox.append(frame)
        self._arrived.set()

    def _end(self) -> None:
        self._ended = True
        self._arrived.set()


#: A test script: drives one connection, then returns (the socket stays open).
ScriptHandler = Callable[[ScriptedConnection], Awaitable[None]]


class ScriptedWebsocketServer(LoopbackWebsocketServer):
    """A websocket server on 127.0.0.1 that runs a test script per connection.

    The script runs in its own task while the server records every client
    frame.  When the script returns, the websocket stays open until the client
    closes it (so a script "stops responding" by returning).  A script that
    raises gets its websocket closed with 1011; the exception is kept in
    `handler_errors` and raised again by `close` (so by ``async with`` exit).
    A `WebsocketClosed` escaping the script just means the connection ended
    under it and is not an error.  Scripts still running at `close` are
    cancelled.

    Example:
        >>> async def never_ack(conn: ScriptedConnection) -> None:  # doctest: +SKIP
        ...     await conn.expect("connection_init")
        >>> async with ScriptedWebsocketServer(never_ack) as server:  # doctest: +SKIP
        ...     ...

    Args:
        handler: The script, called once per accepted websocket.
        subprotocols: The subprotocols to accept (the first entry of the
            client's offer that is listed wins). With no overlap the upgrade
            completes without a subprotocol and the script decides what to do.
        path: The URL path.
        ssl: A server TLS context; the URL then starts with ``wss://``.
        response_headers: Extra headers for the upgrade response.
    """

    def __init__(
        self,
        handler: ScriptHandler,
        *,
        subprotocols: Iterable[str] = BOTH_SUBPROTOCOLS,
        path: str = "/graphql",
        ssl: ssl_module.SSLContext | None = None,
        response_headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            subprotocols=subprotocols, path=path, ssl=ssl, response_headers=response_headers
        )
        self._handler = handler
        self._scripts: set[asyncio.Task[None]] = set()

    async def _serve(self, wire: ServerWire) -> None:
        connection = ScriptedConnection(wire)
        script = asyncio.get_running_loop().create_task(self._run_script(connection))
        self._scripts.add(script)
        script.add_done_callback(self._scripts.discard)
        try:
            while True:
                frame = await wire.receive()
                if frame is None:
                    return
                connection._deliver(frame)
        finally:
            connection._end()

    async def _run_script(self, connection: ScriptedConnection) -> None:
        try:
            await self._handler(connection)
        except WebsocketClosed:
            return
        except Exception as error:
            self._report_error(error)
            await connection.close(1011, f"script raised {type(error).__name__}")

    async def _after_connections_closed(self) -> None:
        if not self._scripts:
            return
        # Scripts woken by the closes get a moment to finish on their own.
        _done, pending = await asyncio.wait(set(self._scripts), timeout=scaled_timeout(0.5))
        for script in pending:
            script.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
