"""How a handler quotes and names what it received, in its error messages.

Received text is untrusted and unbounded: everything quoted from it is cut to
a bounded length first.
"""

from __future__ import annotations

__all__ = ["ELIDE_AT", "a_kind", "a_message", "elide", "json_kind", "quote"]

#: Longest piece of a received frame quoted in an error message or a log line.
ELIDE_AT = 200
#: Longest quote of one value of a frame (its type, its id) in an error message.
_QUOTED_VALUE_LIMIT = 60


def elide(text: str, limit: int = ELIDE_AT) -> str:
    """Cut ``text`` to at most ``limit`` characters for messages and logs.

    Args:
        text: The text to shorten.
        limit: The largest length kept; longer text keeps its head and tail.
            A limit shorter than the marker (about 20 characters) keeps
            only the marker.

    Returns:
        ``text`` itself when short enough, else its head and tail around a
        marker saying how much was left out.
    """
    if len(text) <= limit:
        return text
    # Size the marker for the largest count it can show, so head + marker + tail
    # never exceeds the limit.
    marker_length = len("...< chars>...") + len(str(len(text)))
    keep = max((limit - marker_length) // 2, 0)
    return f"{text[:keep]}...<{len(text) - 2 * keep} chars>...{text[len(text) - keep :]}"


def quote(value: object) -> str:
    """Quote one value of a received frame (a type, an id), bounded."""
    # A 1 MB "type" must not make a 1 MB exception message.
    return elide(repr(value), _QUOTED_VALUE_LIMIT)


def json_kind(value: object) -> str:
    """Name the JSON kind of a decoded value: ``"object"``, ``"null"``, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def a_kind(kind: str) -> str:
    """``"an object"``, ``"a string"``: a kind with its article."""
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def a_message(kind: object) -> str:
    """``"a 'next' message"``: a message type with its article."""
    text = str(kind)
    return f"{'an' if text[:1] in 'aeiou' else 'a'} {kind!r} message"
