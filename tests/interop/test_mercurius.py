"""The transport against Mercurius, through ``gql.Client``.

One Mercurius server (servers/mercurius_server.cjs, ``fullWsTransport`` on,
keep-alives every ~150 ms) speaks both subprotocols; every test runs once per
subprotocol (test ids ``[graphql-transport-ws]`` and ``[graphql-ws]``), under
whichever gql (3.5 or 4) is installed.

What Mercurius sends that the npm reference servers do not:

* an ``error`` message whose payload is a list of errors on the legacy
  graphql-ws subprotocol too (for a query that fails validation, and for a
  subscription whose source fails), where that protocol has an object;
* the legacy ``connection_error`` to refuse a connection_init on
  graphql-transport-ws too, followed by a close frame without a status code;
* on ``fastify.close()``, a close frame without a status code on every socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any, cast

import pytest
from gql import Client
from gql.transport.exceptions import TransportQueryError, TransportServerError

from gql_aiohttp_websockets import (
    ConnectionRejectedError,
    Disconnected,
    Resubscribed,
    TransportConnectionClosed,
)
from gql_aiohttp_websockets.lifecycle import State
from gql_aiohttp_websockets.testing.timeouts import scaled_timeout

from ._support import KEEPALIVE_INTERVAL, TRANSPORT_WS, NodeServer, execute, marker, subscribe
from .gaps import (
    RESTARTED_FROM,
    EventLog,
    check_unreachable,
    countdown_across_a_restart,
    read_gaps,
    start_again,
    stop,
)

pytestmark = pytest.mark.interop

COUNTDOWN = """
    subscription Countdown($from: Int!, $delay: Int) { countdown(from: $from, delay_ms: $delay) }
"""

#: The one message Mercurius gives for any query that fails validation.
VALIDATION_ERROR = {"message": "Graphql validation error"}

#: Milliseconds between two items of the long countdowns.
ITEM_DELAY_MS = 20

#: ``start_own_mercurius_server(subprotocol, env=None)`` (conftest.py).
StartMercurius = Callable[..., NodeServer]


async def connect(client: Client, timeout: float = 10) -> Any:
    """``client.connect_async()`` bounded in time: the session."""
    untyped: Any = client  # gql leaves connect_async and close_async unannotated
    return await asyncio.wait_for(untyped.connect_async(), scaled_timeout(timeout))


async def close(client: Client) -> None:
    """``client.close_async()`` bounded in time."""
    untyped: Any = client
    await asyncio.wait_for(untyped.close_async(), scaled_timeout(10))


def stream_of(
    session: Any, source: str, variables: dict[str, Any] | None = None
) -> AsyncGenerator[dict[str, Any], None]:
    """``session.subscribe``, typed as the async generator it is."""
    return cast(
        "AsyncGenerator[dict[str, Any], None]", subscribe(session, source, variables=variables)
    )


@contextlib.asynccontextmanager
async def connected(server: NodeServer, subprotocol: str, **transport_args: Any) -> Any:
    """An async gql session offering only ``subprotocol``; the connect and the close are
    bounded.
    """
    transport = server.transport(subprotocols=[subprotocol], **transport_args)
    client = Client(transport=transport)
    session = await connect(client)
    try:
        assert transport.subprotocol == subprotocol
        yield session
    finally:
        await close(client)


async def countdown(session: Any, start: int, delay_ms: int = 5) -> list[int]:
    """The values of one whole countdown subscription, bounded in time."""

    async def run() -> list[int]:
        stream = stream_of(session, COUNTDOWN, {"from": start, "delay": delay_ms})
        async with contextlib.aclosing(stream):
            return [item["countdown"] async for item in stream]

    return await asyncio.wait_for(run(), scaled_timeout(10))


async def connection_of(server: NodeServer, tag: str, subprotocol: str) -> int:
    """The server's number of this test's connection, checked to speak ``subprotocol``."""
    number = await server.connection_number(tag)
    (opened,) = server.find_lines(rf"\bconnection #{number} protocol=\"([^\"]*)\"$")
    assert opened.group(1) == subprotocol, opened.group(0)
    return number


# -- queries and mutations over the websocket (fullWsTransport) ----------------------


async def test_query(mercurius_server: NodeServer, mercurius_subprotocol: str) -> None:
    server = mercurius_server
    tag = marker()
    async with connected(server, mercurius_subprotocol, init_payload={"tag": tag}) as session:
        assert await execute(session, "{ hello }") == {"hello": "Hello world!"}
        assert await execute(
            session,
            "query Echo($input: String!) { echo(input: $input) }",
            variables={"input": "mercurius \u00e9"},
        ) == {"echo": "mercurius \u00e9"}
        # the init payload reached the resolvers through onConnect's context
        params = await execute(session, "{ connectionParams }")
        assert json.loads(params["connectionParams"]) == {"tag": tag}
        await connection_of(server, tag, mercurius_subprotocol)


async def test_mutation(mercurius_server: NodeServer, mercurius_subprotocol: str) -> None:
    async with connected(mercurius_server, mercurius_subprotocol) as session:
        added = await execute(
            session,
            "mutation Add($a: Int!, $b: Int!) { addNumbers(a: $a, b: $b) }",
            variables={"a": 2, "b": 40},
        )
        assert added == {"addNumbers": 42}


# -- subscriptions ------------------------------------------------------------------


async def test_subscription(mercurius_server: NodeServer, mercurius_subprotocol: str) -> None:
    server = mercurius_server
    tag = marker()
    async with connected(server, mercurius_subprotocol, init_payload={"tag": tag}) as session:
        assert await countdown(session, 6, delay_ms=2) == [6, 5, 4, 3, 2, 1, 0]
        number = await connection_of(server, tag, mercurius_subprotocol)
        # the stream ended with the server's complete: the session goes on
        assert await execute(session, "{ hello }") == {"hello": "Hello world!"}
    await server.wait_for_line(rf"\bcountdown #{number} from=6 end items=7 completed")


async def test_break_out_stops_the_server_side(
    mercurius_server: NodeServer, mercurius_subprotocol: str
) -> None:
    server = mercurius_server
    tag = marker()
    async with connected(server, mercurius_subprotocol, init_payload={"tag": tag}) as session:
        received: list[int] = []
        # no name for the stream, as in application code: the break ends it at once
        async for item in subscribe(
            session, COUNTDOWN, variables={"from": 500, "delay": ITEM_DELAY_MS}
        ):
            received.append(item["countdown"])
            if len(received) == 3:
                break
        assert received == [500, 499, 498]
        number = await connection_of(server, tag, mercurius_subprotocol)
        stopped = await server.wait_for_line(
            rf"\bcountdown #{number} from=500 end items=(\d+) stopped", scaled_timeout(5)
        )
        assert int(stopped.group(1)) < 20
        # Mercurius answers the stop with a complete of its own, which must not
        # disturb the next operations on the connection
        assert await countdown(session, 2) == [2, 1, 0]
        assert await execute(session, "{ hello }") == {"hello": "Hello world!"}
    assert len(server.find_lines(rf"\binit #\d+ params=.*{tag}")) == 1


# -- errors of one operation: TransportQueryError, the connection goes on -------------


async def test_resolver_error_in_a_query(
    mercurius_server: NodeServer, mercurius_subprotocol: str
) -> None:
    """A resolver's GraphQLError comes in a result with ``errors`` (a next/data message)."""
    async with connected(mercurius_server, mercurius_subprotocol) as session:
        with pytest.raises(TransportQueryError) as caught:
            await execute(session, '{ hello error(message: "mercurius boom") }')
        assert await execute(session, "{ hello }") == {"hello": "Hello world!"}
    error = caught.value
    assert error.errors is not None
    assert [e["message"] for e in error.errors] == ["mercurius boom"]
    assert error.errors[0]["path"] == ["error"]
    assert error.data == {"hello": "Hello world!", "error": None}


async def test_resolver_error_in_a_subscription(
    mercurius_server: NodeServer, mercurius_subprotocol: str
) -> None:
    """A subscription's source fails: Mercurius sends ``error`` with a list of errors,
    on the legacy subprotocol too.
    """
    server = mercurius_server
    tag = marker()
    async with connected(server, mercurius_subprotocol, init_payload={"tag": tag}) as session:
        received: list[Any] = []

        async def consume() -> None:
            stream = stream_of(session, "subscription { errorAfter(n: 2, delay_ms: 5) }")
            async with contextlib.aclosing(stream):
                async for item in stream:
                    received.append(item)

        with pytest.raises(TransportQueryError) as caught:
            await asyncio.wait_for(consume(), scaled_timeout(10))
        assert received == [{"errorAfter": 0}, {"errorAfter": 1}]
        # only that operation failed
        assert await execute(session, "{ hello }") == {"hello": "Hello world!"}
        assert await countdown(session, 1) == [1, 0]
        number = await connection_of(server, tag, mercurius_subprotocol)
    assert caught.value.errors == [{"message": "errorAfter: failing after 2 items"}]
    assert "errorAfter: failing after 2 items" in str(caught.value)
    await server.wait_for_line(rf"\berrorAfter #{number} n=2 failing")
    assert len(server.find_lines(rf"\binit #\d+ params=.*{tag}")) == 1


async def test_validation_error(mercurius_server: NodeServer, mercurius_subprotocol: str) -> None:
    """A field the schema does not have: ``error`` with a list of one generic error."""
    async with connected(mercurius_server, mercurius_subprotocol) as session:
        with pytest.raises(TransportQueryError) as caught:
            await execute(session, "{ hello doesNotExist }")
        assert await execute(session, "{ hello }") == {"hello": "Hello world!"}
    assert caught.value.errors == [VALIDATION_ERROR]
    assert VALIDATION_ERROR["message"] in str(caught.value)
    assert caught.value.data is None


# -- onConnect refuses the connection_init ----------------------------------------------


def assert_forbidden(error: BaseException) -> None:
    """Mercurius's refusal: a connection_error whose payload the error names."""
    assert isinstance(error, ConnectionRejectedError), repr(error)
    assert isinstance(error, TransportServerError), repr(error)
    assert "Forbidden" in str(error), str(error)


async def test_bad_token_is_rejected(
    mercurius_server: NodeServer, mercurius_subprotocol: str
) -> None:
    server = mercurius_server
    tag = marker()
    transport = server.transport(
        subprotocols=[mercurius_subprotocol], init_payload={"token": "bad", "tag": tag}
    )
    client = Client(transport=transport)
    with pytest.raises(TransportServerError) as caught:
        await connect(client, 5)
    assert_forbidden(caught.value)
    number = await connection_of(server, tag, mercurius_subprotocol)
    await server.wait_for_line(rf"\brejected #{number} why=\"bad token\"")
    # the same transport connects once its token is a good one
    transport.init_payload = {"token": "good", "tag": tag}
    session = await connect(client, 5)
    try:
        assert await execute(session, "{ hello }") == {"hello": "Hello world!"}
    finally:
        await close(client)


async def test_missing_token_is_rejected_when_required(
    start_own_mercurius_server: StartMercurius, mercurius_subprotocol: str
) -> None:
    server = start_own_mercurius_server(mercurius_subprotocol, {"INTEROP_REQUIRE_TOKEN": "1"})
    client = Client(transport=server.transport(init_payload={"tag": marker()}))
    with pytest.raises(TransportServerError) as caught:
        await connect(client, 5)
    assert_forbidden(caught.value)
    await server.wait_for_line(r"\brejected #1 why=\"no token\"")
    async with connected(server, mercurius_subprotocol, init_payload={"token": "t"}) as session:
        params = await execute(session, "{ connectionParams }")
    assert json.loads(params["connectionParams"]) == {"token": "t"}


# -- keep-alive ------------------------------------------------------------------------


async def test_keepalives_satisfy_keep_alive_timeout(
    mercurius_server: NodeServer, mercurius_subprotocol: str
) -> None:
    """Items further apart than ``keep_alive_timeout``: the connection lives on
    Mercurius's keep-alives (``ping`` on graphql-transport-ws, ``ka`` on graphql-ws).
    """
    server = mercurius_server
    interval = scaled_timeout(KEEPALIVE_INTERVAL)
    keep_alive_timeout = 3 * interval
    gap = 2 * keep_alive_timeout
    tag = marker()
    async with connected(
        server,
        mercurius_subprotocol,
        init_payload={"tag": tag},
        keep_alive_timeout=keep_alive_timeout,
    ) as session:
        started = time.monotonic()
        assert await countdown(session, 2, delay_ms=round(gap * 1000)) == [2, 1, 0]
        assert time.monotonic() - started >= 2 * gap
        assert await execute(session, "{ hello }") == {"hello": "Hello world!"}
        number = await connection_of(server, tag, mercurius_subprotocol)
        transport = session.transport
        assert transport.state is State.OPEN
        if mercurius_subprotocol == TRANSPORT_WS:
            # Mercurius's keep-alive is a protocol ping, which the transport answered
            assert transport.ping_received.is_set()
            assert len(server.find_lines(rf"\bgql-pong #{number}$")) >= 3
    # the connection ended with the client's close, not the heartbeat's
    closed = await server.wait_for_line(rf"\bclosed #{number} code=(\d+)")
    assert int(closed.group(1)) in (1000, 1005), closed.group(0)


# -- reconnection across a restart ----------------------------------------------------


async def restart(server: NodeServer, events: EventLog, close_code: int | None) -> None:
    """Stop the server, check the loss is retried, start it again once an attempt found
    it down, and wait for the subscriptions to be sent again.
    """
    since = len(events.events)
    await stop(server)
    lost = await events.wait_for(Disconnected, since=since)
    # checked here, not only afterwards: a loss not retried would leave nothing to wait for
    assert (lost.code, lost.will_retry) == (close_code, True), lost
    failed = await events.attempt_failed(since=since)
    assert failed.will_retry, failed
    await start_again(server)
    await events.wait_for(Resubscribed, since=since)


@pytest.mark.parametrize(
    ("stop_env", "close_code"),
    [({}, None), ({"INTEROP_EXIT_FASTIFY_CLOSE": "1"}, 1005)],
    ids=["exits", "fastify-close"],
)
async def test_subscription_goes_on_across_a_restart(
    start_own_mercurius_server: StartMercurius,
    mercurius_subprotocol: str,
    stop_env: dict[str, str],
    close_code: int | None,
) -> None:
    """``reconnect=`` on: the server process stops (it exits, or ``fastify.close()``
    closes every socket without a status code, which the transport reports as 1005)
    and starts again on its port; the subscription's ``async for`` goes on.
    """
    server = start_own_mercurius_server(mercurius_subprotocol, stop_env)
    events = EventLog()
    tag = marker()
    start = RESTARTED_FROM
    await countdown_across_a_restart(
        server, events, tag, lambda: restart(server, events, close_code)
    )
    (gap,) = read_gaps(events.events, mercurius_subprotocol)
    lost = gap.lost
    assert isinstance(lost, Disconnected)
    assert isinstance(lost.error, TransportConnectionClosed), lost
    assert (lost.code, lost.error.code, lost.reason) == (close_code, close_code, ""), lost
    assert lost.error.retryable, lost
    check_unreachable(gap.failures)
    assert gap.resubscribed.count == 1
    # a connection_init on each process, the countdown started on each
    assert len(server.find_lines(rf"\binit #\d+ params=.*{tag}")) == 2
    await server.wait_for_line(rf"\bcountdown #\d+ from={start} start", count=2)
    assert len(server.find_lines(r"\blistening url=")) == 2
