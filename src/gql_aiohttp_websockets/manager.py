"""ConnectionManager: the transport's connections over time, and its lifecycle.

It makes the first connection on ``connect()``, more when every open one is
at ``max_operations_per_connection``, replaces a lost one (with
``reconnect=`` on), and ends them all on ``close()`` or when one is lost for
good.  Each connection has a :class:`Lane`: a small stable number, the
connection on it now, and its own gap, so that a loss is bridged for that
lane's operations alone.  The first lane's connection is the one the
transport's state follows.  What it does is decided by one table (``lifecycle.py``): each thing
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
import functools
import itertools
import logging
from collections import deque
from typing import TYPE_CHECKING

import aiohttp
from gql.transport.exceptions import TransportAlreadyConnected, TransportClosed

from .close_codes import CloseCode
from .closing import ExcusedCloses, Shutdown, close_session
from .connection import NOT_OPEN, Connection
from .exceptions import GQL_4, ConnectionInterrupted, TransportConnectionFailed, close_details
from .lifecycle import Action, Happening, State, TransportLifecycle
from .lifecycle_events import (
    Closed,
    Connected,
    Connecting,
    Disconnected,
    EventSink,
    RenewalFailed,
    RenewalStarted,
    Renewed,
    Resubscribed,
    Retrying,
)
from .opening import close_after_failure, open_connection
from .operations import Host, Operation, Operations, OperationState
from .options import TransportOptions
from .retry import RetryPolicy, retry_policy
from .waiting import Breather, Waiters, shielded

if TYPE_CHECKING:
    from .telemetry import Telemetry

__all__ = ["OVERLAP_SECONDS", "ConnectionManager", "Lane"]

log = logging.getLogger("gql_aiohttp_websockets.transport")

#: gql's words for a transport its user closed.
_CLOSED_BY_USER = "Transport closed by user"
_CLOSED_WHILE_CONNECTING = "close() was called while the transport was connecting"
_CLOSED_WHILE_RENEWING = "close() was called while the connection was being renewed"

#: The longest a renewal keeps the old connection open for a subscription
#: whose new copy has sent nothing (an idle subscription keeps every renewal
#: open this long).  By then the server has long started the new copy, which
#: gets every event after that: the old one is let go.
OVERLAP_SECONDS = 10.0

#: How often a renewal looks for subscriptions held too long (``HOLD_SECONDS``).
HOLD_CHECK_SECONDS = 0.25

#: A failed automatic renewal is tried again after this share of ``renew_every``.
RENEWAL_RETRY_SHARE = 0.1


class Lane:
    """One of the transport's connections over time: replaced connections keep its number.

    Attributes:
        number: 1 for the first connection, else the smallest number free
            when the lane was opened.
        connection: The connection operations run on now; ``None`` while
            it is being opened or replaced, and once it is closing.
        made: The connection made last on this lane (an attempt included):
            the one to close at the end.
        gap: The task replacing a lost connection, while there is one.
        moving: The operations lost with the lane's connection, in the order
            they are to be started again on the next one.
        renewal: The task renewing the lane's connection, while there is one.
        retiring: The connection a renewal is replacing, from the move of
            its subscriptions until it starts to close.
        timer: The next automatic renewal (``renew_every``), when one is due.
    """

    __slots__ = ("connection", "gap", "made", "moving", "number", "renewal", "retiring", "timer")

    def __init__(self, number: int) -> None:
        self.number = number
        self.connection: Connection | None = None
        self.made: Connection | None = None
        self.gap: asyncio.Task[None] | None = None
        self.moving: deque[Operation] = deque()
        self.renewal: asyncio.Task[None] | None = None
        self.retiring: Connection | None = None
        self.timer: asyncio.TimerHandle | None = None

    def stop_timer(self) -> None:
        """Cancel the automatic renewal due, if any."""
        timer, self.timer = self.timer, None
        if timer is not None:
            timer.cancel()

    def __repr__(self) -> str:
        return f"<Lane {self.number}>"


def _nothing() -> None:
    return None


def _by_id(operation: Operation) -> int:
    return operation.id


class ConnectionManager:
    """Makes, replaces and ends the connections of one transport.

    Args:
        options: The transport's options, read at each connect.
        operations: The transport's operations, carried over from a lost
            connection to its replacement and ended at the last.
        telemetry: The transport's OpenTelemetry spans and metrics, or
            ``None`` (see ``telemetry_switch.py``).
    """

    def __init__(
        self,
        options: TransportOptions,
        operations: Operations,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._options = options
        self._operations = operations
        self._telemetry = telemetry
        self._lifecycle = TransportLifecycle(log)
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
        self._primary = Lane(1)
        self._lanes: dict[int, Lane] = {1: self._primary}
        # max_operations_per_connection and renew_every, as read at connect().
        self._cap: int | None = None
        self._renew_every: float | None = None
        self._policy: RetryPolicy | None = None
        self._connect_task: asyncio.Task[None] | None = None
        # The extra lanes being opened, and the calls waiting for room on
        # them, first come first served.
        self._openings: set[asyncio.Task[None]] = set()
        self._room_waiters: deque[asyncio.Future[None]] = deque()
        # Waiters told there is room who have not taken it yet.
        self._woken = 0
        # Every gap and opening not finished yet (cancelled at the shutdown),
        # and the closes of extra connections left idle (awaited then).
        self._gaps: set[asyncio.Task[None]] = set()
        self._closings: set[asyncio.Task[None]] = set()
        self._gap_over = Waiters()
        self._excused = ExcusedCloses()

    @property
    def state(self) -> State:
        """The transport's lifecycle state."""
        return self._lifecycle.state

    @property
    def connection(self) -> Connection | None:
        """The first lane's connection made last: the one in use, or the last one once it ended."""
        return self._primary.made

    @property
    def in_use(self) -> Connection | None:
        """The connection to start an operation on without asking, if there is one.

        The first lane's while the state is ``OPEN`` and operations are not
        spread (no ``max_operations_per_connection``); otherwise ``None``:
        ask :meth:`usable_connection`.
        """
        return self._primary.connection if self._cap is None else None

    @property
    def carries_over(self) -> bool:
        """Whether a lost connection is replaced and its subscriptions carried over."""
        return self._policy is not None

    @property
    def spreads(self) -> bool:
        """Whether operations are spread over connections (``max_operations_per_connection``)."""
        return self._cap is not None

    def lanes(self) -> list[Lane]:
        """The lanes open now, by number."""
        return [self._lanes[number] for number in sorted(self._lanes)]

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
        telemetry = self._telemetry
        self._events = EventSink(options.on_event, None if telemetry is None else telemetry.observe)
        primary = self._primary = Lane(1)
        self._lanes = {1: primary}
        try:
            connection, _ = await self._attempts(primary, 0, 0.0, None)
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
        self._cap = options.max_operations_per_connection
        self._renew_every = options.renew_every
        self._use(primary, connection, 0)

    async def _attempts(
        self, lane: Lane, attempt: int, delay: float, error: Exception | None
    ) -> tuple[Connection, int]:
        # Every attempt of a lane, its first (0) included: attempt, and on a
        # failure ask the policy whether to wait and attempt again (never
        # after 0).  Only the first lane's attempts move the transport's state.
        options, events, number = self._options, self._events, lane.number
        first = lane is self._primary
        while True:
            if attempt:
                assert error is not None
                events.emit(Retrying(attempt, delay, error, number))
                await asyncio.sleep(delay)
            events.emit(Connecting(attempt, number))
            try:
                connection = await open_connection(
                    functools.partial(self._new_connection, lane),
                    options.subprotocols,
                    init_payload=options.init_payload,
                    connect_timeout=options.connect_timeout,
                    ack_timeout=options.ack_timeout,
                    close_timeout=options.close_timeout,
                    opened=self._opened if first else _nothing,
                    offered_again=self._offered_again if first else _nothing,
                )
            except Exception as failed:
                next_delay = self._retry_delay(attempt + 1, failed) if attempt else None
                events.emit(
                    Disconnected(failed, *close_details(failed), next_delay is not None, number)
                )
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

    def _new_connection(self, lane: Lane) -> Connection:
        connection = lane.made = self._make_connection(lane)
        return connection

    def _make_connection(self, lane: Lane) -> Connection:
        # The session is made with the first connection, so that a failure
        # to make it is that attempt's.
        if self.session is None:
            options = self._options
            self.session = options.lent_session or aiohttp.ClientSession(
                **options.client_session_args
            )
        # The transport's ping and pong events are the first connection's:
        # another connection's pong must not answer its ping timer.
        first = lane is self._primary
        telemetry = self._telemetry
        return Connection(
            self._options.connection_settings(),
            self.session,
            operations=self._operations,
            ping_received=self.ping_received if first else asyncio.Event(),
            pong_received=self.pong_received if first else asyncio.Event(),
            on_end=self._connection_ended,
            number=lane.number,
            trace=None if telemetry is None else telemetry.connection(lane.number),
        )

    def _opened(self) -> None:
        self._lifecycle.handle(Happening.OPENED)

    def _offered_again(self) -> None:
        self._lifecycle.handle(Happening.OFFERED_AGAIN)

    def _use(self, lane: Lane, connection: Connection, attempt: int) -> None:
        lane.connection = connection
        connection.start()
        self._schedule_renewal(lane, connection, self._renew_every)
        self._events.emit(
            Connected(
                connection.subprotocol or "",
                connection.payloads.get("connection_ack"),
                attempt,
                connection.subprotocol_assumed,
                lane.number,
            )
        )

    # ---------------------------------------------------------- more lanes

    async def usable_connection(self) -> Connection:
        """The connection to start an operation on; calls made in a gap wait for it.

        With ``max_operations_per_connection``, the open connection with the
        most room, or a new one when none has any.

        Raises:
            TransportConnectionFailed: The transport is not connected (with
                ``close_exception`` as the cause when there is one).
            Exception: What opening another connection failed with.
        """
        while True:
            while self._lifecycle.state is State.RECONNECTING and self._primary.gap is not None:
                await self._gap_over.wait()
            connection = self._primary.connection
            if connection is None:
                if self.close_exception is not None:
                    raise TransportConnectionFailed(
                        f"the transport is not connected: {self.close_exception}"
                    ) from self.close_exception
                raise TransportConnectionFailed(
                    "the transport is not connected; call connect() first "
                    "(or use 'async with Client(transport=...)')"
                )
            cap = self._cap
            if cap is None:
                return connection
            roomiest = self._roomiest(cap)
            if roomiest is not None:
                return roomiest
            await self._another_lane()

    def _roomiest(self, cap: int) -> Connection | None:
        # The open connection with the most room; the first lane wins a tie.
        best, room = None, 0
        for lane in self._lanes.values():
            connection = lane.connection
            if connection is not None:
                free = self._room(lane, cap)
                if free > room:
                    best, room = connection, free
        return best

    def _room(self, lane: Lane, cap: int) -> int:
        # What is carried over to the lane is already its own.
        assert lane.connection is not None
        return cap - self._operations.load(lane.connection) - len(lane.moving)

    async def _another_lane(self) -> None:
        # Wait in line until there is room: enough lanes open at once for
        # everyone in line, and each time room appears only as many waiters
        # wake as it fits.
        waiter = asyncio.get_running_loop().create_future()
        self._room_waiters.append(waiter)
        self._open_for_waiters()
        try:
            await waiter
        finally:
            if not waiter.done():
                self._room_waiters.remove(waiter)
            elif not waiter.cancelled() and waiter.exception() is None:
                # Its caller takes the room before anything else runs; then
                # a lane opened for nobody may be left idle.
                self._woken -= 1
                if not self._woken:
                    asyncio.get_running_loop().call_soon(self._close_idle_lanes)

    def _open_for_waiters(self) -> None:
        cap = self._cap
        assert cap is not None
        while len(self._openings) * cap < len(self._room_waiters):
            number = next(n for n in itertools.count(2) if n not in self._lanes)
            lane = self._lanes[number] = Lane(number)
            opening = asyncio.ensure_future(self._open_lane(lane))
            self._openings.add(opening)
            self._gaps.add(opening)
            opening.add_done_callback(functools.partial(self._lane_opened, lane))

    def _hand_out_room(self) -> int:
        # Wake as many waiters as the open lanes have room for, less the room
        # promised to waiters that have not taken it yet.
        cap, waiters = self._cap, self._room_waiters
        if cap is None or not waiters:
            return 0
        room = -self._woken
        for lane in self._lanes.values():
            if lane.connection is not None:
                room += self._room(lane, cap)
        handed = 0
        while waiters and handed < room:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self._woken += 1
                handed += 1
        return handed

    async def _open_lane(self, lane: Lane) -> None:
        try:
            connection, _ = await self._attempts(lane, 0, 0.0, None)
        except BaseException:
            if self._lanes.get(lane.number) is lane:
                del self._lanes[lane.number]
            raise
        if self._lifecycle.state is State.CLOSING:
            closed = TransportClosed(_CLOSED_BY_USER)
            await shielded(close_after_failure(connection, closed, self._options.close_timeout))
            raise closed
        log.debug("opened connection %d: every other one is at its cap", lane.number)
        self._use(lane, connection, 0)

    def _lane_opened(self, lane: Lane, opening: asyncio.Task[None]) -> None:
        self._openings.discard(opening)
        self._gaps.discard(opening)
        waiters = self._room_waiters
        failure: BaseException | None = (
            self.close_exception or TransportClosed(_CLOSED_BY_USER)
            if opening.cancelled()
            else opening.exception()
        )
        if failure is not None:
            # Those in line it was opened for get the error (everyone, once
            # no other lane is being opened).
            failing = len(waiters) if not self._openings or self._cap is None else self._cap
            while waiters and failing:
                waiter = waiters.popleft()
                if not waiter.done():
                    waiter.set_exception(failure)
                    failing -= 1
            return
        if not self._hand_out_room() and not self._woken and lane.connection is not None:
            # Whoever it was opened for left meanwhile.
            self.release(lane.connection)
        if self._room_waiters and self._cap is not None:
            self._open_for_waiters()

    def release(self, connection: Host | None) -> None:
        """An operation on ``connection`` ended: close it if it is an extra one left idle.

        The first lane's connection stays while the transport is connected.
        """
        if self._cap is None or connection is None:
            return
        if self._room_waiters:
            self._hand_out_room()
            return
        lane = self._lane_of(connection)
        if (
            lane is None
            or lane is self._primary
            or lane.moving
            or lane.renewal is not None
            or self._operations.load(connection)
        ):
            return
        self._close_idle(lane)

    def _close_idle_lanes(self) -> None:
        for lane in list(self._lanes.values()):
            if lane.connection is not None:
                self.release(lane.connection)

    def _close_idle(self, lane: Lane) -> None:
        connection = lane.connection
        assert connection is not None
        del self._lanes[lane.number]
        lane.connection = None
        lane.stop_timer()
        log.debug("closing connection %d: no operation left on it", lane.number)
        closing = asyncio.ensure_future(connection.close(self._options.close_timeout, goodbye=True))
        self._closings.add(closing)
        closing.add_done_callback(self._closings.discard)

    def _lane_of(self, connection: Host) -> Lane | None:
        for lane in self._lanes.values():
            if lane.connection is connection:
                return lane
        return None

    # ------------------------------------------------------------- replacing

    def _connection_ended(self, connection: Connection, error: Exception, code: int) -> None:
        # Only a lane's connection in use is replaced or ends the transport;
        # an attempt's end is its attempt's error, and close() ends its own.
        lane = self._lane_of(connection)
        if lane is None:
            self._retired_ended(connection, error)
            return
        lane.connection = None
        lane.stop_timer()
        delay = self._retry_delay(1, error)
        self._events.emit(
            Disconnected(error, *close_details(error), delay is not None, lane.number)
        )
        if lane is self._primary:
            action = self._lifecycle.handle(
                Happening.LOST if delay is not None else Happening.LOST_FOR_GOOD
            )
            if action is Action.REPLACE:
                assert delay is not None
                self.close_exception = error
                self._bridge(lane, connection, error, delay)
            elif action is Action.SHUT_DOWN:
                self._begin_shutdown(error, clean=False, close_code=code, in_gap=False)
            return
        # Another lane's loss touches the transport's state only when it ends it.
        if delay is not None and self._lifecycle.state in (State.OPEN, State.RECONNECTING):
            self._bridge(lane, connection, error, delay)
            return
        self._lost_for_good(error)

    def _lost_for_good(self, error: Exception) -> None:
        action = self._lifecycle.handle(Happening.LOST_FOR_GOOD)
        if action in (Action.SHUT_DOWN, Action.END_GAP):
            self._begin_shutdown(
                error,
                clean=False,
                close_code=CloseCode.NORMAL_CLOSURE,
                in_gap=action is Action.END_GAP,
            )

    def _bridge(self, lane: Lane, lost: Connection, error: Exception, delay: float) -> None:
        # The lane's operations wait for its next connection; the others go on.
        lost_ones = self._operations.lost(lost, error)
        if lane.moving:
            # Some were not sent again before this loss: all go in id order.
            lane.moving = deque(sorted([*lane.moving, *lost_ones], key=_by_id))
        else:
            lane.moving.extend(lost_ones)
        gap = lane.gap = asyncio.ensure_future(self._replace(lane, lost, error, delay))
        self._gaps.add(gap)
        gap.add_done_callback(functools.partial(self._gap_ended, lane))

    async def _replace(self, lane: Lane, lost: Connection, error: Exception, delay: float) -> None:
        loop = asyncio.get_running_loop()
        lost_at = loop.time()
        try:
            await lost.close(self._options.close_timeout, goodbye=False)
            connection, attempt = await self._attempts(lane, 1, delay, error)
        except Exception as final:
            self._lost_for_good(final)
            return
        if lane is self._primary:
            discard = self._lifecycle.handle(Happening.ACKNOWLEDGED) is Action.DISCARD
        else:
            discard = self._lifecycle.state is State.CLOSING
        if discard:
            # close() came as the attempt succeeded.
            closed = TransportClosed(_CLOSED_BY_USER)
            await shielded(close_after_failure(connection, closed, self._options.close_timeout))
            return
        if lane is self._primary:
            self.close_exception = None
        self._use(lane, connection, attempt)
        try:
            count = await self._carry_over(lane, connection)
        except Exception:
            # A bug, not the network: the new connection stays as it is.
            log.exception("unexpected error while subscribing again")
            count = 0
        self._events.emit(Resubscribed(count, loop.time() - lost_at, lane.number))
        if lane.connection is connection:
            self.release(connection)

    async def _carry_over(self, lane: Lane, connection: Connection) -> int:
        # Each of the lane's subscriptions still being consumed, sent again
        # with its id and payload; its buffer, and what was queued in it,
        # follows it.  The round stops once the connection is no longer the
        # lane's (lost during a send: the rest wait for the next one) or a
        # send fails (the connection reports its own end).
        operations = self._operations
        moving = lane.moving
        breather = Breather()
        count = 0
        while moving and connection is lane.connection:
            operation = moving.popleft()
            if not operations.place(operation, connection):
                continue
            if not await self._start_again(connection, operation, "reconnection"):
                break
            count += 1
            await breather.breathe()
        return count

    @staticmethod
    async def _start_again(connection: Connection, operation: Operation, why: str) -> bool:
        # Send a subscription's start again, same id and payload, on the
        # connection it was carried over to; False when that connection broke
        # (it reports its own end).
        payload = operation.payload
        assert payload is not None
        try:
            await connection.send(connection.start_frame(operation.id, payload))
        except TransportConnectionFailed:
            log.debug("the new connection broke during the %s", why, exc_info=True)
            return False
        if operation.trace is not None:
            operation.trace.carried_over(why, connection.trace)
        return True

    def _gap_ended(self, lane: Lane, gap: asyncio.Task[None]) -> None:
        self._gaps.discard(gap)
        if lane.gap is gap:
            lane.gap = None
        self._gap_over.release()

    def live_connection(self) -> Connection:
        """The first lane's connection made last, if its websocket is there to send on.

        Raises:
            TransportConnectionFailed: There is none (``NOT_OPEN``).
        """
        connection = self.connection
        if connection is None or connection.websocket is None:
            raise TransportConnectionFailed(NOT_OPEN) from self.close_exception
        return connection

    # ---------------------------------------------------------------- renewing

    async def renew(self) -> None:
        """What ``AIOHTTPWebsocketsTransport.renew()`` does (see its docstring)."""
        lanes = [
            lane for lane in self.lanes() if lane.connection is not None or lane.renewal is not None
        ]
        if self._lifecycle.state not in (State.OPEN, State.RECONNECTING) or not lanes:
            raise TransportConnectionFailed(
                "the transport is not connected: there is no connection to renew"
            ) from self.close_exception
        renewals = [self._renewal_of(lane) for lane in lanes]
        await asyncio.wait(renewals)
        if any(renewal.cancelled() for renewal in renewals):
            raise TransportClosed(_CLOSED_WHILE_RENEWING)
        # Every error is read (each lane's RenewalFailed said it); the first is raised.
        errors = [error for renewal in renewals if (error := renewal.exception()) is not None]
        if errors:
            raise errors[0]

    def _renewal_of(self, lane: Lane) -> asyncio.Task[None]:
        # The lane's renewal under way, or a new one: one at a time per lane.
        renewal = lane.renewal
        if renewal is None:
            renewal = lane.renewal = asyncio.ensure_future(self._renew(lane))
            self._gaps.add(renewal)
            renewal.add_done_callback(functools.partial(self._renewal_ended, lane))
        return renewal

    def _renewal_ended(self, lane: Lane, renewal: asyncio.Task[None]) -> None:
        self._gaps.discard(renewal)
        if lane.renewal is renewal:
            lane.renewal = None
        if lane.connection is not None and lane is not self._primary:
            self.release(lane.connection)

    async def _renew(self, lane: Lane) -> None:
        # Make before break: open the new connection, move the subscriptions
        # (both copies run), wait until each switched, close the old one.
        gap = lane.gap
        if gap is not None:
            # A replacement still sending its subscriptions again: let it finish.
            await asyncio.wait([gap])
        old = lane.connection
        if old is None:
            raise TransportConnectionFailed(
                f"connection {lane.number} was lost and could not be replaced: "
                "there is nothing to renew"
            ) from self.close_exception
        options, events, number = self._options, self._events, lane.number
        loop = asyncio.get_running_loop()
        started_at = loop.time()
        events.emit(RenewalStarted(number))
        try:
            new = await open_connection(
                functools.partial(self._make_connection, lane),
                # The operations' results must read the same on both.
                (old.subprotocol or options.subprotocols[0],),
                init_payload=options.init_payload,
                connect_timeout=options.connect_timeout,
                ack_timeout=options.ack_timeout,
                close_timeout=options.close_timeout,
                opened=_nothing,
                offered_again=_nothing,
            )
        except Exception as error:
            events.emit(RenewalFailed(error, number))
            raise
        if self._lifecycle.state is State.CLOSING or lane.connection is not old:
            # close() came meanwhile, or the old connection was lost and is
            # being replaced as any lost connection is: once is enough.
            failure: Exception = (
                TransportClosed(_CLOSED_WHILE_RENEWING)
                if self._lifecycle.state is State.CLOSING
                else ConnectionInterrupted(
                    f"connection {number} was lost while it was being renewed; "
                    "it is replaced as any lost connection is",
                )
            )
            await shielded(close_after_failure(new, failure, options.close_timeout))
            events.emit(RenewalFailed(failure, number))
            raise failure
        lane.retiring, lane.made, lane.connection = old, new, new
        new.start()
        self._schedule_renewal(lane, new, self._renew_every)
        overlap = self._operations.renew(old, new)
        try:
            await self._start_moved(new, self._operations.moved(overlap))
            # Any left waiting by a replacement cut short go there too.
            await self._carry_over(lane, new)
            # Each subscription lines up, or is let go: when its new copy's
            # results have been held for HOLD_SECONDS, or at OVERLAP_SECONDS.
            deadline = loop.time() + OVERLAP_SECONDS
            while not await overlap.wait(min(HOLD_CHECK_SECONDS, deadline - loop.time())):
                if loop.time() >= deadline:
                    break
                self._operations.release_overdue(overlap, loop.time())
        except asyncio.CancelledError:
            # close(): the shutdown closes the old connection (lane.retiring)
            # with the others.
            self._operations.overlap_over(overlap)
            raise
        # From here on the old connection's end is no loss.
        lane.retiring = None
        self._operations.overlap_over(overlap)
        await shielded(old.close(options.close_timeout, goodbye=True))
        # An execute that outlived close_timeout there gets the same end as
        # on any connection lost under it.
        self._operations.lost(old, TransportConnectionFailed(NOT_OPEN))
        events.emit(
            Renewed(
                len(overlap.handovers),
                overlap.dropped,
                overlap.switched,
                loop.time() - started_at,
                number,
            )
        )

    async def _start_moved(self, connection: Connection, moved: list[Operation]) -> None:
        # Each moved subscription started on the new connection with its id
        # and payload.  Stops once the connection is no longer the one they
        # run on (lost: its replacement sends them) or a send fails.
        breather = Breather()
        for operation in moved:
            if (
                operation.connection is not connection
                or operation.ended
                or operation.state is OperationState.LEFT
            ):
                continue
            if not await self._start_again(connection, operation, "renewal"):
                break
            await breather.breathe()

    def _retired_ended(self, connection: Connection, error: Exception) -> None:
        # A connection being renewed ended by itself: its subscriptions run
        # on the new one already, its executes fail as on any loss.
        for lane in self._lanes.values():
            if lane.retiring is connection and self._lifecycle.state is not State.CLOSING:
                log.debug("connection %d: the old connection ended during its renewal", lane.number)
                lane.retiring = None
                self._operations.lost(connection, error)
                return

    def _schedule_renewal(self, lane: Lane, connection: Connection, after: float | None) -> None:
        lane.stop_timer()
        if after is not None:
            lane.timer = asyncio.get_running_loop().call_later(
                after, self._renewal_due, lane, connection
            )

    def _renewal_due(self, lane: Lane, connection: Connection) -> None:
        lane.timer = None
        if lane.connection is not connection or self._lifecycle.state not in (
            State.OPEN,
            State.RECONNECTING,
        ):
            return
        # One under way (renew() was called) counts as this one, failure included.
        renewal = self._renewal_of(lane)
        renewal.add_done_callback(functools.partial(self._automatic_renewal_ended, lane))

    def _automatic_renewal_ended(self, lane: Lane, renewal: asyncio.Task[None]) -> None:
        if renewal.cancelled():
            return
        error = renewal.exception()
        every = self._renew_every
        if error is None or every is None:
            return
        # RenewalFailed said why; the old connection goes on, so try again
        # before its credentials run out.
        connection = lane.connection
        if connection is not None and lane.timer is None:
            self._schedule_renewal(lane, connection, every * RENEWAL_RETRY_SHARE)

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
        # The lifecycle is CLOSING already; this starts the steps.  Every
        # lane's connection is let go of first, so that its end is not taken
        # for a loss.
        if log.isEnabledFor(logging.DEBUG):
            log.debug("closing: %r", error)
        self.close_exception = error
        for lane in self._lanes.values():
            lane.stop_timer()
            connection, lane.connection = lane.connection, None
            if connection is not None:
                connection.begin_close(error, close_code)
            if lane.retiring is not None:
                lane.retiring.begin_close(error, close_code)
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
            timeout = self._options.close_timeout
            closing = [
                asyncio.ensure_future(connection.close(timeout, goodbye=clean))
                for lane in self.lanes()
                for connection in (lane.retiring, lane.made)
                if connection is not None
            ]
            closing.extend(self._closings)
            if closing:
                await asyncio.wait(closing)
            for task in closing:
                if not task.cancelled() and task.exception() is not None:
                    log.error("closing a connection failed", exc_info=task.exception())
            # close() between connections: no server is left to stop the
            # subscriptions on, and they end as a close() ends them.
            self._operations.end_all(error, complete_subscriptions=clean and in_gap)
            await self._release_session()
        except Exception:
            log.exception("unexpected error while closing the transport")
        finally:
            self._policy = None
            self._cap = None
            self._renew_every = None
            self._lifecycle.handle(Happening.SHUT_DOWN)
            self._events.emit(Closed(None if clean else error))

    async def _release_session(self) -> None:
        session, self.session = self.session, None
        if session is not None and session is not self._options.lent_session:
            await close_session(session, self._options.ssl_close_timeout)
