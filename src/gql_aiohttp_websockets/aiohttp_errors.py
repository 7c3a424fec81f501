"""aiohttp's errors, and its non-text websocket messages, as gql's exceptions.

The one boundary between the two: the connection catches what aiohttp raises
or returns with the tuples here and raises what these functions build, so
that gql users see gql's classes (with our subclasses' details) and nothing
of aiohttp but the ``__cause__``.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import WSMsgType
from gql.transport.exceptions import TransportProtocolError

from .close_codes import CloseCode
from .exceptions import (
    CertificateVerificationFailed,
    ServerUnreachableError,
    TransportConnectionClosed,
    TransportConnectionFailed,
    UpgradeRefusedError,
)
from .redaction import safe_url

__all__ = [
    "HANDSHAKE_ERRORS",
    "SEND_ERRORS",
    "frame_error",
    "handshake_error",
    "receive_timeout_error",
    "send_error",
]

#: What ``ClientSession.ws_connect`` raises when the websocket cannot be opened.
HANDSHAKE_ERRORS = (aiohttp.ClientError, OSError)
#: What ``ClientWebSocketResponse.send_str`` raises when the frame cannot be sent.
SEND_ERRORS = (aiohttp.ClientError, ConnectionError, RuntimeError)


def handshake_error(error: BaseException, url: str) -> Exception:
    """Translate an error of ``ws_connect`` (one of :data:`HANDSHAKE_ERRORS`).

    Returns:
        A ``TransportConnectionFailed`` (gql 4; ``TransportClosed`` on gql 3.5)
        naming the URL without its credentials, or a
        :class:`CertificateVerificationFailed`.
    """
    where = safe_url(url)
    if isinstance(error, aiohttp.WSServerHandshakeError):
        return UpgradeRefusedError(
            f"the server at {where} refused the websocket upgrade: "
            f"HTTP {error.status} {error.message}",
            status=error.status,
        )
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return CertificateVerificationFailed(
            f"TLS certificate verification failed for {where}: "
            f"{error.certificate_error}; pass ssl= an SSLContext that trusts the server",
            error,
        )
    if isinstance(error, (aiohttp.ClientConnectionError, OSError)):
        return ServerUnreachableError(
            f"could not open a websocket to {where}: {error.__class__.__name__}: {error}"
        )
    return TransportConnectionFailed(
        f"could not open a websocket to {where}: {error.__class__.__name__}: {error}"
    )


def send_error(error: BaseException, closed_by: Exception | None) -> Exception:
    """Translate an error of ``send_str`` (one of :data:`SEND_ERRORS`).

    Args:
        error: What aiohttp raised.
        closed_by: Why the connection ended, when it had; named instead of
            aiohttp's words, and made the ``__cause__``.
    """
    if closed_by is not None:
        failed = TransportConnectionFailed(
            f"could not send to the server: the connection closed: {closed_by}"
        )
        failed.__cause__ = closed_by
        return failed
    failed = TransportConnectionFailed(f"could not send to the server: {error}")
    failed.__cause__ = error
    return failed


def receive_timeout_error(receive_timeout: float | None) -> TransportConnectionClosed:
    """Translate the ``asyncio.TimeoutError`` of ``receive()`` (``receive_timeout``)."""
    return TransportConnectionClosed(
        f"no message arrived from the server within receive_timeout={receive_timeout}s"
    )


def frame_error(
    message: aiohttp.WSMessage | Any,
    context: str,
    max_msg_size: int,
    heartbeat: float | None,
) -> Exception:
    """Translate a websocket message that is not a text frame into a gql exception.

    Args:
        message: What ``ClientWebSocketResponse.receive()`` returned.
        context: What the connection was doing, for the error message.
        max_msg_size: The connection's limit, named when a message exceeded it.
        heartbeat: The heartbeat interval, named when it expired.

    Returns:
        :class:`TransportConnectionClosed` (with the close code) when the
        connection ended, ``TransportProtocolError`` when the server sent
        something GraphQL over websocket does not allow.
    """
    kind, data = message.type, message.data
    if kind is WSMsgType.CLOSE:
        code = data if isinstance(data, int) else None
        if code == 0:
            # aiohttp's 0 for a close frame without a status code: RFC 6455
            # section 7.1.5 calls that 1005, and so do the close-code table and users.
            code = CloseCode.NO_STATUS_RECEIVED
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
                    code=CloseCode.MESSAGE_TOO_BIG,
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
