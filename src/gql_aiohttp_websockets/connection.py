"""Connection: one websocket, used once.

A connection opens its websocket, agrees on a subprotocol, sends
``connection_init`` and waits for the ack; then it runs its receive loop and
its timers, sends what it is asked to, and closes when told.  It tracks and
awaits its own tasks, knows nothing of gql's client, never reconnects, and
reports its end exactly once, through ``on_end``.

The receive loop is the hot path: a text frame whose envelope
:meth:`ProtocolHandler.route` reads becomes text queued for its operation's
``ListenerQueue``, decoded only when the consumer takes it; a frame it cannot
route is parsed whole into an event.  Results and ``complete`` are queued
with their consumers' wake-ups held for the turn (see ``wakeups.py``);
everything else ends the turn first.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import socket
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import aiohttp
from aiohttp import WSMsgType
from gql.transport.exceptions import (
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)
from graphql import ExecutionResult

from .aiohttp_errors import (
    HANDSHAKE_ERRORS,
    SEND_ERRORS,
    frame_error,
    handshake_error,
    receive_timeout_error,
    send_error,
)
from .aiohttp_internals import parsed_frames, release_response, response_headers, tuned_transport
from .close_codes import CloseCode
from .exceptions import (
    AckTimeoutError,
    ConnectionRejectedError,
    ConnectTimeoutError,
    HeartbeatTimeoutError,
    TransportConnectionFailed,
)
from .flow_control import Overflow, Pressure, reactions
from .handshake import negotiated_subprotocol, ws_connect_kwargs
from .heartbeats import keep_alive_watchdog, ping_timer
from .lifecycle import CONNECTION_MOVES, ConnectionState, Lifecycle
from .listener_queue import COMPLETE, Decode, ListenerQueue, QueueMarker, Reaction
from .operations import Operation, Operations
from .protocols import (
    Ack,
    Complete,
    ConnectionRejected,
    Ignored,
    Next,
    OperationError,
    Ping,
    Pong,
    ProtocolHandler,
    ServerNotice,
    get_protocol,
)
from .protocols.server_messages import Event
from .protocols.wording import elide
from .redaction import frame_for_log, safe_url
from .settings import ConnectionSettings
from .waiting import within
from .wakeups import FRAMES_PER_CHECK, RESULT_WEIGHT, Turn, readable_probe

if TYPE_CHECKING:
    from aiohttp.client_ws import ClientWebSocketResponse as _ClientWebSocketResponse

    ClientWebSocketResponse: TypeAlias = _ClientWebSocketResponse[bool]

    from .telemetry import ConnectionTrace

__all__ = ["NOT_OPEN", "Connection", "EndCallback", "InitPayload", "close_wait"]

log = logging.getLogger("gql_aiohttp_websockets.connection")

if TYPE_CHECKING:
    _Adapter = logging.LoggerAdapter[logging.Logger]
else:
    _Adapter = logging.LoggerAdapter


class _Numbered(_Adapter):
    """Log lines of a connection other than the first: they say which."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        assert self.extra is not None
        return f"connection {self.extra['connection']}: {msg}", kwargs


_Log: TypeAlias = "logging.Logger | _Numbered"

#: gql 3.x's words for a transport with no open websocket; its tests compare them whole.
NOT_OPEN = "WebSocket connection is closed"

#: Told, exactly once, that a connection is ending: the connection, why, and
#: the close code its websocket is closed with.
EndCallback: TypeAlias = Callable[["Connection", Exception, int], object]

#: The ``connection_init`` payload, or a function (plain or async) making it.
InitPayload: TypeAlias = (
    "Mapping[str, Any] | Callable[[], Mapping[str, Any] | Awaitable[Any] | None] | None"
)

_CLOSING = ConnectionState.CLOSING
_ENDING = frozenset({ConnectionState.CLOSING, ConnectionState.CLOSED})


class Connection:
    """One websocket, from its handshake to its close.

    Args:
        settings: The connection's options.
        session: The ``ClientSession`` to open the websocket with; the
            connection never closes it.
        operations: The transport's operations; the receive loop queues
            into the buffers of those running on this connection, and the
            goodbye stops them.
        ping_received: Set each time the server sends a protocol ``ping``.
        pong_received: Set each time the server sends a protocol ``pong``.
        on_end: Called exactly once, when the connection starts to end: by
            itself (the server closed, a timer expired, a result was
            malformed) or because :meth:`begin_close` was called.
        number: Which of the transport's connections it is (its lane's
            number); its log lines name it when it is not 1.
        trace: Its OpenTelemetry span, when the transport reports to
            OpenTelemetry; ended when the connection is closed.
    """

    def __init__(
        self,
        settings: ConnectionSettings,
        session: aiohttp.ClientSession,
        *,
        operations: Operations,
        ping_received: asyncio.Event,
        pong_received: asyncio.Event,
        on_end: EndCallback,
        number: int = 1,
        trace: ConnectionTrace | None = None,
    ) -> None:
        self._log: _Log = log if number == 1 else _Numbered(log, {"connection": number})
        self.settings = settings
        #: Its span (see ``telemetry.py``), or ``None``.
        self.trace = trace
        #: The websocket frames are sent on, from the handshake until the
        #: connection is closed.  gql's tests set it to ``None`` to make sends
        #: fail; closing still closes the websocket that was opened.
        self.websocket: ClientWebSocketResponse | None = None
        self._opened: ClientWebSocketResponse | None = None
        #: The handler of the negotiated subprotocol, once negotiated.
        self.handler: ProtocolHandler | None = None
        #: The negotiated subprotocol, once negotiated.
        self.subprotocol: str | None = None
        #: Whether the server's handshake answer named no subprotocol, so that
        #: :attr:`subprotocol` was assumed rather than agreed.
        self.subprotocol_assumed = False
        #: The HTTP headers of the server's handshake response.
        self.response_headers: dict[str, str] = {}
        #: The text frames the server sent before its ``connection_ack``.
        self.messages_before_ack = 0
        #: Last ``connection_ack``, ``ping`` and ``pong`` payloads received.
        self.payloads: dict[str, Any] = {}
        #: Why the connection ended, once it began to.
        self.error: Exception | None = None
        #: The close code the websocket is closed with, once the end began.
        self.close_code: int = CloseCode.NORMAL_CLOSURE
        #: Decodes a result a listener queued as text (set when open).
        self.decode_result: Decode | None = None
        #: To be told that a result queued as text was malformed (set when open).
        self.on_malformed: Callable[[TransportProtocolError], None] | None = None
        self._session = session
        self._operations = operations
        self._ping_received = ping_received
        self._pong_received = pong_received
        self._on_end = on_end
        self._lifecycle = Lifecycle(ConnectionState.NEW, CONNECTION_MOVES, self._log)
        self._socket: socket.socket | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._receive_task: asyncio.Task[None] | None = None
        self._timers: list[asyncio.Task[None]] = []
        # Stops of operations that fell behind (Overflow.FAIL), sent in the background.
        self._stops: set[asyncio.Task[None]] = set()
        self._pressure = pressure = Pressure()
        #: What an operation's buffer calls at its high-water mark and back
        #: at its low one, for each policy.
        self.reactions: Mapping[Overflow, tuple[Reaction | None, Reaction | None]] = reactions(
            pressure, self.stop_in_background
        )
        # Whether reading is held back by a full queue (Overflow.BACKPRESSURE).
        self._paused = False
        # Text frames received, counted only for a keep-alive watchdog.
        self._frames_received = 0

        # The highest operation id started on this connection.
        self._last_issued = 0

    @property
    def state(self) -> ConnectionState:
        """Where the connection is in its life."""
        return self._lifecycle.state

    # ------------------------------------------------------------- opening

    async def open(self, offer: tuple[str, ...], timeout: float | None) -> None:
        """Open the websocket offering ``offer`` and pick the subprotocol's handler.

        Raises:
            ConnectTimeoutError: It took longer than ``timeout`` seconds.
            TransportConnectionFailed: The server could not be reached or
                refused the upgrade.
            TransportProtocolError: The server chose a subprotocol not offered.
        """
        self._lifecycle.move(ConnectionState.OPENING)
        settings = self.settings
        try:
            websocket = await within(self._ws_connect(offer), timeout)
        except asyncio.TimeoutError:
            raise ConnectTimeoutError(
                f"the websocket handshake with {safe_url(settings.url)} took longer than "
                f"connect_timeout={timeout}s"
            ) from None
        self.websocket = self._opened = websocket
        self._socket = websocket.get_extra_info("socket")
        self._transport = tuned_transport(websocket)
        self.response_headers = response_headers(websocket)
        self.subprotocol, agreed = negotiated_subprotocol(self.response_headers, offer)
        self.subprotocol_assumed = not agreed
        handler_class = get_protocol(self.subprotocol)
        assert handler_class is not None  # the offer only holds registered names
        self.handler = handler_class(
            json_serialize=settings.json_serialize,
            json_deserialize=settings.json_deserialize,
            agreed=agreed,
        )

    async def _ws_connect(self, offer: tuple[str, ...]) -> ClientWebSocketResponse:
        settings = self.settings
        try:
            return await self._session.ws_connect(
                settings.url, **ws_connect_kwargs(settings, offer)
            )
        except HANDSHAKE_ERRORS as exc:
            raise handshake_error(exc, settings.url) from exc

    async def initialize(self, init_payload: InitPayload, timeout: float | None) -> None:
        """Send ``connection_init`` and wait for the server's ``connection_ack``.

        Args:
            init_payload: The payload, or a function returning it (called now).
            timeout: Seconds allowed for making the payload, sending it and
                receiving the ack.

        Raises:
            AckTimeoutError: No ack within ``timeout``.
            TransportServerError: The server rejected the connection.
            TransportProtocolError: The server sent something invalid, or out
                of turn, before the ack.
            TransportConnectionClosed: The server closed meanwhile.
        """
        self._lifecycle.move(ConnectionState.INITIALIZING)
        try:
            await within(self._initialize(init_payload), timeout)
        except asyncio.TimeoutError:
            raise AckTimeoutError(
                f"the server sent no connection_ack within ack_timeout={timeout}s"
            ) from None

    async def _initialize(self, init_payload: InitPayload) -> None:
        websocket, handler = self._opened, self.handler
        assert websocket is not None
        assert handler is not None
        payload: Any = init_payload() if callable(init_payload) else init_payload
        if inspect.isawaitable(payload):
            payload = await payload
        await self.send(handler.connection_init(payload), secret=True)
        while True:
            message = await websocket.receive()
            if message.type is not WSMsgType.TEXT:
                raise frame_error(
                    message,
                    "while waiting for connection_ack",
                    self.settings.max_msg_size,
                    self.settings.heartbeat,
                )
            self.messages_before_ack += 1
            if log.isEnabledFor(logging.DEBUG):
                self._log.debug("<<< %s", frame_for_log(message.data))
            # The handler refuses what may not come before the ack.
            event = handler.receive(message.data)
            if type(event) is Ack:
                self.payloads["connection_ack"] = event.payload
                return
            if type(event) is ConnectionRejected:
                raise ConnectionRejectedError(
                    f"the server rejected the connection (connection_error): {event.payload!r}"
                )
            await self._handle_control(event)

    def start(self) -> None:
        """Start the receive loop and the timers: operations may run."""
        self._lifecycle.move(ConnectionState.OPEN)
        handler = self.handler
        assert handler is not None
        self.decode_result = handler.routed_result
        self.on_malformed = self._malformed
        self._receive_task = asyncio.ensure_future(self._receive_loop())
        settings = self.settings
        if settings.ping_interval is not None and handler.supports_ping:
            self._start_timer(
                ping_timer(
                    settings.ping_interval,
                    settings.pong_timeout,
                    self.send_ping,
                    self._pong_received,
                    self._end,
                    paused=self._reading_paused,
                )
            )
        if settings.keep_alive_timeout is not None:
            self._start_timer(
                keep_alive_watchdog(
                    settings.keep_alive_timeout,
                    self._frame_count,
                    self._end,
                    paused=self._reading_paused,
                )
            )

    def _start_timer(self, timer: Awaitable[None]) -> None:
        self._timers.append(asyncio.ensure_future(timer))

    def _reading_paused(self) -> bool:
        return self._paused

    def _frame_count(self) -> int:
        return self._frames_received

    # ----------------------------------------------------------- receiving

    async def _receive_loop(self) -> None:
        # Receive until the websocket ends, then end the connection with why;
        # an end the connection expects (it is closing) is reported to nobody.
        websocket, handler = self._opened, self.handler
        assert websocket is not None
        assert handler is not None
        running = self._operations.running
        receive = websocket.receive
        route = handler.route
        parse = handler.receive
        text_type = WSMsgType.TEXT
        debug = log.isEnabledFor(logging.DEBUG)
        operations = self._operations
        # Frames are counted only for the keep-alive watchdog, when there is one.
        counting = self.settings.keep_alive_timeout is not None
        turn = Turn(
            asyncio.get_running_loop(),
            parsed_frames(websocket),
            readable_probe(websocket.get_extra_info("socket")),
        )
        held = turn.held
        before_receive = turn.before_receive
        paused = self._pressure.paused
        # Frames until the loop asks whether it has read too long without yielding.
        countdown = FRAMES_PER_CHECK
        error: Exception
        try:
            while True:
                if held and before_receive():
                    await asyncio.sleep(0)
                if paused:
                    turn.end()
                    await self._hold_back()
                message = await receive()
                countdown -= 1
                if not countdown:
                    countdown = FRAMES_PER_CHECK
                    if turn.due():
                        # receive() returns at once while frames are parsed:
                        # a backlog would hold the whole event loop.
                        await asyncio.sleep(0)
                if turn.holding:
                    turn.stop_holding()
                if message.type is not text_type:
                    if self._is_closing():
                        return
                    error = frame_error(
                        message,
                        "while operations were running",
                        self.settings.max_msg_size,
                        self.settings.heartbeat,
                    )
                    break
                if counting:
                    self._frames_received += 1
                text = message.data
                if debug:
                    self._log.debug("<<< %s", frame_for_log(text))
                item: ExecutionResult | str | QueueMarker
                routed = route(text)
                if routed is not None:
                    # The payload stays text until the consumer takes it.
                    op_id, item = routed
                else:
                    event = parse(text)
                    if type(event) is Next:
                        op_id, item = event.op_id, event.result
                    elif type(event) is Complete:
                        # Held like a result: it is queued after them anyway.
                        op_id, item = event.op_id, COMPLETE
                    else:
                        turn.end()
                        await self._handle_event(event)
                        continue
                operation = running.get(op_id)
                if operation is not None and operation.connection is self:
                    listener = operation.buffer
                    if operation.handover is None:
                        if listener.feed(item):
                            held.append(listener)
                    else:
                        # Moved here by a renewal: the old copy may still lead.
                        self._queue(
                            listener,
                            operations.from_new(operation, item, ends=item is COMPLETE),
                            held,
                        )
                    turn.bytes += len(text) + RESULT_WEIGHT
                elif operation is not None and self._is_old_copy(operation):
                    self._queue(
                        operation.buffer,
                        operations.from_old(operation, item, ends=item is COMPLETE),
                        held,
                    )
                    turn.bytes += len(text) + RESULT_WEIGHT
                elif debug:
                    self._log_unclaimed("complete" if item is COMPLETE else "a result", op_id)
        except (TransportProtocolError, TransportServerError) as exc:
            error = exc
        except asyncio.TimeoutError:
            error = receive_timeout_error(self.settings.receive_timeout)
        except Exception as exc:
            self._log.exception("unexpected error in the receive loop")
            error = TransportConnectionFailed(f"unexpected error in the receive loop: {exc!r}")
        finally:
            turn.end()
        if isinstance(error, TransportProtocolError):
            self._end(error, handler.protocol_error_close_code)
        else:
            self._end(error, CloseCode.NORMAL_CLOSURE)

    async def _hold_back(self) -> None:
        # Not reading lets aiohttp's buffer fill, which pauses the socket's
        # reading, and TCP's window then slows the server down.
        self._paused = True
        if log.isEnabledFor(logging.DEBUG):
            self._log.debug("a full queue holds reading back")
        try:
            await self._pressure.relieved()
        finally:
            self._paused = False

    def _is_old_copy(self, operation: Operation) -> bool:
        # Whether a renewal moved the operation away from this connection.
        handover = operation.handover
        return handover is not None and handover.overlap.old is self

    @staticmethod
    def _queue(listener: ListenerQueue, messages: Sequence[Any], held: list[ListenerQueue]) -> None:
        # What a handover gave to queue: results, COMPLETE, or an error.
        for message in messages:
            if isinstance(message, BaseException):
                listener.fail(message)
            elif listener.feed(message):
                held.append(listener)

    async def _handle_event(self, event: Event) -> None:
        # Results and complete never get here: the receive loop queues them.
        if isinstance(event, OperationError):
            operations = self._operations
            operation = operations.get(event.op_id)
            if operation is None or not (
                operation.connection is self or self._is_old_copy(operation)
            ):
                if log.isEnabledFor(logging.DEBUG):
                    self._log_unclaimed("an error", event.op_id)
                return
            error = TransportQueryError(
                str(event.errors[0]), query_id=event.op_id, errors=event.errors
            )
            if operation.handover is None:
                operation.buffer.fail(error)
                return
            held: list[ListenerQueue] = []
            if operation.connection is self:
                queued = operations.from_new(operation, error, ends=True)
            else:
                queued = operations.from_old(operation, error, ends=True)
            self._queue(operation.buffer, queued, held)
            operation.buffer.wake()
        elif isinstance(event, ConnectionRejected):
            raise ConnectionRejectedError(
                f"the server reported a connection error: {event.payload!r}"
            )
        else:
            await self._handle_control(event)

    async def _handle_control(self, event: Event) -> None:
        # What a ping, pong, keep-alive, server notice or ignored message asks for.
        handler = self.handler
        assert handler is not None
        if isinstance(event, Ping):
            self.payloads["ping"] = event.payload
            self._ping_received.set()
            if self.settings.answer_pings:
                frame = handler.pong()
                if frame is not None:
                    await self.send(frame)
        elif isinstance(event, Pong):
            self.payloads["pong"] = event.payload
            self._pong_received.set()
        elif isinstance(event, ServerNotice):
            self._log.warning(
                "the server complained about the connection: %s", elide(repr(event.payload))
            )
        elif isinstance(event, Ignored):
            # Known to carry no result (see ProtocolHandler.ignored_types).
            self._log.debug(
                "ignored a %s message, which %s does not define",
                elide(repr(event.message_type), 60),
                handler.subprotocol,
            )

    def _log_unclaimed(self, what: str, op_id: int) -> None:
        # gql and the graphql-ws client ignore such messages too: nobody waits
        # for them, so they can hurt no operation.
        state = "has finished" if op_id <= self._last_issued else "was never started"
        self._log.debug("ignored %s for operation %d, which %s", what, op_id, state)

    # ------------------------------------------------------------- sending

    async def send(self, frame: str, *, secret: bool = False) -> None:
        """Send one text frame; ``secret`` keeps it out of the debug log.

        Raises:
            TransportConnectionFailed: There is no websocket, or it broke.
        """
        websocket = self.websocket
        if websocket is None:
            raise TransportConnectionFailed(NOT_OPEN) from self.error
        if log.isEnabledFor(logging.DEBUG):
            self._log.debug(">>> %s", frame_for_log(frame, secret=secret))
        try:
            await websocket.send_str(frame)
        except SEND_ERRORS as exc:
            raise send_error(exc, self.error)  # noqa: B904 (send_error sets the cause)

    def start_frame(self, op_id: int, payload: Mapping[str, Any]) -> str:
        """Return the frame that starts operation ``op_id``, to :meth:`send`.

        Built apart from the sending, so that the caller can let go of the
        payload while the frame waits for the socket.
        """
        handler = self.handler
        assert handler is not None
        self._last_issued = op_id
        return handler.start(op_id, payload)

    async def stop_operation(self, op_id: int) -> None:
        """Tell the server the client stopped listening to ``op_id``."""
        assert self.handler is not None
        await self.send(self.handler.stop(op_id))

    async def send_ping(self, payload: Any = None) -> None:
        """Send a protocol ``ping``.

        Raises:
            TransportProtocolError: The subprotocol has no ping.
        """
        assert self.handler is not None
        await self._send_control("ping", self.handler.ping(payload))

    async def send_pong(self, payload: Any = None) -> None:
        """Send a protocol ``pong``.

        Raises:
            TransportProtocolError: The subprotocol has no pong.
        """
        assert self.handler is not None
        await self._send_control("pong", self.handler.pong(payload))

    async def _send_control(self, kind: str, frame: str | None) -> None:
        if frame is None:
            subprotocol = self.subprotocol
            raise TransportProtocolError(f"the {subprotocol!r} subprotocol has no {kind} message")
        await self.send(frame)

    # ------------------------------------------------------------- closing

    def _is_closing(self) -> bool:
        return self._lifecycle.state is _CLOSING

    def _malformed(self, error: TransportProtocolError) -> None:
        # Results are queued as frame text and decoded by their consumer (see
        # ProtocolHandler.route).  A malformed one fails the connection as it
        # would have in the receive loop, once everything before it was taken.
        if self._lifecycle.state is ConnectionState.OPEN and self.handler is not None:
            self._end(error, self.handler.protocol_error_close_code)

    def stop_in_background(self, op_id: int) -> None:
        """Tell the server to stop ``op_id``, without waiting for the send; a no-op unless open."""
        if self._lifecycle.state is ConnectionState.OPEN:
            # Cancelled by close(), whose goodbye stops what still runs.
            stop = asyncio.ensure_future(self._stop_quietly(op_id))
            self._stops.add(stop)
            stop.add_done_callback(self._stops.discard)

    async def _stop_quietly(self, op_id: int) -> None:
        try:
            await self.stop_operation(op_id)
        except TransportConnectionFailed:
            self._log.debug("could not stop operation %d", op_id, exc_info=True)

    def begin_close(self, error: Exception, code: int) -> None:
        """Start ending the connection because of ``error``; no-op once ending.

        From here on the receive loop takes the websocket's end as expected.
        Call :meth:`close` to finish.
        """
        self._end(error, code)

    def _end(self, error: Exception, code: int) -> None:
        if self._lifecycle.state in _ENDING:
            return
        self.error = error
        self.close_code = code
        self._lifecycle.move(_CLOSING)
        self._on_end(self, error, code)

    async def close(self, timeout: float | None, *, goodbye: bool) -> None:
        """Close the connection; returns when no task of it is left.

        Args:
            timeout: Seconds allowed for each of the two steps: ending the
                running operations, then closing the websocket.
            goodbye: End normally: stop each running operation and wait
                (within ``timeout``) until its end is queued, then send the
                subprotocol's terminate message before the close frame.
        """
        if self._lifecycle.state is ConnectionState.CLOSED:
            return
        self._end(TransportConnectionFailed(NOT_OPEN), CloseCode.NORMAL_CLOSURE)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout

        def remaining() -> float | None:
            return None if deadline is None else max(deadline - loop.time(), 0.0)

        self._pressure.stop()
        try:
            # The stops of operations that fell behind go with the timers:
            # the goodbye below stops what is still running.
            tasks = [*self._timers, *self._stops]
            self._timers = []
            self._stops.clear()
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks)
            websocket, handler = self._opened, self.handler
            if goodbye and websocket is not None and handler is not None:
                if self._operations.on(self):
                    # As gql: the operations still running end as if the server
                    # had finished them, within the timeout.
                    try:
                        await within(self._stop_operations(handler), timeout)
                    except asyncio.TimeoutError:
                        self._log.debug("operations still running after close_timeout: they fail")
                    # Closing the websocket gets a timeout of its own.
                    deadline = None if timeout is None else loop.time() + timeout
                terminate = handler.terminate()
                if terminate is not None:
                    try:
                        await within(self.send(terminate), remaining())
                    except (asyncio.TimeoutError, TransportConnectionFailed):
                        self._log.debug("could not say goodbye to the server", exc_info=True)
            # Closing while the receive loop waits wakes it (it returns in the
            # CLOSING state) and lets aiohttp wait websocket_close_timeout for
            # the server's close frame; the timeout bounds the whole.
            if websocket is not None:
                settings = self.settings
                wait = close_wait(
                    self.error, remaining(), settings.pong_timeout, settings.keep_alive_timeout
                )
                await self._close_websocket(websocket, wait)
            self._close_transport()
            receive_task, self._receive_task = self._receive_task, None
            if receive_task is not None and not receive_task.done():
                done, _ = await asyncio.wait([receive_task], timeout=remaining())
                if not done:
                    receive_task.cancel()
                    await asyncio.wait([receive_task])
        finally:
            self.websocket = self._opened = None
            self._lifecycle.move(ConnectionState.CLOSED)
            if self.trace is not None:
                self.trace.closed(self.close_code, self.error)

    async def _close_websocket(
        self, websocket: ClientWebSocketResponse, timeout: float | None
    ) -> None:
        try:
            await within(websocket.close(code=self.close_code), timeout)
            return
        except (Exception, asyncio.TimeoutError):
            self._log.debug("closing the websocket failed; cutting the connection", exc_info=True)
            self._cut()
            release_response(websocket)
        except asyncio.CancelledError:
            self._cut()
            release_response(websocket)
            raise

    def _close_transport(self) -> None:
        # Python 3.10's asyncio leaves a TLS transport unmarked when the
        # connection is lost after the handshake (CPython gh-90476, gone with
        # 3.11's new sslproto), and aiohttp then never closes it: it warns
        # "unclosed transport" when collected.  A second close is harmless.
        transport, self._transport = self._transport, None
        if transport is not None and not transport.is_closing():
            transport.close()

    def _cut(self) -> None:
        # A peer that stopped reading leaves our writes queued, and a graceful
        # transport close waits for them to drain: shut the socket down so that
        # every blocked send fails now.
        sock, self._socket = self._socket, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    async def _stop_operations(self, handler: ProtocolHandler) -> None:
        # Stop each subscription still being consumed, then wait until every
        # operation has its end queued (the server's complete, or a local one
        # where the subprotocol confirms no stop) or its consumer has left.
        # Not until each end is consumed: close() may be called from inside
        # an `async for` whose loop cannot move on before it returns.
        operations = self._operations
        try:
            for operation in operations.to_stop(self):
                await self.stop_operation(operation.id)
                if not handler.stop_is_answered:
                    operation.buffer.feed(COMPLETE)
                    operation.buffer.wake()
        except TransportConnectionFailed:
            self._log.debug("could not stop the running operations", exc_info=True)
            return
        if self._receive_task is not None:
            await operations.wait_until_ended(self, self._receive_task)


def close_wait(
    error: Exception | None,
    remaining: float | None,
    pong_timeout: float | None,
    keep_alive_timeout: float | None,
) -> float | None:
    """How long to wait for the server's answer to our close frame.

    A server that missed its pong or keep-alive (``error`` is a
    :class:`HeartbeatTimeoutError`) gets no longer than that timeout: waiting
    the rest of ``close_timeout`` (``remaining``) for a server that stopped
    answering would only delay a reconnect.  Anything else gets ``remaining``.
    """
    if not isinstance(error, HeartbeatTimeoutError):
        return remaining
    grace = min((limit for limit in (pong_timeout, keep_alive_timeout) if limit), default=None)
    if grace is None:
        return remaining
    return grace if remaining is None else min(grace, remaining)
