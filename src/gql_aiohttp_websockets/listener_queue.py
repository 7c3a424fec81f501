"""ListenerQueue: the buffer between the receive loop and one operation's consumer."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable
from typing import Final

from graphql import ExecutionResult

__all__ = ["COMPLETE", "EMPTY", "ListenerQueue", "ParsedAnswer", "QueueMarker"]

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
    queued before it.  Underneath it is a deque of results with at most one
    waiting future, and it has synchronous methods for the receive loop
    (:meth:`put_result`, :meth:`set_exception_nowait`) and for the
    transport's own consumer (:meth:`take_nowait`, :meth:`wait`), which skip
    building a pair per result.

    Args:
        query_id: The operation id this queue belongs to.
        send_stop: Whether the consumer leaving early must tell the server to
            stop the operation.
    """

    __slots__ = ("_exception", "_items", "_waiter", "closed", "query_id", "send_stop")

    def __init__(self, query_id: int, send_stop: bool) -> None:
        self.query_id = query_id
        self.send_stop = send_stop
        #: ``True`` once ``complete`` or an exception was queued: later items are dropped.
        self.closed = False
        self._items: deque[ExecutionResult | QueueMarker] = deque()
        self._exception: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    # The receive loop's side.

    def put_result(self, result: ExecutionResult) -> bool:
        """Queue one result unless the queue is closed.

        Returns:
            Whether this woke a consumer that was waiting.
        """
        if self.closed:
            return False
        self._items.append(result)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
                return True
        return False

    def put_complete(self) -> None:
        """Queue the end of the operation; nothing queued later is kept."""
        if self.closed:
            return
        self.closed = True
        self._items.append(COMPLETE)
        self._wake()

    def set_exception_nowait(self, exception: BaseException) -> None:
        """Close the queue with ``exception``, raised after the queued results.

        The first exception wins; the operation no longer needs a stop message.
        """
        self.send_stop = False
        if self._exception is None:
            self._exception = exception
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # The consumer's side.

    def take_nowait(self) -> ExecutionResult | QueueMarker:
        """Return the next result, ``COMPLETE``, or ``EMPTY`` when nothing is queued.

        Raises:
            BaseException: The exception given to :meth:`set_exception`, once
                every result queued before it has been taken.
        """
        items = self._items
        if items:
            item = items.popleft()
            if item is COMPLETE:
                self.send_stop = False
            return item
        if self._exception is not None:
            raise self._exception
        return EMPTY

    def waiter(self) -> Awaitable[None]:
        """Return a future that completes once :meth:`take_nowait` has something new.

        A plain future rather than a coroutine: awaiting it costs one frame
        less on every resumption of a consumer.  A waiter abandoned by a
        cancelled consumer is simply replaced by the next one.
        """
        waiter = asyncio.get_running_loop().create_future()
        if self._items or self._exception is not None:
            waiter.set_result(None)
        else:
            self._waiter = waiter
        return waiter

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
