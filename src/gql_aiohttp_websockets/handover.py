"""Handover: a subscription moved by a renewal, from its old connection's results to its new one's.

While a renewal's two connections overlap, the subscription runs twice on the
server, and each event it produces meanwhile comes on both.  The two copies
are lined up by the results themselves: a server that sends every event to
every subscriber sends the same result on both, to the byte (the text of its
payload is compared, as the receive loop queues it).

* Until the new copy's first result, the old copy's results are delivered
  (stage ``OLD``), and the last few are kept.
* When the new copy's first result is one of those, the old copy was ahead:
  the new copy's results that repeat the rest of them are dropped
  (``SKIPPING``), then its results are delivered (``NEW``).
* Otherwise the old copy is behind: the server may still hold events for it
  that came before that first result (a server that writes each subscriber's
  events from a task of its own lags under load).  The new copy's results are
  held (``HOLDING``) while the old copy's go on being delivered, until the
  old copy sends that same result: then it is dropped, the held ones follow,
  and the new copy alone goes on (``NEW``).

Either way the old copy is stopped once it has nothing more to give, and
whatever it sends later is dropped.  No event is lost, and none is delivered
twice for results that tell their events apart and an old copy at most
:data:`RECENT` results ahead.  A copy that ends, fails or is cut short (its
connection lost, a bound passed) hands over to the other as it stands: the
held results are delivered then.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["HOLD_SECONDS", "RECENT", "Handover", "Overlap", "Stage"]

#: How many of the old copy's last results are kept, to find the new copy's first among them.
RECENT = 32
#: The longest the new copy's results are held for an old copy that is behind.  A
#: server is seldom that far behind on one connection; a subscription whose copies
#: can never line up (a counter of its own, started over on the new connection) is
#: handed over then, as after a reconnection.
HOLD_SECONDS = 2.0


class OldCopy(Protocol):
    """What a handover needs of the connection a subscription is moved away from."""

    def stop_in_background(self, op_id: int) -> None:
        """Tell the server to stop ``op_id``, without waiting for the send."""


class Stage(enum.Enum):
    """Where one subscription's handover is."""

    #: The new copy has sent nothing yet: the old copy's results are delivered.
    OLD = "old"
    #: The old copy is behind: its results are delivered, the new copy's held.
    HOLDING = "holding"
    #: The old copy was ahead: the new copy's repeats of it are dropped.
    SKIPPING = "skipping"
    #: The new copy alone is delivered.
    NEW = "new"


class Overlap:
    """A renewal's overlap: the handovers of every subscription it moved.

    Args:
        old: The connection being renewed.

    Attributes:
        old: The connection being renewed.
        handovers: One per subscription moved, in id order.
        waiting: How many have not reached ``SKIPPING`` or ``NEW`` yet.
        switched: How many got there on the copies' own results (not cut short).
        dropped: Results dropped as repeats, from either copy.
    """

    __slots__ = ("_over", "dropped", "handovers", "old", "switched", "waiting")

    def __init__(self, old: OldCopy) -> None:
        self.old = old
        self.handovers: list[Handover] = []
        self.waiting = 0
        self.switched = 0
        self.dropped = 0
        self._over = asyncio.get_running_loop().create_future()

    def add(self, op_id: int) -> Handover:
        """Start the handover of subscription ``op_id``."""
        handover = Handover(self, op_id)
        self.handovers.append(handover)
        self.waiting += 1
        return handover

    def settled(self, handover: Handover, *, switched: bool) -> None:
        """One handover left ``OLD`` and ``HOLDING`` for good."""
        self.waiting -= 1
        if switched:
            self.switched += 1
        if self.waiting <= 0 and not self._over.done():
            self._over.set_result(None)

    def overdue(self, now: float) -> list[Handover]:
        """The handovers that have held the new copy's results for ``HOLD_SECONDS``."""
        return [
            handover
            for handover in self.handovers
            if handover.stage is Stage.HOLDING and now - handover.held_since >= HOLD_SECONDS
        ]

    def ready(self) -> None:
        """Every handover was added: the wait may end once each settled."""
        if self.waiting <= 0 and not self._over.done():
            self._over.set_result(None)

    async def wait(self, timeout: float) -> bool:
        """Wait until every handover settled, ``timeout`` seconds at most.

        Returns:
            Whether they all did in time.
        """
        done, _ = await asyncio.wait([self._over], timeout=timeout)
        return bool(done)

    def __repr__(self) -> str:
        return f"<Overlap {len(self.handovers)} moved, {self.waiting} waiting>"


class Handover:
    """One subscription's way from its old copy to its new one (see the module docstring).

    The receive loops hand it each message for the subscription; it answers
    with what to queue in the subscription's buffer, in order: nothing, the
    message, or the results it held.  A message is a result (text or
    ``ExecutionResult``), ``COMPLETE``, or an exception ending the
    subscription.
    """

    __slots__ = ("_first", "_held", "_recent", "_skip", "held_since", "op_id", "overlap", "stage")

    def __init__(self, overlap: Overlap, op_id: int) -> None:
        self.overlap = overlap
        self.op_id = op_id
        self.stage = Stage.OLD
        # Lists, not deques: a thousand handovers at once must stay small.
        self._recent: list[Any] = []
        self._held: list[Any] = []
        self._skip: list[Any] = []
        self._first: Any = None
        #: When the new copy's first result was held (``HOLDING``), on the loop's clock.
        self.held_since = 0.0

    @property
    def settled(self) -> bool:
        """Whether the old copy has nothing more to give."""
        return self.stage is Stage.SKIPPING or self.stage is Stage.NEW

    def from_old(self, message: Any, *, ends: bool = False) -> Sequence[Any]:
        """A message of the old copy: what to queue for it.

        Args:
            message: The message.
            ends: Whether it ends the subscription (``COMPLETE`` or an error).
        """
        stage = self.stage
        if stage is Stage.OLD:
            if ends:
                # The server ended it there first: that end stands.
                self._settle(Stage.NEW, switched=False, stop_old=False)
                return (message,)
            recent = self._recent
            recent.append(message)
            if len(recent) > RECENT:
                del recent[0]
            return (message,)
        if stage is Stage.HOLDING:
            if ends or message == self._first:
                # Caught up (or gone): the new copy takes over from its first result.
                if not ends:
                    self.overlap.dropped += 1
                return self._release(switched=not ends)
            return (message,)
        if not ends:
            self.overlap.dropped += 1
        return ()

    def from_new(self, message: Any, *, ends: bool = False) -> Sequence[Any]:
        """A message of the new copy: what to queue for it.

        Args:
            message: The message.
            ends: Whether it ends the subscription (``COMPLETE`` or an error).
        """
        stage = self.stage
        if stage is Stage.NEW:
            return (message,)
        if stage is Stage.OLD:
            if ends:
                # Its answer on the new connection: the old copy is let go.
                self._settle(Stage.NEW, switched=True)
                return (message,)
            recent = self._recent
            if message in recent:
                # The old copy was ahead: what it sent after this, the new
                # copy will repeat, in that order.
                at = len(recent) - 1 - recent[::-1].index(message)
                self._skip = recent[:at:-1]
                self._recent = []
                self.overlap.dropped += 1
                self._settle(Stage.SKIPPING if self._skip else Stage.NEW, switched=True)
                return ()
            self._recent = []
            self._first = message
            self._held.append(message)
            self.stage = Stage.HOLDING
            self.held_since = asyncio.get_running_loop().time()
            return ()
        if stage is Stage.HOLDING:
            self._held.append(message)
            return self._release(switched=True) if ends else ()
        # The repeats still expected, the next one last.
        skip = self._skip
        if not ends and skip and message == skip[-1]:
            skip.pop()
            self.overlap.dropped += 1
            if not skip:
                self.stage = Stage.NEW
            return ()
        self._skip = []
        self.stage = Stage.NEW
        return (message,)

    def cut_short(self) -> Sequence[Any]:
        """The overlap ends now (its bound passed, or the old connection was lost).

        Returns:
            The results held, to queue now.
        """
        if self.stage is Stage.HOLDING:
            return self._release(switched=False)
        if self.stage is Stage.OLD:
            self._settle(Stage.NEW, switched=False)
        return ()

    def _release(self, *, switched: bool) -> Sequence[Any]:
        held, self._held = self._held, []
        self._first = None
        self._settle(Stage.NEW, switched=switched)
        return held

    def _settle(self, stage: Stage, *, switched: bool, stop_old: bool = True) -> None:
        was_waiting = not self.settled
        self.stage = stage
        self._recent = []
        if stop_old:
            self.overlap.old.stop_in_background(self.op_id)
        if was_waiting:
            self.overlap.settled(self, switched=switched)

    def __repr__(self) -> str:
        return f"<Handover {self.op_id} {self.stage.value}>"
