"""Every frame the handlers build, compared as JSON with what the subprotocol expects."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from gql_aiohttp_websockets.protocols import (
    ApolloHandler,
    GraphQLTransportWSHandler,
    ProtocolHandler,
)
from gql_aiohttp_websockets.request_payload import ReusedPayload

TWS = GraphQLTransportWSHandler
LEGACY = ApolloHandler

QUERY = {"query": "subscription { tick }", "variables": {"n": 3}, "operationName": None}

Build = Callable[[ProtocolHandler], str | None]

# (handler class, what the client asks for, the frame expected on the wire or None)
FRAMES: list[tuple[type[ProtocolHandler], Build, dict[str, Any] | None]] = [
    # connection_init
    (TWS, lambda h: h.connection_init({"token": "t"}), {
        "type": "connection_init", "payload": {"token": "t"}}),
    (TWS, lambda h: h.connection_init({}), {"type": "connection_init", "payload": {}}),
    (TWS, lambda h: h.connection_init(None), {"type": "connection_init", "payload": None}),
    (LEGACY, lambda h: h.connection_init({"token": "t"}), {
        "type": "connection_init", "payload": {"token": "t"}}),
    (LEGACY, lambda h: h.connection_init({}), {"type": "connection_init", "payload": {}}),
    (LEGACY, lambda h: h.connection_init(None), {"type": "connection_init", "payload": None}),
    # start an operation: subscribe vs start, ids as decimal strings
    (TWS, lambda h: h.start(1, QUERY), {"id": "1", "type": "subscribe", "payload": QUERY}),
    (TWS, lambda h: h.start(0, {"query": "{a}"}), {
        "id": "0", "type": "subscribe", "payload": {"query": "{a}"}}),
    (TWS, lambda h: h.start(12345, {"query": "{a}"}), {
        "id": "12345", "type": "subscribe", "payload": {"query": "{a}"}}),
    (LEGACY, lambda h: h.start(1, QUERY), {"id": "1", "type": "start", "payload": QUERY}),
    (LEGACY, lambda h: h.start(12345, {"query": "{a}"}), {
        "id": "12345", "type": "start", "payload": {"query": "{a}"}}),
    # stop an operation: client complete vs stop
    (TWS, lambda h: h.stop(1), {"id": "1", "type": "complete"}),
    (TWS, lambda h: h.stop(987), {"id": "987", "type": "complete"}),
    (LEGACY, lambda h: h.stop(1), {"id": "1", "type": "stop"}),
    (LEGACY, lambda h: h.stop(987), {"id": "987", "type": "stop"}),
    # ping / pong: transport-ws only
    (TWS, lambda h: h.ping(), {"type": "ping"}),
    (TWS, lambda h: h.ping(None), {"type": "ping"}),
    (TWS, lambda h: h.ping({"at": 1}), {"type": "ping", "payload": {"at": 1}}),
    (TWS, lambda h: h.ping({}), {"type": "ping", "payload": {}}),
    (TWS, lambda h: h.pong(), {"type": "pong"}),
    (TWS, lambda h: h.pong({"at": 1}), {"type": "pong", "payload": {"at": 1}}),
    (TWS, lambda h: h.pong({}), {"type": "pong", "payload": {}}),
    (LEGACY, lambda h: h.ping(), None),
    (LEGACY, lambda h: h.ping({"at": 1}), None),
    (LEGACY, lambda h: h.pong(), None),
    (LEGACY, lambda h: h.pong({"at": 1}), None),
    # terminate: legacy only
    (TWS, lambda h: h.terminate(), None),
    (LEGACY, lambda h: h.terminate(), {"type": "connection_terminate"}),
]  # fmt: skip


@pytest.mark.parametrize(("handler_class", "build", "expected"), FRAMES)
def test_frame(
    handler_class: type[ProtocolHandler], build: Build, expected: dict[str, Any] | None
) -> None:
    frame = build(handler_class())
    if expected is None:
        assert frame is None
    else:
        assert isinstance(frame, str)
        assert json.loads(frame) == expected


@pytest.mark.parametrize(("handler_class", "supports_ping"), [(TWS, True), (LEGACY, False)])
def test_supports_ping_matches_ping_frames(
    handler_class: type[ProtocolHandler], supports_ping: bool
) -> None:
    assert handler_class.supports_ping is supports_ping
    assert (handler_class().ping() is not None) is supports_ping


@pytest.mark.parametrize(
    ("handler_class", "subprotocol"),
    [(TWS, "graphql-transport-ws"), (LEGACY, "graphql-ws")],
)
def test_subprotocol_name(handler_class: type[ProtocolHandler], subprotocol: str) -> None:
    assert handler_class.subprotocol == subprotocol


@pytest.mark.parametrize("handler_class", [TWS, LEGACY])
@pytest.mark.parametrize(
    "dumps",
    [json.dumps, lambda value: orjson.dumps(value).decode()],
    ids=["json", "orjson"],
)
def test_a_reused_payload_is_encoded_once_and_framed_the_same(
    handler_class: type[ProtocolHandler], dumps: Any
) -> None:
    calls: list[Any] = []

    def counting_dumps(value: Any) -> str:
        calls.append(value)
        return str(dumps(value))

    handler = handler_class(json_serialize=counting_dumps)
    payload = ReusedPayload(query="{ a }", operationName="A")
    frames = [handler.start(op_id, payload) for op_id in (1, 2, 3)]
    assert calls == [payload], "the payload alone, and only once"
    plain = handler_class()
    for op_id, frame in zip((1, 2, 3), frames, strict=True):
        assert json.loads(frame) == json.loads(plain.start(op_id, dict(payload)))
    # The ids are remembered for the lazy path as with any other start.
    assert handler.route(f'{{"id":"3","type":"{handler.result_type}","payload":{{"data":{{}}}}}}')
