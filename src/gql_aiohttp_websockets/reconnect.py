"""Reconnection: replacing a lost connection, and carrying the subscriptions over.

A lost connection is never reused: a :class:`Reconnector` waits as its
:class:`~gql_aiohttp_websockets.RetryPolicy` says, makes a new connection
until one is acknowledged (or the policy gives up), and hands it back to the
transport, which re-sends each subscription still being consumed with its id
and payload.  As the graphql-ws client does; nothing the server produced
during the gap is replayed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .connection import Connection
from .exceptions import ConnectionInterrupted, TransportConnectionClosed, TransportConnectionFailed
from .lifecycle_events import Connected, Connecting, Disconnected, EventSink, Resubscribed, Retrying
from .listener_queue import ListenerQueue
from .retry import RetryPolicy
from .waiting import Waiters

__all__ = ["Reconnector", "close_details", "interrupt", "resubscribe"]

log = logging.getLogger("gql_aiohttp_websockets.reconnect")


def close_details(error: Exception) -> tuple[int | None, str]:
    """The server's close code and reason carried by ``error``, if any."""
    if isinstance(error, (TransportConnectionClosed, ConnectionInterrupted)):
        return error.code, error.reason
    return None, ""


def interrupt(listeners: dict[int, ListenerQueue], error: Exception) -> None:
    """Fail every operation that is not carried over (``execute()``), with ``error`` as cause."""
    code, reason = close_details(error)
    for listener in listeners.values():
        if listener.payload is None and not listener.closed:
            interrupted = ConnectionInterrupted(
                f"the connection was lost while operation {listener.query_id} waited for its "
                f"answer ({error}); it is not sent again, as it may have run on the server",
                code=code,
                reason=reason,
            )
            interrupted.__cause__ = error
            listener.set_exception_nowait(interrupted)


async def resubscribe(connection: Connection, listeners: dict[int, ListenerQueue]) -> int:
    """Send each subscription still being consumed again, on ``connection``.

    Same id, same payload; the queue follows the operation onto the new
    connection.  A send that fails stops the round: the connection reports
    its own end.

    Returns:
        How many operations were sent again.
    """
    count = 0
    for op_id, listener in list(listeners.items()):
        payload = listener.payload
        if payload is None or listener.closed:
            continue
        listener.rebind(connection.decode_result, connection.on_malformed, connection.on_full)
        try:
            await connection.send(connection.start_frame(op_id, payload))
        except TransportConnectionFailed:
            log.debug("the new connection broke while subscribing again", exc_info=True)
            break
        count += 1
    return count


class Reconnector:
    """Replaces the transport's lost connections, one gap at a time.

    Args:
        policy: Whether and when to try again.
        events: Where the lifecycle events go.
        connect_again: Makes one attempt: a new connection, acknowledged.
        replaced: Takes the acknowledged connection into use; returns how
            many operations it sent again.
        gave_up: Told the last error when the policy gives up.
        close_timeout: Seconds allowed for closing the lost connection.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        events: EventSink,
        *,
        connect_again: Callable[[], Awaitable[Connection]],
        replaced: Callable[[Connection], Awaitable[int]],
        gave_up: Callable[[Exception], object],
        close_timeout: float | None,
    ) -> None:
        self.policy = policy
        self._events = events
        self._connect_again = connect_again
        self._replaced = replaced
        self._gave_up = gave_up
        self._close_timeout = close_timeout
        self._task: asyncio.Task[None] | None = None
        self._waiters = Waiters()

    def next_delay(self, attempt: int, error: Exception) -> float | None:
        """The policy's answer for ``attempt`` after ``error``; ``None`` if it raised."""
        try:
            return self.policy.delay(attempt, error)
        except Exception:
            log.exception("the retry policy failed; giving up")
            return None

    def begin(self, lost: Connection, error: Exception, delay: float) -> None:
        """Start replacing ``lost``, which ended with ``error``, after ``delay`` seconds."""
        self._task = asyncio.ensure_future(self._replace(lost, error, delay))

    @property
    def replacing(self) -> bool:
        """Whether a gap is being bridged now."""
        return self._task is not None and not self._task.done()

    async def wait(self) -> None:
        """Wait until the current gap ends, whichever way."""
        if self.replacing:
            await self._waiters.wait()

    async def stop(self) -> None:
        """Stop the gap at once (``close()``); returns when its task is done."""
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.wait([task])
            if not task.cancelled() and task.exception() is not None:
                log.error("the reconnection failed", exc_info=task.exception())
        self._waiters.release()

    async def _replace(self, lost: Connection, error: Exception, delay: float) -> None:
        me = asyncio.current_task()
        loop = asyncio.get_running_loop()
        lost_at = loop.time()
        try:
            await lost.close(self._close_timeout, goodbye=False)
            connection = await self._attempts(error, delay)
        except Exception as final:
            self._gave_up(final)
            self._end_of(me)
            return
        try:
            count = await self._replaced(connection)
        except Exception:
            # A bug, not the network: the new connection stays as it is.
            log.exception("unexpected error while subscribing again")
            count = 0
        self._events.emit(Resubscribed(count, loop.time() - lost_at))
        self._end_of(me)

    def _end_of(self, task: asyncio.Task[None] | None) -> None:
        # A newer gap may have begun meanwhile (the new connection broke at once).
        if self._task is task:
            self._task = None
        self._waiters.release()

    async def _attempts(self, error: Exception, delay: float) -> Connection:
        attempt = 1
        events = self._events
        while True:
            events.emit(Retrying(attempt, delay, error))
            await asyncio.sleep(delay)
            events.emit(Connecting(attempt))
            try:
                connection = await self._connect_again()
            except Exception as failed:
                error = failed
                attempt += 1
                next_delay = self.next_delay(attempt, failed)
                code, reason = close_details(failed)
                events.emit(Disconnected(failed, code, reason, next_delay is not None))
                if next_delay is None:
                    raise
                delay = next_delay
                continue
            ack = connection.payloads.get("connection_ack")
            events.emit(
                Connected(
                    connection.subprotocol or "", ack, attempt, connection.subprotocol_assumed
                )
            )
            return connection
