"""The lifecycle tables: every state has its moves, and Lifecycle refuses any other."""

from __future__ import annotations

import logging

import pytest

from gql_aiohttp_websockets.lifecycle import (
    CONNECTION_MOVES,
    TRANSPORT_MOVES,
    ConnectionState,
    Lifecycle,
    State,
)

log = logging.getLogger("tests.lifecycle")


def test_every_state_has_a_row_and_every_move_stays_in_the_table() -> None:
    for table, states in ((TRANSPORT_MOVES, State), (CONNECTION_MOVES, ConnectionState)):
        assert set(table) == set(states)
        for targets in table.values():
            assert targets <= set(states)  # type: ignore[operator]


def test_a_connection_never_goes_back_and_ends_through_closing() -> None:
    order = list(ConnectionState)
    for state, targets in CONNECTION_MOVES.items():
        assert all(order.index(target) > order.index(state) for target in targets)
    closing = ConnectionState.CLOSING
    for state in order[: order.index(closing)]:
        assert closing in CONNECTION_MOVES[state], f"{state} cannot fail"
    assert CONNECTION_MOVES[ConnectionState.CLOSED] == frozenset()


def test_the_transport_reaches_closed_from_every_state() -> None:
    for state in State:
        seen, frontier = {state}, [state]
        while frontier:
            for target in TRANSPORT_MOVES[frontier.pop()]:
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
        assert State.CLOSED in seen


def test_a_move_outside_the_table_is_refused_and_changes_nothing() -> None:
    lifecycle = Lifecycle(State.CLOSED, TRANSPORT_MOVES, log)
    with pytest.raises(RuntimeError, match="no move from closed to open"):
        lifecycle.move(State.OPEN)
    assert lifecycle.state is State.CLOSED


def test_each_move_is_logged_where_it_is_made(caplog: pytest.LogCaptureFixture) -> None:
    lifecycle = Lifecycle(ConnectionState.NEW, CONNECTION_MOVES, log)
    with caplog.at_level(logging.DEBUG, logger="tests.lifecycle"):
        lifecycle.move(ConnectionState.OPENING)
        lifecycle.move(ConnectionState.CLOSING)
    assert [record.getMessage() for record in caplog.records] == [
        "state new -> opening",
        "state opening -> closing",
    ]
    assert lifecycle.state is ConnectionState.CLOSING
