"""What a websocket close code means for a GraphQL client, and whether to retry.

The table joins RFC 6455 section 7.4.1 with the close codes of the
graphql-transport-ws protocol (PROTOCOL.md of the graphql-ws library).  The
retry advice follows the graphql-ws reference client: codes that say the
request itself was wrong are fatal, codes that say the network or the server
had a bad moment are worth another attempt.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CloseCodeInfo", "classify_close_code"]


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


_KNOWN: dict[int, tuple[str, bool]] = {
    1000: ("Normal Closure", True),
    1001: ("Going Away", True),
    1002: ("Protocol Error", False),
    1003: ("Unsupported Data", False),
    1005: ("No Status Received", True),
    1006: ("Abnormal Closure", True),
    1007: ("Invalid Frame Payload Data", False),
    1008: ("Policy Violation", False),
    1009: ("Message Too Big", False),
    1010: ("Mandatory Extension", False),
    1011: ("Internal Error", True),
    1012: ("Service Restart", True),
    1013: ("Try Again Later", True),
    1014: ("Bad Gateway", True),
    4004: ("Bad Response", False),
    4005: ("Internal Client Error", False),
    4400: ("Bad Request", False),
    4401: ("Unauthorized", False),
    4403: ("Forbidden", True),
    4406: ("Subprotocol Not Acceptable", False),
    4408: ("Connection Initialisation Timeout", True),
    4409: ("Subscriber Already Exists", False),
    4429: ("Too Many Initialisation Requests", False),
    4499: ("Terminated", True),
    4500: ("Internal Server Error", False),
    4504: ("Connection Acknowledgement Timeout", True),
}


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
    known = _KNOWN.get(code)
    if known is not None:
        return CloseCodeInfo(code, known[0], known[1])
    if 4000 <= code <= 4999:
        return CloseCodeInfo(code, "Application Error", False)
    return CloseCodeInfo(code, "Unknown", False)
