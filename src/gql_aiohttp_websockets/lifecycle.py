"""Lifecycles as data: each object's states and the moves allowed between them.

The transport and each of its connections have one state each, an enum, and
a table of the transitions allowed from every state; :class:`Lifecycle`
refuses any other move and logs each one (at DEBUG) where it is made.
"""

from __future__ import annotations

import enum
import logging
from typing import Generic, TypeVar

__all__ = ["CONNECTION_MOVES", "TRANSPORT_MOVES", "ConnectionState", "Lifecycle", "State"]


class State(enum.Enum):
    """Where a transport is in its life.

    ``CLOSED -> CONNECTING -> INITIALIZING -> OPEN -> CLOSING -> CLOSED``; a
    failure at any point goes through ``CLOSING`` (or straight back to
    ``CLOSED`` while connecting).  With ``reconnect=`` on, a lost connection
    moves ``OPEN -> RECONNECTING``, then back to ``OPEN`` once a new one is
    acknowledged, or on to ``CLOSING`` when the policy gives up.
    """

    CLOSED = "closed"
    CONNECTING = "connecting"
    INITIALIZING = "initializing"
    OPEN = "open"
    RECONNECTING = "reconnecting"
    CLOSING = "closing"


#: The transport's moves.  CONNECTING/INITIALIZING -> CLOSING: close() was
#: called while connecting; -> CLOSED: the connect failed.  INITIALIZING ->
#: CONNECTING: connecting again within one connect(), offering other
#: subprotocols.
TRANSPORT_MOVES: dict[State, frozenset[State]] = {
    State.CLOSED: frozenset({State.CONNECTING}),
    State.CONNECTING: frozenset({State.INITIALIZING, State.CLOSING, State.CLOSED}),
    State.INITIALIZING: frozenset({State.OPEN, State.CONNECTING, State.CLOSING, State.CLOSED}),
    State.OPEN: frozenset({State.CLOSING, State.RECONNECTING}),
    State.RECONNECTING: frozenset({State.OPEN, State.CLOSING}),
    State.CLOSING: frozenset({State.CLOSED}),
}


class ConnectionState(enum.Enum):
    """Where one connection (one websocket, used once) is in its life."""

    NEW = "new"
    OPENING = "opening"
    INITIALIZING = "initializing"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


#: A connection's moves; it never goes back, and a failure at any point
#: goes through CLOSING.
CONNECTION_MOVES: dict[ConnectionState, frozenset[ConnectionState]] = {
    ConnectionState.NEW: frozenset({ConnectionState.OPENING, ConnectionState.CLOSING}),
    ConnectionState.OPENING: frozenset({ConnectionState.INITIALIZING, ConnectionState.CLOSING}),
    ConnectionState.INITIALIZING: frozenset({ConnectionState.OPEN, ConnectionState.CLOSING}),
    ConnectionState.OPEN: frozenset({ConnectionState.CLOSING}),
    ConnectionState.CLOSING: frozenset({ConnectionState.CLOSED}),
    ConnectionState.CLOSED: frozenset(),
}

_S = TypeVar("_S", State, ConnectionState)


class Lifecycle(Generic[_S]):
    """One object's current state, moved only along its table.

    Args:
        initial: The state to start in.
        moves: For each state, the states it may move to.
        log: Where each move is logged, at DEBUG.
    """

    __slots__ = ("_log", "_moves", "state")

    def __init__(self, initial: _S, moves: dict[_S, frozenset[_S]], log: logging.Logger) -> None:
        #: The current state.
        self.state: _S = initial
        self._moves: dict[_S, frozenset[_S]] = moves
        self._log = log

    def move(self, to: _S) -> None:
        """Move to state ``to``.

        Raises:
            RuntimeError: The table has no such move (a bug of the package).
        """
        if to not in self._moves[self.state]:
            raise RuntimeError(f"no move from {self.state.value} to {to.value}")
        if self._log.isEnabledFor(logging.DEBUG):
            self._log.debug("state %s -> %s", self.state.value, to.value)
        self.state = to
