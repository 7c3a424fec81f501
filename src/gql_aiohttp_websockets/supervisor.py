"""Supervisor: the transport's connection over time.

It makes the connection on ``connect()``, replaces it when it is lost (with
``reconnect=`` on, through a
:class:`~gql_aiohttp_websockets.reconnect.Reconnector`), and ends it on
``close()`` or when it is lost for good.  It owns the transport's lifecycle
state and every task of that work; the transport's public attributes
(``session``, ``listeners``, ``close_exception``, ...) stay on the transport,
which the supervisor reads and sets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from gql.transport.exceptions import TransportAlreadyConnected, TransportClosed

from .close_codes import CloseCode
from .closing import ExcusedCloses, Shutdown, close_session, end_operations
from .connection import Connection
from .exceptions import GQL_4
from .lifecycle import TRANSPORT_MOVES, Lifecycle, State
from .lifecycle_events import Closed, Connected, Connecting, Disconnected, EventSink
from .opening import open_connection
from .reconnect import Reconnector, close_details, interrupt, resubscribe
from .retry import retry_policy
from .waiting import shielded

if TYPE_CHECKING:
    from .transport import AIOHTTPWebsocketsTransport

__all__ = ["Supervisor"]

log = logging.getLogger("gql_aiohttp_websockets.transport")


class Supervisor:
    """Makes, replaces and ends the connection of one transport.

    Args:
        owner: The transport: its options and public attributes.
    """

    def __init__(self, owner: AIOHTTPWebsocketsTransport) -> None:
        self._owner = owner
        self.lifecycle = Lifecycle(State.CLOSED, TRANSPORT_MOVES, log)
        #: The current connection, or the last one once it ended.
        self.connection: Connection | None = None
        self.shutdown = Shutdown()
        self.events = EventSink(None)
        # Set while connected with reconnect= on (read at each connect).
        self.reconnector: Reconnector | None = None
        self._connect_task: asyncio.Task[Any] | None = None
        self._excused = ExcusedCloses()

    @property
    def state(self) -> State:
        """The transport's lifecycle state."""
        return self.lifecycle.state

    # ------------------------------------------------------------- connecting

    async def connect(self) -> None:
        """What ``AIOHTTPWebsocketsTransport.connect()`` does (see its docstring)."""
        owner = self._owner
        if self.state is State.CLOSING:
            await self.shutdown.wait()
        current = asyncio.current_task()
        if self.state is not State.CLOSED:
            # gql 4's session closes the transport after any failed
            # connect(); gql 3.5's Client does not.
            if current is not None and GQL_4:
                self._excused.excuse(current)
            raise TransportAlreadyConnected("Transport is already connected")
        self.lifecycle.move(State.CONNECTING)
        self._connect_task = current
        owner.ping_received.clear()
        owner.pong_received.clear()
        owner.close_exception = None
        events = self.events = EventSink(owner.on_event)
        events.emit(Connecting(0))
        try:
            owner.session = owner.lent_session or aiohttp.ClientSession(**owner.client_session_args)
            connection = await self._open(lambda: self.lifecycle.move(State.INITIALIZING))
        except BaseException as exc:
            # close() moves the transport to CLOSING before it cancels us.
            closed_by_user = self.lifecycle.state is State.CLOSING
            await shielded(self._release_session())
            self.lifecycle.move(State.CLOSED)
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
        owner.next_query_id = 1
        # Read now, as every option: it may have been set since (to True, say).
        policy = retry_policy(owner.reconnect)
        if policy is not None:
            self.reconnector = Reconnector(
                policy,
                events,
                connect_again=lambda: self._open(lambda: None),
                replaced=self._replaced,
                gave_up=self._gave_up,
                close_timeout=owner.close_timeout,
            )
        self.lifecycle.move(State.OPEN)
        connection.start()
        events.emit(
            Connected(
                connection.subprotocol or "",
                connection.payloads.get("connection_ack"),
                0,
                connection.subprotocol_assumed,
            )
        )

    def _open(self, opened: Callable[[], object]) -> Awaitable[Connection]:
        owner = self._owner
        return open_connection(
            self._new_connection,
            owner.subprotocols,
            init_payload=owner.init_payload,
            connect_timeout=owner.connect_timeout,
            ack_timeout=owner.ack_timeout,
            close_timeout=owner.close_timeout,
            opened=opened,
        )

    def _new_connection(self) -> Connection:
        owner = self._owner
        if self.state is State.INITIALIZING:
            # Another offer, on a new websocket, within the same connect().
            self.lifecycle.move(State.CONNECTING)
        assert owner.session is not None
        if self.state is not State.RECONNECTING:
            owner.listeners = {}
        connection = self.connection = Connection(
            owner.connection_settings(),
            owner.session,
            listeners=owner.listeners,
            ping_received=owner.ping_received,
            pong_received=owner.pong_received,
            on_end=self._connection_ended,
        )
        return connection

    # ------------------------------------------------------------- replacing

    def _connection_ended(self, connection: Connection, error: Exception, code: int) -> None:
        # The connection ended by itself: it is replaced, or the transport closes.
        if connection is not self.connection or self.state is not State.OPEN:
            return
        reconnector = self.reconnector
        delay = None if reconnector is None else reconnector.next_delay(1, error)
        self.events.emit(Disconnected(error, *close_details(error), delay is not None))
        if reconnector is None or delay is None:
            self.begin_shutdown(error, clean=False, close_code=code)
            return
        self.lifecycle.move(State.RECONNECTING)
        self._owner.close_exception = error
        interrupt(self._owner.listeners, error)
        reconnector.begin(connection, error, delay)

    async def _replaced(self, connection: Connection) -> int:
        self._owner.close_exception = None
        self.lifecycle.move(State.OPEN)
        connection.start()
        return await resubscribe(connection, self._owner.listeners)

    def _gave_up(self, error: Exception) -> None:
        if self.state is State.RECONNECTING:
            self.begin_shutdown(error, clean=False, close_code=CloseCode.NORMAL_CLOSURE)

    async def wait_while_reconnecting(self) -> None:
        """Return once the transport is not between connections any more."""
        reconnector = self.reconnector
        while (
            self.state is State.RECONNECTING and reconnector is not None and reconnector.replacing
        ):
            await reconnector.wait()
            reconnector = self.reconnector

    # ---------------------------------------------------------------- closing

    async def close(self) -> None:
        """What ``AIOHTTPWebsocketsTransport.close()`` does (see its docstring)."""
        current = asyncio.current_task()
        if self._excused.take(current):
            log.debug("close() right after a refused connect(): the connection is not ours to end")
            return
        if self.state in (State.CONNECTING, State.INITIALIZING):
            connect_task = self._connect_task
            if connect_task is not None and connect_task is not current:
                # connect() reads the CLOSING state as: close() cancelled it.
                self.lifecycle.move(State.CLOSING)
                connect_task.cancel()
                await asyncio.wait([connect_task], timeout=self._owner.close_timeout)
            return
        if self.state in (State.OPEN, State.RECONNECTING):
            self.begin_shutdown(
                TransportClosed("Transport closed by user"),
                clean=True,
                close_code=CloseCode.NORMAL_CLOSURE,
            )
        await self.shutdown.wait()

    def begin_shutdown(self, error: Exception, *, clean: bool, close_code: int) -> None:
        """Start ending the transport because of ``error``; no-op while ending."""
        if self.shutdown.task is not None:
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug("closing: %r", error)
        in_gap = self.state is State.RECONNECTING
        self.lifecycle.move(State.CLOSING)
        self._owner.close_exception = error
        # Between connections, stopping the reconnector closes an attempt
        # with the code that says it was cut short.
        if self.connection is not None and not in_gap:
            self.connection.begin_close(error, close_code)
        self.shutdown.start(self._shut_down(error, clean=clean, in_gap=in_gap))

    async def _shut_down(self, error: Exception, *, clean: bool, in_gap: bool) -> None:
        try:
            reconnector, self.reconnector = self.reconnector, None
            if reconnector is not None:
                await reconnector.stop()
            if self.connection is not None:
                await self.connection.close(self._owner.close_timeout, goodbye=clean)
            # close() between connections: no server is left to stop the
            # subscriptions on, and they end as a close() ends them.
            end_operations(self._owner.listeners, error, complete_subscriptions=clean and in_gap)
            await self._release_session()
        except Exception:
            log.exception("unexpected error while closing the transport")
        finally:
            self.lifecycle.move(State.CLOSED)
            self.events.emit(Closed(None if clean else error))

    async def _release_session(self) -> None:
        owner = self._owner
        session, owner.session = owner.session, None
        if session is not None and session is not owner.lent_session:
            await close_session(session, owner.ssl_close_timeout)
