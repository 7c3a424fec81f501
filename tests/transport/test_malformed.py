"""Malformed frames fail the connection with TransportProtocolError, never silently."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gql.transport.exceptions import TransportProtocolError

from gql_aiohttp_websockets.lifecycle import State
from gql_aiohttp_websockets.testing import ScriptedWebsocketServer, scaled_timeout
from tests.helpers import doc, until_failure, within
from tests.transport.conftest import MakeTransport

NEXT_TYPE = {"graphql-transport-ws": "next", "graphql-ws": "data"}

# (id, frame to send after one good result, expected fragment of the error message)
FAULTS = [
    ("not-json", "this is not json", "not valid JSON"),
    ("array", "[1,2,3]", "JSON array where an object is expected"),
    ("string", '"hello"', "JSON string where an object is expected"),
    ("unknown-type", '{"type": "surprise"}', "unknown message type 'surprise'"),
    ("no-type", '{"id": "1"}', "no string 'type'"),
    ("numeric-id", '{"type": "{next}", "id": 1, "payload": {"data": {}}}', "not a string"),
    ("no-id", '{"type": "{next}", "payload": {"data": {}}}', "has no 'id'"),
    ("word-id", '{"type": "{next}", "id": "abc", "payload": {"data": {}}}', "id 'abc'"),
    ("payload-not-object", '{"type": "{next}", "id": "1", "payload": [1]}', "not a GraphQL result"),
    # Compact frames whose payload is decoded only when the consumer takes it.
    ("payload-not-json", '{"id":"1","type":"{next}","payload":{"data":{"x":}}}', "not valid JSON"),
    ("errors-not-list", '{"id":"1","type":"{next}","payload":{"errors":5}}', "not a list"),
    ("no-closing-brace", '{"id":"1","type":"{next}","payload":{"data":{}}', "not valid JSON"),
    (
        "type-repeated",
        '{"id":"1","type":"{next}","payload":{"data":{}},"type":"complete"}',
        "repeats its 'type'",
    ),
]


@pytest.mark.parametrize(("name", "frame", "fragment"), FAULTS, ids=[f[0] for f in FAULTS])
async def test_a_malformed_frame_fails_every_waiting_operation(
    make_transport: MakeTransport, subprotocol: str, name: str, frame: str, fragment: str
) -> None:
    async def one_result_then_garbage(conn: Any) -> None:
        await conn.accept_init()
        first = await conn.receive_json()
        await conn.receive_json()  # the second operation
        await conn.send_json(
            {"type": NEXT_TYPE[conn.subprotocol], "id": first["id"], "payload": {"data": {"ok": 1}}}
        )
        await conn.send_text(frame.replace("{next}", NEXT_TYPE[conn.subprotocol]))
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(
        one_result_then_garbage, subprotocols=(subprotocol,)
    ) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        outcomes = await within(asyncio.gather(until_failure(transport), until_failure(transport)))
        assert outcomes[0][0] == [{"ok": 1}], "the result before the fault is delivered first"
        assert outcomes[1][0] == []
        for _, error in outcomes:
            assert isinstance(error, TransportProtocolError)
            assert fragment in str(error)
        await within(transport.wait_closed())
        assert transport.state is State.CLOSED
        code = await server.connections[0].wait_closed(scaled_timeout(5))
        assert code == (4004 if subprotocol == "graphql-transport-ws" else 1002)
        await within(transport.connect())
        assert transport.state is State.OPEN


async def test_a_binary_frame_is_a_protocol_error(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    async def binary(conn: Any) -> None:
        await conn.accept_init()
        await conn.receive_json()
        await conn.send_bytes(b"\x00\x01")
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(binary, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        _, error = await within(until_failure(transport))
        assert isinstance(error, TransportProtocolError)
        assert "binary frame (2 bytes)" in str(error)


# What the server sends for an operation after the client stopped it.
LATE = {
    "a-result-and-complete": [
        '{{"type": "{next}", "id": "{id}", "payload": {{"data": {{"n": 2}}}}}}',
        '{{"type": "complete", "id": "{id}"}}',
    ],
    # Nobody listens any more: even a broken result is dropped unread.
    "a-broken-result": ['{{"id":"{id}","type":"{next}","payload":{{"x":}}}}'],
}


@pytest.mark.parametrize("late_frames", LATE.values(), ids=LATE.keys())
async def test_late_messages_for_a_stopped_operation_are_ignored(
    make_transport: MakeTransport, subprotocol: str, late_frames: list[str]
) -> None:
    next_type = NEXT_TYPE[subprotocol]

    async def late(conn: Any) -> None:
        await conn.accept_init()
        first = await conn.receive_json()
        await conn.send_json({"type": next_type, "id": first["id"], "payload": {"data": {"n": 1}}})
        stop = await conn.receive_json()
        assert stop["type"] in ("stop", "complete")
        for frame in late_frames:
            await conn.send_text(frame.format(next=next_type, id=first["id"]))
        second = await conn.receive_json()
        await conn.send_json({"type": next_type, "id": second["id"], "payload": {"data": {"n": 3}}})
        await conn.send_json({"type": "complete", "id": second["id"]})
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(late, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        results = transport.subscribe(doc("subscription { countdown(from: 3) }"))
        async for result in results:
            assert result.data == {"n": 1}
            break
        await results.aclose()
        result = await within(transport.execute(doc("{ hello }")))
        assert result.data == {"n": 3}
        assert transport.state is State.OPEN
