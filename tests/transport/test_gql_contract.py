"""What gql's own test suites pin down, checked against the package's servers.

Each test names the behaviour gql users rely on; gql's suites run against this
package in the conformance stage, and these say why without gql's files.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gql import Client
from gql.transport.exceptions import TransportAlreadyConnected

from gql_aiohttp_websockets import TransportConnectionClosed
from gql_aiohttp_websockets.exceptions import TransportConnectionFailed
from gql_aiohttp_websockets.lifecycle import State
from gql_aiohttp_websockets.testing import ScriptedWebsocketServer, scaled_timeout
from tests.gql_compat import request
from tests.helpers import doc, within
from tests.transport.conftest import MakeTransport

NEXT_TYPE = {"graphql-transport-ws": "next", "graphql-ws": "data"}


async def send_result(conn: Any, op_id: str, data: dict[str, Any]) -> None:
    """Send one result to operation ``op_id`` in the connection's subprotocol."""
    await conn.send_json(
        {"type": NEXT_TYPE[conn.subprotocol], "id": op_id, "payload": {"data": data}}
    )


async def answer_first_operation(conn: Any) -> str:
    """Accept the init, answer the first operation with ``{"n": 1}``; return its id."""
    await conn.accept_init()
    started = await conn.receive_json()
    await send_result(conn, started["id"], {"n": 1})
    return str(started["id"])


@pytest.mark.parametrize("payload", ["dummy_connection_ack_payload", [1, 2], 7, None])
async def test_any_connection_ack_payload_is_accepted_and_kept(
    make_transport: MakeTransport, subprotocol: str, payload: Any
) -> None:
    async def odd_ack(conn: Any) -> None:
        await conn.receive_json()
        await conn.send_json({"type": "connection_ack", "payload": payload})
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(odd_ack, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        assert transport.payloads["connection_ack"] == payload
        await within(transport.close())


async def test_messages_for_ids_never_started_are_ignored(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    async def strays_then_answer(conn: Any) -> None:
        await conn.accept_init()
        started = await conn.receive_json()
        await conn.send_json({"type": "complete", "id": "55"})
        await send_result(conn, "56", {"n": 0})
        error = {"message": "for no operation"}
        legacy = subprotocol == "graphql-ws"
        await conn.send_json(
            {"type": "error", "id": "404", "payload": error if legacy else [error]}
        )
        await send_result(conn, started["id"], {"n": 1})
        await conn.send_json({"type": "complete", "id": started["id"]})
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(strays_then_answer, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        result = await within(transport.execute(doc("{ hello }")))
        assert result.data == {"n": 1}
        assert transport.state is State.OPEN
        await within(transport.close())


async def test_close_waits_for_the_servers_complete_of_a_legacy_subscription(
    make_transport: MakeTransport,
) -> None:
    # Legacy servers answer stop with complete: close() waits for it, and the
    # consumer's loop ends normally, every result before it delivered.
    async def answers_stop(conn: Any) -> None:
        op_id = await answer_first_operation(conn)
        stop = await conn.receive_json()
        assert stop == {"type": "stop", "id": op_id}
        await send_result(conn, op_id, {"n": 2})
        await conn.send_json({"type": "complete", "id": op_id})
        assert (await conn.receive_json()) == {"type": "connection_terminate"}
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(answers_stop, subprotocols=("graphql-ws",)) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        seen: list[Any] = []
        async for result in transport.subscribe(doc("subscription { countdown(from: 3) }")):
            seen.append(result.data)
            if len(seen) == 1:
                # From inside the loop: close() must not wait for the loop to go on.
                await within(transport.close())
        assert seen == [{"n": 1}, {"n": 2}]
        assert transport.state is State.CLOSED


async def test_close_fails_what_is_still_running_after_close_timeout(
    make_transport: MakeTransport,
) -> None:
    async def never_completes(conn: Any) -> None:
        await answer_first_operation(conn)
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(never_completes, subprotocols=("graphql-ws",)) as server:
        transport = make_transport(server.url, close_timeout=0.2)
        await within(transport.connect())
        results = transport.subscribe(doc("subscription { countdown(from: 3) }"))
        assert (await within(results.__anext__())).data == {"n": 1}
        closing = asyncio.ensure_future(transport.close())
        with pytest.raises(Exception, match="closed by user"):
            await within(results.__anext__())
        await within(closing)


async def test_a_closed_websocket_is_a_connection_reset_error(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    async def closes_after_one(conn: Any) -> None:
        await answer_first_operation(conn)
        await conn.close(1011, "bye")

    async with ScriptedWebsocketServer(closes_after_one, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        results = transport.subscribe(doc("subscription { countdown(from: 3) }"))
        assert (await within(results.__anext__())).data == {"n": 1}
        with pytest.raises(ConnectionResetError) as raised:
            await within(results.__anext__())
        assert isinstance(raised.value, TransportConnectionClosed)
        assert raised.value.code == 1011
        await within(transport.close())


async def test_a_second_client_context_does_not_end_the_first_ones_connection(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    # gql bug #105: two tasks enter `async with client` at once; the second is
    # refused, and the first connects and runs.
    async def serves(conn: Any) -> None:
        op_id = await answer_first_operation(conn)
        await conn.send_json({"type": "complete", "id": op_id})
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(serves, subprotocols=(subprotocol,)) as server:
        client = Client(transport=make_transport(server.url))

        query, kwargs = request("{ hello }")

        async def use() -> Any:
            async with client as session:
                return await session.execute(query, **kwargs)

        outcomes = await within(
            asyncio.gather(use(), use(), return_exceptions=True)  # type: ignore[arg-type]
        )
        assert outcomes[0] == {"n": 1}
        assert isinstance(outcomes[1], TransportAlreadyConnected)


async def test_close_during_a_slow_connect_still_ends_it(make_transport: MakeTransport) -> None:
    init_received = asyncio.Event()

    async def never_acks(conn: Any) -> None:
        await conn.receive_json()
        init_received.set()
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(
        never_acks, subprotocols=("graphql-transport-ws",)
    ) as server:
        transport = make_transport(server.url, ack_timeout=scaled_timeout(10))
        connecting = asyncio.ensure_future(transport.connect())
        await within(init_received.wait())
        await within(transport.close())
        with pytest.raises(Exception, match="close"):
            await within(connecting)
        assert transport.state is State.CLOSED


async def test_a_websocket_set_to_none_fails_sends_and_close_still_closes_it(
    make_transport: MakeTransport, server: Any
) -> None:
    # gql's own tests null the attribute to stand for a transport whose
    # websocket is gone: operations fail with gql 3.x's words, and close()
    # must still end the websocket that was opened, promptly.
    transport = make_transport(server.url)
    await within(transport.connect())
    transport.websocket = None
    assert transport.websocket is None
    with pytest.raises(TransportConnectionFailed) as caught:
        async for _ in transport.subscribe(doc("subscription { countdown(from: 2) }")):
            pass
    assert str(caught.value) == "WebSocket connection is closed"
    started = asyncio.get_running_loop().time()
    await within(transport.close())
    assert asyncio.get_running_loop().time() - started < scaled_timeout(5)
    assert transport.state is State.CLOSED
    assert await within(server.connections[0].wait_closed(scaled_timeout(5))) is not None
