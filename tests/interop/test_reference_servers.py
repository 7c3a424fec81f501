"""The transport against the reference servers, through ``gql.Client``.

Every scenario runs against npm graphql-ws (subprotocol graphql-transport-ws,
test id ``[graphql-ws]``) and npm subscriptions-transport-ws (legacy subprotocol
graphql-ws, test id ``[subscriptions-transport-ws]``), each in its own
subprotocol, under whichever gql (3.5 or 4) is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest
from gql import Client
from gql.transport.exceptions import (
    TransportError,
    TransportQueryError,
    TransportServerError,
)

from gql_aiohttp_websockets.testing.timeouts import scaled_timeout
from tests.gql_compat import CLOSED_BY_SERVER

from ._support import (
    KEEPALIVE_INTERVAL,
    LEGACY_WS,
    TRANSPORT_WS,
    NodeServer,
    execute,
    execute_sync,
    marker,
    subscribe,
    subscribe_sync,
)

pytestmark = pytest.mark.interop

COUNTDOWN = """
    subscription Countdown($from: Int!, $delay: Int) { countdown(from: $from, delay_ms: $delay) }
"""


@contextlib.asynccontextmanager
async def connected(server: NodeServer, **transport_args: Any) -> Any:
    """An async gql session on a fresh transport; the connect and the close are bounded."""
    transport = server.transport(**transport_args)
    client = Client(transport=transport)
    session = await asyncio.wait_for(client.connect_async(), scaled_timeout(10))
    try:
        yield session
    finally:
        await asyncio.wait_for(client.close_async(), scaled_timeout(10))


async def collect(stream: Any, limit: int | None = None) -> list[Any]:
    """The results of a subscription (the first ``limit`` of them), bounded in time."""

    async def run() -> list[Any]:
        items = []
        async with contextlib.aclosing(stream):
            async for item in stream:
                items.append(item)
                if limit is not None and len(items) >= limit:
                    break
        return items

    return await asyncio.wait_for(run(), scaled_timeout(10))


async def countdown(session: Any, start: int, delay_ms: int = 5) -> list[int]:
    stream = subscribe(session, COUNTDOWN, variables={"from": start, "delay": delay_ms})
    return [item["countdown"] for item in await collect(stream)]


def assert_closed_with(error: BaseException, code: int, *words: str) -> None:
    """The error for a server close: gql's class, carrying and naming the close code."""
    assert isinstance(error, CLOSED_BY_SERVER), repr(error)
    assert getattr(error, "code", None) == code, repr(error)
    message = str(error)
    assert str(code) in message, message
    for word in words:
        assert word.lower() in message.lower(), message


# -- single-result operations -------------------------------------------------------


async def test_query(server: NodeServer) -> None:
    async with connected(server) as session:
        assert await execute(session, "{ hello }") == {"hello": "Hello world!"}
        assert await execute(session, '{ hello(name: "interop") }') == {"hello": "Hello interop!"}


async def test_mutation(server: NodeServer) -> None:
    async with connected(server) as session:
        result = await execute(session, "mutation { addNumbers(a: 2, b: 40) }")
    assert result == {"addNumbers": 42}


async def test_variables(server: NodeServer) -> None:
    text = 'quotes " and \\ backslash, unicode \u00e9\u4e2d\U0001f600, newline\n'
    async with connected(server) as session:
        echoed = await execute(
            session,
            "query Echo($input: String!) { echo(input: $input) }",
            variables={"input": text},
        )
        added = await execute(
            session,
            "mutation Add($a: Int!, $b: Int!) { addNumbers(a: $a, b: $b) }",
            variables={"a": -7, "b": 3},
        )
    assert echoed == {"echo": text}
    assert added == {"addNumbers": -4}


async def test_operation_name(server: NodeServer) -> None:
    document = """
        query First { hello(name: "first") }
        query Second { echo(input: "second") }
        mutation Third { addNumbers(a: 1, b: 2) }
    """
    async with connected(server) as session:
        second = await execute(session, document, operation_name="Second")
        first = await execute(session, document, operation_name="First")
        third = await execute(session, document, operation_name="Third")
    assert second == {"echo": "second"}
    assert first == {"hello": "Hello first!"}
    assert third == {"addNumbers": 3}


# -- errors of one operation: TransportQueryError, the connection stays up ---------


async def test_nullable_field_error(server: NodeServer) -> None:
    async with connected(server) as session:
        with pytest.raises(TransportQueryError) as caught:
            await execute(session, '{ hello error(message: "nullable boom") }')
        # the connection is still usable
        assert await execute(session, "{ hello }") == {"hello": "Hello world!"}
    error = caught.value
    assert "nullable boom" in str(error)
    assert error.errors is not None
    assert [e["message"] for e in error.errors] == ["nullable boom"]
    assert error.errors[0]["path"] == ["error"]
    assert error.data == {"hello": "Hello world!", "error": None}


async def test_non_null_error(server: NodeServer) -> None:
    async with connected(server) as session:
        with pytest.raises(TransportQueryError) as caught:
            await execute(session, '{ hello errorNonNull(message: "non-null boom") }')
        assert await execute(session, "{ hello }") == {"hello": "Hello world!"}
    error = caught.value
    assert "non-null boom" in str(error)
    assert error.errors is not None
    assert [e["message"] for e in error.errors] == ["non-null boom"]
    assert error.data is None


async def test_validation_error(server: NodeServer) -> None:
    # No schema on the client, so the server validates: graphql-ws answers with an
    # `error` message, subscriptions-transport-ws with a `data` holding only errors.
    async with connected(server) as session:
        with pytest.raises(TransportQueryError) as caught:
            await execute(session, "{ hello doesNotExist }")
        assert await execute(session, "{ hello }") == {"hello": "Hello world!"}
    assert 'Cannot query field "doesNotExist" on type "Query"' in str(caught.value)
    assert caught.value.data is None


# -- subscriptions ------------------------------------------------------------------


async def test_subscription_in_order(server: NodeServer) -> None:
    tag = marker()
    async with connected(server, init_payload={"tag": tag}) as session:
        assert await countdown(session, 9, delay_ms=2) == [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
        number = await server.connection_number(tag)
    await server.wait_for_line(rf"countdown #{number} from=9 end items=10 completed")


async def test_two_concurrent_subscriptions(server: NodeServer) -> None:
    tag = marker()
    async with connected(server, init_payload={"tag": tag}) as session:
        slow, fast = await asyncio.gather(
            countdown(session, 6, delay_ms=30), countdown(session, 11, delay_ms=10)
        )
        number = await server.connection_number(tag)
    assert slow == [6, 5, 4, 3, 2, 1, 0]
    assert fast == list(range(11, -1, -1))
    # both ran at the same time on the one connection this client opened
    assert len(server.find_lines(rf"\binit #\d+ params=.*{tag}")) == 1
    for start in (6, 11):
        await server.wait_for_line(
            rf"countdown #{number} from={start} end items={start + 1} completed"
        )
    events = rf"countdown #{number} from=(?:6|11) (?:start|end.*)"
    lines = [m.group(0) for m in server.find_lines(events)]
    assert lines.index(f"countdown #{number} from=11 start") < lines.index(
        f"countdown #{number} from=6 end items=7 completed"
    )


async def test_break_out_early_stops_server_and_reuses_connection(server: NodeServer) -> None:
    tag = marker()
    async with connected(server, init_payload={"tag": tag}) as session:
        received: list[Any] = []
        async for item in subscribe(session, COUNTDOWN, variables={"from": 500, "delay": 20}):
            received.append(item["countdown"])
            if len(received) == 3:
                break  # plain break, as application code does
        assert received == [500, 499, 498]
        number = await server.connection_number(tag)
        # the server saw the stop: its source stream ended long before 501 items
        stopped = await server.wait_for_line(
            rf"countdown #{number} from=500 end items=(\d+) stopped", scaled_timeout(5)
        )
        assert int(stopped.group(1)) < 20
        # and the connection is reused for the next operations
        assert await execute(session, "{ connectionParams }") == {
            "connectionParams": json.dumps({"tag": tag}, separators=(",", ":"))
        }
        assert await countdown(session, 2) == [2, 1, 0]
    await server.wait_for_line(rf"countdown #{number} from=2 end items=3 completed")
    assert len(server.find_lines(rf"\binit #\d+ params=.*{tag}")) == 1


async def test_subscription_error_mid_stream(server: NodeServer) -> None:
    tag = marker()
    async with connected(server, init_payload={"tag": tag}) as session:
        received: list[Any] = []
        stream = subscribe(session, "subscription { errorAfter(n: 3, delay_ms: 5) }")
        with pytest.raises(TransportQueryError) as caught:
            await collect(_record(stream, received))
        assert received == [{"errorAfter": 0}, {"errorAfter": 1}, {"errorAfter": 2}]
        # only that operation failed: the connection goes on
        assert await execute(session, "{ hello }") == {"hello": "Hello world!"}
        assert await countdown(session, 1) == [1, 0]
        number = await server.connection_number(tag)
    assert "errorAfter: failing after 3 items" in str(caught.value)
    await server.wait_for_line(rf"errorAfter #{number} n=3 failing")
    assert len(server.find_lines(rf"\binit #\d+ params=.*{tag}")) == 1


async def _record(stream: Any, into: list[Any]) -> Any:
    async with contextlib.aclosing(stream):
        async for item in stream:
            into.append(item)
            yield item


# -- the connection: init payload, rejection, ack payload ------------------------------


async def test_init_payload_visible_to_resolvers(server: NodeServer) -> None:
    payload = {"token": "secret-for-resolvers", "n": 7, "nested": {"list": [1, "two", None]}}
    async with connected(server, init_payload=payload) as session:
        result = await execute(session, "{ connectionParams }")
    assert json.loads(result["connectionParams"]) == payload


async def test_rejected_connection(server: NodeServer) -> None:
    transport = server.transport(init_payload={"reject": True})
    client = Client(transport=transport)
    with pytest.raises(TransportError) as caught:
        await asyncio.wait_for(client.connect_async(), scaled_timeout(5))
    if server.subprotocol == TRANSPORT_WS:
        # graphql-ws refuses by closing 4403 Forbidden
        assert_closed_with(caught.value, 4403, "forbidden")
    else:
        # subscriptions-transport-ws sends connection_error {message}, then closes
        assert isinstance(caught.value, TransportServerError), repr(caught.value)
        assert "connection_error" in str(caught.value)
        assert "Connection rejected by the server (reject=true)" in str(caught.value)
    await server.wait_for_line(r"\brejected #\d+")
    # the same transport connects once the server would accept it
    transport.init_payload = {"tag": marker()}
    session = await asyncio.wait_for(client.connect_async(), scaled_timeout(5))
    try:
        assert await execute(session, "{ hello }") == {"hello": "Hello world!"}
    finally:
        await asyncio.wait_for(client.close_async(), scaled_timeout(10))


async def test_ack_payload(graphql_ws_server: NodeServer) -> None:
    ack = {"server": "graphql-ws", "limits": {"ops": 3}, "flags": [True, None]}
    async with connected(graphql_ws_server, init_payload={"ackPayload": ack}) as session:
        assert session.transport.payloads["connection_ack"] == ack
        assert await execute(session, "{ hello }") == {"hello": "Hello world!"}


# -- keep-alive: a stream longer than the server's intervals -----------------------


async def test_stream_longer_than_keepalive_intervals(keepalive_server: NodeServer) -> None:
    server = keepalive_server
    interval = scaled_timeout(KEEPALIVE_INTERVAL)
    tag = marker()
    transport_args: dict[str, Any] = {"init_payload": {"tag": tag}}
    if server.subprotocol != TRANSPORT_WS:
        # gql's liveness check on `ka`: the connection fails unless every `ka` counts
        transport_args["keep_alive_timeout"] = 3 * interval
    gap_ms = round(2 * interval * 1000)  # items further apart than the intervals
    async with connected(server, **transport_args) as session:
        # ~1.2 s (unscaled): 4 gaps, each two keep-alive intervals long
        items = await countdown(session, 4, delay_ms=gap_ms)
        assert items == [4, 3, 2, 1, 0]
        assert await execute(session, "{ hello }") == {"hello": "Hello world!"}
        number = await server.connection_number(tag)
        if server.subprotocol == TRANSPORT_WS:
            # protocol pings were answered with pongs, PING frames with PONG frames
            assert session.transport.ping_received.is_set()
            assert len(server.find_lines(rf"\bgql-pong #{number}$")) >= 3
            assert len(server.find_lines(rf"\bws-pong #{number}$")) >= 3
    # the server never gave up on the connection: it ended with the client's close
    closed = await server.wait_for_line(rf"\bclosed #{number} code=(\d+)")
    assert int(closed.group(1)) in (1000, 1005), closed.group(0)


# -- subprotocol negotiation -------------------------------------------------------------


async def test_offering_only_the_other_subprotocol(server: NodeServer) -> None:
    transport = server.transport(subprotocols=[server.other_subprotocol])
    client = Client(transport=transport)
    with pytest.raises(TransportError) as caught:
        await asyncio.wait_for(client.connect_async(), scaled_timeout(5))
    if server.subprotocol == TRANSPORT_WS:
        # graphql-ws accepts the upgrade without a subprotocol, then closes 4406
        assert_closed_with(caught.value, 4406, "subprotocol")
    else:
        # subscriptions-transport-ws echoes the offered subprotocol, then closes 1002
        assert_closed_with(caught.value, 1002)


async def test_default_subprotocol_offer(server: NodeServer) -> None:
    """The default offer (graphql-transport-ws first) works against both servers.

    subscriptions-transport-ws (ws 7) echoes the client's first offer,
    graphql-transport-ws, which it cannot speak, and closes 1002; the transport
    then connects again offering the legacy protocol alone.
    """
    transport = server.transport(subprotocols=None)
    client = Client(transport=transport)
    session = await asyncio.wait_for(client.connect_async(), scaled_timeout(5))
    try:
        assert transport.subprotocol == server.subprotocol
        assert transport.subprotocols == (TRANSPORT_WS, LEGACY_WS)
        assert await execute(session, "{ hello }") == {"hello": "Hello world!"}
        stream = subscribe(session, "subscription { countdown(from: 2, delay_ms: 1) }")
        items = [item async for item in stream]
        assert items == [{"countdown": 2}, {"countdown": 1}, {"countdown": 0}]
    finally:
        await asyncio.wait_for(client.close_async(), scaled_timeout(10))


# -- the sync Client -----------------------------------------------------------------------


def test_sync_client(server: NodeServer, sync_loop: asyncio.AbstractEventLoop) -> None:
    # gql's sync Client with an async transport: each call connects, runs, closes.
    tag = marker()
    bounded = {
        name: scaled_timeout(5) for name in ("connect_timeout", "ack_timeout", "close_timeout")
    }
    client = Client(transport=server.transport(init_payload={"tag": tag}, **bounded))
    assert execute_sync(client, "{ hello }") == {"hello": "Hello world!"}
    assert execute_sync(
        client, "query Echo($input: String!) { echo(input: $input) }", variables={"input": "sync"}
    ) == {"echo": "sync"}
    items = [
        item["countdown"]
        for item in subscribe_sync(client, COUNTDOWN, variables={"from": 3, "delay": 5})
    ]
    assert items == [3, 2, 1, 0]
    with pytest.raises(TransportQueryError, match="intentional error"):
        execute_sync(client, "{ error }")
    params = execute_sync(client, "{ connectionParams }")["connectionParams"]
    assert json.loads(params) == {"tag": tag}
    assert not sync_loop.is_closed()
    # one connection per call, each one closed by the end of its call
    init_line = rf"\binit #(\d+) params=.*{tag}"
    assert server.wait_for_line_sync(init_line, scaled_timeout(5), count=5) is not None
    numbers = [int(m.group(1)) for m in server.find_lines(init_line)]
    assert len(set(numbers)) == 5
    for number in numbers:
        closed = server.wait_for_line_sync(rf"\bclosed #{number} code=(\d+)", scaled_timeout(5))
        assert closed is not None, server.output_tail()
        assert int(closed.group(1)) in (1000, 1005), closed.group(0)
