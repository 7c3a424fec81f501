"""TransportOptions: the transport's constructor keywords, kept as its attributes."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import fields
from ssl import SSLContext
from typing import Any, Literal, TypeAlias

import aiohttp
from aiohttp import BasicAuth, Fingerprint
from aiohttp.typedefs import LooseHeaders, StrOrURL

from .flow_control import DEFAULT_MAX_QUEUED_RESULTS, Overflow, overflow_policy, queue_limit
from .lifecycle_events import EventCallback
from .protocols import get_protocol, registered_protocols
from .protocols.results import JsonDeserializer, JsonSerializer
from .retry import RetryPolicy, retry_policy
from .settings import ConnectionSettings

__all__ = ["InitPayloadFactory", "TransportOptions"]

#: A function returning the ``connection_init`` payload, called on each connect.
InitPayloadFactory: TypeAlias = Callable[
    [], "dict[str, Any] | Awaitable[dict[str, Any] | None] | None"
]

_DEFAULT_INIT_PAYLOAD: dict[str, Any] = {}
_DEFAULT_CONNECT_ARGS: dict[str, Any] = {}


class TransportOptions:
    """The constructor of the transport: gql's keywords, their defaults and checks.

    Every keyword of gql 3.5's ``AIOHTTPWebsocketsTransport`` with the same
    default, plus gql 4's ``session`` and a few of ours.  Each is kept as the
    public attribute of the same name, which gql users read and may change
    between connects: a connection reads them when it is made.

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
        close_timeout: Seconds allowed for closing
            (:meth:`~gql_aiohttp_websockets.AIOHTTPWebsocketsTransport.close`);
            ``None`` waits forever.
        ack_timeout: Seconds to wait for ``connection_ack``; ``None`` waits
            forever.  Raises :class:`~gql_aiohttp_websockets.AckTimeoutError`, an
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
        reconnect: Replace a lost connection and carry the running
            subscriptions over to the new one: ``True`` for the default
            :class:`~gql_aiohttp_websockets.RetryPolicy`, or a policy of your
            own.  Off by default, as in gql.  See :doc:`/reconnection`.
        on_event: Called with each lifecycle event
            (:data:`~gql_aiohttp_websockets.TransportEvent`), synchronously;
            what it raises is logged.
        max_queued_results: The most results one operation may have waiting
            for its consumer (default 10,000); ``None`` for no limit.  Also a
            keyword of
            :meth:`~gql_aiohttp_websockets.AIOHTTPWebsocketsTransport.subscribe`,
            for one subscription.  See
            :doc:`/flow-control`.
        on_queue_full: What a result arriving at the limit does:
            ``"fail"`` (the default), ``"keep_newest"`` or ``"backpressure"``
            (:class:`~gql_aiohttp_websockets.Overflow`).  Also a keyword of
            :meth:`~gql_aiohttp_websockets.AIOHTTPWebsocketsTransport.subscribe`.
        max_operations_per_connection: The most operations one connection
            carries at once, for servers that cap them (Strawberry: 100 by
            default).  An operation that finds every open connection at the
            cap opens another one (same options; a callable ``init_payload``
            is called again) and runs there; an extra connection closes once
            its last operation ends.  ``None`` (the default): one connection.
            See :doc:`/server-limits`.
        renew_every: Renew each connection this many seconds after the
            server acknowledged it (see
            :meth:`~gql_aiohttp_websockets.AIOHTTPWebsocketsTransport.renew`):
            a new connection is opened (a callable ``init_payload`` is called
            again, for fresh credentials) and the subscriptions move to it
            without a gap before the old one closes.  Set it below the
            lifetime of the credentials a server closes the connection at.
            ``None`` (the default): only when ``renew()`` is called.  See
            :doc:`/reconnection`.
        tracer_provider: The OpenTelemetry ``TracerProvider`` for the
            operations' and connections' spans; ``None`` (the default): the
            global one.  Needs the ``otel`` extra.  See :doc:`/observability`.
        meter_provider: The OpenTelemetry ``MeterProvider`` for the metrics;
            ``None`` (the default): the global one.  Needs the ``otel`` extra.
        send_traceparent: Send the W3C ``traceparent`` (and ``tracestate``)
            of each operation's span in the operation's ``extensions``, for
            servers that continue the trace.  Off by default.
        trace_document: Record each operation's document text on its span
            (``graphql.document``); by default only its hash is.  Variables
            and the init payload are never recorded.
    """

    #: The legacy subprotocol's name (Apollo subscriptions-transport-ws).
    APOLLO_SUBPROTOCOL = "graphql-ws"
    #: The graphql-ws library's subprotocol's name.
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
        reconnect: bool | RetryPolicy = False,
        on_event: EventCallback | None = None,
        max_queued_results: int | None = DEFAULT_MAX_QUEUED_RESULTS,
        on_queue_full: Overflow | str = Overflow.FAIL,
        max_operations_per_connection: int | None = None,
        renew_every: float | None = None,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        send_traceparent: bool = False,
        trace_document: bool = False,
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
        #: The retry policy, ``None`` when reconnection is off; ``True`` and
        #: ``False`` may also be set, read at the next connect.
        self.reconnect: bool | RetryPolicy | None = retry_policy(reconnect)
        self.on_event = on_event
        queue_limit(max_queued_results)
        self.max_queued_results = max_queued_results
        self.on_queue_full: Overflow = overflow_policy(on_queue_full)
        if max_operations_per_connection is not None and max_operations_per_connection < 1:
            raise ValueError(
                "max_operations_per_connection must be None or at least 1, "
                f"got {max_operations_per_connection}"
            )
        #: Read at each connect.
        self.max_operations_per_connection = max_operations_per_connection
        if renew_every is not None and not renew_every > 0:
            raise ValueError(
                f"renew_every must be None or a number of seconds > 0, got {renew_every}"
            )
        #: Read at each connect.
        self.renew_every = renew_every
        #: Read when the transport is made (see ``telemetry_switch.py``).
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.send_traceparent = send_traceparent
        self.trace_document = trace_document

        self._user_session = session
        self.__post_init__()

    def __post_init__(self) -> None:
        """Set up what a subclass keeps beside the options (called by ``__init__``)."""

    @property
    def lent_session(self) -> aiohttp.ClientSession | None:
        """The ``ClientSession`` passed as ``session=``, which the transport never closes."""
        return self._user_session

    def connection_settings(self) -> ConnectionSettings:
        """Return the options a new connection is made with, read now."""
        return ConnectionSettings(**{field.name: getattr(self, field.name) for field in _FIELDS})


_FIELDS = fields(ConnectionSettings)
