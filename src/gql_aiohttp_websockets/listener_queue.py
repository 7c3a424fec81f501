"""ListenerQueue: the buffer between the receive loop and one operation's consumer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final

from gql.transport.exceptions import TransportProtocolError, TransportQueryError
from graphql import ExecutionResult

from .flow_control import NO_LIMIT, Overflow, QueueStats, queue_full_error

__all__ = [
    "COMPLETE",
    "EMPTY",
    "ListenerQueue",
    "ParsedAnswer",
    "QueueMarker",
    "wait_until_ended",
]

# Most results take_ready() hands over at once: a slow consumer's backlog is
# let go of a batch at a time.
_BATCH = 64

#: ``("data", result)`` for a result, ``("complete", None)`` for the end.
ParsedAnswer = tuple[str, ExecutionResult | None]


class QueueMarker:
    """What ``ListenerQueue.take_nowait()`` returns when it has no result to give."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: Returned by ``ListenerQueue.take_nowait()`` when the operation completed.
COMPLETE: Final = QueueMarker("COMPLETE")
#: Returned by ``ListenerQueue.take_nowait()`` when nothing is queued yet.
EMPTY: Final = QueueMarker("EMPTY")


class ListenerQueue:
    """The results of one operation, waiting for its consumer.

    Same interface as gql's ``ListenerQueue``: :meth:`get` returns
    ``(answer_type, execution_result)`` pairs, and an exception set with
    :meth:`set_exception` is raised to the consumer only after every result
    queued before it.  Underneath it is a list of results with at most one
    waiting future, and it has synchronous methods for the receive loop
    (:meth:`put_result`, :meth:`set_exception_nowait`) and for the
    transport's own consumer (:meth:`take_nowait`, :meth:`wait`), which skip
    building a pair per result.  A result may also be queued as the text of
    its frame, decoded only when taken.

    Args:
        query_id: The operation id this queue belongs to.
        send_stop: Whether the consumer leaving early must tell the server to
            stop the operation.
        decode: Turns ``(query_id, text)``, a result queued as text, into
            the result when it is taken.
        on_malformed: Called with the error of ``decode`` for a malformed
            frame, before the consumer gets that error in the result's place;
            nothing queued after the frame is delivered.
        limit: The most results queued at once (``NO_LIMIT`` by default).
        overflow: What a result arriving at the limit does (see :class:`Overflow`).
        on_full: Called with the queue each time it reaches the limit
            (``FAIL`` and ``BACKPRESSURE``), so that the connection stops the
            operation or stops reading.
    """

    __slots__ = (
        "_decode",
        "_exception",
        "_head",
        "_items",
        "_on_malformed",
        "_space",
        "_waiter",
        "closed",
        "dropped",
        "full",
        "limit",
        "on_end",
        "on_full",
        "overflow",
        "query_id",
        "send_stop",
    )

    def __init__(
        self,
        query_id: int,
        send_stop: bool,
        decode: Callable[[int, str], ExecutionResult] | None = None,
        on_malformed: Callable[[TransportProtocolError], object] | None = None,
        *,
        limit: int = NO_LIMIT,
        overflow: Overflow = Overflow.FAIL,
        on_full: Callable[[ListenerQueue], object] | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError(f"max_queued_results must be at least 1, got {limit}")
        self.query_id = query_id
        self.send_stop = send_stop
        #: ``True`` once ``complete`` or an exception was queued: later items are dropped.
        self.closed = False
        # A list read from _head on, not a deque: an empty deque weighs
        # several times an empty list, and a connection may hold thousands of
        # operations (benchmarks/README.md).
        self._items: list[ExecutionResult | str | QueueMarker] = []
        self._head = 0
        self._decode = decode
        self._on_malformed = on_malformed
        self._exception: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        # Called once when the operation ends: its end is queued (complete or
        # an exception), or its consumer left (see ended()).
        self.on_end: Callable[[], object] | None = None
        self.limit = limit
        self.overflow = overflow
        self.on_full = on_full
        #: Whether the queue is at its limit under ``BACKPRESSURE``, until the
        #: consumer brings it down to half.
        self.full = False
        #: How many results ``KEEP_NEWEST`` dropped.
        self.dropped = 0
        self._space: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._items) - self._head

    def stats(self) -> QueueStats:
        """Count the queue now: what waits, what was dropped, its limit and policy.

        Returns:
            Its counters, which do not change as the queue does.
        """
        return QueueStats(
            query_id=self.query_id,
            queued=len(self),
            dropped=self.dropped,
            limit=None if self.limit == NO_LIMIT else self.limit,
            on_queue_full=self.overflow,
        )

    # The receive loop's side.

    def put_result(self, result: ExecutionResult | str) -> bool:
        """Queue one result unless the queue is closed, and wake the consumer.

        Args:
            result: An ``ExecutionResult``, or text that the ``decode``
                function given to the constructor turns into one when the
                consumer takes it.

        Returns:
            Whether this woke a consumer that was waiting.
        """
        if self.closed:
            return False
        self.put_held(result)
        return self.wake()

    def put_held(self, item: ExecutionResult | str | QueueMarker) -> bool:
        """Queue a result, or ``COMPLETE``, unless the queue is closed; wake nobody.

        After ``COMPLETE`` the queue is closed: nothing queued later is kept.

        Returns:
            Whether the consumer is waiting for this item: the caller must
            then call :meth:`wake` (once, however many items it adds).
        """
        if self.closed:
            return False
        items = self._items
        # The list's length bounds the queued count from above: the exact
        # count is only needed near the limit.
        if len(items) >= self.limit:
            return self._put_near_limit(item)
        if item is COMPLETE:
            self._close()
        items.append(item)
        return self._waiter is not None and len(items) - self._head == 1

    def _put_near_limit(self, item: ExecutionResult | str | QueueMarker) -> bool:
        items = self._items
        head = self._head
        queued = len(items) - head
        if queued < self.limit or item is COMPLETE:
            if item is COMPLETE:
                self._close()
            items.append(item)
            return self._waiter is not None and queued == 0
        overflow = self.overflow
        if overflow is Overflow.KEEP_NEWEST:
            items[head] = EMPTY
            head += 1
            self.dropped += 1
            if head >= 256 and head * 2 >= len(items):
                del items[:head]
                head = 0
            self._head = head
            items.append(item)
            return False
        if overflow is Overflow.BACKPRESSURE:
            items.append(item)
            if not self.full:
                self.full = True
                if self.on_full is not None:
                    self.on_full(self)
            return False
        self.set_exception_nowait(queue_full_error(self.query_id, self.limit))
        if self.on_full is not None:
            self.on_full(self)
        return False

    def _taken(self) -> None:
        # Under backpressure: the consumer caught up to half the limit.
        if len(self._items) - self._head <= self.limit // 2:
            self.relieve()

    def relieve(self) -> None:
        """End a ``BACKPRESSURE`` pause: the connection may read again."""
        self.full = False
        space, self._space = self._space, None
        if space is not None and not space.done():
            space.set_result(None)

    def space(self) -> asyncio.Future[None]:
        """Return a future done once the queue is no longer full (see ``BACKPRESSURE``)."""
        future = self._space
        if future is None:
            future = self._space = asyncio.get_running_loop().create_future()
            if not self.full:
                future.set_result(None)
        return future

    def put_complete(self) -> None:
        """Queue the end of the operation and wake the consumer."""
        if not self.closed:
            self.put_held(COMPLETE)
            self.wake()

    def set_exception_nowait(self, exception: BaseException) -> None:
        """Close the queue with ``exception``, raised after the queued results.

        The first exception wins; the operation no longer needs a stop message.
        """
        self.send_stop = False
        if self._exception is None:
            self._exception = exception
        self._close()
        self.wake()

    def _close(self) -> None:
        # The end is queued: complete, an exception, or a malformed result.
        # A closed queue takes nothing more, so it holds the connection back no more.
        self.closed = True
        if self.full:
            self.relieve()
        if self.on_end is not None:
            self.ended()

    def ended(self) -> None:
        """Say that the operation ended: call ``on_end`` (once), if set.

        The queue calls it itself when its end is queued; the consumer calls
        it when it leaves before that.
        """
        on_end, self.on_end = self.on_end, None
        if on_end is not None:
            on_end()

    def rebind(
        self,
        decode: Callable[[int, str], ExecutionResult] | None,
        on_malformed: Callable[[TransportProtocolError], object] | None,
        on_full: Callable[[ListenerQueue], object] | None,
    ) -> None:
        """Follow the operation onto a new connection: its decoder and its callbacks."""
        self._decode = decode
        self._on_malformed = on_malformed
        self.on_full = on_full

    @property
    def decoder(self) -> Callable[[int, str], ExecutionResult] | None:
        """The function that turns a result queued as text into the result."""
        return self._decode

    def wake(self) -> bool:
        """Resume the waiting consumer, if there is one; return whether there was."""
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
                return True
        return False

    # The consumer's side.

    def take_nowait(self) -> ExecutionResult | QueueMarker:
        """Return the next result, ``COMPLETE``, or ``EMPTY`` when nothing is queued.

        Raises:
            BaseException: The exception given to :meth:`set_exception`, once
                every result queued before it has been taken; or the error of
                the ``decode`` function for a malformed result frame.
        """
        items = self._items
        head = self._head
        if head < len(items):
            item = items[head]
            head += 1
            if head == len(items):
                items.clear()
                head = 0
            else:
                # Let go of what was taken; drop the taken slots now and then.
                items[head - 1] = EMPTY
                if head >= 256 and head * 2 >= len(items):
                    del items[:head]
                    head = 0
            self._head = head
            if self.full:
                self._taken()
            if type(item) is str:
                return self.result_of(item)
            if item is COMPLETE:
                self.send_stop = False
            return item  # type: ignore[return-value]
        if self._exception is not None:
            raise self._exception
        return EMPTY

    def take_ready(self) -> list[ExecutionResult | str | QueueMarker]:
        """Take what is queued, at most ``_BATCH`` items; ``[]`` when nothing is.

        The list is in reverse order, the next item last, so that the consumer
        ``pop()`` s each one and lets go of it as it goes.  Text items are
        returned as they are: pass them to :meth:`result_of`.  One call per
        wake-up instead of one per result.

        Raises:
            BaseException: The exception given to :meth:`set_exception`, once
                every result queued before it has been taken.
        """
        items = self._items
        head = self._head
        left = len(items) - head
        if left > 0:
            if left > _BATCH:
                ready = items[head : head + _BATCH]
                head += _BATCH
                if head * 2 >= len(items):
                    del items[:head]
                    head = 0
                self._head = head
            elif head:
                ready = items[head:]
                items.clear()
                self._head = 0
            else:
                ready = items
                self._items = []
            if self.full:
                self._taken()
            ready.reverse()
            return ready
        if self._exception is not None:
            raise self._exception
        return []

    def result_of(self, text: str) -> ExecutionResult:
        """Decode a result that was queued as text.

        Raises:
            TransportProtocolError: It is malformed; the queue is closed, what
                was queued after it is dropped, and ``on_malformed`` was told.
        """
        assert self._decode is not None, "a frame was queued without a decoder"
        try:
            return self._decode(self.query_id, text)
        except TransportProtocolError as exc:
            self.malformed(exc)
            raise

    def malformed(self, error: TransportProtocolError) -> None:
        """Record that a result queued as text could not be decoded.

        The queue is closed and what was queued after that result is dropped;
        ``on_malformed`` is told.  For a consumer that decodes text items
        itself, with the ``decode`` function it was given.
        """
        self._close()
        self.send_stop = False
        self._items.clear()
        self._head = 0
        if self._on_malformed is not None:
            self._on_malformed(error)

    def waiter(self) -> Awaitable[None]:
        """Return a future that completes once :meth:`take_nowait` has something new.

        A plain future rather than a coroutine: awaiting it costs one frame
        less on every resumption of a consumer.  A waiter abandoned by a
        cancelled consumer is simply replaced by the next one.
        """
        waiter = asyncio.get_running_loop().create_future()
        if self._head < len(self._items) or self._exception is not None:
            waiter.set_result(None)
        else:
            self._waiter = waiter
        return waiter

    async def first(self) -> ExecutionResult:
        """Return the first result, waiting for it; what ``execute()`` needs.

        Raises:
            TransportQueryError: The operation completed without a result.
            BaseException: The exception given to :meth:`set_exception`.
        """
        while True:
            item = self.take_nowait()
            if item is EMPTY:
                await self.waiter()
            elif item is COMPLETE:
                raise TransportQueryError(
                    "Query completed without any answer received from the server",
                    query_id=self.query_id,
                )
            else:
                return item  # type: ignore[return-value]

    async def wait(self) -> None:
        """Wait until :meth:`take_nowait` has something other than ``EMPTY``."""
        await self.waiter()

    # gql's interface.

    async def get(self) -> ParsedAnswer:
        """Return the next ``(answer_type, result)`` pair, waiting for one if needed.

        Raises:
            BaseException: The exception given to :meth:`set_exception`, once
                every item queued before it has been returned.
        """
        while True:
            item = self.take_nowait()
            if item is EMPTY:
                await self.wait()
            elif item is COMPLETE:
                return ("complete", None)
            else:
                assert isinstance(item, ExecutionResult)
                return ("data", item)

    def put_nowait(self, item: ParsedAnswer) -> None:
        """Queue a gql-style ``(answer_type, result)`` pair unless the queue is closed."""
        answer_type, result = item
        if answer_type == "complete":
            self.put_complete()
        elif result is not None:
            self.put_result(result)

    async def put(self, item: ParsedAnswer) -> None:
        """Queue a gql-style pair (gql-compatible coroutine)."""
        self.put_nowait(item)

    async def set_exception(self, exception: BaseException) -> None:
        """Close the queue with ``exception`` (gql-compatible coroutine)."""
        self.set_exception_nowait(exception)


async def wait_until_ended(listeners: list[ListenerQueue], or_until: asyncio.Future[Any]) -> None:
    """Wait until each of ``listeners`` has its end queued or its consumer left.

    Args:
        listeners: The queues to wait for; their ``on_end`` is taken meanwhile.
        or_until: Ends the wait too when it is done (the receive loop's task).
    """
    if not listeners or or_until.done():
        return
    all_ended = asyncio.get_running_loop().create_future()
    left = len(listeners)

    def one_ended() -> None:
        nonlocal left
        left -= 1
        if not left and not all_ended.done():
            all_ended.set_result(None)

    for listener in listeners:
        listener.on_end = one_ended
    try:
        await asyncio.wait([all_ended, or_until], return_when=asyncio.FIRST_COMPLETED)
    finally:
        all_ended.cancel()
        for listener in listeners:
            listener.on_end = None
