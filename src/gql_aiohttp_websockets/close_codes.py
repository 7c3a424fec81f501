"""What a websocket close code means for a GraphQL client, and whether to retry.

The table joins RFC 6455 section 7.4.1 with the close codes of the
graphql-transport-ws protocol (PROTOCOL.md of the graphql-ws library).  The
retry advice follows the graphql-ws reference client: codes that say the
request itself was wrong are fatal, codes that say the network or the server
had a bad moment are worth another attempt.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["CloseCode", "CloseCodeInfo", "classify_close_code"]


class CloseCode(enum.IntEnum):
    """The websocket close codes a GraphQL client meets, by name."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS_RECEIVED = 1005
    ABNORMAL_CLOSURE = 1006
    INVALID_FRAME_PAYLOAD_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    BAD_RESPONSE = 4004
    INTERNAL_CLIENT_ERROR = 4005
    BAD_REQUEST = 4400
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403
    SUBPROTOCOL_NOT_ACCEPTABLE = 4406
    CONNECTION_INITIALISATION_TIMEOUT = 4408
    SUBSCRIBER_ALREADY_EXISTS = 4409
    TOO_MANY_INITIALISATION_REQUESTS = 4429
    TERMINATED = 4499
    INTERNAL_SERVER_ERROR = 4500
    CONNECTION_ACKNOWLEDGEMENT_TIMEOUT = 4504

    @property
    def meaning(self) -> str:
        """The code's name in words, e.g. ``"Going Away"``."""
        return self.name.replace("_", " ").title()


@dataclass(frozen=True, slots=True)
class CloseCodeInfo:
    """The meaning of one websocket close code.

    Attributes:
        code: The close code, or ``None`` when the connection ended without a
            close frame.
        meaning: A short human name for the code.
        retryable: Whether connecting again may succeed without changing the
            request (the network or the server had a bad moment).
    """

    code: int | None
    meaning: str
    retryable: bool


# The codes worth connecting again after; the other known ones are fatal.
_RETRYABLE: frozenset[int] = frozenset(
    {
        CloseCode.NORMAL_CLOSURE,
        CloseCode.GOING_AWAY,
        CloseCode.NO_STATUS_RECEIVED,
        CloseCode.ABNORMAL_CLOSURE,
        CloseCode.INTERNAL_ERROR,
        CloseCode.SERVICE_RESTART,
        CloseCode.TRY_AGAIN_LATER,
        CloseCode.BAD_GATEWAY,
        CloseCode.FORBIDDEN,
        CloseCode.CONNECTION_INITIALISATION_TIMEOUT,
        CloseCode.TERMINATED,
        CloseCode.CONNECTION_ACKNOWLEDGEMENT_TIMEOUT,
    }
)


_KNOWN_CODES = frozenset(CloseCode)


def classify_close_code(code: int | None) -> CloseCodeInfo:
    """Say what a close code means and whether reconnecting is worth trying.

    Args:
        code: The close code the connection ended with; ``None`` (or 1006)
            when the connection dropped without a close frame.

    Returns:
        The code's meaning and retry advice.  Unlisted codes in the private
        range 4000-4999 are treated as application errors (not retryable);
        unlisted codes below 4000 as protocol-level failures (not retryable).

    Example:
        >>> classify_close_code(4403).meaning
        'Forbidden'
    """
    if code is None:
        return CloseCodeInfo(None, "Connection Lost", True)
    if code in _KNOWN_CODES:
        return CloseCodeInfo(code, CloseCode(code).meaning, code in _RETRYABLE)
    if 4000 <= code <= 4999:
        return CloseCodeInfo(code, "Application Error", False)
    return CloseCodeInfo(code, "Unknown", False)
