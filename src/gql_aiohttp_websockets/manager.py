"""ConnectionManager: the transport's connections over time, and its lifecycle.

It makes the first connection on ``connect()``, replaces a lost one (with
``reconnect=`` on), and ends the last on ``close()`` or when one is lost for
good.  What it does is decided by one table (``lifecycle.py``): each thing
that happens is handed to :meth:`TransportLifecycle.handle`, which moves the
state and names the action.  Every attempt to connect, the first included,
goes through one loop (:meth:`ConnectionManager._attempts`) that asks the
retry policy, emits the lifecycle events and returns an acknowledged
connection.  It owns what belongs to the transport's connections over time
(the ``ClientSession``, ``close_exception``, the ping and pong events, the
connection in use) and carries the operations over through the registry
(``operations.py``); it reads the transport's options and writes nothing of
the transport.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from gql.transport.exceptions import TransportAlreadyConnected, TransportClosed

from .close_codes import CloseCode
from .closing import ExcusedCloses, Shutdown, close_session
from .connection import NOT_OPEN, Connection
from .exceptions import GQL_4, TransportConnectionFailed
from .lifecycle import Action, Happening, State, TransportLifecycle
from .lifecycle_events import (
    Closed,
    Connected,
    Connecting,
    Disconnected,
    EventSink,
    Resubscribed,
    Retrying,
)
from .opening import close_after_failure, open_connection
from .operations import Operations, close_details
from .options import TransportOptions
from .retry import RetryPolicy, retry_policy
from .waiting import Waiters, shielded

__all__ = ["ConnectionManager"]

log = logging.getLogger("gql_aiohttp_websockets.transport")

#: gql's words for a transport its user closed.
_CLOSED_BY_USER = "Transport closed by user"
_CLOSED_WHILE_CONNECTING = "close() was called while the transport was connecting"


class ConnectionManager:
    """Makes, replaces and ends the connections of one transport.

    Args:
        options: The transport's options, read at each connect.
        operations: The transport's operations, carried over from a lost
            connection to its replacement and ended at the last.
    """

    def __init__(self, options: TransportOptions, operations: Operations) -> None:
        self._options = options
        self._operations = operations
        self._lifecycle = TransportLifecycle(log)
        #: The connection made last: the one in use, or the last one once it ended.
        self.connection: Connection | None = None
        #: The aiohttp session in use while connected, else ``None``.
        self.session: aiohttp.ClientSession | None = None
        #: Why the last connection ended, ``None`` while connected.
        self.close_exception: Exception | None = None
        #: Set each time the server sends a protocol ``ping``; cleared on connect.
        self.ping_received = asyncio.Event()
        #: Set each time the server sends a protocol ``pong``; cleared on connect.
        self.pong_received = asyncio.Event()
        #: The shutdown under way, awaited by ``close()`` and ``wait_closed()``.
        self.shutdown = Shutdown()
        self._events = EventSink(None)
        # The connection operations run on, only while the state is OPEN.
        self._in_use: Connection | None = None
        self._policy: RetryPolicy | None = None
        self._connect_task: asyncio.Task[None] | None = None
        # The gap being bridged now, and every gap task not finished yet (one
        # whose new connection was lost at once may still be carrying over).
        self._gap: asyncio.Task[None] | None = None
        self._gaps: set[asyncio.Task[None]] = set()
        self._gap_over = Waiters()
        self._excused = ExcusedCloses()

    @property
    def state(self) -> State:
        """The transport's lifecycle state."""
        return self._lifecycle.state

    @property
    def in_use(self) -> Connection | None:
        """The connection operations run on; ``None`` unless the state is ``OPEN``."""
        return self._in_use

    @property
    def carries_over(self) -> bool:
        """Whether a lost connection is replaced and its subscriptions carried over."""
        return self._policy is not None

    # ------------------------------------------------------------- connecting

    async def connect(self) -> None:
        """What ``AIOHTTPWebsocketsTransport.connect()`` does (see its docstring)."""
        current = asyncio.current_task()
        action = self._lifecycle.handle(Happening.CONNECT)
        if action is Action.AWAIT_SHUTDOWN:
            await self.shutdown.wait()
            action = self._lifecycle.handle(Happening.CONNECT)
        if action is not Action.CONNECT:
            # gql 4's session closes the transport after any failed
            # connect(); gql 3.5's Client does not.
            if current is not None and GQL_4:
                self._excused.excuse(current)
            raise TransportAlreadyConnected("Transport is already connected")
        options = self._options
        self._connect_task = current
        self.ping_received.clear()
        self.pong_received.clear()
        self.close_exception = None
        self._operations.reset()
        self._events = EventSink(options.on_event)
        try:
            connection, _ = await self._attempts(0, 0.0, None)
            if self._lifecycle.handle(Happening.ACKNOWLEDGED) is Action.DISCARD:
                closed = TransportClosed(_CLOSED_WHILE_CONNECTING)
                await shielded(close_after_failure(connection, closed, options.close_timeout))
                raise closed
        except BaseException as exc:
            action = self._lifecycle.handle(Happening.CONNECT_FAILED)
            await shielded(self._release_session())
            closed_by_user = action is Action.REPORT_CLOSED
            failure = exc if isinstance(exc, Exception) and not closed_by_user else None
            self._events.emit(Closed(failure))
            if closed_by_user and isinstance(exc, asyncio.CancelledError):
                task = asyncio.current_task()
                if task is not None and hasattr(task, "uncancel"):
                    task.uncancel()
                raise TransportClosed(_CLOSED_WHILE_CONNECTING) from None
            raise
        finally:
            self._connect_task = None
        # Read now, as every option: it may have been set since (to True, say).
        self._policy = retry_policy(options.reconnect)
        self._use(connection, 0)

    async def _attempts(
        self, attempt: int, delay: float, error: Exception | None
    ) -> tuple[Connection, int]:
        # Every attempt, connect()'s (0) included: attempt, and on a failure
        # ask the policy whether to wait and attempt again (never after 0).
        options, events = self._options, self._events
        while True:
            if attempt:
                assert error is not None
                events.emit(Retrying(attempt, delay, error))
                await asyncio.sleep(delay)
            events.emit(Connecting(attempt))
            try:
                connection = await open_connection(
                    self._new_connection,
                    options.subprotocols,
                    init_payload=options.init_payload,
                    connect_timeout=options.connect_timeout,
                    ack_timeout=options.ack_timeout,
                    close_timeout=options.close_timeout,
                    opened=self._opened,
                    offered_again=self._offered_again,
                )
            except Exception as failed:
                next_delay = self._retry_delay(attempt + 1, failed) if attempt else None
                events.emit(Disconnected(failed, *close_details(failed), next_delay is not None))
                if next_delay is None:
                    raise
                attempt, delay, error = attempt + 1, next_delay, failed
                continue
            return connection, attempt

    def _retry_delay(self, attempt: int, error: Exception) -> float | None:
        # The policy's answer; None when it gives up, or raises.
        policy = self._policy
        if policy is None:
            return None
        try:
            return policy.delay(attempt, error)
        except Exception:
            log.exception("the retry policy failed; giving up")
            return None

    def _new_connection(self) -> Connection:
        # The session is made with the first connection, so that a failure
        # to make it is that attempt's.
        if self.session is None:
            options = self._options
            self.session = options.lent_session or aiohttp.ClientSession(
                **options.client_session_args
            )
        connection = self.connection = Connection(
            self._options.connection_settings(),
            self.session,
            operations=self._operations,
            ping_received=self.ping_received,
            pong_received=self.pong_received,
            on_end=self._connection_ended,
        )
        return connection

    def _opened(self) -> None:
        self._lifecycle.handle(Happening.OPENED)

    def _offered_again(self) -> None:
        self._lifecycle.handle(Happening.OFFERED_AGAIN)

    def _use(self, connection: Connection, attempt: int) -> None:
        self._in_use = connection
        connection.start()
        self._events.emit(
            Connected(
                connection.subprotocol or "",
                connection.payloads.get("connection_ack"),
                attempt,
                connection.subprotocol_assumed,
            )
        )

    # ------------------------------------------------------------- replacing

    def _connection_ended(self, connection: Connection, error: Exception, code: int) -> None:
        # Only the connection in use is replaced or ends the transport; an
        # attempt's end is its attempt's error, and close() ends its own.
        if connection is not self._in_use:
            return
        self._in_use = None
        delay = self._retry_delay(1, error)
        self._events.emit(Disconnected(error, *close_details(error), delay is not None))
        action = self._lifecycle.handle(
            Happening.LOST if delay is not None else Happening.LOST_FOR_GOOD
        )
        if action is Action.REPLACE:
            assert delay is not None
            self.close_exception = error
            self._operations.lost(connection, error)
            gap = self._gap = asyncio.ensure_future(self._replace(connection, error, delay))
            self._gaps.add(gap)
            gap.add_done_callback(self._gap_ended)
        elif action is Action.SHUT_DOWN:
            self._begin_shutdown(error, clean=False, close_code=code, in_gap=False)

    async def _replace(self, lost: Connection, error: Exception, delay: float) -> None:
        loop = asyncio.get_running_loop()
        lost_at = loop.time()
        try:
            await lost.close(self._options.close_timeout, goodbye=False)
            connection, attempt = await self._attempts(1, delay, error)
        except Exception as final:
            if self._lifecycle.handle(Happening.LOST_FOR_GOOD) is Action.END_GAP:
                self._begin_shutdown(
                    final, clean=False, close_code=CloseCode.NORMAL_CLOSURE, in_gap=True
                )
            return
        if self._lifecycle.handle(Happening.ACKNOWLEDGED) is Action.DISCARD:
            # close() came as the attempt succeeded.
            closed = TransportClosed(_CLOSED_BY_USER)
            await shielded(close_after_failure(connection, closed, self._options.close_timeout))
            return
        self.close_exception = None
        self._use(connection, attempt)
        try:
            count = await self._carry_over(connection)
        except Exception:
            # A bug, not the network: the new connection stays as it is.
            log.exception("unexpected error while subscribing again")
            count = 0
        self._events.emit(Resubscribed(count, loop.time() - lost_at))

    async def _carry_over(self, connection: Connection) -> int:
        # Each subscription still being consumed, sent again with its id and
        # payload; its buffer, and what was queued in it, follows it.  The
        # round stops once the connection is no longer in use (lost during a
        # send: the rest wait for the next one) or a send fails (the
        # connection reports its own end).
        operations = self._operations
        count = 0
        for operation in operations.moving():
            if connection is not self._in_use:
                break
            if not operations.place(operation, connection):
                continue
            payload = operation.payload
            assert payload is not None
            try:
                await connection.send(connection.start_frame(operation.id, payload))
            except TransportConnectionFailed:
                log.debug("the new connection broke while subscribing again", exc_info=True)
                break
            count += 1
        return count

    def _gap_ended(self, gap: asyncio.Task[None]) -> None:
        self._gaps.discard(gap)
        if self._gap is gap:
            self._gap = None
        self._gap_over.release()

    async def usable_connection(self) -> Connection:
        """The connection to start an operation on; calls made in a gap wait for it.

        Raises:
            TransportConnectionFailed: The transport is not connected (with
                ``close_exception`` as the cause when there is one).
        """
        while self._lifecycle.state is State.RECONNECTING and self._gap is not None:
            await self._gap_over.wait()
        connection = self._in_use
        if connection is not None:
            return connection
        if self.close_exception is not None:
            raise TransportConnectionFailed(
                f"the transport is not connected: {self.close_exception}"
            ) from self.close_exception
        raise TransportConnectionFailed(
            "the transport is not connected; call connect() first "
            "(or use 'async with Client(transport=...)')"
        )

    def live_connection(self) -> Connection:
        """The connection made last, if its websocket is there to send on.

        Raises:
            TransportConnectionFailed: There is none (``NOT_OPEN``).
        """
        connection = self.connection
        if connection is None or connection.websocket is None:
            raise TransportConnectionFailed(NOT_OPEN) from self.close_exception
        return connection

    # ---------------------------------------------------------------- closing

    async def close(self) -> None:
        """What ``AIOHTTPWebsocketsTransport.close()`` does (see its docstring)."""
        current = asyncio.current_task()
        if self._excused.take(current):
            log.debug("close() right after a refused connect(): the connection is not ours to end")
            return
        action = self._lifecycle.handle(Happening.CLOSE)
        if action is Action.CANCEL_CONNECT:
            connect_task = self._connect_task
            # From inside connect() (an init_payload function, in its own task
            # on Python 3.11+) it cannot be cancelled: it sees the CLOSING
            # state when the server acknowledges, and ends there.
            if connect_task is not None and connect_task is not current:
                connect_task.cancel()
                await asyncio.wait([connect_task], timeout=self._options.close_timeout)
            return
        if action in (Action.CLOSE, Action.CLOSE_GAP):
            self._begin_shutdown(
                TransportClosed(_CLOSED_BY_USER),
                clean=True,
                close_code=CloseCode.NORMAL_CLOSURE,
                in_gap=action is Action.CLOSE_GAP,
            )
        await self.shutdown.wait()

    def _begin_shutdown(
        self, error: Exception, *, clean: bool, close_code: int, in_gap: bool
    ) -> None:
        # The lifecycle is CLOSING already; this starts the steps.
        if log.isEnabledFor(logging.DEBUG):
            log.debug("closing: %r", error)
        self.close_exception = error
        in_use, self._in_use = self._in_use, None
        # Between connections, stopping the gap closes an attempt with the
        # code that says it was cut short.
        if in_use is not None and not in_gap:
            in_use.begin_close(error, close_code)
        self.shutdown.start(self._shut_down(error, clean=clean, in_gap=in_gap))

    async def _shut_down(self, error: Exception, *, clean: bool, in_gap: bool) -> None:
        try:
            gaps = [gap for gap in self._gaps if gap is not asyncio.current_task()]
            for gap in gaps:
                gap.cancel()
            if gaps:
                await asyncio.wait(gaps)
            for gap in gaps:
                if not gap.cancelled() and gap.exception() is not None:
                    log.error("the reconnection failed", exc_info=gap.exception())
            self._gap_over.release()
            if self.connection is not None:
                await self.connection.close(self._options.close_timeout, goodbye=clean)
            # close() between connections: no server is left to stop the
            # subscriptions on, and they end as a close() ends them.
            self._operations.end_all(error, complete_subscriptions=clean and in_gap)
            await self._release_session()
        except Exception:
            log.exception("unexpected error while closing the transport")
        finally:
            self._policy = None
            self._lifecycle.handle(Happening.SHUT_DOWN)
            self._events.emit(Closed(None if clean else error))

    async def _release_session(self) -> None:
        session, self.session = self.session, None
        if session is not None and session is not self._options.lent_session:
            await close_session(session, self._options.ssl_close_timeout)
