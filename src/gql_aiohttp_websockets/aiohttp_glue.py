"""Where aiohttp meets gql: aiohttp's messages and arguments translated in one place.

The transport hands every non-text websocket message to :func:`frame_error`,
which turns it into the gql exception a user catches; and it builds aiohttp's
arguments and reads its results through the helpers here, so that no other
module needs to know aiohttp's quirks.
"""

from __future__ import annotations

import asyncio
import select
import sys
from collections.abc import Awaitable, Callable, Sized
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
from aiohttp import BasicAuth, WSMsgType
from aiohttp.typedefs import LooseHeaders
from gql.transport.exceptions import TransportProtocolError
from multidict import CIMultiDict
from yarl import URL

from .exceptions import TransportConnectionClosed

if TYPE_CHECKING:
    from aiohttp.client_ws import ClientWebSocketResponse

__all__ = [
    "frame_error",
    "queued_frames",
    "read_response_headers",
    "readable_probe",
    "safe_url",
    "with_credentials",
    "within",
]

_T = TypeVar("_T")


if sys.version_info >= (3, 11):

    async def within(awaitable: Awaitable[_T], timeout: float | None) -> _T:
        """Await ``awaitable`` for at most ``timeout`` seconds (``None``: no limit)."""
        # Unlike wait_for before 3.12, no extra task per call: this runs on
        # every connect and close.
        async with asyncio.timeout(timeout):
            return await awaitable

else:

    async def within(awaitable: Awaitable[_T], timeout: float | None) -> _T:
        """Await ``awaitable`` for at most ``timeout`` seconds (``None``: no limit)."""
        return await asyncio.wait_for(awaitable, timeout)


def frame_error(
    message: aiohttp.WSMessage | Any,
    context: str,
    max_msg_size: int,
    heartbeat: float | None,
) -> Exception:
    """Translate a websocket message that is not a text frame into a gql exception.

    Args:
        message: What ``ClientWebSocketResponse.receive()`` returned.
        context: What the transport was doing, for the error message.
        max_msg_size: The transport's limit, named when a message exceeded it.
        heartbeat: The transport's heartbeat interval, named when it expired.

    Returns:
        :class:`TransportConnectionClosed` (with the close code) when the
        connection ended, ``TransportProtocolError`` when the server sent
        something GraphQL over websocket does not allow.
    """
    kind, data = message.type, message.data
    if kind is WSMsgType.CLOSE:
        code = data if isinstance(data, int) else None
        reason = message.extra if isinstance(message.extra, str) else ""
        return TransportConnectionClosed.from_close(code, reason, context=context)
    if kind is WSMsgType.BINARY:
        return TransportProtocolError(
            f"the server sent a binary frame ({len(data)} bytes) {context}; "
            "GraphQL over websocket uses text frames only"
        )
    if kind is WSMsgType.ERROR:
        if isinstance(data, aiohttp.WebSocketError):
            if data.code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG:
                return TransportConnectionClosed(
                    f"the server sent a message larger than max_msg_size={max_msg_size} "
                    f"bytes {context}; raise max_msg_size if such messages are expected",
                    code=1009,
                    reason="message too big",
                )
            return TransportProtocolError(f"invalid websocket frame {context}: {data}")
        if isinstance(data, aiohttp.ServerTimeoutError):
            return TransportConnectionClosed(
                f"no PONG frame answered a heartbeat PING (heartbeat={heartbeat}s) "
                f"{context}; the connection is considered lost"
            )
        return TransportConnectionClosed(f"the connection failed {context}: {data!r}")
    return TransportConnectionClosed.from_close(None, "", context=context)


def with_credentials(
    headers: LooseHeaders | None, name: str, credentials: BasicAuth | None
) -> CIMultiDict[str] | None:
    """Return ``headers`` with ``credentials`` encoded under header ``name``.

    aiohttp 3.14 deprecates its ``auth=`` and ``proxy_auth=`` arguments; the
    header they stand for is sent the same way, without a warning for gql users.

    Raises:
        ValueError: ``headers`` already has ``name``.
    """
    if credentials is None:
        return None if headers is None else CIMultiDict(headers)
    merged: CIMultiDict[str] = CIMultiDict(headers or {})
    if name in merged:
        raise ValueError(f"pass either the {name} header or its BasicAuth argument, not both")
    merged[name] = credentials.encode()
    return merged


def read_response_headers(websocket: ClientWebSocketResponse[bool]) -> dict[str, str]:
    """Return the headers of the handshake response."""
    # aiohttp has no public accessor for them; this only reads them.
    response = getattr(websocket, "_response", None)
    headers = getattr(response, "headers", None)
    return dict(headers) if headers is not None else {}


def queued_frames(websocket: ClientWebSocketResponse[bool]) -> Sized | None:
    """Return aiohttp's queue of parsed, not yet received frames, if it can be seen.

    Its length tells whether ``receive()`` would return at once.  aiohttp has
    no public accessor for it; ``None`` when this aiohttp keeps it elsewhere.
    """
    queue = getattr(getattr(websocket, "_reader", None), "_buffer", None)
    return queue if isinstance(queue, Sized) else None


def readable_probe(websocket: ClientWebSocketResponse[bool]) -> Callable[[], bool] | None:
    """Return a check of whether the websocket's socket holds unread bytes.

    ``None`` where that cannot be asked without waiting (no socket, or no
    ``poll`` on this platform).
    """
    sock = websocket.get_extra_info("socket")
    poll_class = getattr(select, "poll", None)
    if sock is None or poll_class is None:
        return None
    poller = poll_class()
    poller.register(sock.fileno(), select.POLLIN)
    poll = poller.poll

    def readable() -> bool:
        return bool(poll(0))

    return readable


def safe_url(url: str) -> str:
    """Return ``url`` without user-info, query or fragment, for messages and logs.

    Credentials may sit in the user-info or the query string.
    """
    parsed = URL(url)
    return str(parsed.with_user(None).with_query(None).with_fragment(None))
