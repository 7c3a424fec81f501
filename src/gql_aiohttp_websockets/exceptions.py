"""Every exception class of the package: gql's own classes, or subclasses of them.

gql 4 added ``TransportConnectionFailed`` for a connection that broke; gql 3.5
users catch ``TransportClosed`` for a transport that is not connected, and
``ConnectionResetError`` (what gql 3.x's own class raises) for a websocket the
server closed.  :class:`TransportConnectionClosed` derives from what the
installed gql line raises, so code written for either version keeps working.
"""

from __future__ import annotations

import asyncio

import aiohttp
from gql.transport import exceptions as _gql_exceptions
from gql.transport.exceptions import TransportClosed, TransportError, TransportServerError

from .aiohttp_internals import connection_key
from .close_codes import classify_close_code

__all__ = [
    "GQL_4",
    "AckTimeoutError",
    "CertificateVerificationFailed",
    "ConnectTimeoutError",
    "ConnectionInterrupted",
    "ConnectionRejectedError",
    "HeartbeatTimeoutError",
    "QueueFullError",
    "ServerUnreachableError",
    "TransportConnectionClosed",
    "TransportConnectionFailed",
    "UpgradeRefusedError",
    "close_details",
]

#: Whether the installed gql is of the 4.x line (it added ``TransportConnectionFailed``).
GQL_4: bool = hasattr(_gql_exceptions, "TransportConnectionFailed")

#: The gql class its users catch when the transport cannot be used: a broken
#: connection (gql 4), or one that is not open (gql 3.5: ``TransportClosed``).
TransportConnectionFailed: type[Exception] = getattr(
    _gql_exceptions, "TransportConnectionFailed", TransportClosed
)

# gql 3.5's reconnecting session reconnects at once on a TransportClosed and
# leaves a ConnectionResetError to the caller, the next operation then
# finding the transport closed: with gql 3.x's own class a closed websocket
# is the latter, and so it is here.
_CLOSED_BASE: type[Exception] = getattr(
    _gql_exceptions, "TransportConnectionFailed", TransportError
)


class TransportConnectionClosed(
    _CLOSED_BASE,  # type: ignore[valid-type,misc]
    ConnectionResetError,
):
    """The websocket closed, or the connection dropped.

    What gql's own transport raises in this case, so existing ``except``
    clauses keep catching it: a :class:`ConnectionResetError` (gql 3.x) and a
    ``TransportConnectionFailed`` (gql 4); with gql 3.5, also a
    ``TransportError`` (not a ``TransportClosed``, which gql 3.5's
    reconnecting session would take as its cue to reconnect at once).

    Attributes:
        code: The close code sent by the server, or ``None`` when the
            connection ended without a close frame.
        reason: The close reason sent by the server (possibly empty).
        retryable: Whether reconnecting may succeed (see
            :func:`~gql_aiohttp_websockets.classify_close_code`).
    """

    def __init__(self, message: str, *, code: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.retryable = classify_close_code(code).retryable

    @classmethod
    def from_close(
        cls, code: int | None, reason: str, *, context: str
    ) -> TransportConnectionClosed:
        """Build the error for a close seen at some point of the connection's life.

        Args:
            code: The close code, ``None`` when no close frame arrived.
            reason: The close reason, possibly empty.
            context: What the transport was doing, e.g. ``"while waiting for
                connection_ack"``.

        Returns:
            The exception, with a message naming the code, its meaning and the
            reason.
        """
        info = classify_close_code(code)
        if code is None:
            described = "the connection was lost without a close frame"
        else:
            described = f"the server closed the websocket with code {code} ({info.meaning})"
            if reason:
                described += f", reason {reason!r}"
        return cls(f"{described} {context}".strip(), code=code, reason=reason)


class CertificateVerificationFailed(
    TransportConnectionFailed,  # type: ignore[valid-type,misc]
    aiohttp.ClientConnectorCertificateError,
):
    """The server's TLS certificate could not be verified.

    A ``TransportConnectionFailed`` (gql 4) or ``TransportClosed`` (gql 3.5),
    as every failed connect, and also aiohttp's
    ``ClientConnectorCertificateError``, which gql 3.x's own transport lets
    through and its users catch.  The aiohttp error is also the ``__cause__``.

    Args:
        message: What happened and what to do about it.
        error: aiohttp's error.
    """

    def __init__(self, message: str, error: aiohttp.ClientConnectorCertificateError) -> None:
        # aiohttp's attributes (host, port, certificate_error) read what its
        # constructor stores; the message is ours.
        aiohttp.ClientConnectorCertificateError.__init__(
            self, connection_key(error), error.certificate_error
        )
        self.args = (message,)  # type: ignore[assignment]
        self._message = message

    def __str__(self) -> str:
        return self._message


class AckTimeoutError(asyncio.TimeoutError):
    """No ``connection_ack`` arrived within ``ack_timeout``.

    A subclass of :class:`asyncio.TimeoutError`, which is what gql's transport
    raises in this case and what gql users catch.
    """


class ConnectTimeoutError(asyncio.TimeoutError):
    """The websocket handshake took longer than ``connect_timeout``.

    A subclass of :class:`asyncio.TimeoutError`, which is what gql's transport
    raises in this case.
    """


class ServerUnreachableError(TransportConnectionFailed):  # type: ignore[valid-type,misc]
    """No websocket could be opened: the server could not be reached at all.

    The name cannot be resolved, nothing listens on the port, or the network
    failed before the upgrade was answered.  A ``TransportConnectionFailed``
    (gql 4) or ``TransportClosed`` (gql 3.5), as every failed connect.
    """


class UpgradeRefusedError(TransportConnectionFailed):  # type: ignore[valid-type,misc]
    """The server answered the websocket upgrade with an HTTP error status.

    Attributes:
        status: The HTTP status, e.g. 401 or 503.
    """

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class HeartbeatTimeoutError(TransportServerError):
    """The server went silent: a ``pong`` or a keep-alive did not come in time.

    No ``pong`` within ``pong_timeout``, or nothing at all within
    ``keep_alive_timeout``.  A ``TransportServerError``, which is what gql's
    transport raises in both cases.
    """


class ConnectionRejectedError(TransportServerError):
    """The server rejected the connection with a legacy ``connection_error``.

    A ``TransportServerError``, which is what gql's transport raises.
    """


class ConnectionInterrupted(TransportError, ConnectionResetError):
    """The connection was lost while an ``execute()`` waited; the transport reconnects.

    Raised with ``reconnect=`` on.  The operation is not sent again: it may
    have run on the server.  This is a ``TransportError`` and a
    ``ConnectionResetError`` but deliberately not a
    ``TransportConnectionFailed``: gql 4's reconnecting session answers that
    class by closing the transport, which would end the subscriptions being
    carried over to the new connection; its ``retry_execute`` retries this
    error instead.  The connection's error is the ``__cause__``.

    Attributes:
        code: The close code of the lost connection, ``None`` without a close frame.
        reason: The close reason (possibly empty).
    """

    def __init__(self, message: str, *, code: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class QueueFullError(TransportError):
    """A subscription fell ``max_queued_results`` results behind its server.

    Raised to the consumer after every result queued before the limit was
    reached; the operation was stopped on the server, the others go on.

    Attributes:
        query_id: The operation's id.
        limit: The limit it reached.
    """

    def __init__(self, message: str, *, query_id: int, limit: int) -> None:
        super().__init__(message)
        self.query_id = query_id
        self.limit = limit


def close_details(error: Exception) -> tuple[int | None, str]:
    """The server's close code and reason carried by ``error``, if any."""
    if isinstance(error, (TransportConnectionClosed, ConnectionInterrupted)):
        return error.code, error.reason
    return None, ""
