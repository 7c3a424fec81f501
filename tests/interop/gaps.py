"""Reconnection gaps against the reference servers: restarts, and the events that tell them.

Shared by the reconnection tests of every reference server: a transport that
outlasts a restart, the lifecycle events it gave, read back as gaps (the loss,
the failed attempts, the new connection), and a server process stopped by its
PID and started again on the same port.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from gql import Client

from gql_aiohttp_websockets import (
    Closed,
    Connected,
    Connecting,
    Disconnected,
    InitPayloadFactory,
    Resubscribed,
    Retrying,
    RetryPolicy,
    ServerUnreachableError,
    TransportConnectionClosed,
    TransportEvent,
)
from gql_aiohttp_websockets.lifecycle import State
from gql_aiohttp_websockets.testing.timeouts import scaled_timeout

from ._support import (
    AIOHTTPWebsocketsTransport,
    NodeServer,
    execute,
    subscribe,
)

COUNTDOWN = """
    subscription Countdown($from: Int!, $delay: Int) { countdown(from: $from, delay_ms: $delay) }
"""

#: Seconds between two attempts while the server is down.
RETRY_WAIT = 0.1

#: Milliseconds between two items of the long countdowns.
ITEM_DELAY_MS = 20
#: Where the countdown of :func:`countdown_across_a_restart` starts.
RESTARTED_FROM = 1000

#: The reason of the servers' goodbye close (servers/common.cjs).
GOODBYE_REASON = "server stopping"

E = TypeVar("E", bound=TransportEvent)

StartServer = Callable[..., NodeServer]


def outlasting_policy() -> RetryPolicy:
    """Attempts ``RETRY_WAIT`` apart, enough of them to outlast a restart of node."""
    return RetryPolicy(
        attempts=math.ceil(scaled_timeout(15) / RETRY_WAIT), wait=lambda n: RETRY_WAIT
    )


def transport_for(
    server: NodeServer,
    events: EventLog,
    policy: RetryPolicy,
    init_payload: dict[str, Any] | InitPayloadFactory,
    **options: Any,
) -> AIOHTTPWebsocketsTransport:
    """A reconnecting transport for ``server``, every step of a connect bounded."""
    for name in ("connect_timeout", "ack_timeout", "close_timeout"):
        options.setdefault(name, scaled_timeout(5))
    return server.transport(init_payload=init_payload, reconnect=policy, on_event=events, **options)


class EventLog:
    """The ``on_event`` callback: keeps every event; a test waits for the one it needs."""

    def __init__(self) -> None:
        self.events: list[TransportEvent] = []
        self._waiters: list[tuple[Callable[[TransportEvent], bool], asyncio.Future[Any]]] = []

    def __call__(self, event: TransportEvent) -> None:
        self.events.append(event)
        for matches, future in self._waiters:
            if not future.done() and matches(event):
                future.set_result(event)

    async def wait_for(
        self,
        kind: type[E],
        where: Callable[[E], bool] = lambda event: True,
        *,
        since: int = 0,
        timeout: float | None = None,
    ) -> E:
        """The first event of ``kind`` satisfying ``where`` from index ``since`` on;
        fail the test if none comes within ``timeout``.
        """

        def matches(event: TransportEvent) -> bool:
            return isinstance(event, kind) and where(event)

        for event in self.events[since:]:
            if matches(event):
                return event  # type: ignore[return-value]
        future: asyncio.Future[E] = asyncio.get_running_loop().create_future()
        waiter = (matches, future)
        self._waiters.append(waiter)
        timeout = scaled_timeout(10) if timeout is None else timeout
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            pytest.fail(
                f"no {kind.__name__} event as expected within {timeout:g} s; "
                f"the events so far: {self.events!r}"
            )
        finally:
            self._waiters.remove(waiter)

    async def attempt_failed(self, *, since: int = 0) -> Disconnected:
        """Wait for an attempt that found no server listening (from index ``since`` on)."""
        return await self.wait_for(
            Disconnected, lambda e: isinstance(e.error, ServerUnreachableError), since=since
        )


def restart_env(goodbye: int | None) -> dict[str, str] | None:
    """The server's environment: on stop, close every websocket with ``goodbye`` first."""
    return None if goodbye is None else {"INTEROP_EXIT_CLOSE_CODE": str(goodbye)}


async def stop(server: NodeServer) -> None:
    """Stop the server's process (SIGTERM to the PID it was started with), off the loop.

    Off the loop, since a server that says goodbye waits for the client's
    answer to its close frame before it exits.
    """
    await asyncio.to_thread(server.stop)


async def start_again(server: NodeServer) -> None:
    """Start the stopped server again, on the port it listened on."""
    port = server.port
    await asyncio.to_thread(server.start, port)
    assert server.port == port


async def restart(server: NodeServer, events: EventLog) -> None:
    """Stop the server; once an attempt found it down, start it again; wait for the
    subscriptions to be sent again.
    """
    since = len(events.events)
    await stop(server)
    await events.wait_for(Disconnected, since=since)
    failed = await events.attempt_failed(since=since)
    assert failed.will_retry, failed
    await start_again(server)
    await events.wait_for(Resubscribed, since=since)


# -- reading the events ---------------------------------------------------------------


@dataclass
class Gap:
    """The events of one lost connection, up to its replacement."""

    lost: Disconnected
    failures: list[Disconnected]
    connected: Connected
    resubscribed: Resubscribed


def read_gaps(events: list[TransportEvent], subprotocol: str) -> list[Gap]:
    """Check the events of one connect, of its gaps and of the client's close.

    In this order: Connecting(0), Connected(0); for each gap the loss,
    Disconnected(will_retry=True), then for each failed attempt n Retrying(n,
    RETRY_WAIT, the error before), Connecting(n), Disconnected(will_retry=True),
    and for the one that worked Retrying(k), Connecting(k), Connected(k),
    Resubscribed; at the end Closed(None).
    """

    def at(index: int) -> TransportEvent:
        assert index < len(events), f"the events end at {index}: {events!r}"
        return events[index]

    assert at(0) == Connecting(0), events
    first = at(1)
    assert isinstance(first, Connected), events
    assert (first.subprotocol, first.attempt) == (subprotocol, 0), first
    gaps: list[Gap] = []
    index = 2
    while index < len(events) - 1:
        lost = at(index)
        assert isinstance(lost, Disconnected), (index, events)
        assert lost.will_retry, lost
        failures: list[Disconnected] = []
        error: Exception = lost.error
        index += 1
        for attempt in itertools.count(1):
            retrying, connecting, outcome = at(index), at(index + 1), at(index + 2)
            index += 3
            assert retrying == Retrying(attempt, RETRY_WAIT, error), (retrying, events)
            assert connecting == Connecting(attempt), (connecting, events)
            if isinstance(outcome, Connected):
                assert outcome == Connected(subprotocol, first.ack_payload, attempt), events
                break
            assert isinstance(outcome, Disconnected), (outcome, events)
            assert outcome.will_retry, outcome
            failures.append(outcome)
            error = outcome.error
        resubscribed = at(index)
        index += 1
        assert isinstance(resubscribed, Resubscribed), (resubscribed, events)
        assert resubscribed.gap > 0, resubscribed
        gaps.append(Gap(lost, failures, outcome, resubscribed))
    assert index == len(events) - 1, events
    assert events[-1] == Closed(None), events
    return gaps


def check_lost(gap: Gap, code: int | None) -> None:
    """The connection ended by the server's stop: a close frame with ``code``, or none."""
    lost = gap.lost
    assert isinstance(lost.error, TransportConnectionClosed), lost
    assert (lost.code, lost.error.code) == (code, code), lost
    assert lost.reason == ("" if code is None else GOODBYE_REASON), lost


def check_unreachable(failures: list[Disconnected]) -> None:
    """Attempts that found nothing listening: at least one, each refused, no close code."""
    assert failures, "no attempt failed while the server was down"
    for failed in failures:
        assert isinstance(failed.error, ServerUnreachableError), failed
        assert "could not open a websocket" in str(failed.error), failed
        # aiohttp's error is the cause: the connection was refused
        cause = failed.error.__cause__
        assert isinstance(getattr(cause, "os_error", None), ConnectionRefusedError), repr(cause)
        assert (failed.code, failed.reason) == (None, ""), failed


def runs(values: list[int], start: int) -> list[list[int]]:
    """``values`` cut where the countdown from ``start`` started over; each run is checked
    to count down from ``start`` without a hole.
    """
    pieces: list[list[int]] = []
    for value in values:
        if value == start:
            pieces.append([])
        assert pieces, values
        pieces[-1].append(value)
    for piece in pieces:
        assert piece == list(range(start, start - len(piece), -1)), values
    return pieces


def init_payloads(server: NodeServer, tag: str) -> list[dict[str, Any]]:
    """The ``connection_init`` payloads of this test's connections, as the server logged them."""
    return [
        json.loads(m.group(1)) for m in server.find_lines(rf"\binit #\d+ params=(\{{.*{tag}.*\}})$")
    ]


async def countdown_across_a_restart(
    server: NodeServer, events: EventLog, tag: str, restart: Callable[[], Awaitable[None]]
) -> None:
    """A countdown through ``gql.Client`` while ``restart`` stops and starts ``server``.

    ``restart`` runs after the third value; the loop goes on until the new
    process's third, and the session runs a query on the new connection.  The
    values must be the old process's run, then the new one's from the start
    (``RESTARTED_FROM``).
    """
    start = RESTARTED_FROM
    transport = transport_for(server, events, outlasting_policy(), {"tag": tag})
    values: list[int] = []

    async def consume(session: Any) -> None:
        stream = subscribe(session, COUNTDOWN, variables={"from": start, "delay": ITEM_DELAY_MS})
        async for result in stream:
            values.append(result["countdown"])
            if len(values) == 3:
                await restart()
            if values.count(start) == 2 and values[-1] == start - 2:
                break

    async with Client(transport=transport) as session:
        await asyncio.wait_for(consume(session), scaled_timeout(30))
        # the session goes on on the new connection
        assert await execute(session, "{ hello }") == {"hello": "Hello world!"}
        assert transport.state is State.OPEN

    # every value of the old server's run, then the new server's from the start
    old, new = runs(values, start)
    assert len(old) >= 3
    assert new == [start, start - 1, start - 2]
