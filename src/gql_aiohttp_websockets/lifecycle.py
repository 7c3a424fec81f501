"""Lifecycles as data: what moves a transport and a connection from state to state.

The transport's lifecycle is a table keyed by what happens to it
(:class:`Happening`): :meth:`TransportLifecycle.handle` moves the state and
returns what to do about it (:class:`Action`), and it can be read and tested
as a table, as h11's ``_state.py``.  A connection, used once, only goes
forward: its table lists the moves allowed from each state, and
:class:`Lifecycle` refuses any other.  Each move is logged at DEBUG.
"""

from __future__ import annotations

import enum
import logging
from typing import Generic, TypeVar

__all__ = [
    "CONNECTION_MOVES",
    "TRANSPORT_TRANSITIONS",
    "Action",
    "ConnectionState",
    "Happening",
    "Lifecycle",
    "State",
    "TransportLifecycle",
]


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


class Happening(enum.Enum):
    """What happens to a transport: the events its lifecycle table is keyed by."""

    #: ``connect()`` was called.
    CONNECT = "connect() was called"
    #: A websocket of the connect opened; ``connection_init`` goes out.
    OPENED = "a websocket opened"
    #: The server refused the subprotocol it agreed to: another offer follows.
    OFFERED_AGAIN = "another offer, on a new websocket"
    #: The server acknowledged a connection.
    ACKNOWLEDGED = "the server acknowledged the connection"
    #: ``connect()`` failed.
    CONNECT_FAILED = "connect() failed"
    #: The connection ended by itself, and the retry policy replaces it.
    LOST = "the connection was lost, to be replaced"
    #: The connection ended by itself for good, or a gap's attempts gave up.
    LOST_FOR_GOOD = "the connection was lost for good"
    #: ``close()`` was called.
    CLOSE = "close() was called"
    #: The shutdown is over.
    SHUT_DOWN = "the shutdown is over"


class Action(enum.Enum):
    """What the transport does about a happening, as its lifecycle table says."""

    #: Nothing beyond the move.
    NOTHING = "nothing"
    #: Refuse: the transport is connecting or connected (``TransportAlreadyConnected``).
    REFUSE = "refuse"
    #: Wait for the shutdown under way, then look again.
    AWAIT_SHUTDOWN = "await the shutdown"
    #: Make the first connection.
    CONNECT = "connect"
    #: Cancel the ``connect()`` under way; it then reports ``REPORT_CLOSED``.
    CANCEL_CONNECT = "cancel the connect"
    #: The connect failed: clean up and raise its error.
    FAIL_CONNECT = "fail the connect"
    #: The connect was cancelled by ``close()``: clean up and say so.
    REPORT_CLOSED = "report the connect closed"
    #: Start the first connection: operations may run.
    START = "start the connection"
    #: Begin a gap: close the lost connection, attempt until one is acknowledged.
    REPLACE = "replace the connection"
    #: Start the new connection of a gap and carry the operations over to it.
    RESUME = "resume on the new connection"
    #: Close the lost connection and end the operations with its error.
    SHUT_DOWN = "shut down"
    #: ``close()`` while open: stop the operations, say goodbye, close.
    CLOSE = "close"
    #: End a gap with no connection: its attempts gave up.
    END_GAP = "end the gap"
    #: ``close()`` in a gap: stop the attempts; subscriptions end as completed.
    CLOSE_GAP = "close in the gap"
    #: A connection acknowledged after ``close()`` was called: close it unused.
    DISCARD = "discard the connection"


_S = State
_H = Happening
_A = Action

#: The transport's lifecycle: for each state and happening, the next state and
#: what to do.  A pair that is not here is a bug of the package.
TRANSPORT_TRANSITIONS: dict[tuple[State, Happening], tuple[State, Action]] = {
    (_S.CLOSED, _H.CONNECT): (_S.CONNECTING, _A.CONNECT),
    (_S.CLOSED, _H.CLOSE): (_S.CLOSED, _A.NOTHING),
    (_S.CONNECTING, _H.CONNECT): (_S.CONNECTING, _A.REFUSE),
    (_S.CONNECTING, _H.OPENED): (_S.INITIALIZING, _A.NOTHING),
    (_S.CONNECTING, _H.CONNECT_FAILED): (_S.CLOSED, _A.FAIL_CONNECT),
    (_S.CONNECTING, _H.CLOSE): (_S.CLOSING, _A.CANCEL_CONNECT),
    (_S.INITIALIZING, _H.CONNECT): (_S.INITIALIZING, _A.REFUSE),
    (_S.INITIALIZING, _H.OFFERED_AGAIN): (_S.CONNECTING, _A.NOTHING),
    (_S.INITIALIZING, _H.ACKNOWLEDGED): (_S.OPEN, _A.START),
    (_S.INITIALIZING, _H.CONNECT_FAILED): (_S.CLOSED, _A.FAIL_CONNECT),
    (_S.INITIALIZING, _H.CLOSE): (_S.CLOSING, _A.CANCEL_CONNECT),
    (_S.OPEN, _H.CONNECT): (_S.OPEN, _A.REFUSE),
    (_S.OPEN, _H.LOST): (_S.RECONNECTING, _A.REPLACE),
    (_S.OPEN, _H.LOST_FOR_GOOD): (_S.CLOSING, _A.SHUT_DOWN),
    (_S.OPEN, _H.CLOSE): (_S.CLOSING, _A.CLOSE),
    (_S.RECONNECTING, _H.CONNECT): (_S.RECONNECTING, _A.REFUSE),
    (_S.RECONNECTING, _H.OPENED): (_S.RECONNECTING, _A.NOTHING),
    (_S.RECONNECTING, _H.OFFERED_AGAIN): (_S.RECONNECTING, _A.NOTHING),
    (_S.RECONNECTING, _H.ACKNOWLEDGED): (_S.OPEN, _A.RESUME),
    (_S.RECONNECTING, _H.LOST_FOR_GOOD): (_S.CLOSING, _A.END_GAP),
    (_S.RECONNECTING, _H.CLOSE): (_S.CLOSING, _A.CLOSE_GAP),
    (_S.CLOSING, _H.CONNECT): (_S.CLOSING, _A.AWAIT_SHUTDOWN),
    (_S.CLOSING, _H.CONNECT_FAILED): (_S.CLOSED, _A.REPORT_CLOSED),
    (_S.CLOSING, _H.OPENED): (_S.CLOSING, _A.NOTHING),
    (_S.CLOSING, _H.OFFERED_AGAIN): (_S.CLOSING, _A.NOTHING),
    (_S.CLOSING, _H.ACKNOWLEDGED): (_S.CLOSING, _A.DISCARD),
    (_S.CLOSING, _H.LOST): (_S.CLOSING, _A.NOTHING),
    (_S.CLOSING, _H.LOST_FOR_GOOD): (_S.CLOSING, _A.NOTHING),
    (_S.CLOSING, _H.CLOSE): (_S.CLOSING, _A.AWAIT_SHUTDOWN),
    (_S.CLOSING, _H.SHUT_DOWN): (_S.CLOSED, _A.NOTHING),
}


class TransportLifecycle:
    """The transport's state, moved only by what happens to it, along its table.

    Args:
        log: Where each move is logged, at DEBUG.
    """

    __slots__ = ("_log", "state")

    def __init__(self, log: logging.Logger) -> None:
        #: The current state.
        self.state = State.CLOSED
        self._log = log

    def handle(self, happening: Happening) -> Action:
        """Move along the table for ``happening`` and return what to do.

        Raises:
            RuntimeError: The table has no row for the state and
                ``happening`` (a bug of the package).
        """
        try:
            to, action = TRANSPORT_TRANSITIONS[self.state, happening]
        except KeyError:
            raise RuntimeError(
                f"nothing is to happen on {happening.value!r} in state {self.state.value}"
            ) from None
        if self._log.isEnabledFor(logging.DEBUG):
            self._log.debug(
                "state %s -> %s (%s: %s)", self.state.value, to.value, happening.value, action.value
            )
        self.state = to
        return action


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

_C = TypeVar("_C", bound=enum.Enum)


class Lifecycle(Generic[_C]):
    """One object's current state, moved only along its table.

    Args:
        initial: The state to start in.
        moves: For each state, the states it may move to.
        log: Where each move is logged, at DEBUG.
    """

    __slots__ = ("_log", "_moves", "state")

    def __init__(
        self,
        initial: _C,
        moves: dict[_C, frozenset[_C]],
        log: logging.Logger | logging.LoggerAdapter[logging.Logger],
    ) -> None:
        #: The current state.
        self.state: _C = initial
        self._moves: dict[_C, frozenset[_C]] = moves
        self._log = log

    def move(self, to: _C) -> None:
        """Move to state ``to``.

        Raises:
            RuntimeError: The table has no such move (a bug of the package).
        """
        if to not in self._moves[self.state]:
            raise RuntimeError(f"no move from {self.state.value} to {to.value}")
        if self._log.isEnabledFor(logging.DEBUG):
            self._log.debug("state %s -> %s", self.state.value, to.value)
        self.state = to
