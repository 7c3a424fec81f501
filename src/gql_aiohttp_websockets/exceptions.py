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
from gql.transport.exceptions import TransportClosed, TransportError

from .aiohttp_internals import connection_key
from .close_codes import classify_close_code

__all__ = [
    "GQL_4",
    "AckTimeoutError",
    "CertificateVerificationFailed",
    "ConnectTimeoutError",
    "ConnectionFailedBase",
    "TransportConnectionClosed",
    "TransportConnectionFailed",
]

#: Whether the installed gql is of the 4.x line (it added ``TransportConnectionFailed``).
GQL_4: bool = hasattr(_gql_exceptions, "TransportConnectionFailed")

#: The gql class its users catch when the transport cannot be used: a broken
#: connection (gql 4), or one that is not open (gql 3.5: ``TransportClosed``).
ConnectionFailedBase: type[Exception] = getattr(
    _gql_exceptions, "TransportConnectionFailed", TransportClosed
)
TransportConnectionFailed = ConnectionFailedBase

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
    ConnectionFailedBase,  # type: ignore[valid-type,misc]
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
