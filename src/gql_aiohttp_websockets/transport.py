"""AIOHTTPWebsocketsTransport: the gql-facing facade over one connection at a time.

The transport outlives its connections.  It holds the options and the public
attributes gql users know (the ``ClientSession``, the ``listeners`` dict,
operation ids, ``close_exception``) and runs the operations; its
:class:`~gql_aiohttp_websockets.supervisor.Supervisor` makes each
:class:`~gql_aiohttp_websockets.connection.Connection`, replaces a lost one
(``reconnect=``) and ends the last.  Attributes that belong to a connection
(``websocket``, ``subprotocol``, ``payloads``, ``response_headers``) read
through to the current or last one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, TypeAlias

import aiohttp
from gql.transport.async_transport import AsyncTransport
from gql.transport.exceptions import (
    TransportProtocolError,
)
from graphql import ExecutionResult

from .connection import NOT_OPEN, Connection
from .exceptions import (
    AckTimeoutError,
    ConnectTimeoutError,
    TransportConnectionFailed,
)
from .flow_control import INHERITED, NO_LIMIT, Inherited, Overflow, QueueStats, queue_options
from .lifecycle import State
from .listener_queue import COMPLETE, ListenerQueue
from .options import InitPayloadFactory, TransportOptions
from .request_payload import build_payload
from .supervisor import Supervisor

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
        self._no_payloads: dict[str, Any] = {}
        self._supervisor = Supervisor(self)

    # --------------------------------------------------- state and read-through

    @property
    def state(self) -> State:
        """The lifecycle state (see :class:`~gql_aiohttp_websockets.lifecycle.State`)."""
        return self._supervisor.lifecycle.state

    @property
    def websocket(self) -> ClientWebSocketResponse | None:
        """The live aiohttp websocket while connected, else ``None``.

        Setting it to ``None``, as gql's own tests do, makes every send fail
        with ``WebSocket connection is closed``; :meth:`close` still closes the
        websocket that was opened.
        """
        connection = self._supervisor.connection
        return None if connection is None else connection.websocket

    @websocket.setter
    def websocket(self, websocket: ClientWebSocketResponse | None) -> None:
        if self._supervisor.connection is not None:
            self._supervisor.connection.websocket = websocket

    @property
    def subprotocol(self) -> str | None:
        """The negotiated subprotocol of the current (or last) connection."""
        connection = self._supervisor.connection
        return None if connection is None else connection.subprotocol

    @property
    def payloads(self) -> dict[str, Any]:
        """Last ``connection_ack``, ``ping`` and ``pong`` payloads received."""
        connection = self._supervisor.connection
        return self._no_payloads if connection is None else connection.payloads

    @property
    def response_headers(self) -> dict[str, str]:
        """The HTTP headers of the server's handshake response (last connection)."""
        connection = self._supervisor.connection
        return {} if connection is None else connection.response_headers

    def queue_stats(self) -> list[QueueStats]:
        """Count the queue of every running operation: how far each consumer is behind.

        One :class:`~gql_aiohttp_websockets.QueueStats` per operation whose
        consumer has not left yet (``execute()`` calls too, which have no
        limit), in the order they started; ``[]`` when none runs.  Each is
        counted when this is called and does not change afterwards: call it
        again for fresh counts.  An operation's counters go with it when it
        ends, so read them while it runs.

        Returns:
            The counters, one per running operation.

        Example:
            How many results a ``"keep_newest"`` subscription dropped so far::

                async for price in session.subscribe(
                    prices, max_queued_results=100, on_queue_full="keep_newest"
                ):
                    dropped = sum(stats.dropped for stats in transport.queue_stats())
        """
        return [QueueStats.of(queue) for queue in self.listeners.values()]

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
        await self._supervisor.connect()

    async def _when_open(self) -> Connection:
        # Calls made while the connection is being replaced wait for the new one.
        await self._supervisor.wait_while_reconnecting()
        connection = self._supervisor.connection
        if self.state is not State.OPEN or connection is None:
            if self.close_exception is not None:
                raise TransportConnectionFailed(
                    f"the transport is not connected: {self.close_exception}"
                ) from self.close_exception
            raise TransportConnectionFailed(
                "the transport is not connected; call connect() first "
                "(or use 'async with Client(transport=...)')"
            )
        return connection

    def _live(self) -> Connection:
        connection = self._supervisor.connection
        if connection is None or connection.websocket is None:
            raise TransportConnectionFailed(NOT_OPEN) from self.close_exception
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
        max_queued_results: int | Inherited | None = INHERITED,
        on_queue_full: Overflow | str | Inherited = INHERITED,
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
        connection = self._supervisor.connection
        if self.state is not State.OPEN or connection is None:
            connection = await self._when_open()
        listener = self._register(connection, send_stop is True, limit, overflow)
        if self._supervisor.reconnector is not None:
            listener.payload = payload
        op_id = listener.query_id
        try:
            # Neither is kept while the frame waits for the socket, nor for the
            # life of the subscription: a connection may hold thousands of them.
            frame = connection.start_frame(op_id, payload)
            del payload
            await self._send_start(connection, frame)
            del frame
            # The connection's one bound method: nothing allocated per
            # operation.  The connection itself is not kept: after a
            # reconnect, a running subscription must not hold the lost one.
            decode = connection.decode_result
            del connection
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
        connection = self._supervisor.connection
        if self.state is not State.OPEN or connection is None:
            return
        try:
            await connection.stop_operation(op_id)
        except TransportConnectionFailed:
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
        connection = self._supervisor.connection
        if self.state is not State.OPEN or connection is None:
            connection = await self._when_open()
        listener = self._register(connection, False)
        op_id = listener.query_id
        try:
            await self._send_start(connection, connection.start_frame(op_id, payload))
            return await listener.first()
        finally:
            self._forget(listener)

    async def _send_start(self, connection: Connection, frame: str) -> None:
        try:
            await connection.send(frame)
        except TransportConnectionFailed:
            # The connection is going.  With reconnect= on, its end decides
            # what the operation gets, as for those already running: sent
            # again (a subscription) or ConnectionInterrupted (an execute).
            # (A websocket set to None, as gql's tests do, never ends: raise.)
            if self._supervisor.reconnector is None or connection.websocket is None:
                raise

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
        await self._supervisor.close()

    async def wait_closed(self) -> None:
        """Wait until the connection is closed (at most ``close_timeout`` seconds)."""
        await self._supervisor.shutdown.wait()
