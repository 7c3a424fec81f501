"""AIOHTTPWebsocketsTransport: the gql-facing facade over the transport's connections.

The transport outlives its connections.  It holds the options and runs the
operations: each is registered with the
:class:`~gql_aiohttp_websockets.operations.Operations` registry, started on
the connection in use, and read from its buffer until it ends.  Its
:class:`~gql_aiohttp_websockets.manager.ConnectionManager` makes each
:class:`~gql_aiohttp_websockets.connection.Connection`, replaces a lost one
(``reconnect=``) and ends the last.  The attributes gql users know read
through to their owners: ``listeners`` and ``next_query_id`` to the
registry; ``session``, ``close_exception``, ``ping_received`` and
``pong_received`` to the manager; ``websocket``, ``subprotocol``,
``payloads`` and ``response_headers`` to the current or last connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import aiohttp
from gql.transport.async_transport import AsyncTransport
from graphql import ExecutionResult

from .connection import Connection
from .exceptions import (
    AckTimeoutError,
    ConnectTimeoutError,
    TransportConnectionFailed,
)
from .flow_control import INHERITED, Inherited, Overflow, QueueStats, queue_options
from .lifecycle import State
from .listener_queue import COMPLETE, ListenerQueue
from .manager import ConnectionManager
from .operations import Host, Operation, OperationKind, Operations
from .options import InitPayloadFactory, TransportOptions
from .request_payload import build_payload
from .telemetry_switch import load_telemetry

if TYPE_CHECKING:
    from aiohttp.client_ws import ClientWebSocketResponse as _ClientWebSocketResponse

    ClientWebSocketResponse: TypeAlias = _ClientWebSocketResponse[bool]

__all__ = [
    "AIOHTTPWebsocketsTransport",
    "AckTimeoutError",
    "ConnectTimeoutError",
    "InitPayloadFactory",
]

# While the first connection is replaced, the others still run operations.
_STOPPABLE = frozenset({State.OPEN, State.RECONNECTING})

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
        self._operations = Operations()
        self._telemetry = load_telemetry(
            self.url,
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            send_traceparent=self.send_traceparent,
            trace_document=self.trace_document,
        )
        self._manager = ConnectionManager(self, self._operations, self._telemetry)
        self._no_payloads: dict[str, Any] = {}

    # --------------------------------------------------- state and read-through

    @property
    def state(self) -> State:
        """The lifecycle state (see :class:`~gql_aiohttp_websockets.lifecycle.State`)."""
        return self._manager.state

    @property
    def listeners(self) -> Mapping[int, ListenerQueue]:
        """The running operations' result queues, by operation id (read-only)."""
        return self._operations.listeners

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
        return self._operations.stats()

    @property
    def next_query_id(self) -> int:
        """The id the next operation will get; ids restart at 1 on each connect."""
        return self._operations.next_id

    @next_query_id.setter
    def next_query_id(self, value: int) -> None:
        self._operations.next_id = value

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The aiohttp session in use while connected, else ``None``."""
        return self._manager.session

    @property
    def close_exception(self) -> Exception | None:
        """Why the last connection ended, ``None`` while connected."""
        return self._manager.close_exception

    @property
    def ping_received(self) -> asyncio.Event:
        """Set each time the server sends a protocol ``ping``; cleared on connect."""
        return self._manager.ping_received

    @property
    def pong_received(self) -> asyncio.Event:
        """Set each time the server sends a protocol ``pong``; cleared on connect."""
        return self._manager.pong_received

    @property
    def websocket(self) -> ClientWebSocketResponse | None:
        """The live aiohttp websocket while connected, else ``None``.

        Setting it to ``None``, as gql's own tests do, makes every send fail
        with ``WebSocket connection is closed``; :meth:`close` still closes the
        websocket that was opened.
        """
        connection = self._manager.connection
        return None if connection is None else connection.websocket

    @websocket.setter
    def websocket(self, websocket: ClientWebSocketResponse | None) -> None:
        if self._manager.connection is not None:
            self._manager.connection.websocket = websocket

    @property
    def subprotocol(self) -> str | None:
        """The negotiated subprotocol of the current (or last) connection."""
        connection = self._manager.connection
        return None if connection is None else connection.subprotocol

    @property
    def payloads(self) -> dict[str, Any]:
        """Last ``connection_ack``, ``ping`` and ``pong`` payloads received."""
        connection = self._manager.connection
        return self._no_payloads if connection is None else connection.payloads

    @property
    def response_headers(self) -> dict[str, str]:
        """The HTTP headers of the server's handshake response (last connection)."""
        connection = self._manager.connection
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
        await self._manager.connect()

    async def send_ping(self, payload: Any = None) -> None:
        """Send a protocol ``ping`` (``graphql-transport-ws`` only).

        Args:
            payload: Optional JSON object sent along.

        Raises:
            TransportProtocolError: The negotiated subprotocol has no ping.
        """
        await self._manager.live_connection().send_ping(payload)

    async def send_pong(self, payload: Any = None) -> None:
        """Send a protocol ``pong`` (``graphql-transport-ws`` only).

        Args:
            payload: Optional JSON object sent along.

        Raises:
            TransportProtocolError: The negotiated subprotocol has no pong.
        """
        await self._manager.live_connection().send_pong(payload)

    async def renew(self) -> None:
        """Replace the connection with a new one without a gap in any subscription.

        Make before break: a new connection is opened beside the one in use
        (a callable ``init_payload`` is called again, so fresh credentials
        are sent) and, once the server acknowledged it, every running
        subscription is started on it too.  Each subscription's results keep
        coming from the old connection until its two copies line up on a
        result the server sent on both; from then on the new connection's
        come, none twice (see ``handover.py``).
        When every subscription has moved (or
        :data:`~gql_aiohttp_websockets.manager.OVERLAP_SECONDS` passed), the
        old connection is closed with 1000.  An ``execute()`` in flight
        finishes on the connection it started on; calls made meanwhile run
        on either.  With ``max_operations_per_connection``,
        every connection is renewed.  See :doc:`/reconnection`.

        Calling it while a renewal is under way waits for that one.

        Raises:
            TransportConnectionFailed: The transport is not connected.
            Exception: What opening the new connection failed with (the
                server rejected it, could not be reached, or did not answer
                in time); the old connection goes on untouched.
            ConnectionInterrupted: The old connection was lost while the new
                one was being opened (it is replaced as any lost connection
                is, with ``reconnect=`` on).
            TransportClosed: :meth:`close` was called meanwhile.
        """
        await self._manager.renew()

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
        manager = self._manager
        connection = manager.in_use or await manager.usable_connection()
        telemetry = self._telemetry
        trace = None
        if telemetry is not None:
            trace = telemetry.operation(payload, connection.trace, subscription=True)
            if trace is not None and telemetry.send_traceparent:
                payload = telemetry.with_traceparent(payload, trace)
        operation = self._operations.register(
            OperationKind.SUBSCRIPTION,
            connection,
            stop_on_leave=send_stop is True,
            payload=payload,
            limit=limit,
            overflow=overflow,
            trace=trace,
        )
        buffer = operation.buffer
        op_id = operation.id
        ended_by, failure = "complete", None
        try:
            # Neither is kept while the frame waits for the socket: a
            # connection may hold thousands of subscriptions.
            frame = connection.start_frame(op_id, payload)
            del payload
            await self._send_start(operation, connection, frame)
            del frame
            # The connection is not kept: after a reconnect, a running
            # subscription must not hold the lost one.
            del connection
            while True:
                ready = buffer.take()
                if not ready:
                    if trace is not None:
                        trace.flush()
                    await buffer.wait()
                    continue
                for item in ready:
                    if item is COMPLETE:
                        return
                    if trace is not None:
                        trace.results += 1
                    yield item  # type: ignore[misc]
        except (asyncio.CancelledError, GeneratorExit):
            ended_by = "left"
            stop_on = self._operations.leave(operation)
            if stop_on is not None:
                await self._send_stop(stop_on, op_id)
            raise
        except Exception as error:
            ended_by, failure = "error", error
            raise
        finally:
            self._operations.leave(operation)
            if manager.spreads:
                manager.release(operation.connection)
            if trace is not None:
                trace.end_subscription(ended_by, failure, dropped=buffer.dropped)

    async def _send_stop(self, connection: Host, op_id: int) -> None:
        # Not once the transport is closing: no server is left to tell.  (An
        # operation whose connection was lost has none to be stopped on.)
        if self.state not in _STOPPABLE:
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
        manager = self._manager
        connection = manager.in_use or await manager.usable_connection()
        telemetry = self._telemetry
        trace = None
        if telemetry is not None:
            trace = telemetry.operation(payload, connection.trace, subscription=False)
            if trace is not None and telemetry.send_traceparent:
                payload = telemetry.with_traceparent(payload, trace)
        operation = self._operations.register(
            OperationKind.EXECUTE, connection, stop_on_leave=False, trace=trace
        )
        try:
            await self._send_start(
                operation, connection, connection.start_frame(operation.id, payload)
            )
            result = await operation.buffer.first()
        except BaseException as error:
            if trace is not None:
                trace.end_execute(None, error)
            raise
        finally:
            self._operations.leave(operation)
            if manager.spreads:
                manager.release(operation.connection)
        if trace is not None:
            trace.end_execute(result, None)
        return result

    async def _send_start(self, operation: Operation, connection: Connection, frame: str) -> None:
        try:
            await connection.send(frame)
        except TransportConnectionFailed:
            if operation.connection is not connection:
                # A renewal moved it meanwhile and started it there.
                self._operations.started(operation)
                return
            # The connection is going.  When it is replaced, its end decides
            # what the operation gets, as for those already running: sent
            # again (a subscription) or ConnectionInterrupted (an execute).
            # (A websocket set to None, as gql's tests do, never ends: raise.)
            if not self._manager.carries_over or connection.websocket is None:
                raise
            return
        self._operations.started(operation)

    # ---------------------------------------------------------------- closing

    async def close(self) -> None:
        """Close the connection: stop every operation, then close the websocket.

        Sends a stop for each running operation, ``connection_terminate`` where
        the subprotocol has it, and a close frame with code 1000.  Every
        running operation then ends after its queued results, as gql's do.
        Safe to call at any time, also twice and while connecting; returns
        once no task of the transport is left.
        """
        await self._manager.close()

    async def wait_closed(self) -> None:
        """Wait until the connection is closed (at most ``close_timeout`` seconds)."""
        await self._manager.shutdown.wait()
