"""Flow control: how many results an operation may fall behind, and what happens then.

Each operation's queue holds at most ``max_queued_results`` results.  The
bound is a count, not a size: the count is already known on the hot path
(the queue's length), whereas a size would cost a length on every result
taken as well as queued, and the size of one result is already bounded by
``max_msg_size``.  What a result arriving at the bound does is an
:class:`Overflow` policy, which the connection turns into what the buffer
calls at its high-water mark; under ``BACKPRESSURE`` the receive loop waits
on a :class:`Pressure` before it reads again.  :class:`QueueStats` is what a queue
reports of itself to the user.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Final

from .exceptions import QueueFullError
from .listener_queue import NO_LIMIT, ListenerQueue, Reaction

__all__ = [
    "DEFAULT_MAX_QUEUED_RESULTS",
    "INHERITED",
    "NO_LIMIT",
    "Inherited",
    "Overflow",
    "Pressure",
    "QueueStats",
    "overflow_policy",
    "queue_full_error",
    "queue_limit",
    "queue_options",
    "reactions",
]

#: The default ``max_queued_results``: far above any burst a consumer that
#: keeps up sees (a batch is handed over 64 results at a time), far below
#: what would exhaust memory with results of ordinary size.
DEFAULT_MAX_QUEUED_RESULTS: Final = 10_000


class Overflow(str, enum.Enum):
    """What an operation's queue does with a result arriving when it is full."""

    #: The operation fails with :class:`QueueFullError` after what was
    #: queued, and is stopped on the server; the other operations go on.
    FAIL = "fail"
    #: The oldest queued result is dropped (for tickers, where only the latest matters).
    KEEP_NEWEST = "keep_newest"
    #: The result is queued, and the connection stops reading until the
    #: consumer is down to half the limit: nothing is lost, but every
    #: operation of the connection waits meanwhile.
    BACKPRESSURE = "backpressure"


@dataclass(frozen=True, slots=True)
class QueueStats:
    """One running operation's queue, as counted when it was asked for.

    What :meth:`~gql_aiohttp_websockets.AIOHTTPWebsocketsTransport.queue_stats`
    returns, one per operation: how far its consumer is behind, and what its
    queue's limit and policy made of that so far.

    Attributes:
        query_id: The operation's id.
        queued: What its consumer has yet to take: the results, and the
            operation's end once the server sent it.
        dropped: How many results ``"keep_newest"`` dropped, since the
            operation started; always 0 under the other policies.
        limit: The ``max_queued_results`` in force for the operation, ``None``
            for no limit.
        on_queue_full: The policy in force for the operation.

    Example:
        Warn about each operation whose consumer is near its limit::

            for stats in transport.queue_stats():
                if stats.limit is not None and stats.queued > stats.limit * 0.8:
                    log.warning("operation %d is %d results behind", stats.query_id, stats.queued)
    """

    query_id: int
    queued: int
    dropped: int
    limit: int | None
    on_queue_full: Overflow


def overflow_policy(value: Overflow | str) -> Overflow:
    """Read an ``on_queue_full`` option: an :class:`Overflow` or its value.

    Raises:
        ValueError: ``value`` names no policy.
    """
    try:
        return Overflow(value)
    except ValueError:
        names = ", ".join(repr(policy.value) for policy in Overflow)
        raise ValueError(f"on_queue_full must be one of {names}, got {value!r}") from None


def queue_limit(value: int | None) -> int:
    """Read a ``max_queued_results`` option: ``None`` means no limit.

    Raises:
        ValueError: ``value`` is below 1.
    """
    if value is None:
        return NO_LIMIT
    if value < 1:
        raise ValueError(f"max_queued_results must be None or at least 1, got {value}")
    return int(value)


class Inherited(enum.Enum):
    """The type of :data:`INHERITED`."""

    TRANSPORTS = "the transport's"

    def __repr__(self) -> str:
        return self.value


#: The default of ``subscribe()``'s flow-control keywords: the transport's option.
INHERITED: Final = Inherited.TRANSPORTS


def queue_options(
    limit: int | Inherited | None,
    policy: Overflow | str | Inherited,
    *,
    default_limit: int | None,
    default_policy: Overflow,
) -> tuple[int, Overflow]:
    """One subscription's limit and policy: its own keywords, else the transport's."""
    return (
        queue_limit(default_limit if limit is INHERITED else limit),
        default_policy if policy is INHERITED else overflow_policy(policy),
    )


def queue_full_error(query_id: int, limit: int) -> QueueFullError:
    """The error of an operation that reached its limit under ``FAIL``."""
    return QueueFullError(
        f"operation {query_id} fell {limit} results behind its server "
        f"(max_queued_results={limit}) and was stopped; consume faster, raise "
        "max_queued_results, or pass on_queue_full='keep_newest' or 'backpressure'",
        query_id=query_id,
        limit=limit,
    )


class Pressure:
    """The buffers holding one connection's reading back (``BACKPRESSURE``).

    Its :meth:`pause` and :meth:`resume` are what the connection gives each
    buffer under that policy; the receive loop waits on :meth:`relieved`
    before it reads again.
    """

    __slots__ = ("_relief", "_stopped", "paused")

    def __init__(self) -> None:
        #: The buffers at their high-water mark, not yet back at their low one.
        self.paused: set[Hashable] = set()
        self._relief: asyncio.Future[None] | None = None
        self._stopped = False

    def pause(self, buffer: Hashable) -> None:
        """Hold reading back until ``buffer`` is resumed."""
        if not self._stopped:
            self.paused.add(buffer)

    def resume(self, buffer: Hashable) -> None:
        """``buffer`` holds reading back no more (caught up, ended or left)."""
        paused = self.paused
        paused.discard(buffer)
        if not paused:
            self._relieve()

    def stop(self) -> None:
        """Stop holding back: the connection is closing."""
        self._stopped = True
        self.paused.clear()
        self._relieve()

    def _relieve(self) -> None:
        relief, self._relief = self._relief, None
        if relief is not None and not relief.done():
            relief.set_result(None)

    async def relieved(self) -> None:
        """Wait until no buffer holds reading back."""
        while self.paused:
            if self._relief is None:
                self._relief = asyncio.get_running_loop().create_future()
            await self._relief


def reactions(
    pressure: Pressure, stop: Callable[[int], object]
) -> dict[Overflow, tuple[Reaction, Reaction | None]]:
    """What a buffer calls at its high-water mark (and back at its low one), by policy.

    Args:
        pressure: The reader's full buffers, for ``BACKPRESSURE``.
        stop: Tells the server to stop an operation, by id, for ``FAIL``.

    Returns:
        For each policy, its ``pause`` and ``resume`` (see
        :meth:`ListenerQueue.attach`).
    """

    def fail(buffer: ListenerQueue) -> None:
        # The consumer gets the error after what it has yet to take.
        buffer.fail(queue_full_error(buffer.query_id, buffer.high))
        stop(buffer.query_id)

    return {
        Overflow.FAIL: (fail, None),
        Overflow.KEEP_NEWEST: (ListenerQueue.drop_oldest, None),
        Overflow.BACKPRESSURE: (pressure.pause, pressure.resume),
    }
