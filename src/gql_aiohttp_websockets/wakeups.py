"""When the receive loop wakes the consumers it queued results for.

Waking a consumer for every result would resume it once or twice per socket
read when many operations interleave, and each resumption costs more than
decoding a small result.  So the receive loop holds the wake-ups of a *turn*
while it works through what has already arrived, and ends the turn (wakes
them all) when:

- the turn has grown to :data:`TURN_BYTES`, and to :data:`BYTES_PER_WAKE`
  for each consumer held; the loop then also yields, so that they run;
- nothing more has arrived: aiohttp has no parsed frame waiting and the
  socket holds no unread bytes;
- something other than a result or a ``complete`` arrived (the loop ends
  the turn itself);
- at the latest :data:`HOLD_SECONDS` into a wait for bytes that are on the
  socket, in case they are only part of a frame;
- once the loop has been reading for :data:`TURN_SECONDS` since it last
  waited for the network, and every :data:`BUSY_TURN_SECONDS` after that
  while results keep coming (it asks :meth:`Turn.due` every
  :data:`FRAMES_PER_CHECK` frames): the first results of a burst for tens of
  thousands of consumers reach their consumers at once, the rest of the
  application is never held up for long, and a steady stream keeps the long
  turns that make fan-in cheap.

With a thousand subscriptions interleaved that is four or five results per
resumption instead of one or two.  Results wait as text, which the garbage
collector does not track, so a turn costs little memory; it ends well before
a consumer would notice.
"""

from __future__ import annotations

import asyncio
import select
import socket
from collections.abc import Callable, Sized

from .listener_queue import ListenerQueue
from .waiting import BREATHE_SECONDS

__all__ = [
    "BUSY_TURN_SECONDS",
    "BYTES_PER_WAKE",
    "FRAMES_PER_CHECK",
    "HOLD_SECONDS",
    "RESULT_WEIGHT",
    "TURN_BYTES",
    "TURN_SECONDS",
    "Turn",
    "readable_probe",
]

#: A turn ends once it has queued this much (frame lengths plus RESULT_WEIGHT each)...
TURN_BYTES = 256 * 1024
#: ...and at least this much for each consumer it will wake.
BYTES_PER_WAKE = 768
#: What one queued result weighs beyond its frame's length.
RESULT_WEIGHT = 64
#: The longest a turn is held while ``receive()`` waits for bytes on the socket.
HOLD_SECONDS = 0.001
#: The longest the first turn after a wait for the network is held...
TURN_SECONDS = BREATHE_SECONDS
#: ...and each turn after it while results keep coming...
BUSY_TURN_SECONDS = 0.05
#: ...checked every this many frames (the clock is not read for each).
FRAMES_PER_CHECK = 64


class Turn:
    """The results the receive loop queued since their consumers last ran.

    The receive loop appends to :attr:`held` each queue whose waiting
    consumer got a result, adds each result's weight to :attr:`bytes`, and
    asks :meth:`before_receive` before each ``receive()``.

    Args:
        loop: The running event loop (for the hold bound's timer).
        frames_waiting: aiohttp's queue of parsed frames not yet received,
            or ``None`` where it cannot be seen (then every turn ends before
            ``receive()``).
        readable: Whether the socket holds unread bytes, or ``None`` where
            that cannot be asked without waiting.
    """

    __slots__ = (
        "_busy",
        "_frames_waiting",
        "_loop",
        "_readable",
        "_since",
        "_timer",
        "bytes",
        "held",
        "holding",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        frames_waiting: Sized | None = None,
        readable: Callable[[], bool] | None = None,
    ) -> None:
        self._loop = loop
        self._frames_waiting = frames_waiting
        self._readable = readable if frames_waiting is not None else None
        self._timer: asyncio.TimerHandle | None = None
        # When the loop last yielded as due() saw it; 0.0 after a wait for
        # the network (the next due() starts counting), and whether results
        # kept coming since the first turn after that wait.
        self._since = 0.0
        self._busy = False
        #: The queues whose waiting consumer got a result this turn.
        self.held: list[ListenerQueue] = []
        #: How much was queued this turn: frame lengths plus RESULT_WEIGHT each.
        self.bytes = 0
        #: Whether a wait of ``receive()`` is bounded by the hold timer.
        self.holding = False

    def before_receive(self) -> bool:
        """Decide about the held wake-ups before the loop calls ``receive()``.

        Call it only while :attr:`held` is not empty.

        Returns:
            Whether the turn ended because it is full: the loop must then
            yield once, so that the consumers it woke run.
        """
        size = self.bytes
        if size >= TURN_BYTES and size >= len(self.held) * BYTES_PER_WAKE:
            self.end()
            return True
        waiting = self._frames_waiting
        if waiting is None or not waiting:
            # receive() is about to wait for the network.
            readable = self._readable
            if readable is not None and readable():
                self.hold_briefly()
            else:
                self.end()
                self._since = 0.0
        return False

    def due(self) -> bool:
        """Whether the loop has read long enough without yielding.

        :data:`TURN_SECONDS` for the first turn after a wait for the network,
        :data:`BUSY_TURN_SECONDS` for the next ones.  When it has, the turn
        ends (its consumers are woken) and the loop must yield once.  Ask it
        every :data:`FRAMES_PER_CHECK` frames.
        """
        now = self._loop.time()
        since = self._since
        if not since:
            self._since, self._busy = now, False
            return False
        if now - since < (BUSY_TURN_SECONDS if self._busy else TURN_SECONDS):
            return False
        self._since, self._busy = now, True
        self.end()
        return True

    def hold_briefly(self) -> None:
        """Keep the wake-ups held while ``receive()`` waits, for HOLD_SECONDS at most."""
        if self._timer is None:
            self._timer = self._loop.call_later(HOLD_SECONDS, self.end)
            self.holding = True

    def stop_holding(self) -> None:
        """``receive()`` returned: the bound of :meth:`hold_briefly` is no longer needed."""
        timer = self._timer
        if timer is not None:
            self._timer = None
            self.holding = False
            timer.cancel()

    def end(self) -> None:
        """Wake every consumer that got something this turn."""
        self.stop_holding()
        held = self.held
        if held:
            for listener in held:
                listener.wake()
            held.clear()
        self.bytes = 0


def readable_probe(sock: socket.socket | None) -> Callable[[], bool] | None:
    """Return a check of whether ``sock`` holds unread bytes, without waiting.

    ``None`` where that cannot be asked (no socket, or no ``poll`` on this
    platform).
    """
    poll_class = getattr(select, "poll", None)
    if sock is None or poll_class is None:
        return None
    poller = poll_class()
    poller.register(sock.fileno(), select.POLLIN)
    poll = poller.poll

    def readable() -> bool:
        return bool(poll(0))

    return readable
