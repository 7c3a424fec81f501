"""renew() and renew_every: the connection replaced without a gap in any subscription.

Against the package's own server, whose ``sequence`` subscription sends one
global number to every subscriber at each tick: a subscription moved from
one connection to another must see every number from its first to its last,
some near the switch perhaps twice.  The tests wait on events (the
transport's lifecycle events, the server's records, numbers arriving), never
on the clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from gql.transport.exceptions import TransportClosed, TransportError

from gql_aiohttp_websockets import (
    AIOHTTPWebsocketsTransport,
    Connected,
    ConnectionInterrupted,
    ConnectionRejectedError,
    Disconnected,
    RenewalFailed,
    RenewalStarted,
    Renewed,
    Resubscribed,
    TransportConnectionClosed,
    TransportConnectionFailed,
    UpgradeRefusedError,
    manager,
)
from gql_aiohttp_websockets.lifecycle import State
from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema, scaled_timeout
from gql_aiohttp_websockets.testing.admission import EXPIRED_CODE
from gql_aiohttp_websockets.testing.records import ConnectionRecord
from tests.helpers import doc, within
from tests.transport.conftest import MakeTransport
from tests.transport.test_reconnect import QUICK, Events

SEQUENCE = doc("subscription { sequence }")
HELLO = doc("{ hello }")
STOP_TYPE = {"graphql-transport-ws": "complete", "graphql-ws": "stop"}


class Sequences:
    """Many ``sequence`` subscriptions, each consumed in a task of its own."""

    def __init__(self, transport: AIOHTTPWebsocketsTransport, count: int) -> None:
        self.values: list[list[int]] = [[] for _ in range(count)]
        self.errors: list[BaseException | None] = [None] * count
        self._changed = asyncio.Event()
        self._transport = transport
        self.tasks = [asyncio.ensure_future(self._run(index)) for index in range(count)]

    def more(self, count: int) -> None:
        """Start ``count`` more."""
        for _ in range(count):
            self.values.append([])
            self.errors.append(None)
            self.tasks.append(asyncio.ensure_future(self._run(len(self.tasks))))

    async def _run(self, index: int) -> None:
        try:
            async for result in self._transport.subscribe(SEQUENCE):
                assert result.data is not None
                self.values[index].append(result.data["sequence"])
                self._changed.set()
        except Exception as exc:
            self.errors[index] = exc
            self._changed.set()

    async def wait_until(self, done: Callable[[], bool], seconds: float = 10.0) -> None:
        async def enough() -> None:
            while not done():
                self._changed.clear()
                await self._changed.wait()

        await within(enough(), seconds)

    async def each_past(self, number: int) -> None:
        """Wait until every subscription got a number past ``number``."""
        await self.wait_until(lambda: all(values and values[-1] > number for values in self.values))

    async def each_received(self, count: int) -> None:
        await self.wait_until(lambda: all(len(values) >= count for values in self.values))

    async def leave_some(self, indexes: range) -> None:
        """Break out of these subscriptions, as an ``async for`` that stops does."""
        for index in indexes:
            self.tasks[index].cancel()
        await asyncio.gather(*(self.tasks[i] for i in indexes), return_exceptions=True)

    def missing(self) -> list[list[int]]:
        """For each subscription, the numbers between its first and last that never came."""
        gaps = []
        for values in self.values:
            seen = set(values)
            gaps.append([n for n in range(min(values), max(values)) if n not in seen])
        return gaps

    def duplicates(self) -> int:
        return sum(len(values) - len(set(values)) for values in self.values)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


class SecondInitHeld:
    """A server's ``on_connect`` that holds the second ``connection_init`` (the renewal's).

    Until :attr:`hold` is set; give the transport :meth:`init_payload`.
    """

    def __init__(self) -> None:
        self.hold = asyncio.Event()
        self._inits = 0

    def init_payload(self) -> dict[str, Any]:
        self._inits += 1
        return {"held": self._inits == 2}

    async def on_connect(self, payload: Any) -> bool:
        if payload.get("held"):
            await self.hold.wait()
        return True


def started(record: ConnectionRecord) -> int:
    return len(record.started_operations)


def stopped(record: ConnectionRecord, subprotocol: str) -> int:
    return len(record.messages_of_type(STOP_TYPE[subprotocol]))


@pytest.fixture
async def ticking(subprotocol: str) -> AsyncIterator[GraphQLWebsocketServer]:
    """The package's server, speaking ``subprotocol``, ticking every 50 ms."""
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=(subprotocol,), tick_interval=0.05
    ) as running:
        yield running


@pytest.fixture
async def still(subprotocol: str) -> AsyncIterator[GraphQLWebsocketServer]:
    """The package's server, speaking ``subprotocol``, ticking only when a test says."""
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=(subprotocol,), tick_interval=None
    ) as running:
        yield running


async def running(
    server: GraphQLWebsocketServer, transport: AIOHTTPWebsocketsTransport, count: int
) -> Sequences:
    """Connect, start ``count`` sequence subscriptions and wait until the server runs them."""
    await within(transport.connect())
    sequences = Sequences(transport, count)
    await server.ticker.wait_for_subscribers(count, scaled_timeout(10.0))
    return sequences


async def test_renew_moves_every_subscription_without_a_gap(
    ticking: GraphQLWebsocketServer, make_transport: MakeTransport, subprotocol: str
) -> None:
    events = Events()
    inits = []

    def init_payload() -> dict[str, Any]:
        inits.append(len(inits) + 1)
        return {"connection": len(inits)}

    transport = make_transport(ticking.url, init_payload=init_payload, on_event=events)
    sequences = await running(ticking, transport, 50)
    await sequences.each_received(3)

    for renewal in (1, 2):
        await within(transport.renew())
        reached = max(values[-1] for values in sequences.values)
        await sequences.each_past(reached + 3)
        assert len(events.of(Renewed)) == renewal

    await sequences.stop()
    assert sequences.errors == [None] * 50
    assert sequences.missing() == [[]] * 50
    # Each number once, in order.
    assert [v for v in sequences.values if v != sorted(set(v))] == []
    # The callable init payload was called again for each new connection.
    assert inits == [1, 2, 3]
    assert [record.init_payload for record in ticking.connections] == [
        {"connection": 1},
        {"connection": 2},
        {"connection": 3},
    ]
    assert events.kinds().count("Connected") == 1
    for renewed in events.of(Renewed):
        assert renewed.moved == 50
        assert renewed.switched == 50
        assert renewed.connection == 1
    assert len(events.of(RenewalStarted)) == 2
    first, second, third = ticking.connections
    # Each old connection: every copy stopped, then closed normally.
    for old in (first, second):
        assert started(old) == 50
        assert stopped(old, subprotocol) == 50
        assert await old.wait_closed() == 1000
    assert started(third) == 50
    assert not third.closed
    assert transport.state is State.OPEN
    assert (await within(transport.execute(HELLO))).data == {"hello": "Hello world!"}


async def test_the_copies_are_lined_up_by_their_results(
    still: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    # A number sent while both copies run arrives on both: it is delivered
    # once, and the repeat is dropped and counted.
    events = Events()
    transport = make_transport(still.url, on_event=events)
    sequences = await running(still, transport, 10)
    still.ticker.tick()
    await sequences.each_received(1)

    renewal = asyncio.ensure_future(transport.renew())
    await still.ticker.wait_for_subscribers(20, scaled_timeout(10.0))
    still.ticker.tick()
    await within(renewal)
    still.ticker.tick()
    await sequences.each_past(2)
    await sequences.stop()

    assert sequences.values == [[1, 2, 3]] * 10
    (renewed,) = events.of(Renewed)
    assert renewed.switched == 10
    assert renewed.duplicates == 10


async def test_a_lagging_old_copy_is_read_to_the_end_before_the_new_one(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    # The server holds back the old connection's numbers until the new copy
    # has sent several: they were sent before it existed, and come first.
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=(subprotocol,), tick_interval=None
    ) as server:
        events = Events()
        transport = make_transport(server.url, on_event=events)
        sequences = await running(server, transport, 5)
        server.ticker.tick()
        await sequences.each_received(1)
        first = server.connections[0]
        server.hold_sends(first)
        for _ in range(3):
            server.ticker.tick()  # 2, 3, 4: held back on the old connection
        renewal = asyncio.ensure_future(transport.renew())
        await server.ticker.wait_for_subscribers(10, scaled_timeout(10.0))
        for _ in range(3):
            server.ticker.tick()  # 5, 6, 7: on both
        await server.connections[1].wait_for_sent(
            lambda message: message.get("payload") == {"data": {"sequence": 7}}, count=5
        )
        server.release_sends(first)
        await within(renewal)
        server.ticker.tick()
        await sequences.each_past(7)
        await sequences.stop()
    assert sequences.values == [[1, 2, 3, 4, 5, 6, 7, 8]] * 5
    (renewed,) = events.of(Renewed)
    # Each 5 at least; 6 and 7 too when they came before the old connection closed.
    assert 5 <= renewed.duplicates <= 15


async def test_renew_every_keeps_ahead_of_token_expiry(
    subprotocol: str, make_transport: MakeTransport
) -> None:
    lifetime = scaled_timeout(3.0)
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=(subprotocol,), token_lifetime=lifetime
    ) as server:
        events = Events()
        transport = make_transport(
            server.url,
            init_payload=lambda: {"token": server.issue_token()},
            renew_every=lifetime / 5,
            on_event=events,
        )
        sequences = await running(server, transport, 20)
        await events.wait_for(Renewed, count=4)
        reached = max(values[-1] for values in sequences.values)
        await sequences.each_past(reached + 2)
        await sequences.stop()
        await transport.close()

    assert server.admission.expired == 0
    assert not events.of(Disconnected)
    assert not events.of(RenewalFailed)
    assert sequences.errors == [None] * 20
    assert sequences.missing() == [[]] * 20
    assert all(
        record.closed_by == "client" or record.close_code == 1000 for record in server.connections
    )


async def test_without_renewal_the_token_expiry_closes_the_connection(
    subprotocol: str, make_transport: MakeTransport
) -> None:
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=(subprotocol,), token_lifetime=scaled_timeout(0.3)
    ) as server:
        transport = make_transport(server.url, init_payload=lambda: {"token": server.issue_token()})
        sequences = await running(server, transport, 1)
        await sequences.wait_until(lambda: sequences.errors[0] is not None)
        error = sequences.errors[0]
        assert isinstance(error, TransportConnectionClosed)
        assert error.code == EXPIRED_CODE
        assert server.admission.expired == 1
        await sequences.stop()


async def test_an_expired_or_missing_token_is_refused(
    subprotocol: str, make_transport: MakeTransport
) -> None:
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=(subprotocol,), token_lifetime=1.0
    ) as server:
        transport = make_transport(server.url, init_payload={"token": "made-up"})
        with pytest.raises((TransportConnectionClosed, ConnectionRejectedError)):
            await within(transport.connect())


async def test_a_refused_renewal_leaves_the_old_connection_untouched(
    ticking: GraphQLWebsocketServer, make_transport: MakeTransport, subprotocol: str
) -> None:
    events = Events()
    transport = make_transport(ticking.url, on_event=events)
    sequences = await running(ticking, transport, 20)
    await sequences.each_received(2)

    ticking.refuse_inits()
    with pytest.raises(TransportError) as raised:
        await within(transport.renew())
    if subprotocol == "graphql-transport-ws":
        assert isinstance(raised.value, TransportConnectionClosed)
        assert raised.value.code == 4403
    else:
        assert isinstance(raised.value, ConnectionRejectedError)
    (failed,) = events.of(RenewalFailed)
    assert failed.error is raised.value

    # The subscriptions go on where they were, and new calls run there too.
    reached = max(values[-1] for values in sequences.values)
    await sequences.each_past(reached + 3)
    assert (await within(transport.execute(HELLO))).data == {"hello": "Hello world!"}
    first, refused = ticking.connections
    assert not first.closed
    assert refused.closed
    assert started(refused) == 0
    assert stopped(first, subprotocol) == 0
    assert transport.state is State.OPEN
    assert not events.of(Disconnected)

    # Once the server lets connections in again, a renewal goes through.
    ticking.accept_inits()
    await within(transport.renew())
    await sequences.stop()
    assert sequences.missing() == [[]] * 20


async def test_an_unreachable_server_fails_the_renewal(
    ticking: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    transport = make_transport(ticking.url)
    sequences = await running(ticking, transport, 5)
    await sequences.each_received(1)
    ticking.refuse_connections(503)
    with pytest.raises(UpgradeRefusedError):
        await within(transport.renew())
    reached = max(values[-1] for values in sequences.values)
    await sequences.each_past(reached + 2)
    await sequences.stop()
    assert sequences.missing() == [[]] * 5
    assert len(ticking.connections) == 1


async def test_an_execute_in_flight_finishes_on_the_old_connection(
    ticking: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    transport = make_transport(ticking.url)
    sequences = await running(ticking, transport, 5)
    slow = asyncio.ensure_future(transport.execute(doc("{ sleep(ms: 300) }")))
    first = ticking.connections[0]
    await first.wait_for_message(lambda message: "sleep" in str(message))

    renewal = asyncio.ensure_future(transport.renew())
    # Calls made meanwhile run on either connection.
    hellos = [await within(transport.execute(HELLO)) for _ in range(3)]
    await within(renewal)
    assert (await within(slow)).data == {"sleep": 300}
    assert [hello.data for hello in hellos] == [{"hello": "Hello world!"}] * 3
    # Its answer came on the connection it was sent on, which closed after it.
    assert any("sleep" in str(message) for message in first.sent)
    assert await first.wait_closed() == 1000
    await sequences.stop()


async def test_close_while_the_new_connection_opens_ends_the_renewal(
    subprotocol: str, make_transport: MakeTransport
) -> None:
    second = SecondInitHeld()
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=(subprotocol,), on_connect=second.on_connect
    ) as server:
        transport = make_transport(server.url, init_payload=second.init_payload)
        sequences = await running(server, transport, 3)
        renewal = asyncio.ensure_future(transport.renew())
        await within(server.wait_for_connections(2))
        await server.connections[1].wait_for_type("connection_init")
        await within(transport.close(), 3.0)
        with pytest.raises(TransportClosed):
            await within(renewal)
        second.hold.set()
        await sequences.stop()
        assert all(isinstance(error, TransportError) or error is None for error in sequences.errors)


async def test_close_during_the_overlap_ends_the_renewal(
    still: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    # Nothing ticks: no subscription switches, and the renewal would wait
    # for its overlap bound.  close() does not.
    transport = make_transport(still.url)
    sequences = await running(still, transport, 10)
    renewal = asyncio.ensure_future(transport.renew())
    await still.ticker.wait_for_subscribers(20, scaled_timeout(10.0))
    await within(transport.close(), 3.0)
    with pytest.raises(TransportClosed):
        await within(renewal)
    assert all(record.closed for record in still.connections)
    await sequences.stop()


async def test_renew_on_a_transport_not_connected_raises(make_transport: MakeTransport) -> None:
    transport = make_transport("ws://127.0.0.1:9/graphql")
    with pytest.raises(TransportConnectionFailed, match="not connected"):
        await transport.renew()


async def test_the_old_connection_lost_while_the_new_one_opens_is_replaced_once(
    subprotocol: str, make_transport: MakeTransport
) -> None:
    second = SecondInitHeld()
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=(subprotocol,), on_connect=second.on_connect
    ) as server:
        events = Events()
        transport = make_transport(
            server.url, init_payload=second.init_payload, reconnect=QUICK, on_event=events
        )
        sequences = await running(server, transport, 5)
        server.ticker.tick()
        await sequences.each_received(1)
        renewal = asyncio.ensure_future(transport.renew())
        await within(server.wait_for_connections(2))
        first, held = server.connections
        await held.wait_for_type("connection_init")
        server.drop_connection(first)
        # The loss is replaced as any loss is: one gap, one new connection.
        await events.wait_for(Resubscribed)
        second.hold.set()
        with pytest.raises(ConnectionInterrupted, match="lost while it was being renewed"):
            await within(renewal)
        await server.ticker.wait_for_subscribers(5, scaled_timeout(10.0))
        server.ticker.tick()
        await sequences.each_past(1)
        assert len(events.of(Disconnected)) == 1
        assert len(events.of(Resubscribed)) == 1
        assert len(events.of(RenewalFailed)) == 1
        assert await held.wait_closed() in (1000, 1001)
        await sequences.stop()
        assert sequences.errors == [None] * 5


async def test_the_old_connection_lost_during_the_overlap_loses_nothing(
    still: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    events = Events()
    transport = make_transport(still.url, reconnect=QUICK, on_event=events)
    sequences = await running(still, transport, 10)
    still.ticker.tick()
    await sequences.each_received(1)
    renewal = asyncio.ensure_future(transport.renew())
    await still.ticker.wait_for_subscribers(20, scaled_timeout(10.0))
    first, second = still.connections
    still.drop_connection(first)
    await within(first.wait_closed())
    # The new copies were running before the loss: every later number comes.
    still.ticker.tick()
    still.ticker.tick()
    await sequences.each_past(2)
    await within(renewal)
    await sequences.stop()
    assert sequences.values == [[1, 2, 3]] * 10
    # Not a loss of the transport's connection: nothing to replace.
    assert not events.of(Disconnected)
    assert not events.of(Resubscribed)
    (renewed,) = events.of(Renewed)
    assert renewed.moved == 10
    assert not second.closed


async def test_the_new_connection_lost_during_the_overlap_is_replaced(
    still: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    events = Events()
    transport = make_transport(still.url, reconnect=QUICK, on_event=events)
    sequences = await running(still, transport, 10)
    still.ticker.tick()
    await sequences.each_received(1)
    renewal = asyncio.ensure_future(transport.renew())
    await still.ticker.wait_for_subscribers(20, scaled_timeout(10.0))
    first, second = still.connections
    still.drop_connection(second)
    # The old connection still delivers until the replacement takes over.
    await events.wait_for(Resubscribed)
    await still.ticker.wait_for_subscribers(20, scaled_timeout(10.0))
    still.ticker.tick()
    await within(renewal)
    still.ticker.tick()
    await sequences.each_past(2)
    await sequences.stop()
    assert sequences.missing() == [[]] * 10
    assert len(events.of(Disconnected)) == 1
    assert len(still.connections) == 3
    assert await first.wait_closed() == 1000
    assert not still.connections[2].closed


async def test_a_thousand_subscriptions_are_renewed(
    subprotocol: str, make_transport: MakeTransport
) -> None:
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=(subprotocol,), tick_interval=0.5
    ) as server:
        events = Events()
        transport = make_transport(server.url, on_event=events)
        sequences = await running(server, transport, 1000)
        await sequences.each_received(1)
        await within(transport.renew(), 30.0)
        reached = max(values[-1] for values in sequences.values)
        await sequences.wait_until(
            lambda: all(values[-1] > reached + 1 for values in sequences.values), 30.0
        )
        await sequences.stop()
    assert sequences.missing() == [[]] * 1000
    (renewed,) = events.of(Renewed)
    assert renewed.moved == 1000


async def test_every_connection_is_renewed_on_its_own(
    subprotocol: str, make_transport: MakeTransport
) -> None:
    async with GraphQLWebsocketServer(
        example_schema(),
        subprotocols=(subprotocol,),
        tick_interval=0.02,
        max_operations_per_connection=2,
    ) as server:
        events = Events()
        transport = make_transport(server.url, max_operations_per_connection=2, on_event=events)
        await within(transport.connect())
        sequences = Sequences(transport, 0)
        for _ in range(3):
            sequences.more(2)
            await sequences.each_received(1)
        await within(transport.renew())
        reached = max(values[-1] for values in sequences.values)
        await sequences.each_past(reached + 2)
        await sequences.stop()
    assert sorted(event.connection for event in events.of(Renewed)) == [1, 2, 3]
    assert all(event.moved == 2 for event in events.of(Renewed))
    assert sequences.errors == [None] * 6
    assert sequences.missing() == [[]] * 6
    assert len(server.connections) == 6


async def test_a_failed_automatic_renewal_is_tried_again(
    ticking: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    events = Events()
    transport = make_transport(ticking.url, renew_every=scaled_timeout(0.3), on_event=events)
    sequences = await running(ticking, transport, 3)
    ticking.refuse_inits()
    await events.wait_for(RenewalFailed)
    ticking.accept_inits()
    await events.wait_for(Renewed)
    reached = max(values[-1] for values in sequences.values)
    await sequences.each_past(reached + 2)
    await sequences.stop()
    assert sequences.missing() == [[]] * 3
    assert not events.of(Disconnected)


async def test_a_second_renew_waits_for_the_one_under_way(
    ticking: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    events = Events()
    transport = make_transport(ticking.url, on_event=events)
    sequences = await running(ticking, transport, 3)
    await within(asyncio.gather(transport.renew(), transport.renew()))
    await sequences.stop()
    assert len(events.of(RenewalStarted)) == 1
    assert len(events.of(Renewed)) == 1
    assert len(ticking.connections) == 2


async def test_a_subscription_whose_copies_never_line_up_starts_over(
    server: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    # ``ticks`` counts for each subscription on its own: the new copy starts
    # at 0 and never meets the old one.  It takes over once its results have
    # been held for HOLD_SECONDS, as after a reconnection, losing nothing held.
    events = Events()
    transport = make_transport(server.url, on_event=events)
    await within(transport.connect())
    values: list[int] = []
    changed = asyncio.Event()

    async def consume() -> None:
        async for result in transport.subscribe(
            doc("subscription { ticks(count: 100000, delay_ms: 20) }")
        ):
            assert result.data is not None
            values.append(result.data["ticks"])
            changed.set()

    async def until(done: Callable[[], bool]) -> None:
        while not done():
            changed.clear()
            await changed.wait()

    task = asyncio.ensure_future(consume())
    await within(until(lambda: len(values) >= 5))
    await within(transport.renew())
    await within(until(lambda: values.count(0) == 2 and values[-1] >= 5))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    restart = values.index(0, 1)
    assert values[:restart] == list(range(restart))
    assert values[restart:] == list(range(len(values) - restart))
    (renewed,) = events.of(Renewed)
    assert renewed.switched == 0


async def test_a_renewal_asked_for_while_a_loss_is_replaced_waits_for_the_carry_over(
    still: GraphQLWebsocketServer, make_transport: MakeTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # renew() the moment the replacement is acknowledged, while it still
    # sends the subscriptions again: none is left behind.  (Nothing ticks
    # meanwhile: the moved copies are let go at a short overlap bound.)
    monkeypatch.setattr(manager, "OVERLAP_SECONDS", scaled_timeout(0.5))
    events = Events()
    renewals: list[asyncio.Future[None]] = []

    def on_event(event: Any) -> None:
        events(event)
        if isinstance(event, Connected) and event.attempt > 0:
            renewals.append(asyncio.ensure_future(transport.renew()))

    transport = make_transport(still.url, reconnect=QUICK, on_event=on_event)
    sequences = await running(still, transport, 300)
    still.ticker.tick()
    await sequences.each_received(1)
    still.drop_connection(still.connections[0])
    await events.wait_for(Resubscribed)
    await within(renewals[0])
    (resubscribed,) = events.of(Resubscribed)
    assert resubscribed.count == 300
    (renewed,) = events.of(Renewed)
    assert renewed.moved == 300
    await still.ticker.wait_for_subscribers(300, scaled_timeout(10.0))
    still.ticker.tick()
    await sequences.each_past(1)
    await sequences.stop()
    assert sequences.errors == [None] * 300


async def test_consumers_leaving_while_the_renewal_moves_them_are_not_started_again(
    still: GraphQLWebsocketServer, make_transport: MakeTransport, subprotocol: str
) -> None:
    transport = make_transport(still.url)
    sequences = await running(still, transport, 400)
    still.ticker.tick()
    await sequences.each_received(1)
    renewal = asyncio.ensure_future(transport.renew())
    await within(still.wait_for_connections(2))
    new = still.connections[1]
    await new.wait_for_message(lambda message: message.get("type") in ("subscribe", "start"))
    # Half of them leave while their starts go out on the new connection.
    await sequences.leave_some(range(200, 400))
    still.ticker.tick()
    await within(renewal)
    still.ticker.tick()
    await sequences.wait_until(lambda: all(v[-1] >= 3 for v in sequences.values[:200]))
    # The server runs the 200 still consumed, on the new connection only.
    await still.ticker.wait_for_subscribers(200, scaled_timeout(10.0))
    assert still.ticker.subscribers == 200
    started_ids = set(new.started_operations)
    stopped_ids = {m.get("id") for m in new.messages_of_type(STOP_TYPE[subprotocol])}
    assert len(started_ids - stopped_ids) == 200
    await sequences.stop()


async def test_close_during_the_overlap_closes_both_connections_normally(
    still: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    transport = make_transport(still.url)
    sequences = await running(still, transport, 10)
    renewal = asyncio.ensure_future(transport.renew())
    await still.ticker.wait_for_subscribers(20, scaled_timeout(10.0))
    await within(transport.close(), 3.0)
    with pytest.raises(TransportClosed):
        await within(renewal)
    old, new = still.connections
    for record in (old, new):
        assert await record.wait_closed() == 1000
    await sequences.stop()


async def test_a_silent_new_copy_is_let_go_at_the_overlap_bound(
    still: GraphQLWebsocketServer, make_transport: MakeTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing ticks: no copy ever lines up, and the renewal ends at the bound.
    monkeypatch.setattr(manager, "OVERLAP_SECONDS", scaled_timeout(0.3))
    events = Events()
    transport = make_transport(still.url, on_event=events)
    sequences = await running(still, transport, 5)
    still.ticker.tick()
    await sequences.each_received(1)
    await within(transport.renew())
    (renewed,) = events.of(Renewed)
    assert (renewed.moved, renewed.switched) == (5, 0)
    assert await still.connections[0].wait_closed() == 1000
    still.ticker.tick()
    await sequences.each_past(1)
    await sequences.stop()
    assert sequences.values == [[1, 2]] * 5
