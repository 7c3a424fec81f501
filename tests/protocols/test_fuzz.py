"""Property-based tests: whatever a server sends, receive() returns a well-formed event or raises
TransportProtocolError, nothing else.

Profiles live in conftest.py: ``ci`` by default, ``HYPOTHESIS_PROFILE=deep`` for long runs.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from gql.transport.exceptions import TransportProtocolError
from graphql import ExecutionResult
from hypothesis import given
from hypothesis import strategies as st

from gql_aiohttp_websockets.protocols import (
    Ack,
    ApolloHandler,
    Complete,
    ConnectionRejected,
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

from .helpers import acknowledged

pytestmark = pytest.mark.fuzz

HANDLERS = [GraphQLTransportWSHandler, ApolloHandler]
EVENT_TYPES = (
    Ack,
    Next,
    OperationError,
    Complete,
    Ping,
    Pong,
    Ignored,
    KeepAlive,
    ConnectionRejected,
    ServerNotice,
)
# Longest error message allowed whatever the frame: the frame and any value echoed
# from it are elided.
MESSAGE_LIMIT = 400

KNOWN_TYPES = [
    # graphql-transport-ws
    "connection_init",
    "connection_ack",
    "ping",
    "pong",
    "subscribe",
    "next",
    "error",
    "complete",
    # legacy graphql-ws
    "connection_error",
    "connection_terminate",
    "ka",
    "start",
    "data",
    "stop",
]

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=4)

# Result payloads that often get past the first checks, so the later ones are reached.
error_lists = st.lists(
    st.fixed_dictionaries({"message": st.text(max_size=10)}) | json_values, max_size=3
)
valid_results = st.fixed_dictionaries(
    {"data": st.none() | json_objects},
    optional={"errors": error_lists, "extensions": json_objects},
)
results = valid_results | st.fixed_dictionaries(
    {},
    optional={
        "data": st.none() | json_objects | json_values,
        "errors": st.none() | error_lists | json_values,
        "extensions": st.none() | json_objects | json_values,
    },
)

# Types servers send, in either subprotocol, come up more often than the others.
SERVER_TYPES = [
    "connection_ack",
    "connection_error",
    "ka",
    "ping",
    "pong",
    "next",
    "data",
    "error",
    "complete",
    "start_ack",
]
known_types = st.sampled_from(SERVER_TYPES) | st.sampled_from(KNOWN_TYPES)
junk_types = st.text(max_size=12) | json_scalars
decimal_ids = st.integers(min_value=0, max_value=10**6).map(str) | st.from_regex(
    r"[0-9]{0,21}", fullmatch=True
)
junk_ids = st.text(max_size=8) | json_values
error_objects = st.fixed_dictionaries(
    {"message": st.text(max_size=10)}, optional={"name": st.text(max_size=5)}
)
payloads = results | error_lists | error_objects | json_values


PAYLOADS_BY_TYPE = {
    "next": results,
    "data": results,
    "error": error_lists | error_objects,
    "connection_error": error_objects,
}


def often(draw: st.DrawFn, percent: int) -> bool:
    """Draw True about ``percent`` times in a hundred (uniformly, unlike small integers)."""
    return draw(st.sampled_from(range(100))) < percent


@st.composite
def near_valid_messages(draw: st.DrawFn) -> dict[str, Any]:
    """A message object that is often valid, and otherwise wrong in one or two fields."""
    message: dict[str, Any] = {}
    if often(draw, 95):
        message["type"] = draw(known_types if often(draw, 85) else junk_types)
    if often(draw, 80):
        message["id"] = draw(decimal_ids if often(draw, 80) else junk_ids)
    if often(draw, 80):
        fitting = PAYLOADS_BY_TYPE.get(message.get("type"))  # type: ignore[arg-type]
        message["payload"] = draw(fitting if fitting is not None and often(draw, 75) else payloads)
    if often(draw, 15):
        message[draw(st.text(max_size=8))] = draw(json_values)
    return message


def check_receive(handler: ProtocolHandler, text: str) -> None:
    """Feed one frame and check the outcome is one of the two allowed ones."""
    try:
        event = handler.receive(text)
    except TransportProtocolError as error:
        message = str(error)
        # Malformed frames name the subprotocol; frames out of turn, the ack.
        assert handler.subprotocol in message or "connection_ack" in message
        assert len(message) < MESSAGE_LIMIT
        return
    assert isinstance(event, EVENT_TYPES)
    if isinstance(event, (Next, OperationError, Complete)):
        assert type(event.op_id) is int
        assert event.op_id >= 0
    if isinstance(event, Next):
        assert isinstance(event.result, ExecutionResult)
        assert event.result.data is None or type(event.result.data) is dict
        assert event.result.errors is None or type(event.result.errors) is list
        assert (
            event.result.data is not None
            or event.result.errors is not None
            or ("data" in json.loads(text)["payload"])
        )
    if isinstance(event, OperationError):
        assert type(event.errors) is list
        assert event.errors
    if isinstance(event, (Ping, Pong, Ack)):
        # Kept as it came, whatever it is (as gql keeps it).
        assert event.payload == json.loads(text).get("payload")
    if isinstance(event, (KeepAlive, ServerNotice)):
        assert isinstance(handler, ApolloHandler)
    if isinstance(event, Ignored):
        assert event.message_type in handler.ignored_types
    if isinstance(event, (Ping, Pong)):
        assert isinstance(handler, GraphQLTransportWSHandler)


@pytest.mark.parametrize("handler_class", HANDLERS)
@given(text=st.text())
def test_arbitrary_text(handler_class: type[ProtocolHandler], text: str) -> None:
    check_receive(acknowledged(handler_class()), text)


@pytest.mark.parametrize("handler_class", HANDLERS)
@given(value=json_values)
def test_arbitrary_json(handler_class: type[ProtocolHandler], value: Any) -> None:
    check_receive(acknowledged(handler_class()), json.dumps(value))


@pytest.mark.parametrize("handler_class", HANDLERS)
@given(message=near_valid_messages())
def test_near_valid_messages(handler_class: type[ProtocolHandler], message: dict[str, Any]) -> None:
    check_receive(acknowledged(handler_class()), json.dumps(message))


@pytest.mark.parametrize("handler_class", HANDLERS)
@given(
    op_id=st.integers(min_value=0, max_value=10**18 - 1),
    payload=st.dictionaries(st.text(max_size=5), json_scalars, max_size=3),
)
def test_ids_round_trip(
    handler_class: type[ProtocolHandler], op_id: int, payload: dict[str, Any]
) -> None:
    handler = acknowledged(handler_class())
    started = json.loads(handler.start(op_id, payload))
    assert started["id"] == str(op_id)
    assert started["payload"] == payload
    assert json.loads(handler.stop(op_id))["id"] == str(op_id)
    # The server echoes the id; the handler gives back the same number.
    assert handler.receive(json.dumps({"type": "complete", "id": started["id"]})) == Complete(op_id)
