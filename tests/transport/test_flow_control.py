"""Bounded queues end to end: a consumer slower than its server, under each policy.

The scripted server sends a burst the consumer does not read, then answers a
query as a barrier: once the query's answer is in, so is the whole burst.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from gql import Client

from gql_aiohttp_websockets import Overflow, QueueFullError, QueueStats
from gql_aiohttp_websockets.testing import ScriptedWebsocketServer, scaled_timeout
from tests.gql_compat import request
from tests.helpers import doc, within
from tests.transport.conftest import MakeTransport

NEXT = {"graphql-transport-ws": "next", "graphql-ws": "data"}
START = {"graphql-transport-ws": "subscribe", "graphql-ws": "start"}
STOP = {"graphql-transport-ws": "complete", "graphql-ws": "stop"}
COMPLETE = "complete"
BARRIER = doc("{ barrier }")


class HeldBack(logging.Handler):
    """Set ``event`` when the connection logs that a full queue holds reading back."""

    def __init__(self, event: asyncio.Event) -> None:
        super().__init__()
        self.event = event

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "a full queue holds reading back":
            self.event.set()


def result(subprotocol: str, op_id: str, n: int) -> dict[str, Any]:
    return {"type": NEXT[subprotocol], "id": op_id, "payload": {"data": {"n": n}}}


async def answer_barrier(conn: Any, subprotocol: str) -> None:
    query = await conn.receive_json()
    while query["type"] == STOP[subprotocol]:
        query = await conn.receive_json()
    await conn.send_json(result(subprotocol, query["id"], -1))
    await conn.send_json({"type": COMPLETE, "id": query["id"]})


async def test_fail_stops_only_the_operation_that_fell_behind(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    stopped: list[str] = []

    async def script(conn: Any) -> None:
        await conn.accept_init()
        slow = await conn.expect(START[subprotocol])
        other = await conn.expect(START[subprotocol])
        for n in range(50):
            await conn.send_json(result(subprotocol, slow["id"], n))
        stop = await conn.expect(STOP[subprotocol])
        stopped.append(stop["id"])
        for n in range(3):
            await conn.send_json(result(subprotocol, other["id"], n))
        await conn.send_json({"type": COMPLETE, "id": other["id"]})
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(script, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url, max_queued_results=5)
        await within(transport.connect())
        slow = transport.subscribe(doc("subscription { n }"))
        first = asyncio.ensure_future(slow.__anext__())
        await within(server.connections[0].wait_for_type(START[subprotocol]))
        other = [
            item.data["n"]  # type: ignore[index]
            async for item in transport.subscribe(doc("subscription { n }"))
        ]
        # The other operation went on, and the slow one was stopped on the server.
        assert other == [0, 1, 2]
        assert stopped == ["1"]
        values = [(await within(first)).data["n"]]  # type: ignore[index]
        error: Exception | None = None
        try:
            async for item in slow:
                values.append(item.data["n"])  # type: ignore[index]
        except QueueFullError as exc:
            error = exc
        # What was queued before the limit is delivered, in order, then the error.
        assert values == list(range(len(values)))
        # At least the limit's worth: more when the consumer took some meanwhile.
        assert 5 <= len(values) < 50
        assert isinstance(error, QueueFullError)
        assert error.limit == 5
        assert error.query_id == 1
        # Nothing more is sent for it: the stop went out once.
        assert server.connections[0].messages_of_type(STOP[subprotocol]) == [
            {"type": STOP[subprotocol], "id": "1"}
        ]


async def test_keep_newest_delivers_the_latest_results(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    async def script(conn: Any) -> None:
        await conn.accept_init()
        ticker = await conn.expect(START[subprotocol])
        await conn.send_json(result(subprotocol, ticker["id"], 0))
        await answer_barrier(conn, subprotocol)
        for n in range(1, 20):
            await conn.send_json(result(subprotocol, ticker["id"], n))
        await conn.send_json({"type": COMPLETE, "id": ticker["id"]})
        await answer_barrier(conn, subprotocol)
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(script, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        ticker = transport.subscribe(
            doc("subscription { n }"), max_queued_results=3, on_queue_full="keep_newest"
        )
        values = [(await within(ticker.__anext__())).data["n"]]  # type: ignore[index]
        await within(transport.execute(BARRIER))
        await within(transport.execute(BARRIER))
        values += [item.data["n"] async for item in ticker]  # type: ignore[index]
        assert values == [0, 17, 18, 19]


async def test_backpressure_holds_reading_back_and_loses_nothing(
    make_transport: MakeTransport, subprotocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    held_back = asyncio.Event()

    async def script(conn: Any) -> None:
        await conn.accept_init()
        stream = await conn.expect(START[subprotocol])
        await conn.send_json(result(subprotocol, stream["id"], 0))
        await answer_barrier(conn, subprotocol)
        for n in range(1, 200):
            await conn.send_json(result(subprotocol, stream["id"], n))
        await conn.send_json({"type": COMPLETE, "id": stream["id"]})
        await answer_barrier(conn, subprotocol)
        await conn.wait_closed(scaled_timeout(10))

    spot = HeldBack(held_back)
    logger = logging.getLogger("gql_aiohttp_websockets.connection")
    logger.addHandler(spot)
    try:
        with caplog.at_level(logging.DEBUG, logger="gql_aiohttp_websockets.connection"):
            async with ScriptedWebsocketServer(script, subprotocols=(subprotocol,)) as server:
                transport = make_transport(
                    server.url, max_queued_results=4, on_queue_full="backpressure"
                )
                await within(transport.connect())
                stream = transport.subscribe(doc("subscription { n }"))
                values = [(await within(stream.__anext__())).data["n"]]  # type: ignore[index]
                await within(transport.execute(BARRIER))
                barrier = asyncio.ensure_future(transport.execute(BARRIER))
                await within(held_back.wait())
                # Its answer comes after the burst, which the connection no longer reads.
                assert not barrier.done()
                async for item in stream:
                    values.append(item.data["n"])  # type: ignore[index]
                assert values == list(range(200))
                await within(barrier)
    finally:
        logger.removeHandler(spot)


async def test_a_consumer_leaving_ends_the_hold(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    async def script(conn: Any) -> None:
        await conn.accept_init()
        stream = await conn.expect(START[subprotocol])
        await conn.send_json(result(subprotocol, stream["id"], 0))
        await answer_barrier(conn, subprotocol)
        for n in range(1, 50):
            await conn.send_json(result(subprotocol, stream["id"], n))
        await answer_barrier(conn, subprotocol)
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(script, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url, max_queued_results=2, on_queue_full="backpressure")
        await within(transport.connect())
        stream = transport.subscribe(doc("subscription { n }"))
        await within(stream.__anext__())
        await within(transport.execute(BARRIER))
        barrier = asyncio.ensure_future(transport.execute(BARRIER))
        await stream.aclose()
        # The full queue is gone with its consumer: reading goes on.
        assert (await within(barrier)).data == {"n": -1}


async def test_a_subscription_without_limit_overrides_the_transport(
    make_transport: MakeTransport,
) -> None:
    subprotocol = "graphql-transport-ws"

    async def script(conn: Any) -> None:
        await conn.accept_init()
        stream = await conn.expect(START[subprotocol])
        await conn.send_json(result(subprotocol, stream["id"], 0))
        await answer_barrier(conn, subprotocol)
        for n in range(1, 100):
            await conn.send_json(result(subprotocol, stream["id"], n))
        await conn.send_json({"type": COMPLETE, "id": stream["id"]})
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(script, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url, max_queued_results=2)
        await within(transport.connect())
        stream = transport.subscribe(doc("subscription { n }"), max_queued_results=None)
        values = [(await within(stream.__anext__())).data["n"]]  # type: ignore[index]
        await within(transport.execute(BARRIER))
        values += [item.data["n"] async for item in stream]  # type: ignore[index]
        assert values == list(range(100))


async def test_queue_stats_counts_each_running_operation(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    bursts = {"1": 10, "2": 4, "3": 20}

    async def script(conn: Any) -> None:
        await conn.accept_init()
        for _ in bursts:
            start = await conn.expect(START[subprotocol])
            await conn.send_json(result(subprotocol, start["id"], 0))
        # Sent while every consumer waits: none of it is taken yet.
        barrier = await conn.expect(START[subprotocol])
        for op_id, count in bursts.items():
            for n in range(1, count + 1):
                await conn.send_json(result(subprotocol, op_id, n))
        await conn.send_json(result(subprotocol, barrier["id"], -1))
        await conn.send_json({"type": COMPLETE, "id": barrier["id"]})
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(script, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url, max_queued_results=4, on_queue_full="backpressure")
        await within(transport.connect())
        assert transport.queue_stats() == []
        ticker = transport.subscribe(
            doc("subscription { n }"), max_queued_results=3, on_queue_full="keep_newest"
        )
        held = transport.subscribe(doc("subscription { n }"))
        unbounded = transport.subscribe(doc("subscription { n }"), max_queued_results=None)
        for stream in (ticker, held, unbounded):
            await within(stream.__anext__())
        await within(transport.execute(BARRIER))
        stats = transport.queue_stats()
        assert stats == [
            QueueStats(1, queued=3, dropped=7, limit=3, on_queue_full=Overflow.KEEP_NEWEST),
            QueueStats(2, queued=4, dropped=0, limit=4, on_queue_full=Overflow.BACKPRESSURE),
            QueueStats(3, queued=20, dropped=0, limit=None, on_queue_full=Overflow.BACKPRESSURE),
        ]
        assert (await within(ticker.__anext__())).data == {"n": 8}
        await ticker.aclose()
        # A count taken earlier stays as it was; the ended operation is gone.
        assert stats[0].queued == 3
        assert [(s.query_id, s.queued) for s in transport.queue_stats()] == [(2, 4), (3, 20)]
        await held.aclose()
        await unbounded.aclose()
        assert transport.queue_stats() == []


def test_queue_stats_are_frozen() -> None:
    stats = QueueStats(1, queued=0, dropped=0, limit=None, on_queue_full=Overflow.FAIL)
    with pytest.raises(AttributeError):
        stats.queued = 1  # type: ignore[misc]
    assert not hasattr(stats, "__dict__")


async def test_gql_passes_the_keywords_through(make_transport: MakeTransport) -> None:
    async def script(conn: Any) -> None:
        await conn.accept_init()
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(script) as server:
        transport = make_transport(server.url)
        async with Client(transport=transport) as session:
            subscription, kwargs = request("subscription { n }")
            with pytest.raises(ValueError, match="on_queue_full must be one of"):
                async for _ in session.subscribe(subscription, on_queue_full="drop", **kwargs):
                    pass


def test_the_options_are_checked(make_transport: MakeTransport) -> None:
    with pytest.raises(ValueError, match="max_queued_results must be None or at least 1"):
        make_transport("ws://127.0.0.1:1/graphql", max_queued_results=0)
    with pytest.raises(ValueError, match="on_queue_full must be one of"):
        make_transport("ws://127.0.0.1:1/graphql", on_queue_full="oldest")


async def test_a_pong_held_back_with_the_results_does_not_fail_the_connection(
    make_transport: MakeTransport,
) -> None:
    subprotocol = "graphql-transport-ws"
    held_back = asyncio.Event()

    async def script(conn: Any) -> None:
        await conn.accept_init()
        stream = await conn.expect(START[subprotocol])
        for n in range(100):
            await conn.send_json(result(subprotocol, stream["id"], n))
        await conn.send_json({"type": COMPLETE, "id": stream["id"]})
        while True:
            message = await conn.receive_json(scaled_timeout(10))
            if message["type"] == "ping":
                await conn.send_json({"type": "pong"})

    spot = HeldBack(held_back)
    logger = logging.getLogger("gql_aiohttp_websockets.connection")
    logger.addHandler(spot)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        async with ScriptedWebsocketServer(script, subprotocols=(subprotocol,)) as server:
            transport = make_transport(
                server.url,
                max_queued_results=4,
                on_queue_full="backpressure",
                ping_interval=0.02,
                pong_timeout=0.05,
            )
            await within(transport.connect())
            stream = transport.subscribe(doc("subscription { n }"))
            values = [(await within(stream.__anext__())).data["n"]]  # type: ignore[index]
            await within(held_back.wait())
            # A consumer slower than pong_timeout, on purpose: the pong that
            # answers the timer's ping is among what is held back unread.
            await asyncio.sleep(0.3)
            values += [item.data["n"] async for item in stream]  # type: ignore[index]
            assert values == list(range(100))
            assert transport.state.value == "open"
    finally:
        logger.removeHandler(spot)
        logger.setLevel(previous)
