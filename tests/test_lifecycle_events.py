"""EventSink: each event logged, then given to the callback, whose errors stay out."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from gql_aiohttp_websockets import (
    Closed,
    Connected,
    Connecting,
    Disconnected,
    Resubscribed,
    Retrying,
    TransportConnectionClosed,
    TransportEvent,
)
from gql_aiohttp_websockets.lifecycle_events import EventSink

LOST = TransportConnectionClosed("lost", code=1001, reason="bye")
EVENTS: list[TransportEvent] = [
    Connecting(0),
    Connected("graphql-transport-ws", {"server": "x"}, 0),
    Disconnected(LOST, 1001, "bye", True),
    Retrying(1, 0.5, LOST),
    Connecting(1),
    Connected("graphql-transport-ws", None, 1),
    Resubscribed(3, 0.62),
    Closed(None),
]


def test_events_reach_the_callback_in_order() -> None:
    seen: list[TransportEvent] = []
    sink = EventSink(seen.append)
    for event in EVENTS:
        sink.emit(event)
    assert seen == EVENTS


@pytest.mark.parametrize("event", EVENTS, ids=lambda event: type(event).__name__)
def test_events_are_frozen(event: TransportEvent) -> None:
    field = dataclasses.fields(event)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(event, field, None)


def test_a_retry_is_logged_at_info_with_its_delay_and_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="gql_aiohttp_websockets.events"):
        EventSink(None).emit(Retrying(2, 1.25, LOST))
        EventSink(None).emit(Connecting(2))
        EventSink(None).emit(Retrying(1, 0.5, LOST, connection=3))
    assert [record.getMessage() for record in caplog.records] == [
        "connecting again in 1.25 s (attempt 2): lost",
        "connecting again in 0.50 s (attempt 1, connection 3): lost",
    ]


def test_every_event_is_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="gql_aiohttp_websockets.events"):
        for event in EVENTS:
            EventSink(None).emit(event)
    assert len(caplog.records) == len(EVENTS)
    assert caplog.records[0].getMessage() == "Connecting(attempt=0, connection=1)"


def test_a_failing_callback_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: TransportEvent) -> None:
        raise RuntimeError("the callback's own bug")

    with caplog.at_level(logging.ERROR, logger="gql_aiohttp_websockets.events"):
        EventSink(broken).emit(Connecting(0))
    (record,) = caplog.records
    assert (
        record.getMessage() == "the on_event callback failed on Connecting(attempt=0, connection=1)"
    )
    assert record.exc_info is not None
