"""AIOHTTPWebsocketsTransport: the gql-facing facade over one connection at a time.

The transport outlives its connections.  It owns the options and the public
attributes gql users know, the ``ClientSession`` (unless the user lends one),
the ``listeners`` dict, operation ids and its lifecycle state; each connect
makes a new :class:`~gql_aiohttp_websockets.connection.Connection`, which does
the websocket's work.  Attributes that belong to a connection (``websocket``,
``subprotocol``, ``payloads``, ``response_headers``) read through to the
current or last one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import aiohttp
from gql.transport.async_transport import AsyncTransport
from gql.transport.exceptions import (
    TransportAlreadyConnected,
    TransportClosed,
    TransportProtocolError,
)
from graphql import ExecutionResult

from .close_codes import CloseCode
from .connection import NOT_OPEN, Connection
from .exceptions import (
    GQL_4,
    AckTimeoutError,
    ConnectionFailedBase,
    ConnectTimeoutError,
)
from .flow_control import INHERITED, NO_LIMIT, Overflow, _Inherited, queue_options
from .lifecycle import TRANSPORT_MOVES, Lifecycle, State
from .listener_queue import COMPLETE, ListenerQueue
from .opening import open_connection
from .options import InitPayloadFactory, TransportOptions
from .reconnect import Reconnector, close_details, interrupt, resubscribe
from .request_payload import build_payload
from .transport_events import Closed, Connected, Connecting, Disconnected, EventSink
from .waiting import Waiters, shielded, within

if TYPE_CHECKING:
    from aiohttp.client_ws import ClientWebSocketResponse as _ClientWebSocketResponse

    ClientWebSocketResponse: TypeAlias = _ClientWebSocketResponse[bool]

__all__ = [
    "AIOHTTPWebsocketsTransport",
    "AckTimeoutError",
    "ConnectTimeoutError",
    "InitPayloadFactory",
]

log = logging.getLogger("gql_aiohttp_websockets.transport")


class AIOHTTPWebsocketsTransport(TransportOptions, AsyncTransport):
    """Async transport running GraphQL operations over one aiohttp websocket.

    A drop-in replacement for gql's ``AIOHTTPWebsocketsTransport``: same
    constructor keywords and defaults (see
    :class:`~gql_aiohttp_websockets.options.TransportOptions`), same methods
    and attributes, gql's exception classes.  It speaks
    ``graphql-transport-ws`` (the graphql-ws library) and the legacy
    ``graphql-ws`` (Apollo subscriptions-transport-ws), offering
    ``graphql-transport-ws`` first.
    """

    def __post_init__(self) -> None:
        """Set up the state beside the options: nothing is connected yet."""
        #: The aiohttp session in use while connected, else ``None``.
        self.session: aiohttp.ClientSession | None = None
        #: The running operations, by operation id.
        self.listeners: dict[int, ListenerQueue] = {}
        #: The id the next operation will get; ids restart at 1 on each connect.
        self.next_query_id: int = 1
        #: Why the last connection ended, ``None`` while connected.
        self.close_exception: Exception | None = None
        #: Set each time the server sends a protocol ``ping``; cleared on connect.
        self.ping_received: asyncio.Event = asyncio.Event()
        #: Set each time the server sends a protocol ``pong``; cleared on connect.
        self.pong_received: asyncio.Event = asyncio.Event()
        self._lifecycle = Lifecycle(State.CLOSED, TRANSPORT_MOVES, log)
        # The current connection, or the last one once it ended.
        self._connection: Connection | None = None
        self._no_payloads: dict[str, Any] = {}
        self._shutdown_task: asyncio.Task[None] | None = None
        self._shutdown_waiters = Waiters()
        self._connect_task: asyncio.Task[Any] | None = None
        # Tasks whose connect() was just refused (see _refuse).
        self._refused_tasks: set[asyncio.Task[Any]] = set()
        self._events = EventSink(None)
        # Set while connected with reconnect= on (read at each connect).
        self._reconnector: Reconnector | None = None

    # --------------------------------------------------- state and read-through

    @property
    def state(self) -> State:
        """The lifecycle state (see :class:`~gql_aiohttp_websockets.State`)."""
        return self._lifecycle.state

    @property
    def websocket(self) -> ClientWebSocketResponse | None:
        """The live aiohttp websocket while connected, else ``None``.

        Setting it to ``None``, as gql's own tests do, makes every send fail
        with ``WebSocket connection is closed``; :meth:`close` still closes the
        websocket that was opened.
        """
        connection = self._connection
        return None if connection is None else connection.websocket

    @websocket.setter
    def websocket(self, websocket: ClientWebSocketResponse | None) -> None:
        if self._connection is not None:
            self._connection.websocket = websocket

    @property
    def subprotocol(self) -> str | None:
        """The negotiated subprotocol of the current (or last) connection."""
        connection = self._connection
        return None if connection is None else connection.subprotocol

    @property
    def payloads(self) -> dict[str, Any]:
        """Last ``connection_ack``, ``ping`` and ``pong`` payloads received."""
        connection = self._connection
        return self._no_payloads if connection is None else connection.payloads

    @property
    def response_headers(self) -> dict[str, str]:
        """The HTTP headers of the server's handshake response (last connection)."""
        connection = self._connection
        return {} if connection is None else connection.response_headers

    # ---------------------------------------------------------------- connect

    async def connect(self) -> None:
        """Open the websocket, send ``connection_init`` and wait for ``connection_ack``.

        On any failure nothing is left open (no session, no task) and the
        transport can connect again.

        Raises:
            TransportAlreadyConnected: The transport is connecting or connected.
            asyncio.TimeoutError: The handshake took longer than
                ``connect_timeout`` (:class:`ConnectTimeoutError`), or no ack
                came within ``ack_timeout`` (:class:`AckTimeoutError`).
            TransportServerError: The server rejected ``connection_init``
                (legacy ``connection_error``).
            TransportProtocolError: The server negotiated a subprotocol that was
                not offered, or sent something invalid before the ack.
            TransportConnectionFailed: The server could not be reached, refused
                the upgrade, or closed during initialisation (a
                :class:`TransportConnectionClosed` with the close code).
            TransportClosed: :meth:`close` was called while connecting.
        """
        if self.state is State.CLOSING and self._shutdown_task is not None:
            await self._wait_shutdown(self._shutdown_task)
        current = asyncio.current_task()
        if self.state is not State.CLOSED:
            # gql 4's session closes the transport after any failed
            # connect(); gql 3.5's Client does not (see _refuse).
            if current is not None and GQL_4:
                self._refuse(current)
            raise TransportAlreadyConnected("Transport is already connected")
        self._lifecycle.move(State.CONNECTING)
        self._connect_task = current
        self.ping_received.clear()
        self.pong_received.clear()
        self.close_exception = None
        events = self._events = EventSink(self.on_event)
        events.emit(Connecting(0))
        try:
            self.session = self._user_session or aiohttp.ClientSession(**self.client_session_args)
            connection = await self._open(lambda: self._lifecycle.move(State.INITIALIZING))
        except BaseException as exc:
            # close() moves the transport to CLOSING before it cancels us.
            closed_by_user = self._lifecycle.state is State.CLOSING
            await shielded(self._release_session())
            self._lifecycle.move(State.CLOSED)
            if isinstance(exc, Exception):
                events.emit(Disconnected(exc, *close_details(exc), False))
            events.emit(Closed(None if closed_by_user or not isinstance(exc, Exception) else exc))
            if closed_by_user and isinstance(exc, asyncio.CancelledError):
                task = asyncio.current_task()
                if task is not None and hasattr(task, "uncancel"):
                    task.uncancel()
                raise TransportClosed(
                    "close() was called while the transport was connecting"
                ) from None
            raise
        finally:
            self._connect_task = None
        self.next_query_id = 1
        policy = self.reconnect
        self._reconnector = (
            None
            if policy is None
            else Reconnector(
                policy,
                events,
                connect_again=lambda: self._open(lambda: None),
                replaced=self._replaced,
                gave_up=self._gave_up,
                close_timeout=self.close_timeout,
            )
        )
        self._lifecycle.move(State.OPEN)
        connection.start()
        events.emit(Connected(connection.subprotocol or "", self.payloads.get("connection_ack"), 0))

    def _open(self, opened: Callable[[], object]) -> Awaitable[Connection]:
        return open_connection(
            self._new_connection,
            self.subprotocols,
            init_payload=self.init_payload,
            connect_timeout=self.connect_timeout,
            ack_timeout=self.ack_timeout,
            close_timeout=self.close_timeout,
            opened=opened,
        )

    def _refuse(self, task: asyncio.Task[Any]) -> None:
        # gql 4's session answers any failed connect() with close(), straight
        # away in the same task.  When the failure was this refusal, that
        # close() must not end the connection another task is making or
        # using (gql bug #105), so it is excused: until the loop's next
        # iteration, and only in the refused task.
        self._refused_tasks.add(task)
        asyncio.get_running_loop().call_soon(self._refused_tasks.discard, task)

    def _new_connection(self) -> Connection:
        if self.state is State.INITIALIZING:
            # Another offer, on a new websocket, within the same connect().
            self._lifecycle.move(State.CONNECTING)
        assert self.session is not None
        if self.state is not State.RECONNECTING:
            self.listeners = {}
        connection = self._connection = Connection(
            self.connection_settings(),
            self.session,
            listeners=self.listeners,
            ping_received=self.ping_received,
            pong_received=self.pong_received,
            on_end=self._connection_ended,
        )
        return connection

    def _connection_ended(self, connection: Connection, error: Exception, code: int) -> None:
        # The connection ended by itself: it is replaced, or the transport closes.
        if connection is not self._connection or self.state is not State.OPEN:
            return
        reconnector = self._reconnector
        delay = None if reconnector is None else reconnector.next_delay(1, error)
        self._events.emit(Disconnected(error, *close_details(error), delay is not None))
        if reconnector is None or delay is None:
            self._begin_shutdown(error, clean=False, close_code=code)
            return
        self._lifecycle.move(State.RECONNECTING)
        self.close_exception = error
        interrupt(self.listeners, error)
        reconnector.begin(connection, error, delay)

    async def _replaced(self, connection: Connection) -> int:
        self.close_exception = None
        self._lifecycle.move(State.OPEN)
        connection.start()
        return await resubscribe(connection, self.listeners)

    def _gave_up(self, error: Exception) -> None:
        if self.state is State.RECONNECTING:
            self._begin_shutdown(error, clean=False, close_code=CloseCode.NORMAL_CLOSURE)

    async def _when_open(self) -> Connection:
        # Calls made while the connection is being replaced wait for the new one.
        while self.state is State.RECONNECTING and self._reconnector is not None:
            await self._reconnector.wait()
        return self._running()

    def _running(self) -> Connection:
        connection = self._connection
        if self.state is not State.OPEN or connection is None:
            if self.close_exception is not None:
                raise ConnectionFailedBase(
                    f"the transport is not connected: {self.close_exception}"
                ) from self.close_exception
            raise ConnectionFailedBase(
                "the transport is not connected; call connect() first "
                "(or use 'async with Client(transport=...)')"
            )
        return connection

    def _live(self) -> Connection:
        connection = self._connection
        if connection is None or connection.websocket is None:
            raise ConnectionFailedBase(NOT_OPEN) from self.close_exception
        return connection

    async def send_ping(self, payload: Any = None) -> None:
        """Send a protocol ``ping`` (``graphql-transport-ws`` only).

        Args:
            payload: Optional JSON object sent along.

        Raises:
            TransportProtocolError: The negotiated subprotocol has no ping.
        """
        await self._live().send_ping(payload)

    async def send_pong(self, payload: Any = None) -> None:
        """Send a protocol ``pong`` (``graphql-transport-ws`` only).

        Args:
            payload: Optional JSON object sent along.

        Raises:
            TransportProtocolError: The negotiated subprotocol has no pong.
        """
        await self._live().send_pong(payload)

    # ------------------------------------------------------------- operations

    async def subscribe(
        self,
        request: Any,
        variable_values: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *,
        send_stop: bool | None = True,
        extensions: dict[str, Any] | None = None,
        max_queued_results: int | _Inherited | None = INHERITED,
        on_queue_full: Overflow | str | _Inherited = INHERITED,
    ) -> AsyncGenerator[ExecutionResult, None]:
        """Run an operation and yield each of its results until it completes.

        Works with both call styles: gql 4's ``subscribe(GraphQLRequest)`` and
        gql 3.5's ``subscribe(document, variable_values=, operation_name=)``.
        Leaving the loop early (``break``, an exception, cancelling the task)
        tells the server to stop the operation unless ``send_stop`` is false.

        Args:
            request: A ``GraphQLRequest``, a ``DocumentNode`` or query text.
            variable_values: Variables (override the request's).
            operation_name: Operation name (overrides the request's).
            send_stop: Send ``stop``/``complete`` when left early.
            extensions: Request extensions (override the request's).
            max_queued_results: This subscription's limit (see the
                transport's option of the same name); by default the
                transport's.
            on_queue_full: This subscription's policy at the limit; by
                default the transport's.

        Yields:
            Each ``ExecutionResult``; one whose ``errors`` is set is a normal
            result, not the end.  With ``reconnect=`` on, the loop goes on
            across a lost connection: the subscription is sent again on the
            new one.

        Raises:
            TransportQueryError: The server ended the operation with ``error``.
            TransportConnectionFailed: The connection broke (after every result
                received before the break was yielded).
            TransportClosed: :meth:`close` was called meanwhile and the
                server did not end the operation within ``close_timeout``.
            QueueFullError: The consumer fell ``max_queued_results`` behind
                (policy ``"fail"``), after the results queued before.
        """
        payload = build_payload(request, variable_values, operation_name, extensions)
        limit, overflow = queue_options(
            max_queued_results,
            on_queue_full,
            default_limit=self.max_queued_results,
            default_policy=self.on_queue_full,
        )
        connection = self._connection
        if self.state is not State.OPEN or connection is None:
            connection = await self._when_open()
        listener = self._register(connection, send_stop is True, limit, overflow)
        if self._reconnector is not None:
            listener.payload = payload
        op_id = listener.query_id
        try:
            # Neither is kept while the frame waits for the socket, nor for the
            # life of the subscription: a connection may hold thousands of them.
            frame = connection.start_frame(op_id, payload)
            del payload
            await connection.send(frame)
            del frame
            # The connection's one bound method: nothing allocated per operation.
            decode = connection.decode_result
            assert decode is not None
            while True:
                ready = listener.take_ready()
                if not ready:
                    await listener.waiter()
                    # Another connection's, after a reconnect.
                    decode = listener.decoder or decode
                    continue
                while ready:
                    item = ready.pop()
                    if type(item) is str:
                        # Rebound, so that the text is let go of while the
                        # consumer holds the result.
                        try:
                            item = decode(op_id, item)
                        except TransportProtocolError as exc:
                            listener.malformed(exc)
                            raise
                    elif item is COMPLETE:
                        listener.send_stop = False
                        return
                    yield item  # type: ignore[misc]
        except (asyncio.CancelledError, GeneratorExit):
            if listener.send_stop:
                listener.send_stop = False
                await self._send_stop(op_id)
            raise
        finally:
            self._forget(listener)

    async def _send_stop(self, op_id: int) -> None:
        # On the current connection: the operation may have moved since it started.
        connection = self._connection
        if self.state is not State.OPEN or connection is None:
            return
        try:
            await connection.stop_operation(op_id)
        except ConnectionFailedBase:
            log.debug("could not send the stop of operation %d", op_id, exc_info=True)

    async def execute(
        self,
        request: Any,
        variable_values: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *,
        extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """Run an operation and return its first result.

        No stop message is sent: the operation is expected to complete by
        itself (queries and mutations do).

        Args:
            request: A ``GraphQLRequest``, a ``DocumentNode`` or query text.
            variable_values: Variables (override the request's).
            operation_name: Operation name (overrides the request's).
            extensions: Request extensions (override the request's).

        Returns:
            The first ``ExecutionResult`` the server sent.

        Raises:
            TransportQueryError: The server answered with ``error``, or
                completed without any result.
        """
        # subscribe() without the async generator, whose creation and aclose()
        # weigh on a query that runs once per call (benchmarks/README.md).
        payload = build_payload(request, variable_values, operation_name, extensions)
        connection = self._connection
        if self.state is not State.OPEN or connection is None:
            connection = await self._when_open()
        listener = self._register(connection, False)
        op_id = listener.query_id
        try:
            await connection.send(connection.start_frame(op_id, payload))
            return await listener.first()
        finally:
            self._forget(listener)

    def _forget(self, listener: ListenerQueue) -> None:
        # The operation ended: its consumer has left, whatever the reason.
        if self.listeners.get(listener.query_id) is listener:
            del self.listeners[listener.query_id]
        if listener.on_end is not None:
            listener.ended()
        if listener.full:
            listener.relieve()

    def _register(
        self,
        connection: Connection,
        send_stop: bool,
        limit: int = NO_LIMIT,
        overflow: Overflow = Overflow.FAIL,
    ) -> ListenerQueue:
        op_id = self.next_query_id
        self.next_query_id = op_id + 1
        listener = ListenerQueue(
            op_id,
            send_stop,
            connection.decode_result,
            connection.on_malformed,
            limit=limit,
            overflow=overflow,
            on_full=connection.on_full,
        )
        self.listeners[op_id] = listener
        return listener

    # ---------------------------------------------------------------- closing

    async def close(self) -> None:
        """Close the connection: stop every operation, then close the websocket.

        Sends a stop for each running operation, ``connection_terminate`` where
        the subprotocol has it, and a close frame with code 1000.  Every
        running operation then ends after its queued results, as gql's do.
        Safe to call at any time, also twice and while connecting; returns
        once no task of the transport is left.
        """
        current = asyncio.current_task()
        if current is not None and current in self._refused_tasks:
            self._refused_tasks.discard(current)
            log.debug("close() right after a refused connect(): the connection is not ours to end")
            return
        if self.state in (State.CONNECTING, State.INITIALIZING):
            connect_task = self._connect_task
            if connect_task is not None and connect_task is not current:
                # connect() reads the CLOSING state as: close() cancelled it.
                self._lifecycle.move(State.CLOSING)
                connect_task.cancel()
                await asyncio.wait([connect_task], timeout=self.close_timeout)
            return
        if self.state in (State.OPEN, State.RECONNECTING):
            task = self._begin_shutdown(
                TransportClosed("Transport closed by user"),
                clean=True,
                close_code=CloseCode.NORMAL_CLOSURE,
            )
        elif self._shutdown_task is not None:
            task = self._shutdown_task
        else:
            return
        await self._wait_shutdown(task)

    async def wait_closed(self) -> None:
        """Wait until the connection is closed (at most ``close_timeout`` seconds)."""
        task = self._shutdown_task
        if task is not None:
            await self._wait_shutdown(task)

    async def _wait_shutdown(self, task: asyncio.Task[None]) -> None:
        # The shutdown bounds each of its steps by close_timeout (and the
        # session by ssl_close_timeout), so waiting for it is bounded too;
        # cancelling a close() cancels the wait, never the cleanup.
        if not task.done():
            await self._shutdown_waiters.wait()

    def _begin_shutdown(
        self, error: Exception, *, clean: bool, close_code: int
    ) -> asyncio.Task[None]:
        if self._shutdown_task is None:
            if log.isEnabledFor(logging.DEBUG):
                log.debug("closing: %r", error)
            in_gap = self.state is State.RECONNECTING
            self._lifecycle.move(State.CLOSING)
            self.close_exception = error
            # Between connections, stopping the reconnector closes an attempt
            # with the code that says it was cut short.
            if self._connection is not None and not in_gap:
                self._connection.begin_close(error, close_code)
            self._shutdown_task = asyncio.ensure_future(
                self._shutdown(error, clean=clean, in_gap=in_gap)
            )
            # Also if the task never ran (cancelled before its first step).
            self._shutdown_task.add_done_callback(self._shutdown_waiters.release)
        return self._shutdown_task

    async def _shutdown(self, error: Exception, *, clean: bool, in_gap: bool) -> None:
        try:
            reconnector, self._reconnector = self._reconnector, None
            if reconnector is not None:
                await reconnector.stop()
            if self._connection is not None:
                await self._connection.close(self.close_timeout, goodbye=clean)
            if clean and in_gap:
                # close() between connections: no server is left to stop the
                # subscriptions, and they end as a close() ends them.
                for listener in self.listeners.values():
                    listener.put_complete()
            for listener in self.listeners.values():
                listener.set_exception_nowait(error)
            await self._release_session()
        except Exception:
            log.exception("unexpected error while closing the transport")
        finally:
            self._shutdown_task = None
            self._lifecycle.move(State.CLOSED)
            self._shutdown_waiters.release()
            self._events.emit(Closed(None if clean else error))

    async def _release_session(self) -> None:
        session, self.session = self.session, None
        if session is None or session is self._user_session:
            return
        try:
            await within(session.close(), self.ssl_close_timeout)
        except (Exception, asyncio.TimeoutError):
            log.debug("closing the aiohttp session failed", exc_info=True)
