"""The handover of one subscription from its old copy to its new one, without a socket.

Results are the text of their payloads, as the receive loops hand them over.
"""

from __future__ import annotations

from typing import Any

from gql_aiohttp_websockets import Overflow
from gql_aiohttp_websockets.handover import HOLD_SECONDS, RECENT, Overlap, Stage
from gql_aiohttp_websockets.listener_queue import COMPLETE
from gql_aiohttp_websockets.operations import OperationKind, Operations


class Copy:
    """A connection as the handover and the registry see it: it records its stops."""

    decode_result = None
    on_malformed = None

    def __init__(self) -> None:
        self.stopped: list[int] = []

    @property
    def reactions(self) -> Any:
        return {policy: (None, None) for policy in Overflow}

    async def stop_operation(self, op_id: int) -> None:
        self.stopped.append(op_id)

    def stop_in_background(self, op_id: int) -> None:
        self.stopped.append(op_id)


def r(n: int) -> str:
    return f'{{"data":{{"sequence":{n}}}}}'


async def test_an_old_copy_ahead_has_its_repeats_skipped() -> None:
    old = Copy()
    overlap = Overlap(old)
    handover = overlap.add(1)
    overlap.ready()
    assert [handover.from_old(r(n)) for n in (1, 2, 3)] == [(r(1),), (r(2),), (r(3),)]
    # The new copy starts at 2: 2 and 3 were delivered already.
    assert handover.from_new(r(2)) == ()
    assert handover.stage is Stage.SKIPPING
    assert old.stopped == [1]
    assert handover.from_new(r(3)) == ()
    assert handover.stage is Stage.NEW
    assert handover.from_new(r(4)) == (r(4),)
    assert (overlap.waiting, overlap.switched, overlap.dropped) == (0, 1, 2)


async def test_an_old_copy_behind_is_read_to_the_new_copys_first_result() -> None:
    old = Copy()
    overlap = Overlap(old)
    handover = overlap.add(1)
    overlap.ready()
    assert handover.from_old(r(1)) == (r(1),)
    # The new copy starts at 4: the old one still owes 2 and 3.
    assert handover.from_new(r(4)) == ()
    assert handover.from_new(r(5)) == ()
    assert handover.stage is Stage.HOLDING
    assert old.stopped == []
    assert handover.from_old(r(2)) == (r(2),)
    assert handover.from_old(r(3)) == (r(3),)
    assert handover.from_old(r(4)) == [r(4), r(5)]
    assert handover.stage is Stage.NEW
    assert old.stopped == [1]
    assert handover.from_new(r(6)) == (r(6),)
    assert (overlap.waiting, overlap.switched, overlap.dropped) == (0, 1, 1)


async def test_an_end_on_the_old_copy_first_stands_and_the_new_copy_is_stopped() -> None:
    old, new = Copy(), Copy()
    operations = Operations()
    operation = operations.register(
        OperationKind.SUBSCRIPTION, old, stop_on_leave=True, payload={"query": "q"}
    )
    overlap = operations.renew(old, new)
    assert operations.from_old(operation, r(1), ends=False) == (r(1),)
    assert operations.from_old(operation, COMPLETE, ends=True) == (COMPLETE,)
    assert new.stopped == [operation.id]
    assert old.stopped == []
    assert operation.handover is None
    assert overlap.waiting == 0


async def test_an_end_on_an_old_copy_behind_hands_over_to_the_new_one() -> None:
    old, new = Copy(), Copy()
    operations = Operations()
    operation = operations.register(
        OperationKind.SUBSCRIPTION, old, stop_on_leave=True, payload={"query": "q"}
    )
    operations.renew(old, new)
    assert operations.from_new(operation, r(7), ends=False) == ()
    # The old copy ends (its server stopped it): the held result comes, and
    # the new copy goes on; nothing stops it.
    assert operations.from_old(operation, COMPLETE, ends=True) == [r(7)]
    assert new.stopped == []
    assert operation.handover is None
    assert operations.running[operation.id] is operation


async def test_an_end_on_the_new_copy_first_lets_the_old_one_go() -> None:
    old = Copy()
    overlap = Overlap(old)
    handover = overlap.add(3)
    overlap.ready()
    error = RuntimeError("refused on the new connection")
    assert handover.from_new(error, ends=True) == (error,)
    assert handover.stage is Stage.NEW
    assert old.stopped == [3]


async def test_held_results_come_when_cut_short_and_when_overdue() -> None:
    old = Copy()
    overlap = Overlap(old)
    first, second = overlap.add(1), overlap.add(2)
    overlap.ready()
    first.from_new(r(9))
    second.from_new(r(9))
    assert overlap.overdue(first.held_since + HOLD_SECONDS / 2) == []
    assert overlap.overdue(second.held_since + HOLD_SECONDS) == [first, second]
    assert first.cut_short() == [r(9)]
    assert second.cut_short() == [r(9)]
    assert overlap.waiting == 0
    assert overlap.switched == 0


async def test_an_old_copy_further_ahead_than_recent_is_taken_for_behind() -> None:
    handover = Overlap(Copy()).add(1)
    for n in range(RECENT + 5):
        handover.from_old(r(n))
    assert handover.from_new(r(0)) == ()
    assert handover.stage is Stage.HOLDING
    assert handover.from_new(r(RECENT)) == ()
    assert handover.stage is Stage.HOLDING


async def test_an_overlap_with_nothing_to_move_is_settled_at_once() -> None:
    overlap = Overlap(Copy())
    overlap.ready()
    assert await overlap.wait(0.0)
