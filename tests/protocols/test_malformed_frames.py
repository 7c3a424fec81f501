"""Malformed server messages: a TransportProtocolError naming the problem and quoting the frame."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gql.transport.exceptions import TransportProtocolError

from gql_aiohttp_websockets.protocols import (
    ApolloHandler,
    GraphQLTransportWSHandler,
    ProtocolHandler,
)
from gql_aiohttp_websockets.protocols.wording import ELIDE_AT, elide

from .helpers import acknowledged

TWS = (GraphQLTransportWSHandler,)
LEGACY = (ApolloHandler,)
BOTH = (GraphQLTransportWSHandler, ApolloHandler)

RESULT = {"data": {"a": 1}}

# (handlers, frame: raw text or a message to serialize, fragment of the error message)
MALFORMED: list[tuple[str, tuple[type[ProtocolHandler], ...], str | dict[str, Any], str]] = [
    # not JSON at all
    ("empty", BOTH, "", "it is not valid JSON"),
    ("garbage", BOTH, "hello", "it is not valid JSON"),
    ("truncated", BOTH, '{"type": "ka"', "it is not valid JSON"),
    ("single quotes", BOTH, "{'type': 'ka'}", "it is not valid JSON"),
    ("trailing garbage", BOTH, '{"type": "ka"} x', "it is not valid JSON"),
    # JSON, but not an object
    ("array", BOTH, "[1,2,3]", "it is a JSON array where an object is expected"),
    ("string", BOTH, '"connection_ack"', "it is a JSON string where an object is expected"),
    ("number", BOTH, "42", "it is a JSON number where an object is expected"),
    ("float", BOTH, "4.5", "it is a JSON number where an object is expected"),
    ("null", BOTH, "null", "it is a JSON null where an object is expected"),
    ("true", BOTH, "true", "it is a JSON boolean where an object is expected"),
    ("false", BOTH, "false", "it is a JSON boolean where an object is expected"),
    # type
    ("empty object", BOTH, {}, "it has no string 'type'"),
    ("missing type", BOTH, {"id": "1", "payload": RESULT}, "it has no string 'type'"),
    ("null type", BOTH, {"type": None}, "it has no string 'type'"),
    ("numeric type", BOTH, {"type": 1}, "it has no string 'type'"),
    ("list type", BOTH, {"type": ["ka"]}, "it has no string 'type'"),
    ("object type", BOTH, {"type": {"ka": 1}}, "it has no string 'type'"),
    ("unknown type", BOTH, {"type": "hello"}, "unknown message type 'hello'"),
    ("empty type", BOTH, {"type": ""}, "unknown message type ''"),
    ("type wrong case", BOTH, {"type": "Complete", "id": "1"}, "unknown message type 'Complete'"),
    # id
    ("missing id", TWS, {"type": "next", "payload": RESULT}, "a 'next' message has no 'id'"),
    ("missing id", LEGACY, {"type": "data", "payload": RESULT}, "a 'data' message has no 'id'"),
    ("null id", TWS, {"type": "complete", "id": None}, "a 'complete' message has no 'id'"),
    ("missing id on error", TWS, {"type": "error", "payload": [{"message": "m"}]},
     "an 'error' message has no 'id'"),
    ("missing id on complete", BOTH, {"type": "complete"}, "a 'complete' message has no 'id'"),
    ("numeric id", TWS, {"type": "next", "id": 1, "payload": RESULT},
     "the 'id' of a 'next' message is a number, not a string"),
    ("numeric id", LEGACY, {"type": "data", "id": 1, "payload": RESULT},
     "the 'id' of a 'data' message is a number, not a string"),
    ("numeric id on error", BOTH, {"type": "error", "id": 1, "payload": [{"message": "m"}]},
     "the 'id' of an 'error' message is a number, not a string"),
    ("boolean id", BOTH, {"type": "complete", "id": True},
     "the 'id' of a 'complete' message is a boolean, not a string"),
    ("array id", BOTH, {"type": "complete", "id": ["1"]},
     "the 'id' of a 'complete' message is an array, not a string"),
    ("object id", BOTH, {"type": "complete", "id": {}},
     "the 'id' of a 'complete' message is an object, not a string"),
    ("empty id", BOTH, {"type": "complete", "id": ""}, "id '' is not one this client issues"),
    ("uuid id", BOTH, {"type": "complete", "id": "0f9c1b1e-5f34-4b8e-9d6c-6a1f0e0f0d3a"},
     "id '0f9c1b1e-5f34-4b8e-9d6c-6a1f0e0f0d3a' is not one this client issues"),
    ("negative id", BOTH, {"type": "complete", "id": "-1"}, "id '-1' is not one this client"),
    ("decimal point id", BOTH, {"type": "complete", "id": "1.0"}, "id '1.0' is not one"),
    ("padded id", BOTH, {"type": "complete", "id": " 1"}, "id ' 1' is not one"),
    ("plus id", BOTH, {"type": "complete", "id": "+1"}, "id '+1' is not one"),
    ("underscore id", BOTH, {"type": "complete", "id": "1_000"}, "id '1_000' is not one"),
    ("fullwidth digit id", BOTH, {"type": "complete", "id": "\uff11"}, "id '\uff11' is not one"),
    ("superscript id", BOTH, {"type": "complete", "id": "\u00b2"}, "id '\u00b2' is not one"),
    ("19 digit id", BOTH, {"type": "complete", "id": "1" * 19}, "is not one this client issues"),
    # result payload of next / data
    ("next without payload", TWS, {"type": "next", "id": "1"},
     "the payload of a 'next' message is a null, not a GraphQL result object"),
    ("data without payload", LEGACY, {"type": "data", "id": "1"},
     "the payload of a 'data' message is a null, not a GraphQL result object"),
    ("next payload array", TWS, {"type": "next", "id": "1", "payload": [RESULT]},
     "the payload of a 'next' message is an array, not a GraphQL result object"),
    ("data payload string", LEGACY, {"type": "data", "id": "1", "payload": "x"},
     "the payload of a 'data' message is a string, not a GraphQL result object"),
    ("next payload empty", TWS, {"type": "next", "id": "1", "payload": {}},
     "the payload of a 'next' message has neither 'data' nor 'errors'"),
    ("data payload extensions only", LEGACY,
     {"type": "data", "id": "1", "payload": {"extensions": {}}},
     "the payload of a 'data' message has neither 'data' nor 'errors'"),
    ("next errors null, no data", TWS, {"type": "next", "id": "1", "payload": {"errors": None}},
     "has neither 'data' nor 'errors'"),
    ("errors object", TWS, {"type": "next", "id": "1", "payload": {"errors": {"message": "m"}}},
     "'errors' in a result is not a list"),
    ("errors object", LEGACY, {"type": "data", "id": "1", "payload": {"errors": {"message": "m"}}},
     "'errors' in a result is not a list"),
    ("errors string", TWS, {"type": "next", "id": "1", "payload": {"data": None, "errors": "m"}},
     "'errors' in a result is not a list"),
    ("data array", TWS, {"type": "next", "id": "1", "payload": {"data": [1]}},
     "'data' in a result is not an object"),
    ("data string", LEGACY, {"type": "data", "id": "1", "payload": {"data": "x"}},
     "'data' in a result is not an object"),
    ("data number", LEGACY, {"type": "data", "id": "1", "payload": {"data": 0}},
     "'data' in a result is not an object"),
    # error payloads: a non-empty list (transport-ws) vs one object (legacy)
    ("error payload object", TWS, {"type": "error", "id": "1", "payload": {"message": "m"}},
     "the payload of an 'error' message is not a list of errors"),
    ("error payload empty list", TWS, {"type": "error", "id": "1", "payload": []},
     "the payload of an 'error' message is not a list of errors"),
    ("error payload missing", TWS, {"type": "error", "id": "1"},
     "the payload of an 'error' message is not a list of errors"),
    ("error payload empty list", LEGACY, {"type": "error", "id": "1", "payload": []},
     "the payload of an 'error' message is neither an object nor a list of errors"),
    ("error payload string", LEGACY, {"type": "error", "id": "1", "payload": "m"},
     "the payload of an 'error' message is neither an object nor a list of errors"),
    ("error payload missing", LEGACY, {"type": "error", "id": "1"},
     "the payload of an 'error' message is neither an object nor a list of errors"),
    # valid in the other subprotocol only
    ("legacy data", TWS, {"type": "data", "id": "1", "payload": RESULT},
     "unknown message type 'data'"),
    ("legacy ka", TWS, {"type": "ka"}, "unknown message type 'ka'"),
    # AppSync's start_ack is ignored on the legacy subprotocol only, which AppSync speaks.
    ("start_ack", TWS, {"type": "start_ack", "id": "1"}, "unknown message type 'start_ack'"),
    # An unlisted type is an error with or without a payload.
    ("unknown type with payload", BOTH, {"type": "surprise", "id": "1", "payload": RESULT},
     "unknown message type 'surprise'"),
    ("modern next", LEGACY, {"type": "next", "id": "1", "payload": RESULT},
     "unknown message type 'next'"),
    ("modern ping", LEGACY, {"type": "ping"}, "unknown message type 'ping'"),
    ("modern pong", LEGACY, {"type": "pong", "payload": {}}, "unknown message type 'pong'"),
    # client-to-server messages are never sent by a server
    ("client connection_init", BOTH, {"type": "connection_init", "payload": {}},
     "unknown message type 'connection_init'"),
    ("client subscribe", BOTH, {"type": "subscribe", "id": "1", "payload": {"query": "{a}"}},
     "unknown message type 'subscribe'"),
    ("client start", BOTH, {"type": "start", "id": "1", "payload": {"query": "{a}"}},
     "unknown message type 'start'"),
    ("client stop", BOTH, {"type": "stop", "id": "1"}, "unknown message type 'stop'"),
    ("client connection_terminate", BOTH, {"type": "connection_terminate"},
     "unknown message type 'connection_terminate'"),
    # the pre-2017 dialect of subscriptions-transport-ws is not spoken
    ("old dialect", LEGACY, {"type": "subscription_data", "id": "1", "payload": RESULT},
     "unknown message type 'subscription_data'"),
    ("old keepalive", LEGACY, {"type": "keepalive"}, "unknown message type 'keepalive'"),
]  # fmt: skip

CASES = [
    pytest.param(
        handler_class,
        frame if isinstance(frame, str) else json.dumps(frame),
        fragment,
        id=f"{handler_class.subprotocol} {name}",
    )
    for name, handler_classes, frame, fragment in MALFORMED
    for handler_class in handler_classes
]


@pytest.mark.parametrize(("handler_class", "text", "fragment"), CASES)
def test_malformed_frame_raises_protocol_error(
    handler_class: type[ProtocolHandler], text: str, fragment: str
) -> None:
    with pytest.raises(TransportProtocolError) as info:
        handler_class().receive(text)
    message = str(info.value)
    assert fragment in message
    assert f"not valid {handler_class.subprotocol}" in message
    assert f"received {text!r}" in message


def test_invalid_json_keeps_the_parser_error_as_cause() -> None:
    with pytest.raises(TransportProtocolError) as info:
        GraphQLTransportWSHandler().receive("{")
    assert isinstance(info.value.__cause__, json.JSONDecodeError)


def test_deeply_nested_json_is_a_protocol_error() -> None:
    # json.loads gives up with RecursionError; that must not leak out.
    with pytest.raises(TransportProtocolError, match="not valid JSON"):
        ApolloHandler().receive("[" * 100_000 + "]" * 100_000)


def test_huge_integer_is_a_protocol_error() -> None:
    # Python refuses to parse integers with too many digits (ValueError).
    with pytest.raises(TransportProtocolError, match="not valid JSON"):
        GraphQLTransportWSHandler().receive('{"type": "ka", "n": ' + "9" * 100_000 + "}")


MEGABYTE = 1_000_000

HUGE_FRAMES = [
    pytest.param("x" * MEGABYTE, id="not JSON"),
    pytest.param("\x00" * MEGABYTE, id="control characters"),
    pytest.param("\U0001f600" * MEGABYTE, id="astral characters"),
    pytest.param(json.dumps(list(range(200_000))), id="array"),
    pytest.param(json.dumps("s" * MEGABYTE), id="string"),
    pytest.param(json.dumps({"type": "t" * MEGABYTE}), id="huge type"),
    pytest.param(json.dumps({"type": "\x07" * MEGABYTE}), id="huge type of control characters"),
    pytest.param(json.dumps({"type": "complete", "id": "i" * MEGABYTE}), id="huge id"),
    pytest.param(json.dumps({"type": "complete", "id": "7" * MEGABYTE}), id="huge decimal id"),
    pytest.param(json.dumps({"type": "complete", "id": "\n" * MEGABYTE}), id="huge id of newlines"),
    pytest.param(
        json.dumps({"type": "error", "id": "1", "payload": "p" * MEGABYTE}), id="huge payload"
    ),
]


@pytest.mark.parametrize("handler_class", [GraphQLTransportWSHandler, ApolloHandler])
@pytest.mark.parametrize("text", HUGE_FRAMES)
def test_huge_frame_is_elided_in_the_message(
    handler_class: type[ProtocolHandler], text: str
) -> None:
    with pytest.raises(TransportProtocolError) as info:
        handler_class().receive(text)
    message = str(info.value)
    assert len(message) < 400
    assert "chars>" in message


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("", ELIDE_AT),
        ("a" * ELIDE_AT, ELIDE_AT),
        ("a" * (ELIDE_AT + 1), ELIDE_AT),
        ("0123456789" * 10_000, ELIDE_AT),
        ("0123456789" * 10, 50),
        ("0123456789" * 10, 21),
        ("0123456789" * 10, 10),
        ("0123456789" * 10, 0),
    ],
)
def test_elide_bounds_the_length(text: str, limit: int) -> None:
    elided = elide(text, limit)
    if len(text) <= limit:
        assert elided == text
    else:
        marker = elided[elided.index("...<") : elided.index("chars>...") + len("chars>...")]
        assert len(elided) <= max(limit, len(marker))
        kept = len(elided) - len(marker)
        assert marker == f"...<{len(text) - kept} chars>..."
        assert text.startswith(elided[: kept // 2])
        assert text.endswith(elided[len(elided) - kept // 2 :])


def test_elide_keeps_head_and_tail() -> None:
    text = "HEAD" + "-" * 1000 + "TAIL"
    elided = elide(text, 100)
    assert elided.startswith("HEAD")
    assert elided.endswith("TAIL")
    assert "...<926 chars>..." in elided
    assert len(elided) <= 100


@pytest.mark.parametrize("handler_class", [GraphQLTransportWSHandler, ApolloHandler])
@pytest.mark.parametrize(
    "frame",
    [
        pytest.param('{"type":"surprise"}', id="unknown type"),
        pytest.param('{"type":"connection_ack"}', id="out of turn"),
        pytest.param("not json", id="not JSON"),
    ],
)
def test_an_assumed_subprotocol_is_named_as_the_likely_cause(
    handler_class: type[ProtocolHandler], frame: str
) -> None:
    handler = acknowledged(handler_class(agreed=False))
    assert not handler.agreed
    with pytest.raises(TransportProtocolError) as info:
        handler.receive(frame)
    assert (
        f"the server never agreed to {handler_class.subprotocol!r}: its handshake answer "
        "named no subprotocol" in str(info.value)
    )


def test_an_agreed_subprotocol_names_no_such_cause() -> None:
    handler = acknowledged(GraphQLTransportWSHandler())
    assert handler.agreed
    with pytest.raises(TransportProtocolError) as info:
        handler.receive('{"type":"surprise"}')
    assert "never agreed" not in str(info.value)
