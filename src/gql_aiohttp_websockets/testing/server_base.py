"""Serve websockets on 127.0.0.1: the lifecycle shared by the test servers.

Listening on a free port, subprotocol negotiation, recording every connection,
and a shutdown that closes every websocket and leaves no task behind.
"""

from __future__ import annotations

import asyncio
import logging
import ssl as ssl_module
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TypeVar

from aiohttp import hdrs, web

from .records import ConnectionRecord, resolve_timeout
from .timeouts import scaled_timeout
from .wire import ServerWire

__all__ = ["BOTH_SUBPROTOCOLS", "LoopbackWebsocketServer", "choose_subprotocol"]

#: What the test servers speak by default, modern first.
BOTH_SUBPROTOCOLS: tuple[str, ...] = ("graphql-transport-ws", "graphql-ws")

_HOST = "127.0.0.1"

_log = logging.getLogger(__name__)

_ServerT = TypeVar("_ServerT", bound="LoopbackWebsocketServer")


def choose_subprotocol(offered: Sequence[str], supported: Iterable[str]) -> str | None:
    """Pick the first subprotocol in the client's list that the server supports.

    This is what Strawberry and Ariadne do (PROTOCOLS.md section 0): the
    client's order wins.

    Args:
        offered: The client's ``Sec-WebSocket-Protocol`` entries, in order.
        supported: The subprotocols the server speaks.

    Returns:
        The chosen subprotocol, or ``None`` when there is no overlap.
    """
    supported_set = set(supported)
    for name in offered:
        if name in supported_set:
            return name
    return None


def _offered_subprotocols(request: web.Request) -> list[str]:
    offered: list[str] = []
    for header in request.headers.getall(hdrs.SEC_WEBSOCKET_PROTOCOL, ()):
        offered.extend(part.strip() for part in header.split(",") if part.strip())
    return offered


class LoopbackWebsocketServer:
    """Base class: an aiohttp websocket server on 127.0.0.1 with a free port.

    Subclasses implement `_serve`, which owns one accepted websocket until it ends.

    Attributes:
        connections: One `ConnectionRecord` per accepted websocket, in order.
        handler_errors: Unexpected exceptions raised while serving; the first
            one is raised again by `close`.
        refused: How many upgrade requests `refuse_connections` turned away.
    """

    def __init__(
        self,
        *,
        subprotocols: Iterable[str] = BOTH_SUBPROTOCOLS,
        path: str = "/graphql",
        ssl: ssl_module.SSLContext | None = None,
        response_headers: Mapping[str, str] | None = None,
        port: int = 0,
    ) -> None:
        self.subprotocols: tuple[str, ...] = tuple(subprotocols)
        self._wanted_port = port
        self.path = path
        self.connections: list[ConnectionRecord] = []
        self.handler_errors: list[BaseException] = []
        self._ssl = ssl
        self._response_headers = dict(response_headers or {})
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing = False
        self._live: set[ServerWire] = set()
        self._serving: set[asyncio.Task[object]] = set()
        self._connections_changed = asyncio.Event()
        self.refused = 0
        self._refusing: tuple[int, int | None] | None = None

    @property
    def port(self) -> int:
        """The TCP port the server listens on.

        Raises:
            RuntimeError: The server is not started.
        """
        if self._port is None:
            raise RuntimeError("the server is not started; use 'async with' or start()")
        return self._port

    @property
    def url(self) -> str:
        """The websocket URL, e.g. ``ws://127.0.0.1:PORT/graphql`` (``wss://`` with TLS)."""
        scheme = "wss" if self._ssl is not None else "ws"
        return f"{scheme}://{_HOST}:{self.port}{self.path}"

    async def start(self: _ServerT) -> _ServerT:
        """Start listening on 127.0.0.1: on a free port, or on the one given to the constructor.

        Returns:
            The server itself, so ``server = await Server(...).start()`` works.

        Raises:
            RuntimeError: The server was already started.
        """
        if self._runner is not None or self._closing:
            raise RuntimeError("a test server can be started once")
        app = web.Application()
        app.router.add_get(self.path, self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=scaled_timeout(2.0))
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, _HOST, self._wanted_port, ssl_context=self._ssl)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._port = int(runner.addresses[0][1])
        return self

    async def close(self) -> None:
        """Close every websocket (1001 Going Away), stop listening, and clean up.

        Calling it again does nothing.

        Raises:
            BaseException: The first of `handler_errors`, if any, once all is
                cleaned up.
        """
        if self._closing:
            return
        self._closing = True
        await self.close_connections(1001, "Server shutting down")
        if self._serving:
            await asyncio.wait(set(self._serving), timeout=scaled_timeout(5.0))
        await self._after_connections_closed()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.handler_errors:
            raise self.handler_errors[0]

    async def __aenter__(self: _ServerT) -> _ServerT:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def wait_for_connections(
        self, count: int = 1, timeout: float | None = None
    ) -> list[ConnectionRecord]:
        """Wait until at least ``count`` websockets were accepted.

        Args:
            count: How many connections to wait for.
            timeout: Seconds to wait, used as given; ``None`` means the scaled
                default of 10 s.

        Returns:
            All connection records so far (at least ``count``).

        Raises:
            TimeoutError: Fewer connections arrived in time.
        """
        await self._wait_for(lambda: len(self.connections), count, "connections", timeout)
        return list(self.connections)

    async def wait_for_refusals(self, count: int = 1, timeout: float | None = None) -> None:
        """Wait until `refuse_connections` turned at least ``count`` requests away.

        Raises:
            TimeoutError: Fewer requests were refused in time.
        """
        await self._wait_for(lambda: self.refused, count, "refusals", timeout)

    async def _wait_for(
        self, counter: Callable[[], int], count: int, what: str, timeout: float | None
    ) -> None:
        seconds = resolve_timeout(timeout)

        async def enough() -> None:
            while counter() < count:
                self._connections_changed.clear()
                await self._connections_changed.wait()

        try:
            await asyncio.wait_for(enough(), seconds)
        except asyncio.TimeoutError:
            raise TimeoutError(f"{counter()} of {count} {what} after {seconds:g} s") from None

    async def close_connections(self, code: int = 1001, reason: str = "") -> None:
        """Close every live websocket with ``code``, and keep listening.

        Args:
            code: The close code to send.
            reason: The close reason to send (at most 123 bytes are kept).
        """
        await asyncio.gather(*(wire.close(code, reason) for wire in list(self._live)))

    def refuse_connections(self, status: int = 503, *, count: int | None = None) -> None:
        """Answer upgrade requests with HTTP ``status`` instead of a websocket.

        As a server that is restarting (503) or turning clients away (401,
        403) does.  The live websockets are left alone.

        Args:
            status: The HTTP status of the answer.
            count: Refuse this many requests, then accept again; ``None``
                refuses until `accept_connections` is called.
        """
        if count is not None and count < 1:
            raise ValueError(f"count must be None or at least 1, got {count}")
        self._refusing = (status, count)

    def accept_connections(self) -> None:
        """Accept upgrade requests again (see `refuse_connections`)."""
        self._refusing = None

    def _refusal(self) -> web.Response | None:
        if self._refusing is None:
            return None
        status, left = self._refusing
        if left is not None:
            self._refusing = None if left == 1 else (status, left - 1)
        self.refused += 1
        self._connections_changed.set()
        return web.Response(status=status, text="the test server refuses connections for now")

    def drop_connections(self) -> None:
        """Cut every live TCP connection without a close frame, and keep listening.

        Clients see an abnormal closure (1006), as after a server crash.
        """
        for wire in list(self._live):
            wire.drop()

    def drop_connection(self, record: ConnectionRecord) -> None:
        """Cut the one TCP connection ``record`` is about, without a close frame.

        The others are left alone; a connection that already ended is ignored.
        """
        for wire in list(self._live):
            if wire.record is record:
                wire.drop()

    def hold_sends(self, record: ConnectionRecord) -> None:
        """Hold back what the server sends on the connection ``record`` is about.

        As a server whose writes lag (a slow task, a full socket): its
        messages wait, in order, until :meth:`release_sends`.
        """
        for wire in list(self._live):
            if wire.record is record:
                wire.hold()

    def release_sends(self, record: ConnectionRecord) -> None:
        """Send what :meth:`hold_sends` held back on that connection, and go on."""
        for wire in list(self._live):
            if wire.record is record:
                wire.release()

    async def _serve(self, wire: ServerWire) -> None:
        """Own one accepted websocket until the connection has ended."""
        raise NotImplementedError

    async def _after_connections_closed(self) -> None:
        """Hook for subclasses: clean up their own tasks during `close`."""

    def _report_error(self, error: BaseException) -> None:
        _log.error("test server error", exc_info=error)
        self.handler_errors.append(error)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self._closing:
            return web.Response(status=503, text="the test server is shutting down")
        refusal = self._refusal()
        if refusal is not None:
            return refusal
        offered = _offered_subprotocols(request)
        chosen = choose_subprotocol(offered, self.subprotocols)
        ws = web.WebSocketResponse(protocols=(chosen,) if chosen else (), timeout=5.0)
        if not ws.can_prepare(request).ok:
            return web.Response(status=400, text="expected a websocket upgrade")
        ws.headers.update(self._response_headers)
        await ws.prepare(request)
        record = ConnectionRecord(
            path=request.path,
            request_headers=request.headers,
            query=request.query,
            offered_subprotocols=offered,
            subprotocol=chosen,
        )
        wire = ServerWire(request, ws, record)
        self.connections.append(record)
        self._connections_changed.set()
        task = asyncio.current_task()
        assert task is not None
        self._live.add(wire)
        self._serving.add(task)
        try:
            await self._serve(wire)
        except Exception as error:
            self._report_error(error)
            await wire.close(1011, f"test server error: {error!r}")
        finally:
            self._live.discard(wire)
            self._serving.discard(task)
            if not record.closed:
                await wire.close(1000)
                wire.mark_ended()
        return ws
