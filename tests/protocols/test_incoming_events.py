"""Every server message of both subprotocols, and the event each one becomes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from graphql import ExecutionResult

from gql_aiohttp_websockets.protocols import (
    Ack,
    ApolloHandler,
    Complete,
    ConnectionRejected,
    Event,
    GraphQLTransportWSHandler,
    Ignored,
    KeepAlive,
    Next,
    OperationError,
    Ping,
    Pong,
    ProtocolHandler,
    ServerNotice,
)

from .helpers import acknowledged, expecting

DATA = {"tick": 1}
ERRORS = [{"message": "boom", "path": ["tick"], "locations": [{"line": 1, "column": 3}]}]
EXTENSIONS = {"cost": 3}

# Result payloads accepted by both `next` (transport-ws) and `data` (legacy).
RESULTS: list[tuple[str, dict[str, Any], ExecutionResult]] = [
    ("data only", {"data": DATA}, ExecutionResult(DATA)),
    ("errors only", {"errors": ERRORS}, ExecutionResult(None, ERRORS)),  # type: ignore[arg-type]
    ("data and errors", {"data": DATA, "errors": ERRORS}, ExecutionResult(DATA, ERRORS)),  # type: ignore[arg-type]
    ("null data and errors", {"data": None, "errors": ERRORS}, ExecutionResult(None, ERRORS)),  # type: ignore[arg-type]
    ("null data", {"data": None}, ExecutionResult(None)),
    ("extensions", {"data": DATA, "extensions": EXTENSIONS},
     ExecutionResult(DATA, None, EXTENSIONS)),
    ("all three", {"data": DATA, "errors": ERRORS, "extensions": EXTENSIONS},
     ExecutionResult(DATA, ERRORS, EXTENSIONS)),  # type: ignore[arg-type]
    ("unknown result key", {"data": DATA, "hasNext": False}, ExecutionResult(DATA)),
]  # fmt: skip

TRANSPORT_WS: list[tuple[str, dict[str, Any], Event]] = [
    ("ack", {"type": "connection_ack"}, Ack()),
    ("ack null payload", {"type": "connection_ack", "payload": None}, Ack()),
    ("ack empty payload", {"type": "connection_ack", "payload": {}}, Ack({})),
    ("ack payload", {"type": "connection_ack", "payload": {"user": "u"}}, Ack({"user": "u"})),
    ("ping", {"type": "ping"}, Ping()),
    ("ping null payload", {"type": "ping", "payload": None}, Ping()),
    ("ping payload", {"type": "ping", "payload": {"at": 5}}, Ping({"at": 5})),
    ("pong", {"type": "pong"}, Pong()),
    ("pong null payload", {"type": "pong", "payload": None}, Pong()),
    ("pong payload", {"type": "pong", "payload": {"at": 5}}, Pong({"at": 5})),
    # Not objects, against PROTOCOL.md, but kept as they come, as gql keeps them.
    ("ack string payload (gql's test server)",
     {"type": "connection_ack", "payload": "dummy_connection_ack_payload"},
     Ack("dummy_connection_ack_payload")),
    ("ack array payload", {"type": "connection_ack", "payload": [1]}, Ack([1])),
    ("ping string payload", {"type": "ping", "payload": "hi"}, Ping("hi")),
    ("ping array payload", {"type": "ping", "payload": [1]}, Ping([1])),
    ("pong number payload", {"type": "pong", "payload": 1}, Pong(1)),
    *[
        (f"next {name}", {"type": "next", "id": "1", "payload": payload}, Next(1, result))
        for name, payload, result in RESULTS
    ],
    ("error one", {"type": "error", "id": "2", "payload": ERRORS}, OperationError(2, ERRORS)),
    ("error two", {"type": "error", "id": "2", "payload": [{"message": "a"}, {"message": "b"}]},
     OperationError(2, [{"message": "a"}, {"message": "b"}])),
    ("complete", {"type": "complete", "id": "3"}, Complete(3)),
    ("complete null payload", {"type": "complete", "id": "3", "payload": None}, Complete(3)),
    ("id zero", {"type": "complete", "id": "0"}, Complete(0)),
    ("id 18 digits", {"type": "complete", "id": "9" * 18}, Complete(int("9" * 18))),
    ("unknown keys on ack", {"type": "connection_ack", "extra": [1]}, Ack()),
    ("unknown keys on next", {"type": "next", "id": "4", "payload": {"data": DATA}, "x": 1},
     Next(4, ExecutionResult(DATA))),
    ("unknown keys on error", {"id": "5", "payload": ERRORS, "type": "error", "x": None},
     OperationError(5, ERRORS)),
    # Mercurius rejects connection_init with the legacy message on this subprotocol too.
    ("connection_error (Mercurius)",
     {"type": "connection_error", "payload": {"message": "Forbidden"}},
     ConnectionRejected({"message": "Forbidden"})),
    ("connection_error no payload", {"type": "connection_error"}, ConnectionRejected()),
]  # fmt: skip

LEGACY: list[tuple[str, dict[str, Any], Event]] = [
    ("ack", {"type": "connection_ack"}, Ack()),
    ("ack with payload (Strawberry)", {"type": "connection_ack", "payload": {"a": 1}},
     Ack({"a": 1})),
    ("ack with string payload", {"type": "connection_ack", "payload": "ok"}, Ack("ok")),
    ("connection_error", {"type": "connection_error", "payload": {"message": "no"}},
     ConnectionRejected({"message": "no"})),
    ("connection_error null id",
     {"type": "connection_error", "id": None, "payload": {"message": "no"}},
     ConnectionRejected({"message": "no"})),
    ("connection_error no payload", {"type": "connection_error"}, ConnectionRejected()),
    ("ka", {"type": "ka"}, KeepAlive()),
    ("ka with payload", {"type": "ka", "payload": None}, KeepAlive()),
    *[
        (f"data {name}", {"type": "data", "id": "1", "payload": payload}, Next(1, result))
        for name, payload, result in RESULTS
    ],
    ("error", {"type": "error", "id": "2", "payload": {"message": "bad"}},
     OperationError(2, [{"message": "bad"}])),
    ("error with name", {"type": "error", "id": "2", "payload": {"name": "Error", "message": "x"}},
     OperationError(2, [{"name": "Error", "message": "x"}])),
    # gqlgen and Mercurius send the list graphql-transport-ws has.
    ("error list (gqlgen, Mercurius)",
     {"type": "error", "id": "2", "payload": [{"message": "bad", "locations": [], "path": []}]},
     OperationError(2, [{"message": "bad", "locations": [], "path": []}])),
    ("error list of two",
     {"type": "error", "id": "2", "payload": [{"message": "a"}, {"message": "b"}]},
     OperationError(2, [{"message": "a"}, {"message": "b"}])),
    # Hasura and django-channels-graphql-ws wrap the list as a result does.
    ("error wrapping errors (Hasura)",
     {"type": "error", "id": "2", "payload": {"errors": [{"message": "a"}]}},
     OperationError(2, [{"message": "a"}])),
    ("error object with a message and errors",
     {"type": "error", "id": "2", "payload": {"message": "m", "errors": [{"message": "a"}]}},
     OperationError(2, [{"message": "m", "errors": [{"message": "a"}]}])),
    ("error wrapping no errors", {"type": "error", "id": "2", "payload": {"errors": []}},
     OperationError(2, [{"errors": []}])),
    # AppSync confirms each start; nothing for the operation in it.
    ("start_ack (AppSync)", {"type": "start_ack", "id": "1"}, Ignored("start_ack")),
    ("start_ack with payload", {"type": "start_ack", "id": "1", "payload": {}},
     Ignored("start_ack")),
    ("error without id", {"type": "error", "payload": {"message": "Invalid message type!"}},
     ServerNotice({"message": "Invalid message type!"})),
    ("error with null id", {"type": "error", "id": None, "payload": {"message": "m"}},
     ServerNotice({"message": "m"})),
    ("error without id nor payload", {"type": "error"}, ServerNotice()),
    ("complete", {"type": "complete", "id": "3"}, Complete(3)),
    ("complete null payload (reference)", {"type": "complete", "id": "3", "payload": None},
     Complete(3)),
    ("id zero", {"type": "complete", "id": "0"}, Complete(0)),
    ("unknown keys on data", {"type": "data", "id": "4", "payload": {"data": DATA}, "x": 1},
     Next(4, ExecutionResult(DATA))),
    ("unknown keys on ka", {"type": "ka", "x": {}}, KeepAlive()),
]  # fmt: skip

CASES = [
    pytest.param(GraphQLTransportWSHandler, message, event, id=f"transport-ws {name}")
    for name, message, event in TRANSPORT_WS
] + [
    pytest.param(ApolloHandler, message, event, id=f"legacy {name}")
    for name, message, event in LEGACY
]


@pytest.mark.parametrize(("handler_class", "message", "expected"), CASES)
def test_receive(
    handler_class: type[ProtocolHandler], message: dict[str, Any], expected: Event
) -> None:
    event = expecting(handler_class(), expected).receive(json.dumps(message))
    assert type(event) is type(expected)
    assert event == expected


@pytest.mark.parametrize(("handler_class", "message", "expected"), CASES)
def test_receive_compact_json(
    handler_class: type[ProtocolHandler], message: dict[str, Any], expected: Event
) -> None:
    handler = expecting(handler_class(), expected)
    assert handler.receive(json.dumps(message, separators=(",", ":"))) == expected


@pytest.mark.parametrize("handler_class", [GraphQLTransportWSHandler, ApolloHandler])
def test_next_result_fields(handler_class: type[ProtocolHandler]) -> None:
    kind = "next" if handler_class is GraphQLTransportWSHandler else "data"
    frame = {"type": kind, "id": "7", "payload": {"data": DATA, "errors": ERRORS, "extensions": {}}}
    event = acknowledged(handler_class()).receive(json.dumps(frame))
    assert isinstance(event, Next)
    assert event.op_id == 7
    assert event.result.data == DATA
    assert event.result.errors == ERRORS
    assert event.result.extensions == {}
