"""Reconnection against the reference servers: the server restarts, freezes, or stays down.

Each test runs server processes of its own (``start_own_server``: the shared
servers must not restart under the other tests), against npm graphql-ws
(subprotocol graphql-transport-ws, test id ``[graphql-ws]``) and npm
subscriptions-transport-ws (legacy subprotocol graphql-ws, test id
``[subscriptions-transport-ws]``), under whichever gql (3.5 or 4) is
installed.  A test stops its server by the PID it started it with, in the
middle of a subscription, and starts it again on the same port; meanwhile the
transport's attempts find nothing listening (``ServerUnreachableError``) and
are retried, a short fixed wait apart.  Another freezes its server (SIGSTOP)
and lets it run again (SIGCONT).

Without ``INTEROP_EXIT_CLOSE_CODE`` the server process just exits and the
client sees its connection end without a close frame; with it, the server
first closes every websocket with that code (servers/common.cjs).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Generator
from typing import Any, cast

import pytest
from gql import Client
from gql.transport import exceptions as gql_exceptions

from gql_aiohttp_websockets import (
    Closed,
    Connected,
    Connecting,
    ConnectionRejectedError,
    ConnectTimeoutError,
    Disconnected,
    HeartbeatTimeoutError,
    Resubscribed,
    Retrying,
    RetryPolicy,
    ServerUnreachableError,
    TransportConnectionClosed,
    TransportConnectionFailed,
)
from gql_aiohttp_websockets.lifecycle import State
from gql_aiohttp_websockets.testing.timeouts import scaled_timeout
from tests.gql_compat import CLOSED_BY_SERVER

from ._support import (
    GQL_MAJOR,
    TRANSPORT_WS,
    execute,
    marker,
    subscribe,
    subscribe_sync,
)
from .gaps import (
    COUNTDOWN,
    GOODBYE_REASON,
    ITEM_DELAY_MS,
    RESTARTED_FROM,
    EventLog,
    StartServer,
    check_lost,
    check_unreachable,
    countdown_across_a_restart,
    init_payloads,
    outlasting_policy,
    read_gaps,
    restart,
    restart_env,
    runs,
    start_again,
    stop,
    transport_for,
)

pytestmark = pytest.mark.interop


# -- the server restarts ---------------------------------------------------------------


@pytest.mark.parametrize("goodbye", [None, 1012], ids=["exits", "closes-1012"])
async def test_subscription_goes_on_across_a_server_restart(
    start_own_server: StartServer, goodbye: int | None
) -> None:
    server = start_own_server(restart_env(goodbye))
    events = EventLog()
    tag = marker()
    start = RESTARTED_FROM
    stopped = rf"\bcountdown #\d+ from={start} end items=\d+ stopped"
    stopped_before = 0  # the old process's (it may exit before it logs its stop)

    async def restart_and_count_the_stops() -> None:
        nonlocal stopped_before
        await restart(server, events)
        stopped_before = len(server.find_lines(stopped))

    await countdown_across_a_restart(server, events, tag, restart_and_count_the_stops)
    (gap,) = read_gaps(events.events, server.subprotocol)
    check_lost(gap, goodbye)
    check_unreachable(gap.failures)
    assert gap.resubscribed.count == 1
    # the new server process saw the client connect and subscribe again...
    await server.wait_for_line(rf"\bcountdown #\d+ from={start} start", count=2)
    assert len(init_payloads(server, tag)) == 2
    # ...and stop the subscription when the loop was left
    await server.wait_for_line(stopped, count=stopped_before + 1)


async def test_several_subscriptions_and_calls_in_the_gap(start_own_server: StartServer) -> None:
    server = start_own_server()
    events = EventLog()
    tag = marker()
    transport = transport_for(server, events, outlasting_policy(), {"tag": tag})
    starts = (300, 400, 500)
    leaving = 600  # left during the gap: not sent again
    values: dict[int, list[int]] = {start: [] for start in (*starts, leaving)}
    running = {start: asyncio.Event() for start in values}

    async def consume(session: Any, start: int) -> None:
        received = values[start]
        stream = subscribe(session, COUNTDOWN, variables={"from": start, "delay": ITEM_DELAY_MS})
        async for result in stream:
            received.append(result["countdown"])
            if len(received) == 2:
                running[start].set()
            if received.count(start) == 2 and received[-1] == start - 2:
                break

    async def countdown(session: Any, start: int) -> list[int]:
        stream = subscribe(session, COUNTDOWN, variables={"from": start, "delay": 1})
        return [result["countdown"] async for result in stream]

    async with Client(transport=transport) as session:
        consumers = {start: asyncio.ensure_future(consume(session, start)) for start in values}
        try:
            await asyncio.wait_for(
                asyncio.gather(*(event.wait() for event in running.values())),
                scaled_timeout(10),
            )
            await stop(server)
            await events.attempt_failed()
            consumers[leaving].cancel()  # the consumer leaves its loop
            await asyncio.wait([consumers[leaving]], timeout=scaled_timeout(5))
            assert consumers[leaving].cancelled()
            # made while the server is down: they wait for the next connection
            query = asyncio.ensure_future(execute(session, '{ hello(name: "gap") }'))
            late = asyncio.ensure_future(countdown(session, 3))
            await events.attempt_failed(since=len(events.events))
            assert not query.done()
            assert not late.done()
            await start_again(server)
            assert await asyncio.wait_for(query, scaled_timeout(10)) == {"hello": "Hello gap!"}
            assert await asyncio.wait_for(late, scaled_timeout(10)) == [3, 2, 1, 0]
            await asyncio.wait_for(
                asyncio.gather(*(consumers[start] for start in starts)), scaled_timeout(30)
            )
        finally:
            for task in consumers.values():
                task.cancel()
            await asyncio.gather(*consumers.values(), return_exceptions=True)

    for start in starts:
        old, new = runs(values[start], start)
        assert len(old) >= 2
        assert new == [start, start - 1, start - 2]
    assert len(runs(values[leaving], leaving)) == 1
    # the three still consumed were sent again; the two made in the gap ran after
    (gap,) = read_gaps(events.events, server.subprotocol)
    check_lost(gap, None)
    check_unreachable(gap.failures)
    assert len(gap.failures) >= 2
    assert gap.resubscribed.count == 3
    assert len(init_payloads(server, tag)) == 2
    for start in starts:
        await server.wait_for_line(rf"\bcountdown #\d+ from={start} start", count=2)
    await server.wait_for_line(r"\bcountdown #\d+ from=3 end items=4 completed")
    assert len(server.find_lines(rf"\bcountdown #\d+ from={leaving} start")) == 1


async def test_two_restarts_in_a_row(start_own_server: StartServer) -> None:
    """Each gap counts its attempts from 1; the init payload is made again for each
    connection; with the default subprotocol offer (subscriptions-transport-ws
    answers it with a refusal, and the transport offers again on each reconnect).
    """
    server = start_own_server()
    events = EventLog()
    tag = marker()
    made = itertools.count()
    transport = transport_for(
        server,
        events,
        outlasting_policy(),
        lambda: {"tag": tag, "n": next(made)},
        subprotocols=None,
    )
    start = 800
    values: list[int] = []

    async def consume(session: Any) -> None:
        stream = subscribe(session, COUNTDOWN, variables={"from": start, "delay": ITEM_DELAY_MS})
        async for result in stream:
            values.append(result["countdown"])
            if result["countdown"] == start - 2:
                if values.count(start) == 3:
                    break
                await restart(server, events)

    async with Client(transport=transport) as session:
        await asyncio.wait_for(consume(session), scaled_timeout(30))

    pieces = runs(values, start)
    assert len(pieces) == 3
    assert pieces[-1] == [start, start - 1, start - 2]
    assert all(len(piece) >= 3 for piece in pieces)
    gaps = read_gaps(events.events, server.subprotocol)
    assert len(gaps) == 2
    for gap in gaps:
        check_lost(gap, None)
        check_unreachable(gap.failures)
        assert gap.resubscribed.count == 1
    # one init per connection, each with a payload made for it
    numbers = [payload["n"] for payload in init_payloads(server, tag)]
    assert len(numbers) == 3
    assert numbers == sorted(set(numbers)), numbers
    for index in (1, 2, 3):
        await server.wait_for_line(rf"\bcountdown #\d+ from={start} start", count=index)
    if server.subprotocol != TRANSPORT_WS:
        # graphql-transport-ws offered first each time, refused (1002), then graphql-ws
        offered = server.find_lines(r'\bconnection #\d+ protocol="([^"]*)"')
        assert [m.group(1) for m in offered] == [TRANSPORT_WS, server.subprotocol] * 3


async def test_a_rejected_attempt_is_retried(start_own_server: StartServer) -> None:
    """The first connection_init after the restart is refused; the next payload is
    accepted (say, credentials that were refreshed).
    """
    server = start_own_server()
    events = EventLog()
    tag = marker()
    made = itertools.count()

    def init_payload() -> dict[str, Any]:
        return {"tag": tag, "reject": next(made) == 1}

    transport = transport_for(server, events, outlasting_policy(), init_payload)
    start = 1000
    values: list[int] = []

    async def consume(session: Any) -> None:
        stream = subscribe(session, COUNTDOWN, variables={"from": start, "delay": ITEM_DELAY_MS})
        async for result in stream:
            values.append(result["countdown"])
            if len(values) == 2:
                await restart(server, events)
            if values.count(start) == 2 and values[-1] == start - 2:
                break

    async with Client(transport=transport) as session:
        await asyncio.wait_for(consume(session), scaled_timeout(30))

    _, new = runs(values, start)
    assert new == [start, start - 1, start - 2]
    (gap,) = read_gaps(events.events, server.subprotocol)
    check_lost(gap, None)
    *unreachable, rejected = gap.failures
    check_unreachable(unreachable)
    if server.subprotocol == TRANSPORT_WS:
        # graphql-ws closes 4403 Forbidden
        assert isinstance(rejected.error, TransportConnectionClosed), rejected
        assert rejected.code == 4403, rejected
    else:
        # subscriptions-transport-ws sends connection_error, then closes
        assert isinstance(rejected.error, ConnectionRejectedError), rejected
        assert "Connection rejected by the server (reject=true)" in str(rejected.error)
    assert gap.resubscribed.count == 1
    await server.wait_for_line(r"\brejected #\d+")
    assert [payload["reject"] for payload in init_payloads(server, tag)] == [False, True, False]


async def test_close_during_the_gap(start_own_server: StartServer) -> None:
    """Leaving the session while the server is down: no further attempt, the running
    subscription ends as a close() ends it, the transport is closed.
    """
    server = start_own_server()
    events = EventLog()
    transport = transport_for(server, events, outlasting_policy(), {"tag": marker()})
    start = 1000
    values: list[int] = []
    running = asyncio.Event()

    async def consume(session: Any) -> None:
        stream = subscribe(session, COUNTDOWN, variables={"from": start, "delay": ITEM_DELAY_MS})
        async for result in stream:
            values.append(result["countdown"])
            running.set()

    async with Client(transport=transport) as session:
        consumer = asyncio.ensure_future(consume(session))
        try:
            await asyncio.wait_for(running.wait(), scaled_timeout(10))
            await stop(server)
            await events.attempt_failed()
            assert transport.state is State.RECONNECTING
        except BaseException:
            consumer.cancel()
            raise
    assert transport.state is State.CLOSED
    # the subscription ended without an error, after what it had received
    await asyncio.wait_for(consumer, scaled_timeout(5))
    assert runs(values, start) == [values]
    seen = events.events
    assert seen[-1] == Closed(None), seen
    last_attempt = max(i for i, event in enumerate(seen) if isinstance(event, Connecting))
    # the close cut the last attempt short, or the wait after it
    assert [type(event) for event in seen[last_attempt:]] in (
        [Connecting, Closed],
        [Connecting, Disconnected, Retrying, Closed],
    ), seen


def test_sync_client_across_a_restart(
    start_own_server: StartServer, sync_loop: asyncio.AbstractEventLoop
) -> None:
    """gql's sync Client: the loop runs only while the consumer asks for the next result,
    so the loss is seen after the restart, and the first attempt succeeds.
    """
    server = start_own_server()
    events = EventLog()
    tag = marker()
    client = Client(transport=transport_for(server, events, outlasting_policy(), {"tag": tag}))
    start = 1000
    values: list[int] = []
    stream = cast(
        "Generator[dict[str, Any], None, None]",
        subscribe_sync(client, COUNTDOWN, variables={"from": start, "delay": ITEM_DELAY_MS}),
    )
    with contextlib.closing(stream):  # gql closes the transport as the generator closes
        for result in stream:
            values.append(result["countdown"])
            if len(values) == 3:
                port = server.port
                server.stop()
                server.start(port)
            if values.count(start) == 2 and values[-1] == start - 2:
                break
    # gql left the close it began running on its loop: let it finish
    sync_loop.run_until_complete(events.wait_for(Closed))
    old, new = runs(values, start)
    assert len(old) >= 3
    assert new == [start, start - 1, start - 2]
    (gap,) = read_gaps(events.events, server.subprotocol)
    check_lost(gap, None)
    assert gap.failures == []
    assert gap.resubscribed.count == 1
    assert len(init_payloads(server, tag)) == 2
    assert not sync_loop.is_closed()


# -- the server freezes ------------------------------------------------------------------


async def test_a_frozen_server_is_given_up_and_reconnected(start_own_server: StartServer) -> None:
    """The server process is frozen (SIGSTOP): nothing arrives, so keep_alive_timeout
    ends the connection (HeartbeatTimeoutError), and the attempts' upgrades go
    unanswered (ConnectTimeoutError); both are retried.  Once the server runs
    again (SIGCONT) the subscription is sent again on a new connection, and the
    server, which did not restart, stops the one of the old connection.
    """
    server = start_own_server()
    events = EventLog()
    tag = marker()
    transport = transport_for(
        server,
        events,
        outlasting_policy(),
        {"tag": tag},
        keep_alive_timeout=scaled_timeout(0.3),
        connect_timeout=scaled_timeout(0.3),
    )
    start = 1000
    values: list[int] = []

    async def consume(session: Any) -> None:
        stream = subscribe(session, COUNTDOWN, variables={"from": start, "delay": ITEM_DELAY_MS})
        async for result in stream:
            values.append(result["countdown"])
            if len(values) == 3:
                server.pause()
                try:
                    lost = await events.wait_for(Disconnected)
                    assert isinstance(lost.error, HeartbeatTimeoutError), lost
                    await events.wait_for(
                        Disconnected, lambda e: isinstance(e.error, ConnectTimeoutError)
                    )
                finally:
                    server.resume()
                await events.wait_for(Resubscribed)
            if values.count(start) == 2 and values[-1] == start - 2:
                break

    try:
        async with Client(transport=transport) as session:
            await asyncio.wait_for(consume(session), scaled_timeout(30))
    finally:
        server.resume()

    old, new = runs(values, start)
    assert len(old) >= 3
    assert new == [start, start - 1, start - 2]
    (gap,) = read_gaps(events.events, server.subprotocol)
    assert isinstance(gap.lost.error, HeartbeatTimeoutError), gap.lost
    assert (gap.lost.code, gap.lost.reason) == (None, ""), gap.lost
    assert gap.failures, "no attempt failed while the server was frozen"
    for failed in gap.failures:
        assert isinstance(failed.error, ConnectTimeoutError), failed
        assert isinstance(failed.error, asyncio.TimeoutError), failed
    assert gap.resubscribed.count == 1
    # one process all along: the old connection's countdown was stopped once it ran again
    first, second = (int(m.group(1)) for m in server.find_lines(rf"\binit #(\d+) params=.*{tag}"))
    assert first < second
    await server.wait_for_line(rf"\bcountdown #{first} from={start} end items=\d+ stopped")
    await server.wait_for_line(rf"\bcountdown #{second} from={start} end items=\d+ stopped")
    assert len(server.find_lines(r"\blistening url=")) == 1


# the npm graphql-ws server alone: what is at fault is not the subprotocol
@pytest.mark.parametrize("start_own_server", ["graphql-ws"], indirect=True)
async def test_the_first_attempt_does_not_wait_for_the_dead_connection(
    start_own_server: StartServer,
) -> None:
    server = start_own_server()
    events = EventLog()
    transport = transport_for(
        server,
        events,
        outlasting_policy(),
        {"tag": marker()},
        keep_alive_timeout=scaled_timeout(0.3),
        close_timeout=scaled_timeout(4),
    )
    async with Client(transport=transport) as session:
        stream = subscribe(session, COUNTDOWN, variables={"from": 1000, "delay": ITEM_DELAY_MS})
        try:
            async for _ in stream:
                server.pause()
                lost = await events.wait_for(Disconnected)
                assert isinstance(lost.error, HeartbeatTimeoutError), lost
                # the policy's wait (RETRY_WAIT) and the attempt, not close_timeout first
                await events.wait_for(
                    Connecting, lambda e: e.attempt == 1, timeout=scaled_timeout(0.75)
                )
                break
        finally:
            server.resume()


# -- the server does not come back -----------------------------------------------------


async def test_attempts_run_out_while_the_server_stays_down(
    start_own_server: StartServer,
) -> None:
    server = start_own_server()
    events = EventLog()
    wait = 0.05
    policy = RetryPolicy(attempts=3, wait=lambda n: wait)
    transport = transport_for(server, events, policy, {"tag": marker()})
    start = 1000
    values: list[int] = []

    async def consume(session: Any) -> None:
        stream = subscribe(session, COUNTDOWN, variables={"from": start, "delay": ITEM_DELAY_MS})
        async for result in stream:
            values.append(result["countdown"])
            if len(values) == 2:
                await stop(server)

    with pytest.raises(TransportConnectionFailed) as caught:
        async with Client(transport=transport) as session:
            await asyncio.wait_for(consume(session), scaled_timeout(30))

    error = caught.value
    if GQL_MAJOR >= 4:
        assert isinstance(error, gql_exceptions.TransportConnectionFailed)
    # the error of the last attempt, after every value received before the loss
    assert isinstance(error, ServerUnreachableError), repr(error)
    assert runs(values, start) == [values]
    assert len(values) >= 2

    seen = events.events
    assert [type(event) for event in seen] == [
        Connecting,
        Connected,
        Disconnected,
        *[Retrying, Connecting, Disconnected] * 3,
        Closed,
    ], seen
    lost = seen[2]
    assert isinstance(lost, Disconnected)
    assert isinstance(lost.error, TransportConnectionClosed), lost
    assert (lost.code, lost.will_retry) == (None, True), lost
    previous: Exception = lost.error
    for attempt in (1, 2, 3):
        retrying, connecting, failed = seen[3 * attempt : 3 * attempt + 3]
        assert retrying == Retrying(attempt, wait, previous), retrying
        assert connecting == Connecting(attempt), connecting
        assert isinstance(failed, Disconnected)
        assert isinstance(failed.error, ServerUnreachableError), failed
        # the third failure is the last: no fourth attempt
        assert failed.will_retry is (attempt < 3), failed
        previous = failed.error
    assert previous is error
    assert seen[-1] == Closed(error)
    assert transport.state is State.CLOSED
    assert transport.close_exception is error


@pytest.mark.parametrize("code", [4500, 4400])
async def test_a_fatal_close_code_is_not_retried(start_own_server: StartServer, code: int) -> None:
    server = start_own_server(restart_env(code))
    events = EventLog()
    transport = transport_for(server, events, outlasting_policy(), {"tag": marker()})
    start = 1000
    values: list[int] = []

    async def consume(session: Any) -> None:
        stream = subscribe(session, COUNTDOWN, variables={"from": start, "delay": ITEM_DELAY_MS})
        async for result in stream:
            values.append(result["countdown"])
            if len(values) == 2:
                await stop(server)

    with pytest.raises(CLOSED_BY_SERVER) as caught:
        async with Client(transport=transport) as session:
            await asyncio.wait_for(consume(session), scaled_timeout(30))

    error = caught.value
    assert isinstance(error, TransportConnectionClosed), repr(error)
    assert (error.code, error.reason, error.retryable) == (code, GOODBYE_REASON, False)
    assert str(code) in str(error)
    assert runs(values, start) == [values]
    seen = events.events
    assert [type(event) for event in seen] == [Connecting, Connected, Disconnected, Closed], seen
    assert seen[2] == Disconnected(error, code, GOODBYE_REASON, False)
    assert seen[3] == Closed(error)
