"""reconnect.py's pure helpers: close details, and failing what is not carried over."""

from __future__ import annotations

import pytest
from graphql import ExecutionResult

from gql_aiohttp_websockets import (
    ConnectionInterrupted,
    ListenerQueue,
    TransportConnectionClosed,
    TransportConnectionFailed,
)
from gql_aiohttp_websockets.reconnect import close_details, interrupt


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


def test_interrupt_fails_only_what_is_not_carried_over() -> None:
    subscription = ListenerQueue(1, True)
    subscription.payload = {"query": "subscription { n }"}
    execute = ListenerQueue(2, False)
    execute.put_result(ExecutionResult(data={"late": True}))
    finished = ListenerQueue(3, False)
    finished.put_complete()
    lost = TransportConnectionClosed("went away", code=1001, reason="bye")
    interrupt({1: subscription, 2: execute, 3: finished}, lost)
    assert not subscription.closed
    # What was queued first is still delivered.
    assert execute.take_nowait().data == {"late": True}  # type: ignore[union-attr]
    with pytest.raises(ConnectionInterrupted) as raised:
        execute.take_nowait()
    assert raised.value.__cause__ is lost
    assert (raised.value.code, raised.value.reason) == (1001, "bye")
    assert str(raised.value) == (
        "the connection was lost while operation 2 waited for its answer (went away); "
        "it is not sent again, as it may have run on the server"
    )
    assert isinstance(raised.value, ConnectionResetError)
    assert not isinstance(raised.value, TransportConnectionFailed)
