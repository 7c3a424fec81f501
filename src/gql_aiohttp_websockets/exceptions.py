"""Exceptions raised by the transport, all of them gql's own classes or subclasses.

gql 4 added ``TransportConnectionFailed`` for a connection that broke; gql 3.5
users catch ``TransportClosed`` in that case.  :class:`TransportConnectionClosed`
derives from whichever of the two the installed gql offers, so code written for
either version keeps working.
"""

from __future__ import annotations

from gql.transport import exceptions as _gql_exceptions
from gql.transport.exceptions import TransportClosed

from .close_codes import classify_close_code

__all__ = ["ConnectionFailedBase", "TransportConnectionClosed", "TransportConnectionFailed"]

#: The gql class its users catch when a live connection breaks.
ConnectionFailedBase: type[Exception] = getattr(
    _gql_exceptions, "TransportConnectionFailed", TransportClosed
)
TransportConnectionFailed = ConnectionFailedBase


class TransportConnectionClosed(ConnectionFailedBase):  # type: ignore[valid-type,misc]
    """The websocket closed, or the connection dropped, while operations were running.

    A subclass of gql's ``TransportConnectionFailed`` (gql 4) or ``TransportClosed``
    (gql 3.5), so existing ``except`` clauses keep catching it.

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
