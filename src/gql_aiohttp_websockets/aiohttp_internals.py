"""Every private aiohttp attribute the package reads, in one place.

aiohttp has no public accessor for these.  Each was checked against aiohttp
3.9.5, 3.10.11, 3.11.18, 3.12.15, 3.13.2 and 3.14.5; each read is defensive,
so that an aiohttp that moved the attribute costs a feature (or a detail of a
message), never an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sized
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp.client_ws import ClientWebSocketResponse

__all__ = [
    "connection_key",
    "connection_transport",
    "parsed_frames",
    "release_response",
    "response_headers",
    "small_reads",
    "tuned_transport",
]

# asyncio reads up to 256 KiB per recv().  glibc serves a buffer that large
# with mmap() and munmap() on every read until its dynamic threshold rises,
# which costs tens of microseconds per round trip; 64 KiB stays on the heap.
READ_SIZE = 64 * 1024


def response_headers(websocket: ClientWebSocketResponse[bool]) -> dict[str, str]:
    """Return the headers of the handshake response (``websocket._response``)."""
    response = getattr(websocket, "_response", None)
    headers = getattr(response, "headers", None)
    return dict(headers) if headers is not None else {}


def connection_transport(websocket: ClientWebSocketResponse[bool]) -> asyncio.BaseTransport | None:
    """Return the asyncio transport the websocket runs on (TLS included, if any).

    ``websocket._response.connection.transport``: the response is private,
    its ``connection`` and that one's ``transport`` are public.
    """
    connection = getattr(getattr(websocket, "_response", None), "connection", None)
    transport = getattr(connection, "transport", None)
    return transport if isinstance(transport, asyncio.BaseTransport) else None


def small_reads(transport: asyncio.BaseTransport | None) -> asyncio.BaseTransport | None:
    """Make a socket transport read at most ``READ_SIZE`` bytes at a time.

    Sets ``max_size``, the per-read size of asyncio's selector transports
    (private; 256 KiB), and only where it is an integer attribute, so that
    TLS, uvloop or a future asyncio keep their own read size.  Large frames
    still arrive whole: aiohttp's parser joins the reads.
    """
    if transport is not None and isinstance(getattr(transport, "max_size", None), int):
        transport.max_size = READ_SIZE  # type: ignore[attr-defined]
    return transport


def tuned_transport(websocket: ClientWebSocketResponse[bool]) -> asyncio.BaseTransport | None:
    """Return ``connection_transport(websocket)``, set to read ``READ_SIZE`` at a time."""
    return small_reads(connection_transport(websocket))


def release_response(websocket: ClientWebSocketResponse[bool]) -> None:
    """Close the handshake response, which aiohttp's ``close()`` skips when cut short.

    Its ``close()`` cancelled while it waits for the server's close frame
    leaves ``websocket._response`` open (a ``ResourceWarning`` when collected).
    Closing it again is harmless.
    """
    response = getattr(websocket, "_response", None)
    if response is not None:
        response.close()


def parsed_frames(websocket: ClientWebSocketResponse[bool]) -> Sized | None:
    """Return aiohttp's queue of parsed, not yet received frames, if it can be seen.

    Its length tells whether ``receive()`` would return at once.  It is
    ``websocket._reader._buffer``: a deque in ``DataQueue`` (3.9, 3.10) and in
    ``WebSocketDataQueue`` (3.11 and later).  ``None`` when this aiohttp keeps
    it elsewhere.
    """
    queue = getattr(getattr(websocket, "_reader", None), "_buffer", None)
    return queue if isinstance(queue, Sized) else None


def connection_key(error: Any) -> Any:
    """Return the connection key an aiohttp ``ClientConnectorError`` was built with.

    Its constructor's first argument, kept as ``_conn_key``; ``host``,
    ``port`` and ``ssl`` read it.
    """
    return getattr(error, "_conn_key", None)
