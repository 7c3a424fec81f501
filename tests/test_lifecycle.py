"""The lifecycle tables: the transport's, keyed by what happens, and the connection's moves."""

from __future__ import annotations

import logging

import pytest

from gql_aiohttp_websockets.lifecycle import (
    CONNECTION_MOVES,
    TRANSPORT_TRANSITIONS,
    Action,
    ConnectionState,
    Happening,
    Lifecycle,
    State,
    TransportLifecycle,
)

log = logging.getLogger("tests.lifecycle")


def test_every_connection_state_has_a_row_and_every_move_stays_in_the_table() -> None:
    assert set(CONNECTION_MOVES) == set(ConnectionState)
    for targets in CONNECTION_MOVES.values():
        assert targets <= set(ConnectionState)


def test_a_connection_never_goes_back_and_ends_through_closing() -> None:
    order = list(ConnectionState)
    for state, targets in CONNECTION_MOVES.items():
        assert all(order.index(target) > order.index(state) for target in targets)
    closing = ConnectionState.CLOSING
    for state in order[: order.index(closing)]:
        assert closing in CONNECTION_MOVES[state], f"{state} cannot fail"
    assert CONNECTION_MOVES[ConnectionState.CLOSED] == frozenset()


H = Happening
A = Action
S = State

# What happens to a transport, in order, with the state and action each leads to.
STORIES = {
    "connect, close": [
        (H.CONNECT, S.CONNECTING, A.CONNECT),
        (H.OPENED, S.INITIALIZING, A.NOTHING),
        (H.ACKNOWLEDGED, S.OPEN, A.START),
        (H.CLOSE, S.CLOSING, A.CLOSE),
        (H.CLOSE, S.CLOSING, A.AWAIT_SHUTDOWN),
        (H.SHUT_DOWN, S.CLOSED, A.NOTHING),
    ],
    "another offer": [
        (H.CONNECT, S.CONNECTING, A.CONNECT),
        (H.OPENED, S.INITIALIZING, A.NOTHING),
        (H.OFFERED_AGAIN, S.CONNECTING, A.NOTHING),
        (H.OPENED, S.INITIALIZING, A.NOTHING),
        (H.CONNECT_FAILED, S.CLOSED, A.FAIL_CONNECT),
    ],
    "close while connecting": [
        (H.CONNECT, S.CONNECTING, A.CONNECT),
        (H.CLOSE, S.CLOSING, A.CANCEL_CONNECT),
        (H.CONNECT, S.CLOSING, A.AWAIT_SHUTDOWN),
        (H.CONNECT_FAILED, S.CLOSED, A.REPORT_CLOSED),
    ],
    "a connection replaced": [
        (H.CONNECT, S.CONNECTING, A.CONNECT),
        (H.OPENED, S.INITIALIZING, A.NOTHING),
        (H.ACKNOWLEDGED, S.OPEN, A.START),
        (H.CONNECT, S.OPEN, A.REFUSE),
        (H.LOST, S.RECONNECTING, A.REPLACE),
        (H.OPENED, S.RECONNECTING, A.NOTHING),
        (H.ACKNOWLEDGED, S.OPEN, A.RESUME),
        (H.LOST_FOR_GOOD, S.CLOSING, A.SHUT_DOWN),
        (H.LOST, S.CLOSING, A.NOTHING),
        (H.SHUT_DOWN, S.CLOSED, A.NOTHING),
    ],
    "the attempts give up": [
        (H.CONNECT, S.CONNECTING, A.CONNECT),
        (H.OPENED, S.INITIALIZING, A.NOTHING),
        (H.ACKNOWLEDGED, S.OPEN, A.START),
        (H.LOST, S.RECONNECTING, A.REPLACE),
        (H.CONNECT, S.RECONNECTING, A.REFUSE),
        (H.LOST_FOR_GOOD, S.CLOSING, A.END_GAP),
        (H.SHUT_DOWN, S.CLOSED, A.NOTHING),
    ],
    "close in a gap, as an attempt succeeds": [
        (H.CONNECT, S.CONNECTING, A.CONNECT),
        (H.OPENED, S.INITIALIZING, A.NOTHING),
        (H.ACKNOWLEDGED, S.OPEN, A.START),
        (H.LOST, S.RECONNECTING, A.REPLACE),
        (H.CLOSE, S.CLOSING, A.CLOSE_GAP),
        (H.ACKNOWLEDGED, S.CLOSING, A.DISCARD),
        (H.SHUT_DOWN, S.CLOSED, A.NOTHING),
        (H.CLOSE, S.CLOSED, A.NOTHING),
    ],
}


@pytest.mark.parametrize("story", STORIES)
def test_the_transport_table_tells_each_story(story: str) -> None:
    lifecycle = TransportLifecycle(log)
    for happening, state, action in STORIES[story]:
        assert lifecycle.handle(happening) is action, (story, happening)
        assert lifecycle.state is state, (story, happening)


def test_the_transport_table_is_keyed_by_state_and_happening() -> None:
    for (state, happening), (to, action) in TRANSPORT_TRANSITIONS.items():
        assert isinstance(state, State)
        assert isinstance(happening, Happening)
        assert isinstance(to, State)
        assert isinstance(action, Action)
    # close() and connect() may come in any state.
    for state in State:
        assert (state, Happening.CLOSE) in TRANSPORT_TRANSITIONS
        assert (state, Happening.CONNECT) in TRANSPORT_TRANSITIONS
    # Only OPEN starts a gap, and only a gap resumes.
    assert [key for key, row in TRANSPORT_TRANSITIONS.items() if row[1] is Action.REPLACE] == [
        (State.OPEN, Happening.LOST)
    ]
    assert [key for key, row in TRANSPORT_TRANSITIONS.items() if row[1] is Action.RESUME] == [
        (State.RECONNECTING, Happening.ACKNOWLEDGED)
    ]


def test_the_transport_reaches_closed_from_every_state() -> None:
    for state in State:
        seen, frontier = {state}, [state]
        while frontier:
            current = frontier.pop()
            for (source, _), (target, _) in TRANSPORT_TRANSITIONS.items():
                if source is current and target not in seen:
                    seen.add(target)
                    frontier.append(target)
        assert State.CLOSED in seen


def test_a_happening_with_no_row_is_refused_and_changes_nothing() -> None:
    lifecycle = TransportLifecycle(log)
    with pytest.raises(RuntimeError, match="nothing is to happen on 'the connection was lost"):
        lifecycle.handle(Happening.LOST)
    assert lifecycle.state is State.CLOSED


def test_a_move_outside_the_connection_table_is_refused_and_changes_nothing() -> None:
    lifecycle = Lifecycle(ConnectionState.NEW, CONNECTION_MOVES, log)
    with pytest.raises(RuntimeError, match="no move from new to open"):
        lifecycle.move(ConnectionState.OPEN)
    assert lifecycle.state is ConnectionState.NEW


def test_each_transport_move_is_logged_with_why(caplog: pytest.LogCaptureFixture) -> None:
    lifecycle = TransportLifecycle(log)
    with caplog.at_level(logging.DEBUG, logger="tests.lifecycle"):
        lifecycle.handle(Happening.CONNECT)
    assert [record.getMessage() for record in caplog.records] == [
        "state closed -> connecting (connect() was called: connect)"
    ]


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
