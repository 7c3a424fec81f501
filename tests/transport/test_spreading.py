"""max_operations_per_connection: operations spread over several connections.

Against the package's own server with a per-connection cap that answers one
operation too many as Strawberry does.  Every test waits on events (the
transport's lifecycle events, the server's records, results arriving), never
on the clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gql.transport.exceptions import TransportQueryError

from gql_aiohttp_websockets import (
    AIOHTTPWebsocketsTransport,
    Closed,
    Connected,
    Disconnected,
    HeartbeatTimeoutError,
    Resubscribed,
    Retrying,
    RetryPolicy,
    TransportConnectionClosed,
    UpgradeRefusedError,
)
from gql_aiohttp_websockets.connection import Connection
from gql_aiohttp_websockets.lifecycle import State
from gql_aiohttp_websockets.manager import ConnectionManager, Lane
from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema
from gql_aiohttp_websockets.testing.records import ConnectionRecord
from gql_aiohttp_websockets.testing.session import LIMIT_REACHED
from gql_aiohttp_websockets.testing.transport_ws_session import TransportWsSession
from tests.helpers import doc, within
from tests.transport.conftest import MakeTransport
from tests.transport.test_reconnect import QUICK, Events, runs

TICKS = doc("subscription { ticks(count: 100000, delay_ms: 100) }")
HELLO = doc("{ hello }")
STOP_TYPE = {"graphql-transport-ws": "complete", "graphql-ws": "stop"}


@pytest.fixture
async def capped_at_2(subprotocol: str) -> AsyncIterator[GraphQLWebsocketServer]:
    """The package's server, speaking ``subprotocol``, with 2 operations per connection."""
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=(subprotocol,), max_operations_per_connection=2
    ) as running:
        yield running


@pytest.fixture
async def capped(subprotocol: str) -> AsyncIterator[GraphQLWebsocketServer]:
    """The package's server, speaking ``subprotocol``, with 100 operations per connection."""
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=(subprotocol,), max_operations_per_connection=100
    ) as running:
        yield running


class Subscriptions:
    """Many ticks subscriptions, each consumed in a task of its own."""

    def __init__(self, transport: AIOHTTPWebsocketsTransport, count: int) -> None:
        self.values: list[list[int]] = []
        self.errors: list[BaseException | None] = []
        self.ended: list[bool] = []
        self.tasks: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()
        self._transport = transport
        self.more(count)

    def more(self, count: int) -> None:
        """Start ``count`` more."""
        for _ in range(count):
            self.values.append([])
            self.errors.append(None)
            self.ended.append(False)
            self.tasks.append(asyncio.ensure_future(self._run(len(self.tasks))))

    async def _run(self, index: int) -> None:
        try:
            async for result in self._transport.subscribe(TICKS):
                assert result.data is not None
                self.values[index].append(result.data["ticks"])
                self._changed.set()
        except Exception as exc:
            self.errors[index] = exc
        self.ended[index] = True
        self._changed.set()

    async def wait_until(self, done: Any) -> None:
        async def enough() -> None:
            while not done():
                self._changed.clear()
                await self._changed.wait()

        await within(enough())

    async def each_received(self, count: int, among: range | None = None) -> None:
        indexes = range(len(self.values)) if among is None else among
        await self.wait_until(
            lambda: all(len(self.values[i]) >= count or self.errors[i] is not None for i in indexes)
        )

    async def leave(self, indexes: range) -> None:
        """Break out of these subscriptions, as an ``async for`` that stops does."""
        for index in indexes:
            self.tasks[index].cancel()
        await asyncio.gather(*(self.tasks[i] for i in indexes), return_exceptions=True)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def subscribed(
    transport: AIOHTTPWebsocketsTransport, *groups: int, results: int = 1
) -> Subscriptions:
    """Connect, then start the subscriptions a group at a time.

    Each group waits until every subscription so far has ``results`` results
    before the next starts, so that a group fills the connections opened for it.
    """
    await within(transport.connect())
    subscriptions = Subscriptions(transport, 0)
    for count in groups:
        subscriptions.more(count)
        await subscriptions.each_received(results)
    return subscriptions


def refusals(record: ConnectionRecord) -> list[Any]:
    """The server's 'Subscription limit reached' errors on one connection."""
    return [message for message in record.sent if LIMIT_REACHED in str(message)]


def said_goodbye(record: ConnectionRecord) -> bool:
    """Whether the client ended the connection (legacy: it asked the server to)."""
    return record.closed_by == "client" or bool(record.messages_of_type("connection_terminate"))


def live(server: GraphQLWebsocketServer) -> list[ConnectionRecord]:
    return [record for record in server.connections if not record.closed]


async def test_without_the_option_the_server_refuses_what_goes_past_its_cap(
    capped: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    transport = make_transport(capped.url)
    subscriptions = await subscribed(transport, 110)
    refused = [error for error in subscriptions.errors if error is not None]
    assert len(refused) == 10
    assert all(isinstance(error, TransportQueryError) for error in refused)
    assert all(LIMIT_REACHED in str(error) for error in refused)
    assert len(capped.connections) == 1
    await subscriptions.stop()


async def test_250_subscriptions_over_a_cap_of_100_use_three_connections(
    capped: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    events = Events()
    transport = make_transport(capped.url, max_operations_per_connection=100, on_event=events)
    subscriptions = await subscribed(transport, 250, results=2)
    assert subscriptions.errors == [None] * 250
    assert len(live(capped)) == 3
    counts = [len(record.started_operations) for record in capped.connections]
    # The first 100 fill the first connection; the 150 that found no room
    # there open two more at once and spread over them by room.
    assert counts[0] == 100
    assert sum(counts) == 250
    assert max(counts) == 100
    assert [refusals(record) for record in capped.connections] == [[], [], []]
    # Ids are unique across the transport: one listener per operation.
    started = [op for record in capped.connections for op in record.started_operations]
    assert len(set(started)) == 250
    assert len(transport.listeners) == 250
    assert [event.connection for event in events.of(Connected)] == [1, 2, 3]

    # Breaking out of every subscription of the extra connections closes them.
    await subscriptions.leave(range(100, 250))
    first, second, third = capped.connections
    assert await second.wait_closed() == 1000
    assert await third.wait_closed() == 1000
    assert said_goodbye(second)
    assert said_goodbye(third)
    assert not first.closed
    # The rest go on on the first connection.
    received = [len(values) for values in subscriptions.values[:100]]
    await subscriptions.wait_until(
        lambda: all(len(subscriptions.values[i]) > received[i] for i in range(100))
    )
    assert transport.state is State.OPEN
    await subscriptions.stop()
    assert len(capped.connections) == 3
    assert not first.closed, "the first connection stays while the transport is connected"


async def test_a_new_operation_goes_where_there_is_most_room(
    capped: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    transport = make_transport(capped.url, max_operations_per_connection=3)
    subscriptions = await subscribed(transport, 5)
    first, second = capped.connections
    assert (len(first.started_operations), len(second.started_operations)) == (3, 2)
    # One leaves the first connection: the next goes there (2 of 3 taken
    # there, 2 of 3 on the second: a tie goes to the first).
    await subscriptions.leave(range(1))
    await within(transport.execute(HELLO))
    assert len(first.started_operations) == 4
    assert len(second.started_operations) == 2
    await subscriptions.stop()


async def test_executes_spread_the_same_way(
    capped: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    transport = make_transport(capped.url, max_operations_per_connection=3)
    await within(transport.connect())
    results = await within(asyncio.gather(*(transport.execute(HELLO) for _ in range(12))))
    assert [result.data for result in results] == [{"hello": "Hello world!"}] * 12
    assert len(capped.connections) >= 2
    for record in capped.connections:
        assert refusals(record) == []
    # Each extra connection closes once its last execute ended.
    for record in capped.connections[1:]:
        assert await record.wait_closed() == 1000
    assert not capped.connections[0].closed


async def test_a_lost_connection_is_replaced_alone_and_only_its_operations_see_a_gap(
    capped: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    events = Events()
    transport = make_transport(
        capped.url, max_operations_per_connection=2, reconnect=QUICK, on_event=events
    )
    # Two at a time, so that each pair has a connection of its own.
    subscriptions = await subscribed(transport, 2, 2, 2)
    await subscriptions.each_received(3)
    first, second, third = capped.connections
    capped.drop_connection(second)
    resubscribed = await events.wait_for(Resubscribed)
    assert resubscribed.connection == 2
    assert resubscribed.count == 2
    on_second = range(2, 4)
    await subscriptions.wait_until(
        lambda: all(subscriptions.values[i].count(0) == 2 for i in on_second)
    )
    await subscriptions.each_received(max(map(len, subscriptions.values)) + 3)
    assert subscriptions.errors == [None] * 6
    for index in (0, 1, 4, 5):
        assert len(runs(subscriptions.values[index])) == 1, "no gap on the other connections"
    for index in on_second:
        assert len(runs(subscriptions.values[index])) == 2, "started over on the new connection"
    replacement = capped.connections[3]
    assert sorted(replacement.started_operations) == sorted(second.started_operations)
    assert first.started_operations == first.started_operations[:2]
    assert [event.connection for event in events.of(Disconnected)] == [2]
    assert [event.connection for event in events.of(Retrying)] == [2]
    assert [event.connection for event in events.of(Connected)] == [1, 2, 3, 2]
    assert transport.state is State.OPEN
    assert not third.closed
    await subscriptions.stop()


async def test_an_extra_connection_that_cannot_be_opened_fails_only_what_needed_it(
    capped: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    transport = make_transport(capped.url, max_operations_per_connection=2)
    subscriptions = await subscribed(transport, 2)
    capped.refuse_connections(503, count=1)
    with pytest.raises(UpgradeRefusedError):
        await within(transport.execute(HELLO))
    assert subscriptions.errors == [None, None]
    # The next one opens it.
    result = await within(transport.execute(HELLO))
    assert result.data == {"hello": "Hello world!"}
    await subscriptions.each_received(3)
    assert subscriptions.errors == [None, None]
    await subscriptions.stop()


async def test_without_reconnection_a_lost_extra_connection_ends_the_transport(
    capped: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    events = Events()
    transport = make_transport(capped.url, max_operations_per_connection=1, on_event=events)
    subscriptions = await subscribed(transport, 2)
    capped.drop_connection(capped.connections[1])
    await subscriptions.wait_until(lambda: all(subscriptions.ended))
    # The lost connection's error, on both: gql 4's TransportConnectionFailed,
    # gql 3.5's ConnectionResetError.
    assert all(isinstance(error, TransportConnectionClosed) for error in subscriptions.errors)
    await events.wait_for(Closed)
    assert transport.state is State.CLOSED
    assert await capped.connections[0].wait_closed() == 1000


async def test_close_ends_every_connection_and_every_operation(
    capped: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    transport = make_transport(capped.url, max_operations_per_connection=100)
    subscriptions = await subscribed(transport, 250)
    await within(transport.close())
    await subscriptions.wait_until(lambda: all(subscriptions.ended))
    # As gql: close() ends each running subscription as completed.
    assert subscriptions.errors == [None] * 250
    for record in capped.connections:
        assert await record.wait_closed() == 1000
        assert said_goodbye(record)
    assert transport.state is State.CLOSED


async def test_log_lines_say_which_connection(
    capped: GraphQLWebsocketServer,
    make_transport: MakeTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = make_transport(capped.url, max_operations_per_connection=1)
    with caplog.at_level(logging.DEBUG, logger="gql_aiohttp_websockets"):
        subscriptions = await subscribed(transport, 2)
        await subscriptions.stop()
    messages = [record.getMessage() for record in caplog.records]
    second = [message for message in messages if message.startswith("connection 2: ")]
    assert any(">>> connection_init" in message for message in second)
    assert any("<<< " in message for message in second)
    assert not any(message.startswith("connection 1: ") for message in messages)


# Found in review: each once failed.


async def test_each_connection_answers_its_own_pings(
    make_transport: MakeTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pong of connection 2 must not count for connection 1's ping.
    silent: set[ConnectionRecord] = set()
    dispatch = TransportWsSession._dispatch

    async def deaf_to_pings(self: TransportWsSession, message: dict[str, Any]) -> bool:
        if message.get("type") == "ping" and self.wire.record in silent:
            return True
        return await dispatch(self, message)

    monkeypatch.setattr(TransportWsSession, "_dispatch", deaf_to_pings)
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=("graphql-transport-ws",), max_operations_per_connection=1
    ) as server:
        transport = make_transport(
            server.url, max_operations_per_connection=1, ping_interval=0.2, pong_timeout=0.3
        )
        subscriptions = await subscribed(transport, 2)
        silent.add(server.connections[0])
        await subscriptions.wait_until(lambda: all(subscriptions.ended))
        assert isinstance(subscriptions.errors[0], HeartbeatTimeoutError)


async def test_an_operation_started_during_a_carry_over_leaves_room_for_it(
    capped_at_2: GraphQLWebsocketServer,
    make_transport: MakeTransport,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = Events()
    transport = make_transport(
        capped_at_2.url, max_operations_per_connection=2, reconnect=QUICK, on_event=events
    )
    subscriptions = await subscribed(transport, 2, 2)
    second = capped_at_2.connections[1]
    lost = transport._manager.lanes()[1].connection
    send = Connection.send
    started_meanwhile: list[int] = []

    async def slow_send(self: Connection, frame: str, *, secret: bool = False) -> None:
        # The first start of the carry-over yields, as a send on a full
        # socket does, while another subscription is started.
        if self is not lost and not started_meanwhile and self.settings is not None:
            lane = transport._manager.lanes()[-1]
            if lane.number == 2 and lane.connection is self:
                started_meanwhile.append(1)
                subscriptions.more(1)
                for _ in range(20):
                    await asyncio.sleep(0)
        await send(self, frame, secret=secret)

    monkeypatch.setattr(Connection, "send", slow_send)
    capped_at_2.drop_connection(second)
    await events.wait_for(Resubscribed)
    await subscriptions.each_received(2)
    assert started_meanwhile
    assert subscriptions.errors == [None] * 5
    assert all(refusals(record) == [] for record in capped_at_2.connections)
    await subscriptions.stop()


async def test_a_stop_goes_to_a_healthy_connection_while_the_first_is_replaced(
    capped_at_2: GraphQLWebsocketServer, make_transport: MakeTransport, subprotocol: str
) -> None:
    events = Events()
    slow = RetryPolicy(attempts=5, wait=lambda attempt: 0.5)
    transport = make_transport(
        capped_at_2.url, max_operations_per_connection=2, reconnect=slow, on_event=events
    )
    subscriptions = await subscribed(transport, 2, 2)
    first, second = capped_at_2.connections
    capped_at_2.drop_connection(first)
    await events.wait_for(Retrying)
    assert transport.state is State.RECONNECTING
    await subscriptions.leave(range(3, 4))
    await second.wait_for_type(STOP_TYPE[subprotocol])
    subscriptions.more(1)
    await subscriptions.each_received(1, among=range(4, 5))
    assert subscriptions.errors[4] is None
    assert all(refusals(record) == [] for record in capped_at_2.connections)
    await subscriptions.stop()


async def test_a_connection_opened_for_nobody_is_closed(
    capped: GraphQLWebsocketServer,
    make_transport: MakeTransport,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two connections are opened for two waiters, one of which is then
    # served by room on the first: both openings end in the same turn.
    both_opened = asyncio.Event()
    gate = asyncio.Event()
    opened: list[int] = []
    attempts = ConnectionManager._attempts

    async def held_attempts(
        self: ConnectionManager, lane: Lane, attempt: int, delay: float, error: Exception | None
    ) -> tuple[Connection, int]:
        made = await attempts(self, lane, attempt, delay, error)
        if lane.number != 1:
            opened.append(lane.number)
            if len(opened) == 2:
                both_opened.set()
            await gate.wait()
        return made

    monkeypatch.setattr(ConnectionManager, "_attempts", held_attempts)
    transport = make_transport(capped.url, max_operations_per_connection=1)
    subscriptions = await subscribed(transport, 1)
    subscriptions.more(2)
    await within(both_opened.wait())
    await subscriptions.leave(range(1))
    gate.set()
    await subscriptions.each_received(1, among=range(1, 3))
    # One of the two extra connections serves nobody, and closes.
    (idle,) = [record for record in capped.connections[1:] if not record.started_operations]
    assert await idle.wait_closed() == 1000
    assert len(live(capped)) == 2
    await subscriptions.stop()


async def test_waiting_for_room_when_the_first_connection_is_lost_gets_its_error(
    capped: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    transport = make_transport(capped.url, max_operations_per_connection=1)
    subscriptions = await subscribed(transport, 1)
    waiting = [asyncio.ensure_future(transport.execute(HELLO)) for _ in range(3)]
    await asyncio.sleep(0)  # let each call reach the line
    capped.drop_connection(capped.connections[0])
    results = await within(asyncio.gather(*waiting, return_exceptions=True))
    assert all(isinstance(result, TransportConnectionClosed) for result in results), results
    await subscriptions.stop()


def test_the_option_is_checked() -> None:
    with pytest.raises(
        ValueError, match="max_operations_per_connection must be None or at least 1"
    ):
        AIOHTTPWebsocketsTransport(url="ws://127.0.0.1:1/graphql", max_operations_per_connection=0)
