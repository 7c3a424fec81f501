"""Reconnection against the package's own servers: what is retried, carried over, or failed.

Every test waits on events (the transport's lifecycle events, the server's
records), never on the clock; retry waits are tiny so that the gap is short.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from gql import Client
from gql.transport.exceptions import TransportClosed

from gql_aiohttp_websockets import (
    AIOHTTPWebsocketsTransport,
    Closed,
    Connected,
    Connecting,
    ConnectionInterrupted,
    Disconnected,
    HeartbeatTimeoutError,
    Resubscribed,
    Retrying,
    RetryPolicy,
    TransportConnectionClosed,
    TransportConnectionFailed,
    TransportEvent,
    UpgradeRefusedError,
)
from gql_aiohttp_websockets.connection import Connection
from gql_aiohttp_websockets.lifecycle import State
from gql_aiohttp_websockets.testing import (
    GraphQLWebsocketServer,
    ScriptedWebsocketServer,
    example_schema,
    scaled_timeout,
)
from tests.gql_compat import request
from tests.helpers import doc, within
from tests.transport.conftest import MakeTransport

E = TypeVar("E", bound=TransportEvent)

TICKS = doc("subscription { ticks(count: 100000, delay_ms: 5) }")
HELLO = doc("{ hello }")
QUICK = RetryPolicy(attempts=5, wait=lambda attempt: 0.01)
NEXT_TYPE = {"graphql-transport-ws": "next", "graphql-ws": "data"}


class Events:
    """The lifecycle events of one transport, and a way to wait for one of them."""

    def __init__(self) -> None:
        self.seen: list[TransportEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: TransportEvent) -> None:
        self.seen.append(event)
        self._changed.set()

    def of(self, kind: type[E]) -> list[E]:
        return [event for event in self.seen if isinstance(event, kind)]

    async def wait_for(
        self, kind: type[E], count: int = 1, where: Callable[[E], bool] = lambda _: True
    ) -> E:
        async def enough() -> E:
            while True:
                matching = [event for event in self.of(kind) if where(event)]
                if len(matching) >= count:
                    return matching[count - 1]
                self._changed.clear()
                await self._changed.wait()

        return await within(enough())

    def kinds(self) -> list[str]:
        return [type(event).__name__ for event in self.seen]


class Ticks:
    """Consumes a ticks subscription in a task, keeping the values in arrival order."""

    def __init__(self, transport: AIOHTTPWebsocketsTransport, **subscribe: Any) -> None:
        self.values: list[int] = []
        self.error: BaseException | None = None
        self._arrived = asyncio.Event()
        self._transport = transport
        self.task = asyncio.ensure_future(self._run(subscribe))

    async def _run(self, subscribe: dict[str, Any]) -> None:
        try:
            async for result in self._transport.subscribe(TICKS, **subscribe):
                assert result.data is not None
                self.values.append(result.data["ticks"])
                self._arrived.set()
        except Exception as exc:
            self.error = exc
            self._arrived.set()

    async def wait_for(self, count: int) -> None:
        async def enough() -> None:
            while len(self.values) < count and self.error is None:
                self._arrived.clear()
                await self._arrived.wait()

        await within(enough())

    async def wait_for_restart(self) -> None:
        """Wait until the server started the subscription over (a 0 after the first)."""

        async def restarted() -> None:
            while self.values.count(0) < 2 and self.error is None:
                self._arrived.clear()
                await self._arrived.wait()

        await within(restarted())

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def runs(values: list[int]) -> list[list[int]]:
    """Split received values into runs, each starting at 0 (one per server-side start)."""
    split: list[list[int]] = []
    for value in values:
        if value == 0 or not split:
            split.append([])
        split[-1].append(value)
    return split


def assert_no_loss_within_a_connection(values: list[int]) -> None:
    for run in runs(values):
        assert run == list(range(run[0], run[0] + len(run))), run


@pytest.mark.parametrize("how", ["drop", 1000, 1001, 1011, 1012, 1013, 4403, 4408, 4499, 4504])
async def test_a_subscription_survives_a_retryable_end(
    server: GraphQLWebsocketServer,
    make_transport: MakeTransport,
    subprotocol: str,
    how: str | int,
) -> None:
    events = Events()
    transport = make_transport(server.url, reconnect=QUICK, on_event=events)
    await within(transport.connect())
    ticks = Ticks(transport)
    await ticks.wait_for(5)
    if how == "drop":
        server.drop_connections()
    else:
        await server.close_connections(int(how), "for the test")
    await ticks.wait_for_restart()
    await ticks.wait_for(ticks.values.index(0, 1) + 5)
    assert ticks.error is None
    assert_no_loss_within_a_connection(ticks.values)
    first, second = server.connections
    # Same id, same payload, on the new connection.
    assert first.started_operations == second.started_operations == ["1"]
    start = "subscribe" if subprotocol == "graphql-transport-ws" else "start"
    assert (
        first.messages_of_type(start)[0]["payload"] == second.messages_of_type(start)[0]["payload"]
    )
    disconnected = events.of(Disconnected)[0]
    assert disconnected.will_retry
    assert disconnected.code == (None if how == "drop" else how)
    assert events.kinds() == [
        "Connecting",
        "Connected",
        "Disconnected",
        "Retrying",
        "Connecting",
        "Connected",
        "Resubscribed",
    ]
    assert events.of(Connected)[1] == Connected(subprotocol, None, 1)
    assert events.of(Resubscribed)[0].count == 1
    assert transport.state is State.OPEN
    await ticks.stop()
    await transport.close()
    assert events.seen[-1] == Closed(None)


@pytest.mark.parametrize("code", [1002, 1003, 1008, 4400, 4409, 4500, 4321])
async def test_a_fatal_close_code_fails_the_subscription(
    server: GraphQLWebsocketServer, make_transport: MakeTransport, code: int
) -> None:
    events = Events()
    transport = make_transport(server.url, reconnect=QUICK, on_event=events)
    await within(transport.connect())
    ticks = Ticks(transport)
    await ticks.wait_for(3)
    await server.close_connections(code, "fatal")
    await within(ticks.task)
    assert isinstance(ticks.error, TransportConnectionClosed)
    assert ticks.error.code == code
    assert ticks.error.reason == "fatal"
    assert len(server.connections) == 1
    await events.wait_for(Closed)
    assert events.kinds()[-2:] == ["Disconnected", "Closed"]
    assert not events.of(Disconnected)[0].will_retry
    assert events.of(Closed)[0].error is ticks.error
    assert transport.state is State.CLOSED


async def test_reconnection_is_off_by_default(
    server: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    transport = make_transport(server.url)
    assert transport.reconnect is None
    await within(transport.connect())
    ticks = Ticks(transport)
    await ticks.wait_for(3)
    server.drop_connections()
    await within(ticks.task)
    assert isinstance(ticks.error, TransportConnectionClosed)
    assert len(server.connections) == 1


async def test_results_queued_before_the_drop_come_first(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    sent_all = asyncio.Event()

    async def script(conn: Any) -> None:
        await conn.accept_init()
        start = await conn.receive_json()
        base = 100 if len(server.connections) == 1 else 200
        for n in range(5):
            await conn.send_json(
                {
                    "type": NEXT_TYPE[subprotocol],
                    "id": start["id"],
                    "payload": {"data": {"n": base + n}},
                }
            )
        if base == 100:
            # A query's answer after them: once it is in, so are they.
            query = await conn.receive_json()
            await conn.send_json(
                {"type": NEXT_TYPE[subprotocol], "id": query["id"], "payload": {"data": {}}}
            )
            await sent_all.wait()
            await conn.drop()
        else:
            await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(script, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url, reconnect=QUICK)
        await within(transport.connect())
        subscription = transport.subscribe(doc("subscription { n }"))
        values = [(await within(subscription.__anext__())).data["n"]]  # type: ignore[index]
        await within(transport.execute(doc("{ barrier }")))
        # Four results are queued, unconsumed, when the connection drops.
        sent_all.set()
        await within(server.wait_for_connections(2))
        async for result in subscription:
            assert result.data is not None
            values.append(result.data["n"])
            if len(values) == 10:
                break
        assert values == [100, 101, 102, 103, 104, 200, 201, 202, 203, 204]


async def test_an_execute_in_flight_fails_and_a_mutation_is_never_sent_again(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    async def script(conn: Any) -> None:
        await conn.accept_init()
        if len(server.connections) == 1:
            await conn.receive_json()  # the subscription
            await conn.receive_json()  # the mutation, never answered
            await conn.drop()
        else:
            await conn.wait_closed(scaled_timeout(10))

    events = Events()
    async with ScriptedWebsocketServer(script, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url, reconnect=QUICK, on_event=events)
        await within(transport.connect())
        subscription = transport.subscribe(doc("subscription { n }"))
        pending = asyncio.ensure_future(subscription.__anext__())
        await within(
            server.connections[0].wait_for_type(
                "subscribe" if subprotocol == "graphql-transport-ws" else "start"
            )
        )
        with pytest.raises(ConnectionInterrupted) as raised:
            await within(transport.execute(doc("mutation { addNumbers(a: 1, b: 2) }")))
        assert isinstance(raised.value.__cause__, TransportConnectionClosed)
        assert raised.value.code is None
        assert "not sent again" in str(raised.value)
        assert not isinstance(raised.value, TransportConnectionFailed)
        await events.wait_for(Resubscribed)
        second = server.connections[1]
        # The subscription (id 1) is carried over; the mutation (id 2) is not.
        await within(
            second.wait_for_type("subscribe" if subprotocol == "graphql-transport-ws" else "start")
        )
        assert second.started_operations == ["1"]
        assert events.of(Resubscribed)[0].count == 1
        pending.cancel()
        await asyncio.gather(pending, return_exceptions=True)
        await subscription.aclose()


async def test_calls_made_during_the_gap_wait_for_the_new_connection(
    server: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    events = Events()
    transport = make_transport(
        server.url, reconnect=RetryPolicy(wait=lambda attempt: 0.0), on_event=events
    )
    await within(transport.connect())
    server.refuse_connections(503)
    server.drop_connections()
    await events.wait_for(Disconnected, 2)
    assert transport.state is State.RECONNECTING
    # Made while no connection exists: they wait.
    query = asyncio.ensure_future(transport.execute(HELLO))
    ticks = Ticks(transport)
    await asyncio.sleep(0)
    assert not query.done()
    server.accept_connections()
    result = await within(query)
    assert result.data == {"hello": "Hello world!"}
    await ticks.wait_for(3)
    assert ticks.values[:3] == [0, 1, 2]
    await ticks.stop()


async def test_a_refusing_server_is_retried_until_it_accepts(
    server: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    events = Events()
    transport = make_transport(server.url, reconnect=QUICK, on_event=events)
    await within(transport.connect())
    ticks = Ticks(transport)
    await ticks.wait_for(3)
    server.refuse_connections(503, count=2)
    server.drop_connections()
    await ticks.wait_for_restart()
    assert server.refused == 2
    failed = events.of(Disconnected)[1:]
    assert [type(event.error) for event in failed] == [UpgradeRefusedError] * 2
    assert all(event.will_retry for event in failed)
    assert [event.attempt for event in events.of(Retrying)] == [1, 2, 3]
    assert events.of(Connected)[-1].attempt == 3
    await ticks.stop()


async def test_attempts_run_out_and_everything_fails_with_the_last_error(
    server: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    events = Events()
    policy = RetryPolicy(attempts=3, wait=lambda attempt: 0.0)
    transport = make_transport(server.url, reconnect=policy, on_event=events)
    await within(transport.connect())
    ticks = Ticks(transport)
    await ticks.wait_for(3)
    server.refuse_connections(503)
    server.drop_connections()
    await within(ticks.task)
    assert isinstance(ticks.error, UpgradeRefusedError)
    assert ticks.error.status == 503
    assert server.refused == 3
    assert [event.attempt for event in events.of(Retrying)] == [1, 2, 3]
    assert [event.will_retry for event in events.of(Disconnected)] == [True, True, True, False]
    assert await events.wait_for(Closed) == Closed(ticks.error)
    assert events.seen[-1] == Closed(ticks.error)
    assert transport.state is State.CLOSED
    # Calls after giving up name why.
    with pytest.raises(TransportConnectionFailed, match="HTTP 503"):
        await transport.execute(HELLO)


async def test_a_4xx_answer_to_the_upgrade_is_not_retried(
    server: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    events = Events()
    transport = make_transport(server.url, reconnect=QUICK, on_event=events)
    await within(transport.connect())
    ticks = Ticks(transport)
    await ticks.wait_for(3)
    server.refuse_connections(401)
    server.drop_connections()
    await within(ticks.task)
    assert isinstance(ticks.error, UpgradeRefusedError)
    assert ticks.error.status == 401
    assert server.refused == 1


async def test_close_during_the_backoff_stops_at_once(
    server: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    events = Events()
    # A wait far longer than the test may take: close() must not sit it out.
    policy = RetryPolicy(wait=lambda attempt: scaled_timeout(60))
    transport = make_transport(server.url, reconnect=policy, on_event=events)
    await within(transport.connect())
    ticks = Ticks(transport)
    await ticks.wait_for(3)
    server.drop_connections()
    await events.wait_for(Retrying)
    assert transport.state is State.RECONNECTING
    await within(transport.close(), 5)
    # The subscription ends as close() ends subscriptions: its loop just stops.
    await within(ticks.task)
    assert ticks.error is None
    assert transport.state is State.CLOSED
    assert events.seen[-1] == Closed(None)
    assert len(server.connections) == 1
    with pytest.raises(TransportConnectionFailed, match="Transport closed by user"):
        await transport.execute(HELLO)


async def test_close_during_an_attempt_stops_it(make_transport: MakeTransport) -> None:
    attempt_started = asyncio.Event()

    async def script(conn: Any) -> None:
        if len(server.connections) == 1:
            await conn.accept_init()
            await conn.drop()
        else:
            await conn.expect("connection_init")
            attempt_started.set()
            # Never acks: the attempt waits until close() stops it.
            await conn.wait_closed(scaled_timeout(10))

    events = Events()
    async with ScriptedWebsocketServer(script) as server:
        transport = make_transport(server.url, reconnect=QUICK, on_event=events)
        await within(transport.connect())
        await within(attempt_started.wait())
        await within(transport.close(), 5)
        assert server.connections[1].close_code == 4499
        assert events.seen[-1] == Closed(None)


async def test_a_drop_during_init_is_retried(make_transport: MakeTransport) -> None:
    async def script(conn: Any) -> None:
        number = len(server.connections)
        if number == 2:
            await conn.expect("connection_init")
            await conn.drop()
            return
        await conn.accept_init()
        if number == 1:
            await conn.receive_json()
            await conn.close(1012, "restarting")
        else:
            await conn.wait_closed(scaled_timeout(10))

    events = Events()
    async with ScriptedWebsocketServer(script, subprotocols=("graphql-transport-ws",)) as server:
        transport = make_transport(server.url, reconnect=QUICK, on_event=events)
        await within(transport.connect())
        subscription = transport.subscribe(doc("subscription { n }"))
        pending = asyncio.ensure_future(subscription.__anext__())
        await events.wait_for(Resubscribed)
        assert len(server.connections) == 3
        during_init = events.of(Disconnected)[1]
        assert isinstance(during_init.error, TransportConnectionClosed)
        assert "connection_ack" in str(during_init.error)
        assert during_init.will_retry
        # Resubscribed is emitted once the frame is sent; the server records it on arrival.
        await within(server.connections[2].wait_for_type("subscribe"))
        assert server.connections[2].started_operations == ["1"]
        pending.cancel()
        await asyncio.gather(pending, return_exceptions=True)
        await subscription.aclose()


async def test_a_callable_init_payload_is_called_for_each_attempt(
    server: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    calls = 0

    async def fresh_token() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return {"token": f"t{calls}"}

    events = Events()
    transport = make_transport(
        server.url, reconnect=QUICK, on_event=events, init_payload=fresh_token
    )
    await within(transport.connect())
    server.refuse_connections(503, count=1)
    server.drop_connections()
    await events.wait_for(Connected, 2)
    # The refused attempt never got as far as connection_init.
    assert [record.init_payload for record in server.connections] == [
        {"token": "t1"},
        {"token": "t2"},
    ]
    result = await within(transport.execute(doc("{ connectionParams }")))
    assert result.data == {"connectionParams": '{"token":"t2"}'}


async def test_subscriptions_left_during_the_gap_are_not_sent_again(
    server: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    events = Events()
    transport = make_transport(
        server.url, reconnect=RetryPolicy(wait=lambda attempt: 0.0), on_event=events
    )
    await within(transport.connect())
    kept, left = Ticks(transport), Ticks(transport)
    await kept.wait_for(2)
    await left.wait_for(2)
    server.refuse_connections(503, count=1)
    server.drop_connections()
    await events.wait_for(Disconnected, 2)
    await left.stop()
    await events.wait_for(Resubscribed)
    assert events.of(Resubscribed)[0].count == 1
    await kept.wait_for_restart()
    assert server.connections[1].started_operations == ["1"]
    await kept.stop()


async def test_a_new_connection_that_breaks_at_once_is_replaced_again(
    server: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    events = Events()
    transport = make_transport(server.url, reconnect=QUICK, on_event=events)
    await within(transport.connect())
    ticks = Ticks(transport)
    await ticks.wait_for(2)
    for round_ in range(1, 4):
        server.drop_connections()
        await events.wait_for(Resubscribed, round_)
    await ticks.wait_for_restart()
    await ticks.wait_for(ticks.values.index(0, 1) + 2)
    assert len(server.connections) == 4
    # Counted from the last acknowledgement: each gap starts at attempt 1.
    assert [event.attempt for event in events.of(Connecting)] == [0, 1, 1, 1]
    assert_no_loss_within_a_connection(ticks.values)
    await ticks.stop()


async def test_a_failing_on_event_callback_hurts_nothing(
    server: GraphQLWebsocketServer,
    make_transport: MakeTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: TransportEvent) -> None:
        raise RuntimeError("callback bug")

    transport = make_transport(server.url, reconnect=QUICK, on_event=broken)
    await within(transport.connect())
    ticks = Ticks(transport)
    await ticks.wait_for(2)
    server.drop_connections()
    await ticks.wait_for_restart()
    await ticks.stop()
    assert any("on_event callback failed" in record.getMessage() for record in caplog.records)


async def test_a_failing_retry_policy_gives_up(
    server: GraphQLWebsocketServer,
    make_transport: MakeTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(error: Exception) -> bool:
        raise RuntimeError("policy bug")

    transport = make_transport(server.url, reconnect=RetryPolicy(should_retry=broken))
    await within(transport.connect())
    ticks = Ticks(transport)
    await ticks.wait_for(2)
    server.drop_connections()
    await within(ticks.task)
    assert isinstance(ticks.error, TransportConnectionClosed)
    assert any("retry policy failed" in record.getMessage() for record in caplog.records)


async def test_with_gql_client_and_its_reconnecting_session(
    server: GraphQLWebsocketServer, subprotocol: str
) -> None:
    events = Events()
    transport = AIOHTTPWebsocketsTransport(url=server.url, reconnect=QUICK, on_event=events)
    client = Client(transport=transport)
    session = await within(client.connect_async(reconnecting=True))
    try:
        values: list[int] = []
        ticks, ticks_kwargs = request("subscription { ticks(count: 100000, delay_ms: 5) }")
        hello, hello_kwargs = request("{ hello }")
        async for result in session.subscribe(ticks, **ticks_kwargs):
            values.append(result["ticks"])
            if len(values) == 3:
                server.drop_connections()
            if values.count(0) == 2 and len(values) > values.index(0, 1) + 2:
                break
        # Our transport carried the subscription over; gql's session saw nothing.
        assert len(server.connections) == 2
        answer = await within(session.execute(hello, **hello_kwargs))
        assert answer == {"hello": "Hello world!"}
        # A fatal end: our transport gives up, and gql's session connects anew.
        await server.close_connections(4400, "fatal")
        await events.wait_for(Closed)
        answer = await within(session.execute(hello, **hello_kwargs))
        assert answer == {"hello": "Hello world!"}
        assert len(server.connections) == 3
    finally:
        await within(client.close_async())


@pytest.mark.parametrize("liveness", ["keep_alive_timeout", "pong_timeout"])
async def test_a_silent_server_is_replaced(make_transport: MakeTransport, liveness: str) -> None:
    async def script(conn: Any) -> None:
        await conn.accept_init()
        if len(server.connections) == 1:
            # Acknowledges, then says nothing and answers nothing.
            await conn.wait_closed(scaled_timeout(10))
            return
        while True:
            message = await conn.receive_json(scaled_timeout(10))
            if message.get("type") == "ping":
                await conn.send_json({"type": "pong"})

    events = Events()
    options: dict[str, Any] = (
        {"keep_alive_timeout": 0.2}
        if liveness == "keep_alive_timeout"
        else {"ping_interval": 0.1, "pong_timeout": 0.2}
    )
    async with ScriptedWebsocketServer(script, subprotocols=("graphql-transport-ws",)) as server:
        transport = make_transport(server.url, reconnect=QUICK, on_event=events, **options)
        await within(transport.connect())
        lost = await events.wait_for(Disconnected)
        assert isinstance(lost.error, HeartbeatTimeoutError)
        assert lost.will_retry
        await events.wait_for(Connected, 2)
        assert len(server.connections) == 2


async def test_reconnect_set_after_construction_is_read_at_connect(
    server: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    events = Events()
    transport = make_transport(server.url, on_event=events)
    transport.reconnect = QUICK
    await within(transport.connect())
    ticks = Ticks(transport)
    await ticks.wait_for(2)
    server.drop_connections()
    await ticks.wait_for_restart()
    assert events.of(Resubscribed)[0].count == 1
    await ticks.stop()


async def test_running_subscriptions_do_not_keep_lost_connections(
    server: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    events = Events()
    transport = make_transport(server.url, reconnect=QUICK, on_event=events)
    await within(transport.connect())
    running = []
    for round_ in range(1, 6):
        ticks = Ticks(transport)
        await ticks.wait_for(1)
        running.append(ticks)
        server.drop_connections()
        await events.wait_for(Resubscribed, round_)
    for ticks in running:
        await ticks.wait_for(len(ticks.values) + 1)
    gc.collect()
    alive = [item for item in gc.get_objects() if isinstance(item, Connection)]
    assert len(alive) == 1
    for ticks in running:
        await ticks.stop()


async def test_a_subscription_sent_as_the_connection_goes_is_carried_over(
    server: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    failed = 0
    for _ in range(20):
        events = Events()
        transport = make_transport(server.url, reconnect=QUICK, on_event=events)
        await within(transport.connect())
        server.drop_connections()
        for _ in range(3):
            await asyncio.sleep(0)
        try:
            results = [
                item.data
                async for item in transport.subscribe(doc("subscription { ticks(count: 3) }"))
            ]
        except TransportConnectionFailed:
            failed += 1
        else:
            assert results == [{"ticks": 0}, {"ticks": 1}, {"ticks": 2}]
        await within(transport.close())
    assert failed == 0


async def test_an_execute_sent_as_the_connection_goes_is_interrupted(
    server: GraphQLWebsocketServer, make_transport: MakeTransport
) -> None:
    for _ in range(20):
        transport = make_transport(server.url, reconnect=QUICK)
        await within(transport.connect())
        server.drop_connections()
        for _ in range(3):
            await asyncio.sleep(0)
        # Never a TransportConnectionFailed, which gql 4's reconnecting
        # session would answer by closing the transport.
        try:
            result = await within(transport.execute(HELLO))
        except ConnectionInterrupted:
            pass
        else:
            assert result.data == {"hello": "Hello world!"}
        await within(transport.close())


class HeldStart:
    """Holds the start of operation ``op_id`` on any connection but ``first``, once.

    As a socket whose reader is slow would hold a send: the frame is written,
    and the sender waits until :meth:`release`.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, first: Connection, op_id: int) -> None:
        self.holding = asyncio.Event()
        self._released = asyncio.Event()
        real_send = Connection.send
        wanted = {f'"id":"{op_id}","type":"subscribe"', f'"id":"{op_id}","type":"start"'}

        async def send(connection: Connection, frame: str, *, secret: bool = False) -> None:
            await real_send(connection, frame, secret=secret)
            held = connection is not first and any(start in frame for start in wanted)
            if held and not self.holding.is_set():
                self.holding.set()
                await self._released.wait()

        monkeypatch.setattr(Connection, "send", send)

    def release(self) -> None:
        self._released.set()


async def carrying_over(
    server: GraphQLWebsocketServer, make_transport: MakeTransport, monkeypatch: pytest.MonkeyPatch
) -> tuple[Events, AIOHTTPWebsocketsTransport, list[Ticks], HeldStart]:
    """Three running subscriptions, their connection dropped, the new one's first start held."""
    events = Events()
    transport = make_transport(server.url, reconnect=QUICK, on_event=events)
    await within(transport.connect())
    ticks = [Ticks(transport) for _ in range(3)]
    for each in ticks:
        await each.wait_for(2)
    held = HeldStart(monkeypatch, transport._manager.connection, op_id=1)  # type: ignore[arg-type]
    server.drop_connections()
    await within(held.holding.wait())
    return events, transport, ticks, held


async def test_a_consumer_leaving_during_the_carry_over_holds_up_no_other(
    server: GraphQLWebsocketServer, make_transport: MakeTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    events, _, ticks, held = await carrying_over(server, make_transport, monkeypatch)
    await ticks[1].stop()
    held.release()
    await events.wait_for(Resubscribed)
    for each in (ticks[0], ticks[2]):
        await each.wait_for_restart()
        assert each.error is None
    assert events.of(Resubscribed)[0].count == 2
    assert server.connections[1].started_operations == ["1", "3"]
    for each in (ticks[0], ticks[2]):
        await each.stop()


async def test_a_loss_during_the_carry_over_carries_everything_over_again(
    server: GraphQLWebsocketServer, make_transport: MakeTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    events, transport, ticks, held = await carrying_over(server, make_transport, monkeypatch)
    await server.close_connections(1012, "restart")
    await events.wait_for(Disconnected, 2)
    held.release()
    await within(server.wait_for_connections(3))
    await events.wait_for(Resubscribed, 1, lambda event: event.count == 3)
    for each in ticks:
        await each.wait_for_restart()
        restarted = each.values.index(0, 1)
        await each.wait_for(restarted + 2)
        assert each.error is None
    assert sorted(server.connections[2].started_operations) == ["1", "2", "3"]
    for each in ticks:
        await each.stop()
    await within(transport.close())
    # The carry-over the second loss cut short ended with the transport.
    assert events.seen[-1] == Closed(None)


async def test_close_from_inside_connect_ends_the_connect(make_transport: MakeTransport) -> None:
    events = Events()
    async with GraphQLWebsocketServer(example_schema()) as server:
        transport: AIOHTTPWebsocketsTransport

        async def init_payload() -> dict[str, Any]:
            await transport.close()
            return {}

        transport = make_transport(server.url, init_payload=init_payload, on_event=events)
        with pytest.raises(TransportClosed, match="close\\(\\) was called while the transport"):
            await within(transport.connect())
        assert transport.state is State.CLOSED
        assert transport.session is None
        assert events.seen[-1] == Closed(None)
        # Nothing is left half-done: the transport connects again.
        transport.init_payload = {}
        await within(transport.connect())
        assert transport.state is State.OPEN
        await within(transport.close())
        assert transport.state is State.CLOSED


async def test_a_session_that_cannot_be_made_is_the_first_attempts_failure(
    make_transport: MakeTransport,
) -> None:
    events = Events()
    transport = make_transport(
        "ws://127.0.0.1:9/graphql", client_session_args={"no_such_argument": 1}, on_event=events
    )
    with pytest.raises(TypeError, match="no_such_argument"):
        await within(transport.connect())
    assert events.kinds() == ["Connecting", "Disconnected", "Closed"]
    assert not events.of(Disconnected)[0].will_retry
    assert transport.state is State.CLOSED
    assert transport.session is None
