"""``--events``: each lifecycle event of the transport as one line on stderr."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import TextIO

from ..lifecycle_events import (
    Closed,
    Connected,
    Connecting,
    Disconnected,
    Resubscribed,
    Retrying,
    TransportEvent,
)
from ..redaction import safe_url
from .failures import one_line
from .output import clock

__all__ = ["EventPrinter", "describe_event"]


def describe_event(event: TransportEvent, url: str) -> str:
    """Say what ``event`` means, e.g. ``connected (graphql-transport-ws)``.

    Args:
        event: The event.
        url: The server's URL, named (without credentials or query) when connecting.
    """
    if isinstance(event, Connecting):
        again = f" (attempt {event.attempt})" if event.attempt else ""
        return f"connecting to {safe_url(url)}{again}"
    if isinstance(event, Connected):
        return f"connected ({event.subprotocol})"
    if isinstance(event, Disconnected):
        then = "; will connect again" if event.will_retry else ""
        return f"disconnected: {one_line(str(event.error))}{then}"
    if isinstance(event, Retrying):
        return f"connecting again in {event.delay:.2f} s (attempt {event.attempt})"
    if isinstance(event, Resubscribed):
        plural = "" if event.count == 1 else "s"
        return (
            f"subscribed again ({event.count} operation{plural}) after a {event.gap:.2f} s gap; "
            "results the server sent meanwhile are not replayed"
        )
    closed: Closed = event
    return "closed" if closed.error is None else f"closed: {one_line(str(closed.error))}"


class EventPrinter:
    """The transport's ``on_event`` callback for ``--events``: one line per event.

    Args:
        stream: Where the lines go (standard error).
        url: The server's URL.
    """

    def __init__(self, stream: TextIO, url: str) -> None:
        self._stream = stream
        self._url = url

    def __call__(self, event: TransportEvent) -> None:
        """Print ``event``, with the time it happened, and flush."""
        line = f"{clock(datetime.now())} event: {describe_event(event, self._url)}\n"
        # A closed stderr must not end the run: events are commentary.
        with contextlib.suppress(BrokenPipeError):
            self._stream.write(line)
            self._stream.flush()
