"""Operations: every operation the transport runs, in one place, from its start to its end.

An operation is a record (:class:`Operation`): its id, its kind, the payload
it can be sent again with, where it is in its life, its result buffer (the
``ListenerQueue`` its consumer reads) and the connection it runs on.  The
registry (:class:`Operations`) is the only writer of that state: it registers
an operation, places it on a connection, moves it to another, records the
stops, fails or ends what a lost or closing connection leaves, and lets go of
it when its consumer leaves.  gql's ``transport.listeners`` (id to
``ListenerQueue``) is a read-only view of it.

An operation's *end* (``complete``, an error, a malformed result) is queued
in its buffer by whoever received it; the buffer says whether it is there
(``ListenerQueue.closed``) and, with gql's meaning, whether the server still
has to be told to stop (``ListenerQueue.send_stop``: not once the ``complete``
was taken or an error queued).  The registry reads both rather than keeping
a second copy.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from gql.transport.exceptions import TransportProtocolError

from .exceptions import ConnectionInterrupted, close_details
from .flow_control import Overflow, QueueStats
from .handover import Handover, Overlap, Stage
from .listener_queue import COMPLETE, NO_LIMIT, Decode, ListenerQueue, Reaction

if TYPE_CHECKING:
    from .telemetry import OperationTrace

__all__ = [
    "OPERATION_MOVES",
    "Host",
    "Listeners",
    "Operation",
    "OperationKind",
    "OperationState",
    "Operations",
]


class Host(Protocol):
    """What an operation needs of the connection it runs on (a ``Connection`` is one)."""

    #: Decodes a result its buffer queued as text.
    decode_result: Decode | None
    #: Told that a result queued as text was malformed.
    on_malformed: Callable[[TransportProtocolError], None] | None

    @property
    def reactions(self) -> Mapping[Overflow, tuple[Reaction | None, Reaction | None]]:
        """For each policy, what its buffer calls at its high-water mark and back at its low one."""

    async def stop_operation(self, op_id: int) -> None:
        """Tell the server the client stopped listening to ``op_id``."""

    def stop_in_background(self, op_id: int) -> None:
        """Tell the server to stop ``op_id`` without waiting for the send."""


class OperationKind(enum.Enum):
    """What an operation is for, which decides what a lost connection does to it."""

    #: ``execute()``: one answer; never sent twice, as it may have run on the server.
    EXECUTE = "execute"
    #: ``subscribe()``: results until it ends; sent again on a new connection.
    SUBSCRIPTION = "subscription"


class OperationState(enum.Enum):
    """Where an operation is in the client's part of its life."""

    #: Registered; its start is on its way to the connection.
    STARTING = "starting"
    #: Started on its connection: its results come from there.
    RUNNING = "running"
    #: Its connection was lost; it waits to be started again on the next one.
    MOVING = "moving"
    #: The server was told to stop it (its ``complete`` may still come).
    STOPPED = "stopped"
    #: Its consumer left: it is no longer in the registry.
    LEFT = "left"


#: For each state, the states an operation may move to.
OPERATION_MOVES: dict[OperationState, frozenset[OperationState]] = {
    OperationState.STARTING: frozenset(
        {
            OperationState.RUNNING,
            OperationState.MOVING,
            OperationState.STOPPED,
            OperationState.LEFT,
        }
    ),
    OperationState.RUNNING: frozenset(
        {OperationState.MOVING, OperationState.STOPPED, OperationState.LEFT}
    ),
    OperationState.MOVING: frozenset({OperationState.RUNNING, OperationState.LEFT}),
    OperationState.STOPPED: frozenset({OperationState.LEFT}),
    OperationState.LEFT: frozenset(),
}


# For the two moves every operation makes, on the path of each execute().
_STARTING = OperationState.STARTING
_RUNNING = OperationState.RUNNING
_LEFT = OperationState.LEFT
# A start on its way to the socket is ahead of the stop sent after it.
_STOPPABLE = frozenset({OperationState.STARTING, OperationState.RUNNING})


class Operation:
    """One operation: what it is, where it is, and its results.

    Built by :meth:`Operations.register` and written only by the registry;
    everything else reads it.

    Attributes:
        id: The operation id, unique among the transport's running operations.
        kind: Execute or subscription.
        payload: What it is sent again with on a new connection (after a
            loss, or by a renewal); ``None`` for an execute, never sent again.
        state: Where it is (see :class:`OperationState`).
        buffer: Its results, waiting for its consumer.
        connection: The connection it runs on (``None`` between connections).
        handover: While a renewal moves it, its way from the results of the
            connection it ran on before to those of the new one; else ``None``.
        overflow: What its buffer's reader does when the buffer reaches
            ``max_queued_results`` (its high-water mark).
        trace: Its OpenTelemetry span, when the transport reports to
            OpenTelemetry (see ``telemetry.py``), else ``None``.
    """

    __slots__ = (
        "buffer",
        "connection",
        "handover",
        "id",
        "kind",
        "overflow",
        "payload",
        "state",
        "trace",
    )

    def __init__(
        self,
        op_id: int,
        kind: OperationKind,
        buffer: ListenerQueue,
        *,
        payload: Mapping[str, Any] | None,
        overflow: Overflow = Overflow.FAIL,
        trace: OperationTrace | None = None,
    ) -> None:
        self.id = op_id
        self.kind = kind
        self.buffer = buffer
        self.payload = payload
        self.overflow = overflow
        self.state = OperationState.STARTING
        self.connection: Host | None = None
        self.handover: Handover | None = None
        self.trace = trace

    @property
    def ended(self) -> bool:
        """Whether its end is queued: ``complete``, an error, or a malformed result."""
        return self.buffer.closed

    def __repr__(self) -> str:
        return f"<Operation {self.id} {self.kind.value} {self.state.value}>"


class Listeners(Mapping[int, ListenerQueue]):
    """gql's ``transport.listeners``: the running operations' buffers by id, read-only."""

    __slots__ = ("_running",)

    def __init__(self, running: dict[int, Operation]) -> None:
        self._running = running

    def __getitem__(self, op_id: int) -> ListenerQueue:
        return self._running[op_id].buffer

    def __iter__(self) -> Iterator[int]:
        return iter(self._running)

    def __len__(self) -> int:
        return len(self._running)

    def __repr__(self) -> str:
        return f"Listeners({dict(self)!r})"


class Operations:
    """The transport's running operations, and the only writer of their state.

    Ids start at 1 on each :meth:`reset` (each ``connect()``) and are unique
    among the running operations, whichever connection each runs on.
    """

    __slots__ = ("_load", "_overlaps", "_running", "listeners", "next_id")

    def __init__(self) -> None:
        #: The running operations by id: what the receive loop reads on its hot path.
        self._running: dict[int, Operation] = {}
        # How many operations each connection holds, until their consumers leave.
        self._load: dict[Host, int] = {}
        # The renewals' overlaps under way.
        self._overlaps: list[Overlap] = []
        #: The id the next operation gets.
        self.next_id = 1
        #: The buffers by id (gql's ``listeners``).
        self.listeners = Listeners(self._running)

    @property
    def running(self) -> Mapping[int, Operation]:
        """The running operations by id (read-only)."""
        return self._running

    def get(self, op_id: int) -> Operation | None:
        """The running operation ``op_id``, or ``None``."""
        return self._running.get(op_id)

    def on(self, connection: Host) -> list[Operation]:
        """The operations running on ``connection``."""
        return [op for op in self._running.values() if op.connection is connection]

    def load(self, connection: Host) -> int:
        """How many operations ``connection`` holds: placed there, their consumers still in."""
        return self._load.get(connection, 0)

    def reset(self) -> None:
        """Start afresh for a new ``connect()``: no operation, ids from 1."""
        self._running.clear()
        self._load.clear()
        self._overlaps.clear()
        self.next_id = 1

    # ----------------------------------------------------------- one operation

    def register(
        self,
        kind: OperationKind,
        connection: Host,
        *,
        stop_on_leave: bool,
        payload: Mapping[str, Any] | None = None,
        limit: int = NO_LIMIT,
        overflow: Overflow = Overflow.FAIL,
        trace: OperationTrace | None = None,
    ) -> Operation:
        """Register a new operation on ``connection``, with the next id.

        Args:
            kind: Execute or subscription.
            connection: The connection its start is about to be sent on.
            stop_on_leave: Whether its consumer leaving early stops it on the
                server (``subscribe(send_stop=True)``), until its end is taken.
            payload: Kept to send it again on a new connection (``None``: never).
            limit: Its buffer's ``max_queued_results``.
            overflow: Its buffer's policy at the limit.
            trace: Its span, when the transport reports to OpenTelemetry.
        """
        op_id = self.next_id
        self.next_id = op_id + 1
        buffer = ListenerQueue(op_id, stop_on_leave, high=limit)
        operation = Operation(op_id, kind, buffer, payload=payload, overflow=overflow, trace=trace)
        self._attach(operation, connection)
        self._running[op_id] = operation
        return operation

    def started(self, operation: Operation) -> None:
        """Its start frame went out on its connection."""
        # The table's move, written out: this runs once per operation.
        if operation.state is _STARTING:
            operation.state = _RUNNING

    def leave(self, operation: Operation) -> Host | None:
        """Its consumer left, whatever the reason: let go of it.

        Returns:
            The connection to send its stop on, when the server must be told
            (the consumer left a running subscription before its end), else
            ``None``.
        """
        state = operation.state
        if state is _LEFT:
            return None
        buffer = operation.buffer
        stop_on = None
        if state is _RUNNING and buffer.send_stop:
            stop_on = operation.connection
        if self._running.get(operation.id) is operation:
            del self._running[operation.id]
        connection = operation.connection
        if connection is not None:
            self._unload(connection)
        handover = operation.handover
        if handover is not None:
            operation.handover = None
            handover.cut_short()
        # Every state may be left (OPERATION_MOVES); written out, as it runs
        # once per operation.
        operation.state = _LEFT
        if buffer.on_end is not None or buffer.paused:
            buffer.left()
        return stop_on

    # --------------------------------------------------- what a connection does

    def to_stop(self, connection: Host) -> list[Operation]:
        """The subscriptions on ``connection`` to stop before it closes normally.

        Each is recorded as stopped: its consumer leaving later sends nothing.
        """
        stopping = []
        for operation in self._running.values():
            if (
                operation.connection is connection
                and operation.state in _STOPPABLE
                and operation.buffer.send_stop
            ):
                self._move(operation, OperationState.STOPPED)
                stopping.append(operation)
        return stopping

    async def wait_until_ended(self, connection: Host, or_until: asyncio.Future[Any]) -> None:
        """Wait until each operation on ``connection`` has its end queued or was left.

        Args:
            connection: Whose operations to wait for.
            or_until: Ends the wait too when it is done (the receive loop's task).
        """
        buffers = [
            operation.buffer
            for operation in self._running.values()
            if operation.connection is connection and not operation.ended
        ]
        if not buffers or or_until.done():
            return
        all_ended = asyncio.get_running_loop().create_future()
        left = len(buffers)

        def one_ended() -> None:
            nonlocal left
            left -= 1
            if not left and not all_ended.done():
                all_ended.set_result(None)

        for buffer in buffers:
            buffer.on_end = one_ended
        try:
            await asyncio.wait([all_ended, or_until], return_when=asyncio.FIRST_COMPLETED)
        finally:
            all_ended.cancel()
            for buffer in buffers:
                buffer.on_end = None

    def lost(self, connection: Host, error: Exception) -> list[Operation]:
        """``connection`` was lost and will be replaced: sort out its operations.

        Each execute fails with :class:`ConnectionInterrupted` (``error`` as
        its cause), after the results queued before; each subscription still
        being consumed waits to be started again on the next connection.

        Returns:
            The operations that wait to be started again, by id.
        """
        code, reason = close_details(error)
        moving = []
        self._load.pop(connection, None)
        for overlap in [overlap for overlap in self._overlaps if overlap.old is connection]:
            # The new copies go on from what they hold.
            self.overlap_over(overlap)
        for operation in self._running.values():
            if operation.connection is not connection:
                continue
            operation.connection = None
            if operation.ended:
                continue
            if (
                operation.kind is OperationKind.SUBSCRIPTION
                and operation.payload is not None
                and operation.state is not OperationState.STOPPED
            ):
                self._move(operation, OperationState.MOVING)
                moving.append(operation)
                continue
            interrupted = ConnectionInterrupted(
                f"the connection was lost while operation {operation.id} waited for its "
                f"answer ({error}); it is not sent again, as it may have run on the server",
                code=code,
                reason=reason,
            )
            interrupted.__cause__ = error
            operation.buffer.fail(interrupted)
        return moving

    def place(self, operation: Operation, connection: Host) -> bool:
        """Start ``operation`` again on ``connection``: its buffer follows it there.

        Returns:
            ``False``, and nothing changes, when the operation no longer waits
            for a connection (its consumer left, or it was placed already);
            then its start must not be sent.
        """
        if operation.state is not OperationState.MOVING or operation.ended:
            return False
        self._move(operation, OperationState.RUNNING)
        self._attach(operation, connection)
        return True

    # ---------------------------------------------------------------- renewal

    def renew(self, old: Host, new: Host) -> Overlap:
        """Move every subscription running on ``old`` to ``new``, both copies running.

        Each moved subscription gets a :class:`~.handover.Handover`, which
        takes its results from ``old`` until ``new`` catches up.  Executes
        stay where they started.

        Returns:
            The overlap, whose subscriptions are to be started on ``new``.
        """
        overlap = Overlap(old)
        for operation in self._running.values():
            if (
                operation.connection is old
                and operation.kind is OperationKind.SUBSCRIPTION
                and operation.state in _STOPPABLE
                and operation.payload is not None
                and not operation.ended
            ):
                self._unload(old)
                self._attach(operation, new)
                operation.handover = overlap.add(operation.id)
        overlap.ready()
        if overlap.handovers:
            self._overlaps.append(overlap)
        return overlap

    def moved(self, overlap: Overlap) -> list[Operation]:
        """The operations ``overlap`` moved that still run, in id order."""
        running = self._running
        return [
            operation
            for handover in overlap.handovers
            if (operation := running.get(handover.op_id)) is not None
            and operation.handover is handover
        ]

    def from_old(self, operation: Operation, message: Any, *, ends: bool) -> Sequence[Any]:
        """What to queue for a message of ``operation``'s old copy (see ``Handover``).

        An end there before the new copy said anything stands, and the new copy is stopped.
        """
        handover = operation.handover
        assert handover is not None
        # Read before: only an end the old copy sent before the new one said
        # anything stands (a held new copy goes on, see Handover.from_old).
        stood = ends and handover.stage is Stage.OLD
        queued = handover.from_old(message, ends=ends)
        connection = operation.connection
        if stood and connection is not None:
            connection.stop_in_background(operation.id)
        self._done_with(operation, handover)
        return queued

    def from_new(self, operation: Operation, message: Any, *, ends: bool) -> Sequence[Any]:
        """What to queue for a message of ``operation``'s new copy (see ``Handover``)."""
        handover = operation.handover
        assert handover is not None
        queued = handover.from_new(message, ends=ends)
        self._done_with(operation, handover)
        return queued

    @staticmethod
    def _done_with(operation: Operation, handover: Handover) -> None:
        # Once the new copy alone is delivered, its results skip the handover.
        if handover.stage is Stage.NEW:
            operation.handover = None

    def release_overdue(self, overlap: Overlap, now: float) -> None:
        """Hand over the subscriptions whose old copy has been behind for too long.

        Their held results are queued now (see ``HOLD_SECONDS``).
        """
        overdue = overlap.overdue(now)
        if overdue:
            running = self._running
            for handover in overdue:
                operation = running.get(handover.op_id)
                if operation is not None and operation.handover is handover:
                    self._queue(operation, handover.cut_short())
                    self._done_with(operation, handover)

    def overlap_over(self, overlap: Overlap) -> None:
        """End ``overlap``: each moved subscription takes the new copy's results alone.

        The results a handover held are queued now.
        """
        for operation in self.moved(overlap):
            handover = operation.handover
            assert handover is not None
            self._queue(operation, handover.cut_short())
            # One still skipping the new copy's repeats of what the old copy
            # delivered keeps at it.
            self._done_with(operation, handover)
        if overlap in self._overlaps:
            self._overlaps.remove(overlap)
        overlap.ready()

    @staticmethod
    def _queue(operation: Operation, messages: Sequence[Any]) -> None:
        buffer = operation.buffer
        for message in messages:
            if isinstance(message, BaseException):
                buffer.fail(message)
            else:
                buffer.feed(message)
        buffer.wake()

    def end_all(self, error: Exception, *, complete_subscriptions: bool) -> None:
        """End every operation still running, each after its queued results.

        Args:
            error: What the ones not ended otherwise get.
            complete_subscriptions: End the subscriptions as if their server
                had completed them (``close()`` while no connection was left
                to stop them on).
        """
        running = list(self._running.values())
        if complete_subscriptions:
            for operation in running:
                if operation.kind is OperationKind.SUBSCRIPTION:
                    operation.buffer.feed(COMPLETE)
        for operation in running:
            operation.buffer.fail(error)

    def stats(self) -> list[QueueStats]:
        """Count each running operation's buffer now, by id."""
        return [
            QueueStats(
                query_id=operation.id,
                queued=len(operation.buffer),
                dropped=operation.buffer.dropped,
                limit=None if operation.buffer.high == NO_LIMIT else operation.buffer.high,
                on_queue_full=operation.overflow,
            )
            for operation in self._running.values()
        ]

    def _unload(self, connection: Host) -> None:
        load = self._load
        left = load.get(connection, 0) - 1
        if left > 0:
            load[connection] = left
        else:
            load.pop(connection, None)

    def _attach(self, operation: Operation, connection: Host) -> None:
        # The operation runs on connection from now on: its buffer takes that
        # connection's decoder and its reactions to the operation's policy.
        operation.connection = connection
        load = self._load
        load[connection] = load.get(connection, 0) + 1
        pause, resume = connection.reactions[operation.overflow]
        operation.buffer.attach(
            connection.decode_result,
            pause=pause,
            resume=resume,
            on_malformed=connection.on_malformed,
        )

    @staticmethod
    def _move(operation: Operation, to: OperationState) -> None:
        if to not in OPERATION_MOVES[operation.state]:
            raise RuntimeError(
                f"operation {operation.id}: no move from {operation.state.value} to {to.value}"
            )
        operation.state = to
