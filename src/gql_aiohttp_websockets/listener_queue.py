"""ListenerQueue: the buffer between the receive loop and one operation's consumer.

One way in (:meth:`ListenerQueue.feed`, for each result and for the
operation's ``complete``; :meth:`ListenerQueue.fail` for an end with an
error) and one way out (:meth:`ListenerQueue.take`, which decodes what was
queued as frame text).  What happens at the high-water mark is the reader's
business: the buffer calls the ``pause`` it was given, and ``resume`` once its
consumer is back down to the low-water mark.  gql's ``get``/``put``/
``set_exception`` are thin adapters over the two ways.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from gql.transport.exceptions import TransportProtocolError, TransportQueryError
from graphql import ExecutionResult

__all__ = [
    "COMPLETE",
    "NO_LIMIT",
    "Decode",
    "ListenerQueue",
    "ParsedAnswer",
    "QueueMarker",
    "Reaction",
]

#: The ``high`` of a buffer without one.
NO_LIMIT: Final = sys.maxsize

# The most results one take() hands over: a slow consumer's backlog is let
# go of a batch at a time.
_BATCH = 64

#: ``("data", result)`` for a result, ``("complete", None)`` for the end.
ParsedAnswer = tuple[str, ExecutionResult | None]


class QueueMarker:
    """An item of a buffer that is not a result."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: The operation's end, as :meth:`ListenerQueue.feed` takes it and
#: :meth:`ListenerQueue.take` hands it over.
COMPLETE: Final = QueueMarker("COMPLETE")
# What fills a slot already taken, until the list is compacted.
_TAKEN: Final = QueueMarker("TAKEN")

#: Turns ``(query_id, text)``, a result queued as the text of its payload, into the result.
Decode = Callable[[int, str], ExecutionResult]
#: A reader's answer to a buffer at its high-water mark, or back at its low one.
Reaction = Callable[["ListenerQueue"], None]


class ListenerQueue:
    """The results of one operation, waiting for its consumer.

    Same interface as gql's ``ListenerQueue`` (:meth:`get`, :meth:`put`,
    :meth:`set_exception`, an exception raised to the consumer only after
    every result queued before it), over a buffer with one synchronous way in,
    :meth:`feed`, and one way out, :meth:`take`.

    Args:
        query_id: The operation id this buffer belongs to.
        send_stop: Whether the consumer leaving early must tell the server to
            stop the operation (gql's meaning: until the end was taken).
        high: The high-water mark: a result arriving while this many wait
            calls ``pause`` (``NO_LIMIT`` by default).
    """

    __slots__ = (
        "_decode",
        "_exception",
        "_head",
        "_items",
        "_on_malformed",
        "_pause",
        "_resume",
        "_waiter",
        "closed",
        "dropped",
        "high",
        "on_end",
        "paused",
        "query_id",
        "send_stop",
    )

    def __init__(self, query_id: int, send_stop: bool, *, high: int = NO_LIMIT) -> None:
        if high < 1:
            raise ValueError(f"max_queued_results must be at least 1, got {high}")
        self.query_id = query_id
        self.send_stop = send_stop
        self.high = high
        #: ``True`` once ``complete`` or an exception was queued: later items are dropped.
        self.closed = False
        #: Whether ``pause`` was called and ``resume`` is owed.
        self.paused = False
        #: How many results :meth:`drop_oldest` dropped.
        self.dropped = 0
        # A list read from _head on, not a deque: an empty deque weighs
        # several times an empty list, and a connection may hold thousands of
        # operations (benchmarks/README.md).
        self._items: list[ExecutionResult | str | QueueMarker] = []
        self._head = 0
        self._exception: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._decode: Decode | None = None
        self._on_malformed: Callable[[TransportProtocolError], object] | None = None
        self._pause: Reaction | None = None
        self._resume: Reaction | None = None
        # Called once when the operation ends: its end is queued (complete or
        # an exception), or its consumer left (see left()).
        self.on_end: Callable[[], object] | None = None

    def __len__(self) -> int:
        return len(self._items) - self._head

    def attach(
        self,
        decode: Decode | None,
        *,
        pause: Reaction | None = None,
        resume: Reaction | None = None,
        on_malformed: Callable[[TransportProtocolError], object] | None = None,
    ) -> None:
        """Take the reader of a (new) connection: how it decodes and reacts.

        What waits stays as it is: the payload of a result is the same text in
        both subprotocols, so the new connection's decoder takes it as well.

        Args:
            decode: Turns a result queued as text into the result.
            pause: Called with the buffer when a result arrives at the
                high-water mark, before it is queued.  It may make room
                (:meth:`drop_oldest`), end the buffer (:meth:`fail`: the
                result is dropped), or stop reading until ``resume``.
            resume: Called with the buffer once it is back at the low-water
                mark (half the high one), ended or left, after a ``pause``
                that did not make room.
            on_malformed: Told the error of ``decode`` for a malformed
                frame, before the consumer gets it in the result's place.
        """
        self._decode = decode
        self._pause = pause
        self._resume = resume
        self._on_malformed = on_malformed
        # A pause was the previous reader's: the new one has to be told anew.
        self.paused = False

    # ------------------------------------------------------------ the way in

    def feed(self, item: ExecutionResult | str | QueueMarker) -> bool:
        """Queue a result, or ``COMPLETE``, unless the buffer is closed; wake nobody.

        Args:
            item: An ``ExecutionResult``, the text of a result's payload
                (decoded when taken), or ``COMPLETE``, which closes the buffer.

        Returns:
            Whether the consumer waits for this item: the caller must then
            call :meth:`wake` (once, however many items it feeds).
        """
        if self.closed:
            return False
        items = self._items
        # The list's length bounds the queued count from above: the exact
        # count is only needed near the mark.
        if len(items) >= self.high:
            return self._feed_near_high(item)
        if item is COMPLETE:
            self._close()
        items.append(item)
        return self._waiter is not None and len(items) - self._head == 1

    def _feed_near_high(self, item: ExecutionResult | str | QueueMarker) -> bool:
        if item is not COMPLETE and not self.paused and len(self) >= self.high:
            pause = self._pause
            if pause is not None:
                self.paused = True
                pause(self)
                if self.closed:
                    return False
                self.paused = len(self) >= self.high
        if item is COMPLETE:
            self._close()
        self._items.append(item)
        return self._waiter is not None and len(self) == 1

    def drop_oldest(self) -> None:
        """Drop the oldest result waiting, counting it in :attr:`dropped`."""
        items, head = self._items, self._head
        if head >= len(items):
            return
        items[head] = _TAKEN
        self._head = head + 1
        self.dropped += 1
        self._compact()

    def fail(self, exception: BaseException) -> None:
        """End the buffer with ``exception``, raised after the results queued before it.

        The first exception wins; the operation no longer needs a stop message.
        """
        self.send_stop = False
        if self._exception is None:
            self._exception = exception
        self._close()
        self.wake()

    def wake(self) -> bool:
        """Resume the waiting consumer, if there is one; return whether there was."""
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
                return True
        return False

    def _close(self) -> None:
        # The end is queued: a closed buffer takes nothing more, so it holds
        # its reader back no more.
        self.closed = True
        if self.paused:
            self._resumed()
        if self.on_end is not None:
            self.left()

    def left(self) -> None:
        """Say that the operation ended or its consumer left.

        Calls ``on_end`` (once), if set, and ``resume`` if a pause is owed.
        The buffer says it itself when its end is queued.
        """
        if self.paused:
            self._resumed()
        on_end, self.on_end = self.on_end, None
        if on_end is not None:
            on_end()

    def _resumed(self) -> None:
        self.paused = False
        if self._resume is not None:
            self._resume(self)

    # ----------------------------------------------------------- the way out

    def take(self, at_most: int = _BATCH) -> Iterable[ExecutionResult | QueueMarker]:
        """Take what waits, at most ``at_most`` items, to be iterated in order; ``()`` if nothing.

        What waits as text is decoded as the iteration reaches it, so that a
        batch of large results is never held decoded at once, and
        ``COMPLETE`` ends the batch when the operation completed.  One
        call per wake-up instead of one per result.

        Raises:
            BaseException: The exception given to :meth:`fail`, once every
                result queued before it has been taken; during the iteration,
                the error of the decoder for a malformed frame, in that
                result's place (the frame ends the buffer: nothing after it is
                delivered).
        """
        items = self._items
        head = self._head
        left = len(items) - head
        if left <= 0:
            if self._exception is not None:
                raise self._exception
            return ()
        if left > at_most:
            ready = items[head : head + at_most]
            for index in range(head, head + at_most):
                items[index] = _TAKEN
            self._head = head + at_most
            self._compact()
        elif head:
            ready = items[head:]
            items.clear()
            self._head = 0
        else:
            ready = items
            self._items = []
        if self.paused and len(self) <= self.high // 2:
            self._resumed()
        # Reversed, so that each item is let go of as it is handed over.
        ready.reverse()
        return self._handing_over(ready)

    def _handing_over(
        self, ready: list[ExecutionResult | str | QueueMarker]
    ) -> Iterator[ExecutionResult | QueueMarker]:
        decode, query_id = self._decode, self.query_id
        while ready:
            item = ready.pop()
            if type(item) is str:
                assert decode is not None, "a frame was queued without a decoder"
                try:
                    result = decode(query_id, item)
                except TransportProtocolError as exc:
                    self._malformed(exc)
                    raise
                yield result
                continue
            if item is COMPLETE:
                self.send_stop = False
            yield item  # type: ignore[misc]

    def wait(self) -> asyncio.Future[None]:
        """Return a future done once :meth:`take` has something new to give.

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

    def _compact(self) -> None:
        # Let go of the taken slots now and then, not on every take.
        head = self._head
        if head >= 256 and head * 2 >= len(self._items):
            del self._items[:head]
            self._head = 0

    def _malformed(self, error: TransportProtocolError) -> None:
        # The consumer gets the error in the malformed result's place; what
        # came after it is dropped, and the reader is told.
        self._exception = error
        self.send_stop = False
        self._items.clear()
        self._head = 0
        self._close()
        if self._on_malformed is not None:
            self._on_malformed(error)

    # ------------------------------------------------------ for execute()

    async def first(self) -> ExecutionResult:
        """Return the first result, waiting for it; what ``execute()`` needs.

        Raises:
            TransportQueryError: The operation completed without a result.
            BaseException: The exception given to :meth:`fail`.
        """
        while True:
            ready = self.take(1)
            if not ready:
                await self.wait()
                continue
            (item,) = ready
            if item is COMPLETE:
                raise TransportQueryError(
                    "Query completed without any answer received from the server",
                    query_id=self.query_id,
                )
            return item  # type: ignore[return-value]

    # ------------------------------------------------------ gql's interface

    async def get(self) -> ParsedAnswer:
        """Return the next ``(answer_type, result)`` pair, waiting for one if needed.

        Raises:
            BaseException: The exception given to :meth:`set_exception`, once
                every item queued before it has been returned.
        """
        while True:
            ready = self.take(1)
            if not ready:
                await self.wait()
                continue
            (item,) = ready
            if item is COMPLETE:
                return ("complete", None)
            assert isinstance(item, ExecutionResult)
            return ("data", item)

    def put_nowait(self, item: ParsedAnswer) -> None:
        """Queue a gql-style ``(answer_type, result)`` pair unless the buffer is closed."""
        answer_type, result = item
        if answer_type == "complete":
            self.feed(COMPLETE)
        elif result is not None:
            self.feed(result)
        self.wake()

    async def put(self, item: ParsedAnswer) -> None:
        """Queue a gql-style pair (gql-compatible coroutine)."""
        self.put_nowait(item)

    async def set_exception(self, exception: BaseException) -> None:
        """End the buffer with ``exception`` (gql-compatible coroutine)."""
        self.fail(exception)
