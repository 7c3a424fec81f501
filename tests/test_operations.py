"""operations.py: the registry of operations as a unit, with a stand-in connection."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from gql.transport.exceptions import TransportProtocolError
from graphql import ExecutionResult

from gql_aiohttp_websockets import (
    ConnectionInterrupted,
    ListenerQueue,
    Overflow,
    TransportConnectionClosed,
    TransportConnectionFailed,
)
from gql_aiohttp_websockets.exceptions import close_details
from gql_aiohttp_websockets.listener_queue import COMPLETE, QueueMarker, Reaction
from gql_aiohttp_websockets.operations import (
    OPERATION_MOVES,
    Operation,
    OperationKind,
    Operations,
    OperationState,
)

PAYLOAD = {"query": "subscription { n }"}


class Host:
    """What an operation needs of its connection, and nothing else."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.decode_result: Callable[[int, str], ExecutionResult] | None = self.decode
        self.on_malformed: Callable[[TransportProtocolError], None] | None = None
        self.reactions: dict[Overflow, tuple[Reaction | None, Reaction | None]] = {
            policy: (None, None) for policy in Overflow
        }
        self.stopped: list[int] = []

    def decode(self, op_id: int, text: str) -> ExecutionResult:
        return ExecutionResult({"from": self.name, "text": text})

    async def stop_operation(self, op_id: int) -> None:
        self.stopped.append(op_id)


def take_one(buffer: ListenerQueue) -> ExecutionResult | QueueMarker:
    ready = list(buffer.take(1))
    assert ready, "nothing queued"
    return ready[0]


def subscription(operations: Operations, host: Host, *, carried: bool = True) -> Operation:
    return operations.register(
        OperationKind.SUBSCRIPTION,
        host,
        stop_on_leave=True,
        payload=PAYLOAD if carried else None,
    )


def execute(operations: Operations, host: Host) -> Operation:
    return operations.register(OperationKind.EXECUTE, host, stop_on_leave=False)


def test_ids_are_unique_and_restart_with_each_connect() -> None:
    operations, host = Operations(), Host("a")
    first, second = subscription(operations, host), execute(operations, host)
    assert (first.id, second.id) == (1, 2)
    assert first.state is OperationState.STARTING
    assert operations.get(2) is second
    assert dict(operations.listeners) == {1: first.buffer, 2: second.buffer}
    assert operations.listeners[1] is first.buffer
    assert len(operations.listeners) == 2
    operations.reset()
    assert operations.listeners == {}
    assert execute(operations, host).id == 1


def test_leaving_a_running_subscription_asks_for_its_stop_once() -> None:
    operations, host = Operations(), Host("a")
    running = subscription(operations, host)
    operations.started(running)
    assert running.state is OperationState.RUNNING
    assert operations.leave(running) is host
    assert running.state is OperationState.LEFT
    assert operations.get(running.id) is None
    assert operations.leave(running) is None, "leaving twice asks nothing more"


@pytest.mark.parametrize(
    "case", ["failed", "complete taken", "not started", "execute", "no stop wanted", "stopped"]
)
def test_leaving_asks_for_no_stop_when_the_server_needs_none(case: str) -> None:
    operations, host = Operations(), Host("a")
    if case == "execute":
        operation = execute(operations, host)
    elif case == "no stop wanted":
        operation = operations.register(
            OperationKind.SUBSCRIPTION, host, stop_on_leave=False, payload=PAYLOAD
        )
    else:
        operation = subscription(operations, host)
    if case != "not started":
        operations.started(operation)
    if case == "failed":
        operation.buffer.fail(RuntimeError("boom"))
        assert operation.ended
    if case == "complete taken":
        operation.buffer.feed(COMPLETE)
        assert take_one(operation.buffer) is COMPLETE
    if case == "stopped":
        assert operations.to_stop(host) == [operation]
        assert operation.state is OperationState.STOPPED
    assert operations.leave(operation) is None


def test_leaving_with_the_complete_queued_but_not_taken_still_asks_for_the_stop() -> None:
    # As gql: send_stop clears when the complete is taken, not when it arrives.
    operations, host = Operations(), Host("a")
    operation = subscription(operations, host)
    operations.started(operation)
    operation.buffer.feed(ExecutionResult({"n": 1}))
    operation.buffer.feed(COMPLETE)
    assert operation.ended
    assert operations.leave(operation) is host


def test_the_goodbye_stops_the_running_subscriptions_of_its_connection_only() -> None:
    operations, a, b = Operations(), Host("a"), Host("b")
    here, there, done, query, starting = (
        subscription(operations, a),
        subscription(operations, b),
        subscription(operations, a),
        execute(operations, a),
        subscription(operations, a),
    )
    for operation in (here, there, done, query):
        operations.started(operation)
    done.buffer.fail(RuntimeError("failed"))
    assert operations.on(a) == [here, done, query, starting]
    # One whose start is still on its way is stopped too: the stop follows it.
    assert operations.to_stop(a) == [here, starting]
    assert operations.to_stop(a) == [], "recorded as stopped"
    operations.started(starting)
    assert starting.state is OperationState.STOPPED


def test_a_lost_connection_interrupts_its_executes_and_moves_its_subscriptions() -> None:
    operations, lost, other = Operations(), Host("lost"), Host("other")
    moving, query, finished, elsewhere, uncarried = (
        subscription(operations, lost),
        execute(operations, lost),
        execute(operations, lost),
        subscription(operations, other),
        subscription(operations, lost, carried=False),
    )
    for operation in (moving, query, finished, elsewhere, uncarried):
        operations.started(operation)
    query.buffer.feed(ExecutionResult({"late": True}))
    finished.buffer.feed(COMPLETE)
    error = TransportConnectionClosed("went away", code=1001, reason="bye")
    assert operations.lost(lost, error) == [moving]
    assert moving.state is OperationState.MOVING
    assert moving.connection is None
    assert not moving.ended
    assert elsewhere.state is OperationState.RUNNING, "another connection's: untouched"
    assert take_one(finished.buffer) is COMPLETE
    # What was queued first is still delivered.
    assert take_one(query.buffer).data == {"late": True}  # type: ignore[union-attr]
    with pytest.raises(ConnectionInterrupted) as raised:
        take_one(query.buffer)
    assert raised.value.__cause__ is error
    assert (raised.value.code, raised.value.reason) == (1001, "bye")
    assert str(raised.value) == (
        "the connection was lost while operation 2 waited for its answer (went away); "
        "it is not sent again, as it may have run on the server"
    )
    assert isinstance(raised.value, ConnectionResetError)
    assert not isinstance(raised.value, TransportConnectionFailed)
    # A subscription with no payload to send again cannot be carried over.
    with pytest.raises(ConnectionInterrupted):
        take_one(uncarried.buffer)


def test_a_moving_subscription_is_placed_on_the_new_connection_with_its_buffer() -> None:
    operations, lost, new = Operations(), Host("lost"), Host("new")
    moving = subscription(operations, lost)
    operations.started(moving)
    moving.buffer.feed("queued before the loss")
    operations.lost(lost, TransportConnectionClosed("lost"))
    operations.place(moving, new)
    assert moving.state is OperationState.RUNNING
    assert moving.connection is new
    # Text queued from the lost connection is decoded as the new one
    # decodes, when the two decode alike (the same subprotocol).
    assert take_one(moving.buffer).data == {"from": "new", "text": "queued before the loss"}  # type: ignore[union-attr]
    assert not operations.place(moving, new), "placed once"
    assert operations.leave(moving) is new, "its stop goes where it runs now"


def test_stats_count_each_running_operation() -> None:
    operations, host = Operations(), Host("a")
    sub = operations.register(
        OperationKind.SUBSCRIPTION,
        host,
        stop_on_leave=True,
        limit=5,
        overflow=Overflow.KEEP_NEWEST,
    )
    query = execute(operations, host)
    sub.buffer.feed(ExecutionResult({"n": 1}))
    sub.buffer.drop_oldest()
    sub.buffer.feed(ExecutionResult({"n": 2}))
    first, second = operations.stats()
    assert (first.query_id, first.queued, first.dropped, first.limit) == (sub.id, 1, 1, 5)
    assert first.on_queue_full is Overflow.KEEP_NEWEST
    assert (second.query_id, second.queued, second.limit) == (query.id, 0, None)
    operations.leave(sub)
    assert [stats.query_id for stats in operations.stats()] == [query.id]


@pytest.mark.parametrize("complete_subscriptions", [False, True])
def test_end_all(complete_subscriptions: bool) -> None:
    operations, host = Operations(), Host("a")
    sub, query = subscription(operations, host), execute(operations, host)
    sub.buffer.feed(ExecutionResult({"n": 0}))
    error = RuntimeError("closed")
    operations.end_all(error, complete_subscriptions=complete_subscriptions)
    assert take_one(sub.buffer).data == {"n": 0}  # type: ignore[union-attr]
    if complete_subscriptions:
        assert take_one(sub.buffer) is COMPLETE
    else:
        with pytest.raises(RuntimeError, match="closed"):
            take_one(sub.buffer)
    # An operation that is never sent twice gets the error either way.
    with pytest.raises(RuntimeError, match="closed"):
        take_one(query.buffer)


def test_the_state_table_allows_only_forward_moves_and_refuses_the_rest() -> None:
    assert set(OPERATION_MOVES) == set(OperationState)
    assert OPERATION_MOVES[OperationState.LEFT] == frozenset()
    for state, targets in OPERATION_MOVES.items():
        if state is not OperationState.LEFT:
            assert OperationState.LEFT in targets, f"{state} cannot be left"
    operations, host = Operations(), Host("a")
    operation = subscription(operations, host)
    operations.leave(operation)
    assert not operations.place(operation, host), "a left operation is never started again"
    with pytest.raises(RuntimeError, match="no move from left to running"):
        Operations._move(operation, OperationState.RUNNING)
    operations, host = Operations(), Host("a")
    running = subscription(operations, host)
    operations.started(running)
    with pytest.raises(RuntimeError, match="no move from running to running"):
        Operations._move(running, OperationState.RUNNING)
    assert not operations.place(running, host), "placed already"


@pytest.mark.parametrize(
    ("error", "details"),
    [
        (TransportConnectionClosed("bye", code=1001, reason="restart"), (1001, "restart")),
        (TransportConnectionClosed("lost"), (None, "")),
        (ConnectionInterrupted("lost", code=1012, reason="r"), (1012, "r")),
        (TransportConnectionFailed("refused"), (None, "")),
        (ValueError("other"), (None, "")),
    ],
)
def test_close_details(error: Exception, details: tuple[int | None, str]) -> None:
    assert close_details(error) == details
