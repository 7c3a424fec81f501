"""The transport's lifecycle: one state, not a handful of flags."""

from __future__ import annotations

import enum

__all__ = ["State"]


class State(enum.Enum):
    """Where a transport is in its life.

    ``CLOSED -> CONNECTING -> INITIALIZING -> OPEN -> CLOSING -> CLOSED``; a
    failure at any point goes through ``CLOSING`` (or straight back to
    ``CLOSED`` while connecting).
    """

    CLOSED = "closed"
    CONNECTING = "connecting"
    INITIALIZING = "initializing"
    OPEN = "open"
    CLOSING = "closing"
