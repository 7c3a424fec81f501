"""One line naming what went wrong with the connection, for stderr.

The transport's exceptions already say what happened in words (and leave
credentials out of URLs); this adds what a reader looks for first: the close
code and its meaning, the HTTP status of a refused upgrade, the timeout that
expired.
"""

from __future__ import annotations

import asyncio

from gql.transport.exceptions import TransportError, TransportProtocolError

from ..close_codes import classify_close_code
from ..exceptions import (
    AckTimeoutError,
    ConnectionRejectedError,
    ConnectTimeoutError,
    HeartbeatTimeoutError,
    ServerUnreachableError,
    TransportConnectionClosed,
    TransportConnectionFailed,
    UpgradeRefusedError,
)

__all__ = ["CONNECTION_ERRORS", "ResultTimeout", "describe_failure", "one_line"]


class ResultTimeout(asyncio.TimeoutError):
    """No result arrived within ``--timeout`` seconds."""


#: What ends a run with "the connection could not be made or broke".
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (TransportError, asyncio.TimeoutError, OSError)


def one_line(text: str) -> str:
    """Join ``text``'s lines with spaces: a failure is one line on stderr."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _close_code(error: TransportConnectionClosed) -> str:
    if error.code is None:
        return "no close frame"
    return f"close code {error.code}: {classify_close_code(error.code).meaning}"


def describe_failure(error: BaseException) -> str:
    """Say in one line what went wrong: what happened, then the transport's own words.

    Args:
        error: One of :data:`CONNECTION_ERRORS`, or any other exception
            (named "unexpected error" with its class).

    Returns:
        For instance ``connection closed by the server (close code 4403:
        Forbidden): the server closed the websocket ...``.
    """
    detail = one_line(str(error))
    if isinstance(error, TransportConnectionClosed):
        named = error.code is not None and f"code {error.code}" in detail
        what = "connection closed" if named else f"connection closed ({_close_code(error)})"
    elif isinstance(error, UpgradeRefusedError):
        what = f"websocket upgrade refused (HTTP {error.status})"
    elif isinstance(error, AckTimeoutError):
        what = "no connection_ack in time"
    elif isinstance(error, ConnectTimeoutError):
        what = "websocket handshake timed out"
    elif isinstance(error, ResultTimeout):
        what = "timed out"
    elif isinstance(error, ConnectionRejectedError):
        what = "connection_init rejected"
    elif isinstance(error, HeartbeatTimeoutError):
        what = "the server went silent"
    elif isinstance(error, TransportProtocolError):
        what = "protocol error"
    elif isinstance(error, ServerUnreachableError):
        what = "server unreachable"
    elif isinstance(error, TransportConnectionFailed):
        what = "connection failed"
    elif isinstance(error, asyncio.TimeoutError):
        what = "timed out"
    elif isinstance(error, CONNECTION_ERRORS):
        what = "connection error"
    else:
        what = f"unexpected error: {type(error).__name__}"
    return f"{what}: {detail}" if detail else what
