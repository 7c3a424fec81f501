"""AIOHTTPWebsocketsTransport: GraphQL over one aiohttp websocket, for gql.

This is the only module that awaits the network.  It owns the
``ClientSession`` (unless the user lends one), the websocket, the receive-loop
task, the keep-alive and ping timers and the ``listeners`` dict.  Everything it
knows about the wire format it asks of a protocol handler (``protocols/``).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import socket
from collections.abc import AsyncGenerator, Awaitable, Callable, Collection, Mapping
from ssl import SSLContext
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import aiohttp
from aiohttp import BasicAuth, ClientWSTimeout, Fingerprint, WSMsgType, hdrs
from aiohttp.typedefs import LooseHeaders, StrOrURL
from gql.transport.async_transport import AsyncTransport
from gql.transport.exceptions import (
    TransportAlreadyConnected,
    TransportClosed,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)
from graphql import ExecutionResult
from multidict import CIMultiDict
from yarl import URL

from .aiohttp_glue import (
    frame_error,
    queued_frames,
    read_response_headers,
    readable_probe,
    safe_url,
    with_credentials,
    within,
)
from .exceptions import (
    GQL_4,
    CertificateVerificationFailed,
    ConnectionFailedBase,
    TransportConnectionClosed,
)
from .lifecycle import State
from .listener_queue import COMPLETE, EMPTY, ListenerQueue, QueueMarker
from .protocols import (
    Ack,
    Complete,
    ConnectionRejected,
    KeepAlive,
    Next,
    OperationError,
    Ping,
    Pong,
    ProtocolHandler,
    ServerNotice,
    get_protocol,
    protocol_for_unnegotiated,
    registered_protocols,
)
from .protocols.base import Event, JsonDeserializer, JsonSerializer, elide
from .request_payload import build_payload

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

#: A function returning the ``connection_init`` payload, called on each connect.
InitPayloadFactory: TypeAlias = Callable[
    [], "dict[str, Any] | Awaitable[dict[str, Any] | None] | None"
]

# gql 3.x's words, which its tests compare whole.
_NOT_OPEN = "WebSocket connection is closed"

_DEFAULT_INIT_PAYLOAD: dict[str, Any] = {}
_DEFAULT_CONNECT_ARGS: dict[str, Any] = {}
# A turn of the receive loop (see _Turn) ends once it has queued TURN_BYTES of
# results, each weighing its frame's length plus RESULT_WEIGHT, and at least
# BYTES_PER_WAKE for each consumer it will wake: with a thousand subscriptions
# interleaved that is four or five results per resumption instead of one or
# two.  Results wait as text, which the garbage collector does not track, so
# a turn costs little memory; it ends well before a consumer would notice.
_TURN_BYTES = 256 * 1024
_RESULT_WEIGHT = 64
_BYTES_PER_WAKE = 768
_HOLD_SECONDS = 0.001


class _Turn:
    """The results the receive loop queued since its consumers last ran.

    Waking a consumer for every result would resume it once or twice per
    socket read when many operations interleave, and each resumption costs
    more than decoding a small result.  So the receive loop holds the wake-ups
    while it works through what has already arrived, and ends the turn (wakes
    them all) when the turn has grown to ``_TURN_BYTES`` (and
    ``_BYTES_PER_WAKE`` for each consumer held), when nothing more has
    arrived, or before anything other than a result or a ``complete``.
    Holding while ``receive()`` waits for bytes already on the socket is
    bounded by ``_HOLD_SECONDS``, in case they are only part of a frame.
    """

    __slots__ = ("_loop", "_timer", "bytes", "held")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._timer: asyncio.TimerHandle | None = None
        #: The queues whose waiting consumer got a result this turn.
        self.held: list[ListenerQueue] = []
        #: How much was queued this turn: frame lengths plus _RESULT_WEIGHT each.
        self.bytes = 0

    @property
    def holding(self) -> bool:
        """Whether a wait of ``receive()`` is bounded by :meth:`hold_briefly`."""
        return self._timer is not None

    def hold_briefly(self) -> None:
        """Keep the wake-ups held while ``receive()`` waits, for a short while."""
        if self._timer is None:
            self._timer = self._loop.call_later(_HOLD_SECONDS, self.end)

    def stop_holding(self) -> None:
        """``receive()`` returned: the bound of :meth:`hold_briefly` is no longer needed."""
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()

    def end(self) -> None:
        """Wake every consumer that got something this turn."""
        self.stop_holding()
        held = self.held
        if held:
            for listener in held:
                listener.wake()
            held.clear()
        self.bytes = 0


class AckTimeoutError(asyncio.TimeoutError):
    """No ``connection_ack`` arrived within ``ack_timeout``.

    A subclass of :class:`asyncio.TimeoutError`, which is what gql's transport
    raises in this case and what gql users catch.
    """


class ConnectTimeoutError(asyncio.TimeoutError):
    """The websocket handshake took longer than ``connect_timeout``.

    A subclass of :class:`asyncio.TimeoutError`, which is what gql's transport
    raises in this case.
    """


class AIOHTTPWebsocketsTransport(AsyncTransport):
    """Async transport running GraphQL operations over one aiohttp websocket.

    A drop-in replacement for gql's ``AIOHTTPWebsocketsTransport``: same
    constructor keywords and defaults, same methods and attributes, gql's
    exception classes.  It speaks ``graphql-transport-ws`` (the graphql-ws
    library) and the legacy ``graphql-ws`` (Apollo subscriptions-transport-ws),
    offering ``graphql-transport-ws`` first.

    Args:
        url: The server's websocket URL, e.g. ``"wss://example.com/graphql"``.
        subprotocols: The subprotocols to offer, in order of preference.
            Default: ``["graphql-transport-ws", "graphql-ws"]``.
        heartbeat: Send a websocket PING frame every ``heartbeat`` seconds
            and close the connection if no PONG frame answers it.
        auth: HTTP Basic credentials for the handshake request.
        origin: ``Origin`` header of the handshake request.
        params: Query-string parameters of the handshake request.
        headers: Extra HTTP headers of the handshake request.
        proxy: HTTP proxy URL.
        proxy_auth: Basic credentials for the proxy.
        proxy_headers: Extra headers for the proxy.
        ssl: TLS verification: an ``SSLContext``, ``False`` to skip
            verification, an ``aiohttp.Fingerprint``, or ``None`` for the
            default checks.
        websocket_close_timeout: Seconds to wait for the server's close frame
            after sending ours.
        receive_timeout: Seconds the connection may stay silent before it is
            considered broken; ``None`` waits forever.
        ssl_close_timeout: Seconds allowed for closing the owned
            ``ClientSession``, TLS shutdown included.
        connect_timeout: Seconds allowed for the websocket handshake; ``None``
            waits forever.  Raises :class:`asyncio.TimeoutError`.
        close_timeout: Seconds allowed for :meth:`close`; ``None`` waits
            forever.
        ack_timeout: Seconds to wait for ``connection_ack``; ``None`` waits
            forever.  Raises :class:`AckTimeoutError`, an
            :class:`asyncio.TimeoutError`.
        keep_alive_timeout: Fail the connection when nothing at all arrives
            from the server for this many seconds (``ka`` messages, pings and
            results all count).
        init_payload: The ``connection_init`` payload (often credentials).
            Never logged.  May also be a function, plain or async, returning
            the payload: it is called on every connect, so that a reconnect
            sends fresh credentials.
        ping_interval: Send a protocol ``ping`` every ``ping_interval``
            seconds (``graphql-transport-ws`` only).
        pong_timeout: Seconds to wait for the ``pong``; default
            ``ping_interval / 2``.
        answer_pings: Answer the server's ``ping`` messages with ``pong``.
        session: An ``aiohttp.ClientSession`` to use; it is never closed by
            the transport.
        client_session_args: Keyword arguments for the ``ClientSession`` the
            transport creates.
        connect_args: Keyword arguments for ``ClientSession.ws_connect``;
            they override the ones the transport computes.
        json_serialize: Turns an outgoing message into text (default
            :func:`json.dumps`).
        json_deserialize: Turns received text into Python values (default
            :func:`json.loads`); ``orjson.loads`` is a fast choice.  It gets
            whole messages, except results: their payload alone, when the
            consumer takes them.
        max_msg_size: Largest message accepted from the server, in bytes
            (default 4 MiB, aiohttp's); a larger one fails the connection with
            close code 1009.  ``0`` means no limit.
    """

    APOLLO_SUBPROTOCOL = "graphql-ws"
    GRAPHQLWS_SUBPROTOCOL = "graphql-transport-ws"

    def __init__(
        self,
        url: StrOrURL,
        *,
        subprotocols: Collection[str] | None = None,
        heartbeat: float | None = None,
        auth: BasicAuth | None = None,
        origin: str | None = None,
        params: Mapping[str, str] | None = None,
        headers: LooseHeaders | None = None,
        proxy: StrOrURL | None = None,
        proxy_auth: BasicAuth | None = None,
        proxy_headers: LooseHeaders | None = None,
        ssl: SSLContext | Literal[False] | Fingerprint | None = None,
        websocket_close_timeout: float = 10.0,
        receive_timeout: float | None = None,
        ssl_close_timeout: int | float | None = 10,
        connect_timeout: int | float | None = 10,
        close_timeout: int | float | None = 10,
        ack_timeout: int | float | None = 10,
        keep_alive_timeout: int | float | None = None,
        init_payload: dict[str, Any] | InitPayloadFactory = _DEFAULT_INIT_PAYLOAD,
        ping_interval: int | float | None = None,
        pong_timeout: int | float | None = None,
        answer_pings: bool = True,
        session: aiohttp.ClientSession | None = None,
        client_session_args: dict[str, Any] | None = None,
        connect_args: dict[str, Any] = _DEFAULT_CONNECT_ARGS,
        json_serialize: JsonSerializer = json.dumps,
        json_deserialize: JsonDeserializer = json.loads,
        max_msg_size: int = 4 * 1024 * 1024,
    ) -> None:
        offered = (
            (self.GRAPHQLWS_SUBPROTOCOL, self.APOLLO_SUBPROTOCOL)
            if subprotocols is None
            else tuple(subprotocols)
        )
        if not offered:
            raise ValueError("subprotocols must name at least one subprotocol")
        unknown = [name for name in offered if get_protocol(name) is None]
        if unknown:
            raise ValueError(
                f"no handler is registered for subprotocol(s) {unknown}; "
                f"registered: {list(registered_protocols())}"
            )
        self.url: str = str(url)
        self.subprotocols: tuple[str, ...] = offered
        self.heartbeat = heartbeat
        self.auth = auth
        self.origin = origin
        self.params = params
        # gql's transport reports no headers as {}, not None.
        self.headers: LooseHeaders = {} if headers is None else headers
        self.proxy = proxy
        self.proxy_auth = proxy_auth
        self.proxy_headers = proxy_headers
        self.ssl = ssl
        self.websocket_close_timeout = websocket_close_timeout
        self.receive_timeout = receive_timeout
        self.ssl_close_timeout = ssl_close_timeout
        self.connect_timeout = connect_timeout
        self.close_timeout = close_timeout
        self.ack_timeout = ack_timeout
        self.keep_alive_timeout = keep_alive_timeout
        # A fresh dict for the shared default, so in-place edits stay per instance.
        self.init_payload: dict[str, Any] | InitPayloadFactory = (
            {} if init_payload is _DEFAULT_INIT_PAYLOAD else init_payload
        )
        self.ping_interval = ping_interval
        self.pong_timeout: int | float | None = (
            pong_timeout if pong_timeout is not None or ping_interval is None else ping_interval / 2
        )
        self.answer_pings = answer_pings
        self.client_session_args: dict[str, Any] = dict(client_session_args or {})
        self.connect_args: dict[str, Any] = (
            {} if connect_args is _DEFAULT_CONNECT_ARGS else connect_args
        )
        self.json_serialize = json_serialize
        self.json_deserialize = json_deserialize
        self.max_msg_size = max_msg_size

        self._user_session = session
        #: The aiohttp session in use while connected, else ``None``.
        self.session: aiohttp.ClientSession | None = None
        #: The live websocket while connected, else ``None``.
        self.websocket: ClientWebSocketResponse | None = None
        #: The negotiated subprotocol of the current (or last) connection.
        self.subprotocol: str | None = None
        #: Last ``connection_ack``, ``ping`` and ``pong`` payloads received.
        self.payloads: dict[str, Any] = {}
        #: The running operations, by operation id.
        self.listeners: dict[int, ListenerQueue] = {}
        #: The id the next operation will get; ids restart at 1 on each connect.
        self.next_query_id: int = 1
        #: Why the last connection ended, ``None`` while connected.
        self.close_exception: Exception | None = None
        #: Set each time the server sends a protocol ``ping``.
        self.ping_received: asyncio.Event = asyncio.Event()
        #: Set each time the server sends a protocol ``pong``.
        self.pong_received: asyncio.Event = asyncio.Event()

        self._state = State.CLOSED
        self._response_headers: dict[str, str] = {}
        self._handler: ProtocolHandler | None = None
        self._socket: socket.socket | None = None
        self._receive_task: asyncio.Task[None] | None = None
        self._timer_tasks: list[asyncio.Task[None]] = []
        self._shutdown_task: asyncio.Task[None] | None = None
        self._shutdown_waiters: list[asyncio.Future[None]] = []
        self._connect_task: asyncio.Task[Any] | None = None
        # Tasks whose connect() was just refused (see _refuse).
        self._refused_tasks: set[asyncio.Task[Any]] = set()
        self._close_requested = False
        self._frames_received = 0
        self._decode_frame: Callable[[int, str], ExecutionResult] | None = None
        self._on_malformed: Callable[[TransportProtocolError], None] | None = None

    # ------------------------------------------------------------------ state

    @property
    def state(self) -> State:
        """The lifecycle state (see :class:`~gql_aiohttp_websockets.State`)."""
        return self._state

    def _set_state(self, state: State) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("state %s -> %s", self._state.value, state.value)
        self._state = state

    @property
    def response_headers(self) -> dict[str, str]:
        """The HTTP headers of the server's handshake response (last connection)."""
        return self._response_headers

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
        if self._state is State.CLOSING and self._shutdown_task is not None:
            await self._wait_shutdown(self._shutdown_task)
        current = asyncio.current_task()
        if self._state is not State.CLOSED:
            # gql 4's session closes the transport after any failed
            # connect(); gql 3.5's Client does not (see _refuse).
            if current is not None and GQL_4:
                self._refuse(current)
            raise TransportAlreadyConnected("Transport is already connected")
        self._set_state(State.CONNECTING)
        self._connect_task = current
        self._close_requested = False
        self.ping_received = asyncio.Event()
        self.pong_received = asyncio.Event()
        self.payloads = {}
        self.close_exception = None
        try:
            offer = self.subprotocols
            while True:
                try:
                    await self._connect_once(offer)
                    break
                except TransportConnectionClosed as exc:
                    retry_offer = self._offer_after_refusal(offer, exc)
                    if not retry_offer:
                        raise
                    log.info(
                        "the server closed with 1002 right after agreeing to %r; "
                        "connecting again offering %s",
                        self.subprotocol,
                        ", ".join(retry_offer),
                    )
                    await self._abort_connect(1000)
                    self._set_state(State.CONNECTING)
                    offer = retry_offer
        except asyncio.CancelledError:
            await self._abort_connect(4499)
            if self._close_requested:
                task = asyncio.current_task()
                if task is not None and hasattr(task, "uncancel"):
                    task.uncancel()
                raise TransportClosed(
                    "close() was called while the transport was connecting"
                ) from None
            raise
        except AckTimeoutError:
            await self._abort_connect(4504)
            raise
        except BaseException:
            await self._abort_connect(1000)
            raise
        finally:
            self._connect_task = None
        self._start_running()

    def _refuse(self, task: asyncio.Task[Any]) -> None:
        # gql 4's session answers any failed connect() with close(), straight
        # away in the same task.  When the failure was this refusal, that
        # close() must not end the connection another task is making or
        # using (gql bug #105), so it is excused: until the loop's next
        # iteration, and only in the refused task.
        self._refused_tasks.add(task)
        asyncio.get_running_loop().call_soon(self._refused_tasks.discard, task)

    async def _connect_once(self, offer: tuple[str, ...]) -> None:
        try:
            await within(self._open_websocket(offer), self.connect_timeout)
        except asyncio.TimeoutError:
            raise ConnectTimeoutError(
                f"the websocket handshake with {safe_url(self.url)} took longer than "
                f"connect_timeout={self.connect_timeout}s"
            ) from None
        self._set_state(State.INITIALIZING)
        try:
            await within(self._initialize(), self.ack_timeout)
        except asyncio.TimeoutError:
            raise AckTimeoutError(
                f"the server sent no connection_ack within ack_timeout={self.ack_timeout}s"
            ) from None

    def _offer_after_refusal(
        self, offer: tuple[str, ...], error: TransportConnectionClosed
    ) -> tuple[str, ...]:
        # subscriptions-transport-ws (ws 7) echoes the client's first offer even
        # when it cannot speak it, then closes with 1002 Protocol Error.  gql
        # offered the legacy protocol first and never met this; offering the
        # rest again keeps the migration a one-line change for such servers.
        if error.code != 1002 or self.subprotocol not in offer or len(offer) < 2:
            return ()
        return tuple(name for name in offer if name != self.subprotocol)

    async def _open_websocket(self, offer: tuple[str, ...]) -> None:
        if self._user_session is not None:
            session = self._user_session
        else:
            session = aiohttp.ClientSession(**self.client_session_args)
        self.session = session
        headers = with_credentials(self.headers, hdrs.AUTHORIZATION, self.auth)
        proxy_headers = with_credentials(
            self.proxy_headers, hdrs.PROXY_AUTHORIZATION, self.proxy_auth
        )
        if self.proxy_auth is not None and URL(self.url).scheme in ("ws", "http"):
            # Without TLS aiohttp forwards the request itself instead of opening
            # a CONNECT tunnel, and sends proxy_headers only with CONNECT.
            headers = CIMultiDict(headers or {})
            headers[hdrs.PROXY_AUTHORIZATION] = self.proxy_auth.encode()
        kwargs: dict[str, Any] = {
            "headers": headers,
            "heartbeat": self.heartbeat,
            "origin": self.origin,
            "params": self.params,
            "proxy": self.proxy,
            "proxy_headers": proxy_headers,
            "timeout": ClientWSTimeout(
                ws_receive=self.receive_timeout, ws_close=self.websocket_close_timeout
            ),
            "protocols": offer,
            "max_msg_size": self.max_msg_size,
        }
        if self.ssl is not None:
            kwargs["ssl"] = self.ssl
        kwargs.update(self.connect_args)
        try:
            websocket = await session.ws_connect(self.url, **kwargs)
        except aiohttp.WSServerHandshakeError as exc:
            raise ConnectionFailedBase(
                f"the server at {safe_url(self.url)} refused the websocket upgrade: "
                f"HTTP {exc.status} {exc.message}"
            ) from exc
        except aiohttp.ClientConnectorCertificateError as exc:
            raise CertificateVerificationFailed(
                f"TLS certificate verification failed for {safe_url(self.url)}: "
                f"{exc.certificate_error}; pass ssl= an SSLContext that trusts the server",
                exc,
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise ConnectionFailedBase(
                f"could not open a websocket to {safe_url(self.url)}: "
                f"{exc.__class__.__name__}: {exc}"
            ) from exc
        self.websocket = websocket
        self._socket = websocket.get_extra_info("socket")
        self._response_headers = read_response_headers(websocket)
        self.subprotocol = self._negotiated_subprotocol(offer)
        handler_class = get_protocol(self.subprotocol)
        assert handler_class is not None  # the offer only holds registered names
        self._handler = handler_class(
            json_serialize=self.json_serialize, json_deserialize=self.json_deserialize
        )

    def _negotiated_subprotocol(self, offer: tuple[str, ...]) -> str:
        # aiohttp drops a subprotocol answer that was not offered, so read the header.
        answered = self._response_headers.get("Sec-WebSocket-Protocol", "").strip()
        if not answered:
            chosen = protocol_for_unnegotiated(offer)
            log.debug("the server named no subprotocol; assuming %r", chosen)
            return chosen
        if answered not in offer:
            raise TransportProtocolError(
                f"the server chose subprotocol {answered!r}, which was not offered "
                f"(offered: {', '.join(offer)})"
            )
        return answered

    async def _initialize(self) -> None:
        websocket, handler = self._live()
        await self._send(handler.connection_init(await self._init_payload()), secret=True)
        while True:
            message = await websocket.receive()
            if message.type is not WSMsgType.TEXT:
                raise frame_error(
                    message, "while waiting for connection_ack", self.max_msg_size, self.heartbeat
                )
            if log.isEnabledFor(logging.DEBUG):
                log.debug("<<< %s", elide(message.data))
            event = handler.receive(message.data)
            if type(event) is Ack:
                self.payloads["connection_ack"] = event.payload
                return
            if type(event) is ConnectionRejected:
                raise TransportServerError(
                    f"the server rejected the connection (connection_error): {event.payload!r}"
                )
            if type(event) in (Ping, Pong, KeepAlive, ServerNotice):
                await self._handle_control(event)
                continue
            raise TransportProtocolError(
                f"the server sent {_describe(event)} before connection_ack; only ping, pong "
                "and keep-alive messages may come first"
            )

    async def _init_payload(self) -> dict[str, Any] | None:
        payload = self.init_payload
        if not callable(payload):
            return payload
        produced = payload()
        if inspect.isawaitable(produced):
            produced = await produced
        return produced

    async def _abort_connect(self, close_code: int) -> None:
        websocket, self.websocket = self.websocket, None
        if websocket is not None:
            await self._close_websocket(websocket, close_code, self.close_timeout)
        await self._release_session()
        self._handler = None
        self._set_state(State.CLOSED)

    def _start_running(self) -> None:
        self.listeners = {}
        self.next_query_id = 1
        self._frames_received = 0
        self._set_state(State.OPEN)
        websocket, handler = self._live()
        self._decode_frame = handler.routed_result
        self._on_malformed = self._malformed_result(handler)
        self._receive_task = asyncio.ensure_future(self._receive_loop(websocket, handler))
        if self.ping_interval is not None and handler.supports_ping:
            self._timer_tasks.append(asyncio.ensure_future(self._ping_loop(self.ping_interval)))
        if self.keep_alive_timeout is not None:
            self._timer_tasks.append(
                asyncio.ensure_future(self._keep_alive_watchdog(self.keep_alive_timeout))
            )

    def _malformed_result(
        self, handler: ProtocolHandler
    ) -> Callable[[TransportProtocolError], None]:
        # Results are queued as frame text and decoded by their consumer (see
        # ProtocolHandler.route).  A malformed one fails the connection as it
        # would have in the receive loop, once everything before it was taken.
        def fail(error: TransportProtocolError) -> None:
            if self._handler is handler and self._state is State.OPEN:
                self._begin_shutdown(
                    error, clean=False, close_code=handler.protocol_error_close_code
                )

        return fail

    def _live(self) -> tuple[ClientWebSocketResponse, ProtocolHandler]:
        if self.websocket is None or self._handler is None:
            raise ConnectionFailedBase(_NOT_OPEN) from self.close_exception
        return self.websocket, self._handler

    # ---------------------------------------------------------------- sending

    async def _send(self, frame: str, *, secret: bool = False) -> None:
        websocket = self.websocket
        if websocket is None:
            raise ConnectionFailedBase(_NOT_OPEN) from self.close_exception
        if log.isEnabledFor(logging.DEBUG):
            log.debug(">>> %s", "connection_init (payload not logged)" if secret else elide(frame))
        try:
            await websocket.send_str(frame)
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
            if self.close_exception is not None:
                raise ConnectionFailedBase(
                    f"could not send to the server: the connection closed: {self.close_exception}"
                ) from self.close_exception
            raise ConnectionFailedBase(f"could not send to the server: {exc}") from exc

    async def send_ping(self, payload: Any = None) -> None:
        """Send a protocol ``ping`` (``graphql-transport-ws`` only).

        Args:
            payload: Optional JSON object sent along.

        Raises:
            TransportProtocolError: The negotiated subprotocol has no ping.
        """
        _, handler = self._live()
        frame = handler.ping(payload)
        if frame is None:
            raise TransportProtocolError(
                f"the {handler.subprotocol!r} subprotocol has no ping message"
            )
        await self._send(frame)

    async def send_pong(self, payload: Any = None) -> None:
        """Send a protocol ``pong`` (``graphql-transport-ws`` only).

        Args:
            payload: Optional JSON object sent along.

        Raises:
            TransportProtocolError: The negotiated subprotocol has no pong.
        """
        _, handler = self._live()
        frame = handler.pong(payload)
        if frame is None:
            raise TransportProtocolError(
                f"the {handler.subprotocol!r} subprotocol has no pong message"
            )
        await self._send(frame)

    # -------------------------------------------------------------- receiving

    async def _receive_loop(
        self, websocket: ClientWebSocketResponse, handler: ProtocolHandler
    ) -> None:
        listeners = self.listeners
        receive = websocket.receive
        route = handler.route
        parse = handler.receive
        text_type = WSMsgType.TEXT
        debug = log.isEnabledFor(logging.DEBUG)
        # Frames are counted only for the keep-alive watchdog, when there is one.
        counting = self.keep_alive_timeout is not None
        queued = queued_frames(websocket)
        readable = readable_probe(websocket) if queued is not None else None
        turn = _Turn(asyncio.get_running_loop())
        held = turn.held
        holding = False
        error: Exception
        try:
            while True:
                if held:
                    if turn.bytes >= _TURN_BYTES and turn.bytes >= len(held) * _BYTES_PER_WAKE:
                        turn.end()
                        await asyncio.sleep(0)
                    elif queued is None or not queued:
                        # receive() is about to wait for the network.
                        if readable is not None and readable():
                            turn.hold_briefly()
                            holding = True
                        else:
                            turn.end()
                message = await receive()
                if holding:
                    holding = False
                    turn.stop_holding()
                if message.type is not text_type:
                    if self._state is State.CLOSING:
                        return
                    error = frame_error(
                        message, "while operations were running", self.max_msg_size, self.heartbeat
                    )
                    break
                if counting:
                    self._frames_received += 1
                text = message.data
                if debug:
                    log.debug("<<< %s", elide(text))
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
                        await self._handle_event(event, listeners)
                        continue
                listener = listeners.get(op_id)
                if listener is not None:
                    if listener.put_held(item):
                        held.append(listener)
                    turn.bytes += len(text) + _RESULT_WEIGHT
                elif debug:
                    self._log_unclaimed("complete" if item is COMPLETE else "a result", op_id)
        except (TransportProtocolError, TransportServerError) as exc:
            error = exc
        except asyncio.TimeoutError:
            error = TransportConnectionClosed(
                f"no message arrived from the server within receive_timeout={self.receive_timeout}s"
            )
        except asyncio.CancelledError:
            return
        except Exception as exc:
            log.exception("unexpected error in the receive loop")
            error = ConnectionFailedBase(f"unexpected error in the receive loop: {exc!r}")
        finally:
            turn.end()
        if isinstance(error, TransportProtocolError):
            self._begin_shutdown(error, clean=False, close_code=handler.protocol_error_close_code)
        else:
            self._begin_shutdown(error, clean=False, close_code=1000)

    async def _handle_event(self, event: Event, listeners: dict[int, ListenerQueue]) -> None:
        # Results and complete never get here: the receive loop queues them.
        if isinstance(event, OperationError):
            listener = listeners.get(event.op_id)
            if listener is None:
                if log.isEnabledFor(logging.DEBUG):
                    self._log_unclaimed("an error", event.op_id)
            else:
                listener.set_exception_nowait(
                    TransportQueryError(
                        str(event.errors[0]), query_id=event.op_id, errors=event.errors
                    )
                )
        elif isinstance(event, ConnectionRejected):
            raise TransportServerError(f"the server reported a connection error: {event.payload!r}")
        elif isinstance(event, Ack):
            raise TransportProtocolError("the server sent a second connection_ack")
        else:
            await self._handle_control(event)

    async def _handle_control(self, event: Event) -> None:
        if isinstance(event, Ping):
            self.payloads["ping"] = event.payload
            self.ping_received.set()
            if self.answer_pings and self._handler is not None:
                frame = self._handler.pong()
                if frame is not None:
                    await self._send(frame)
        elif isinstance(event, Pong):
            self.payloads["pong"] = event.payload
            self.pong_received.set()
        elif isinstance(event, ServerNotice):
            log.warning(
                "the server complained about the connection: %s", elide(repr(event.payload))
            )

    def _log_unclaimed(self, what: str, op_id: int) -> None:
        # gql and the graphql-ws client ignore such messages too: nobody waits
        # for them, so they can hurt no operation.
        state = "has finished" if op_id < self.next_query_id else "was never started"
        log.debug("ignored %s for operation %d, which %s", what, op_id, state)

    # ----------------------------------------------------------------- timers

    async def _ping_loop(self, interval: float) -> None:
        try:
            while True:
                await asyncio.sleep(interval)
                self.pong_received.clear()
                try:
                    # The send counts too: a server that stopped reading blocks it.
                    await within(self._ping_and_wait(), self.pong_timeout)
                except asyncio.TimeoutError:
                    self._begin_shutdown(
                        TransportServerError(
                            f"No pong received within pong_timeout={self.pong_timeout}s of a ping"
                        ),
                        clean=False,
                        close_code=1001,
                    )
                    return
        except (asyncio.CancelledError, ConnectionFailedBase):
            return
        except Exception as exc:
            self._begin_shutdown(exc, clean=False, close_code=1011)

    async def _ping_and_wait(self) -> None:
        await self.send_ping()
        await self.pong_received.wait()

    async def _keep_alive_watchdog(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        seen = self._frames_received
        last_seen_at = loop.time()
        # A quarter of the timeout, however short: a server that stays silent
        # for just over it is noticed.
        step = max(timeout / 4, 0.0001)
        try:
            while True:
                await asyncio.sleep(step)
                now = loop.time()
                if self._frames_received != seen:
                    seen = self._frames_received
                    last_seen_at = now
                elif now - last_seen_at >= timeout:
                    self._begin_shutdown(
                        TransportServerError(
                            "No keep-alive message has been received from the server within "
                            f"keep_alive_timeout={timeout}s (nor any other message)"
                        ),
                        clean=False,
                        close_code=1001,
                    )
                    return
        except asyncio.CancelledError:
            return

    # ------------------------------------------------------------- operations

    async def subscribe(
        self,
        request: Any,
        variable_values: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *,
        send_stop: bool | None = True,
        extensions: dict[str, Any] | None = None,
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

        Yields:
            Each ``ExecutionResult``; one whose ``errors`` is set is a normal
            result, not the end.

        Raises:
            TransportQueryError: The server ended the operation with ``error``.
            TransportConnectionFailed: The connection broke (after every result
                received before the break was yielded).
            TransportClosed: :meth:`close` was called meanwhile.
        """
        payload = build_payload(request, variable_values, operation_name, extensions)
        handler = self._running()
        listener = self._register(send_stop is True)
        op_id = listener.query_id
        listeners = self.listeners
        try:
            # Not kept for the life of the subscription: a connection may hold
            # thousands of them.
            frame = handler.start(op_id, payload)
            del payload
            await self._send(frame)
            del frame
            # The connection's one bound method: nothing allocated per operation.
            decode = self._decode_frame
            assert decode is not None
            while True:
                ready = listener.take_ready()
                if not ready:
                    await listener.waiter()
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
                await self._send_stop(handler, op_id)
            raise
        finally:
            if listeners.get(op_id) is listener:
                del listeners[op_id]
            if listener.on_end is not None:
                listener.ended()

    async def _send_stop(self, handler: ProtocolHandler, op_id: int) -> None:
        if self._state is not State.OPEN:
            return
        try:
            await self._send(handler.stop(op_id))
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
        # subscribe() without the async generator: a query runs once per call,
        # and the generator's creation and aclose() were a fifth of its cost.
        payload = build_payload(request, variable_values, operation_name, extensions)
        handler = self._running()
        listener = self._register(False)
        op_id = listener.query_id
        listeners = self.listeners
        try:
            await self._send(handler.start(op_id, payload))
            while True:
                item = listener.take_nowait()
                if item is EMPTY:
                    await listener.waiter()
                elif item is COMPLETE:
                    raise TransportQueryError(
                        "Query completed without any answer received from the server",
                        query_id=op_id,
                    )
                else:
                    return item  # type: ignore[return-value]
        finally:
            if listeners.get(op_id) is listener:
                del listeners[op_id]
            if listener.on_end is not None:
                listener.ended()

    def _register(self, send_stop: bool) -> ListenerQueue:
        op_id = self.next_query_id
        self.next_query_id = op_id + 1
        listener = ListenerQueue(op_id, send_stop, self._decode_frame, self._on_malformed)
        self.listeners[op_id] = listener
        return listener

    def _running(self) -> ProtocolHandler:
        if self._state is not State.OPEN:
            if self.close_exception is not None:
                raise ConnectionFailedBase(
                    f"the transport is not connected: {self.close_exception}"
                ) from self.close_exception
            raise ConnectionFailedBase(
                "the transport is not connected; call connect() first "
                "(or use 'async with Client(transport=...)')"
            )
        return self._live()[1]

    # ---------------------------------------------------------------- closing

    async def close(self) -> None:
        """Close the connection: stop every operation, then close the websocket.

        Sends a stop for each running operation, ``connection_terminate`` where
        the subprotocol has it, and a close frame with code 1000.  Every
        running operation then raises :class:`~gql.transport.exceptions.TransportClosed`
        after its queued results.  Safe to call at any time, also twice and
        while connecting; returns once no task of the transport is left.
        """
        current = asyncio.current_task()
        if current is not None and current in self._refused_tasks:
            self._refused_tasks.discard(current)
            log.debug("close() right after a refused connect(): the connection is not ours to end")
            return
        if self._state in (State.CONNECTING, State.INITIALIZING):
            connect_task = self._connect_task
            if connect_task is not None and connect_task is not current:
                self._close_requested = True
                connect_task.cancel()
                await asyncio.wait([connect_task], timeout=self.close_timeout)
            return
        if self._state is State.OPEN:
            task = self._begin_shutdown(
                TransportClosed("Transport closed by user"), clean=True, close_code=1000
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
        # The shutdown bounds each of its steps by close_timeout (and the session
        # by ssl_close_timeout), so waiting for it is bounded too.  Each caller
        # waits on a future of its own, which the shutdown resolves as its last
        # step: cancelling a close() cancels that future, never the cleanup,
        # and the caller resumes one loop iteration sooner than through
        # asyncio.shield().
        if task.done():
            return
        waiter = asyncio.get_running_loop().create_future()
        self._shutdown_waiters.append(waiter)
        await waiter

    def _release_shutdown_waiters(self, _: object = None) -> None:
        waiters, self._shutdown_waiters = self._shutdown_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _begin_shutdown(
        self, error: Exception, *, clean: bool, close_code: int
    ) -> asyncio.Task[None]:
        if self._shutdown_task is None:
            if log.isEnabledFor(logging.DEBUG):
                log.debug("closing: %r", error)
            self._set_state(State.CLOSING)
            self.close_exception = error
            self._shutdown_task = asyncio.ensure_future(
                self._shutdown(error, clean=clean, close_code=close_code)
            )
            # Also if the task never ran (cancelled before its first step).
            self._shutdown_task.add_done_callback(self._release_shutdown_waiters)
        return self._shutdown_task

    async def _shutdown(self, error: Exception, *, clean: bool, close_code: int) -> None:
        loop = asyncio.get_running_loop()
        budget = self.close_timeout
        deadline = None if budget is None else loop.time() + budget

        def remaining() -> float | None:
            return None if deadline is None else max(deadline - loop.time(), 0.0)

        try:
            timers, self._timer_tasks = self._timer_tasks, []
            for timer in timers:
                timer.cancel()
            if timers:
                await asyncio.wait(timers)
            websocket, handler = self.websocket, self._handler
            if clean and websocket is not None and handler is not None:
                if self.listeners:
                    # As gql: the operations still running end as if the server
                    # had finished them, within close_timeout.
                    try:
                        await within(self._stop_operations(handler), budget)
                    except asyncio.TimeoutError:
                        log.debug("operations still running after close_timeout: they fail")
                    # Closing the websocket gets a close_timeout of its own.
                    deadline = None if budget is None else loop.time() + budget
                goodbye = handler.terminate()
                if goodbye is not None:
                    try:
                        await within(self._send(goodbye), remaining())
                    except (asyncio.TimeoutError, ConnectionFailedBase):
                        log.debug("could not say goodbye to the server", exc_info=True)
            # Closing while the receive loop waits wakes it (it returns in the
            # CLOSING state) and lets aiohttp wait websocket_close_timeout for
            # the server's close frame; close_timeout bounds the whole.
            if websocket is not None:
                await self._close_websocket(websocket, close_code, remaining())
            receive_task, self._receive_task = self._receive_task, None
            if receive_task is not None and not receive_task.done():
                done, _ = await asyncio.wait([receive_task], timeout=remaining())
                if not done:
                    receive_task.cancel()
                    await asyncio.wait([receive_task])
            for listener in self.listeners.values():
                listener.set_exception_nowait(error)
            await self._release_session()
        except Exception:
            log.exception("unexpected error while closing the transport")
        finally:
            self.websocket = None
            self._handler = None
            self._shutdown_task = None
            self._set_state(State.CLOSED)
            self._release_shutdown_waiters()

    async def _close_websocket(
        self, websocket: ClientWebSocketResponse, code: int, timeout: float | None
    ) -> None:
        try:
            await within(websocket.close(code=code), timeout)
            return
        except (Exception, asyncio.TimeoutError, asyncio.CancelledError):
            log.debug("closing the websocket failed; cutting the connection", exc_info=True)
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
        listeners = self.listeners
        try:
            for op_id, listener in list(listeners.items()):
                if listener.send_stop:
                    listener.send_stop = False
                    await self._send(handler.stop(op_id))
                    if not handler.stop_is_answered:
                        listener.put_complete()
        except ConnectionFailedBase:
            log.debug("could not stop the running operations", exc_info=True)
            return
        running = [listener for listener in listeners.values() if not listener.closed]
        receive_task = self._receive_task
        if not running or receive_task is None or receive_task.done():
            return
        all_ended = asyncio.get_running_loop().create_future()
        left = len(running)

        def one_ended() -> None:
            nonlocal left
            left -= 1
            if not left and not all_ended.done():
                all_ended.set_result(None)

        for listener in running:
            listener.on_end = one_ended
        try:
            # The receive loop ending (the server closed, say) ends the wait too.
            await asyncio.wait([all_ended, receive_task], return_when=asyncio.FIRST_COMPLETED)
        finally:
            all_ended.cancel()
            for listener in running:
                listener.on_end = None

    async def _release_session(self) -> None:
        session, self.session = self.session, None
        if session is None or session is self._user_session:
            return
        try:
            await within(session.close(), self.ssl_close_timeout)
        except (Exception, asyncio.TimeoutError):
            log.debug("closing the aiohttp session failed", exc_info=True)


def _describe(event: Event) -> str:
    names = {
        Ack: "connection_ack",
        Next: "a result",
        OperationError: "an error",
        Complete: "complete",
        Ping: "ping",
        Pong: "pong",
        KeepAlive: "a keep-alive",
        ConnectionRejected: "connection_error",
        ServerNotice: "an error without id",
    }
    return names.get(type(event), type(event).__name__)
