"""ListenerQueue: the buffer between the receive loop and one operation's consumer."""

from __future__ import annotations

import asyncio
from collections import deque

from graphql import ExecutionResult

__all__ = ["ListenerQueue", "ParsedAnswer"]

#: ``("data", result)`` for a result, ``("complete", None)`` for the end.
ParsedAnswer = tuple[str, ExecutionResult | None]


class ListenerQueue:
    """The results of one operation, waiting for its consumer.

    Same interface as gql's ``ListenerQueue``: items are ``(answer_type,
    execution_result)`` pairs, and an exception set with :meth:`set_exception`
    is raised to the consumer only after every item queued before it.  Unlike
    gql's, it is a deque with at most one waiting future, and it has
    synchronous ``put_nowait`` / ``set_exception_nowait`` for the receive loop.

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
        self._items: deque[ParsedAnswer] = deque()
        self._exception: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    async def get(self) -> ParsedAnswer:
        """Return the next item, waiting for one if needed.

        Raises:
            Exception: The exception given to :meth:`set_exception`, once every
                item queued before it has been returned.
        """
        items = self._items
        while not items:
            if self._exception is not None:
                raise self._exception
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        item = items.popleft()
        if item[0] == "complete":
            self.send_stop = False
        return item

    def put_nowait(self, item: ParsedAnswer) -> None:
        """Queue ``item`` unless the queue is closed."""
        if self.closed:
            return
        self._items.append(item)
        if item[0] == "complete":
            self.closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def put(self, item: ParsedAnswer) -> None:
        """Queue ``item`` unless the queue is closed (gql-compatible coroutine)."""
        self.put_nowait(item)

    def set_exception_nowait(self, exception: BaseException) -> None:
        """Close the queue with ``exception``, raised after the queued items.

        The first exception wins; the operation no longer needs a stop message.
        """
        self.send_stop = False
        if self._exception is None:
            self._exception = exception
        self.closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def set_exception(self, exception: BaseException) -> None:
        """Close the queue with ``exception`` (gql-compatible coroutine)."""
        self.set_exception_nowait(exception)
