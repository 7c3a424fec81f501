"""Lifecycle events: what happened to the transport's connection, for one user callback.

Each event is a small frozen dataclass, given to the ``on_event`` callback
synchronously where it happens, and logged.  An exception from the callback
is logged and never raised into the transport.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

__all__ = [
    "Closed",
    "Connected",
    "Connecting",
    "Disconnected",
    "EventCallback",
    "EventSink",
    "RenewalFailed",
    "RenewalStarted",
    "Renewed",
    "Resubscribed",
    "Retrying",
    "TransportEvent",
]

log = logging.getLogger("gql_aiohttp_websockets.events")


@dataclass(frozen=True, slots=True)
class Connecting:
    """A websocket is being opened.

    Attributes:
        attempt: 0 for
            :meth:`~gql_aiohttp_websockets.AIOHTTPWebsocketsTransport.connect`;
            ``n`` for the ``n``-th attempt to replace a lost connection.
        connection: Which of the transport's connections: 1, or a small
            number that stays with an extra connection (see
            ``max_operations_per_connection``) across its replacements.
    """

    attempt: int
    connection: int = 1


@dataclass(frozen=True, slots=True)
class Connected:
    """The server acknowledged the connection: operations may run.

    Attributes:
        subprotocol: The negotiated subprotocol.
        ack_payload: The ``connection_ack`` payload (``None`` without one).
        attempt: As in :class:`Connecting`.
        subprotocol_assumed: Whether the server's handshake answer named no
            subprotocol, so that ``subprotocol`` is assumed, not agreed (a
            server may then speak another one).
        connection: Which of the transport's connections: 1, or a small
            number that stays with an extra connection (see
            ``max_operations_per_connection``) across its replacements.
    """

    subprotocol: str
    ack_payload: Any
    attempt: int
    subprotocol_assumed: bool = False
    connection: int = 1


@dataclass(frozen=True, slots=True)
class Disconnected:
    """A connection ended by itself, or an attempt to make one failed.

    Also after a failed ``connect()`` (with ``will_retry`` false: only an
    acknowledged connection is replaced).

    Attributes:
        error: What ended it.
        code: The server's close code, ``None`` without a close frame.
        reason: The server's close reason (possibly empty).
        will_retry: Whether the transport will connect again.
        connection: Which of the transport's connections: 1, or a small
            number that stays with an extra connection (see
            ``max_operations_per_connection``) across its replacements.
    """

    error: Exception
    code: int | None
    reason: str
    will_retry: bool
    connection: int = 1


@dataclass(frozen=True, slots=True)
class Retrying:
    """The transport waits, then connects again.

    Attributes:
        attempt: The attempt about to be made, from 1.
        delay: Seconds it waits first.
        error: Why the last connection (or attempt) failed.
        connection: Which of the transport's connections: 1, or a small
            number that stays with an extra connection (see
            ``max_operations_per_connection``) across its replacements.
    """

    attempt: int
    delay: float
    error: Exception
    connection: int = 1


@dataclass(frozen=True, slots=True)
class Resubscribed:
    """The running subscriptions were sent again on the new connection.

    What their servers sent during the gap is not replayed: each subscription
    starts over on the server, as a new subscribe does.

    Attributes:
        count: How many operations were sent again.
        gap: Seconds from the loss of the old connection until every
            operation was sent again on the new one.
        connection: Which of the transport's connections: 1, or a small
            number that stays with an extra connection (see
            ``max_operations_per_connection``) across its replacements.
    """

    count: int
    gap: float
    connection: int = 1


@dataclass(frozen=True, slots=True)
class RenewalStarted:
    """A renewal began: a new connection is being opened beside the one in use.

    Attributes:
        connection: Which of the transport's connections is renewed: 1, or a
            small number that stays with an extra connection (see
            ``max_operations_per_connection``).
    """

    connection: int = 1


@dataclass(frozen=True, slots=True)
class Renewed:
    """A renewal is over: the subscriptions run on the new connection, the old one is closed.

    Attributes:
        moved: How many subscriptions were moved to the new connection.
        duplicates: Results dropped as repeats of one already delivered (the
            events sent on both connections during the overlap; see
            :doc:`/reconnection`).
        switched: How many of the moved subscriptions lined up on their
            results before the old connection was closed; the others were let
            go when the overlap bound passed (or ended meanwhile).
        seconds: From the start of the renewal until the old connection
            was closed.
        connection: As in :class:`RenewalStarted`.
    """

    moved: int
    duplicates: int
    switched: int
    seconds: float
    connection: int = 1


@dataclass(frozen=True, slots=True)
class RenewalFailed:
    """A renewal ended before it moved anything.

    Its new connection could not be opened (the old one goes on untouched),
    the old one was lost meanwhile (:exc:`ConnectionInterrupted`: it is
    replaced as any lost connection is), or ``close()`` was called.

    Attributes:
        error: Why (what ``renew()`` raises).
        connection: As in :class:`RenewalStarted`.
    """

    error: Exception
    connection: int = 1


@dataclass(frozen=True, slots=True)
class Closed:
    """The transport is closed: no connection, no reconnection, no task left.

    Attributes:
        error: Why; ``None`` after
            :meth:`~gql_aiohttp_websockets.AIOHTTPWebsocketsTransport.close`,
            else the last error.
    """

    error: Exception | None


#: Any of the lifecycle events.
TransportEvent: TypeAlias = (
    Connecting
    | Connected
    | Disconnected
    | Retrying
    | Resubscribed
    | RenewalStarted
    | Renewed
    | RenewalFailed
    | Closed
)
#: The ``on_event`` callback.
EventCallback: TypeAlias = Callable[[TransportEvent], object]


class EventSink:
    """Logs each event and hands it to the user's callback, if there is one.

    Args:
        callback: The ``on_event`` option.
        observer: Also given each event, before the callback (the
            transport's telemetry counts them); its errors are logged too.
    """

    __slots__ = ("callback", "observer")

    def __init__(
        self, callback: EventCallback | None, observer: EventCallback | None = None
    ) -> None:
        self.callback = callback
        self.observer = observer

    def emit(self, event: TransportEvent) -> None:
        """Log ``event``, then call the callback with it; its errors are logged."""
        if type(event) is Retrying:
            log.info(
                "connecting again in %.2f s (attempt %d%s): %s",
                event.delay,
                event.attempt,
                "" if event.connection == 1 else f", connection {event.connection}",
                event.error,
            )
        elif type(event) is Renewed:
            log.info(
                "renewed %s: %d subscription(s) moved (%d lined up on their results), "
                "%d repeated result(s) dropped, in %.2f s",
                "the connection" if event.connection == 1 else f"connection {event.connection}",
                event.moved,
                event.switched,
                event.duplicates,
                event.seconds,
            )
        elif type(event) is RenewalFailed:
            log.warning(
                "could not renew %s, which goes on: %s",
                "the connection" if event.connection == 1 else f"connection {event.connection}",
                event.error,
            )
        elif log.isEnabledFor(logging.DEBUG):
            log.debug("%r", event)
        observer = self.observer
        if observer is not None:
            try:
                observer(event)
            except Exception:
                log.exception("counting %r failed", event)
        callback = self.callback
        if callback is None:
            return
        try:
            callback(event)
        except Exception:
            log.exception("the on_event callback failed on %r", event)
