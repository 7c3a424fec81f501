"""Custom json_serialize / json_deserialize (orjson) give the same frames and events."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from gql.transport.exceptions import TransportProtocolError

from gql_aiohttp_websockets.protocols import (
    ApolloHandler,
    GraphQLTransportWSHandler,
    ProtocolHandler,
)

from .helpers import expecting
from .test_incoming_events import CASES as EVENT_CASES
from .test_malformed_frames import CASES as MALFORMED_CASES

HANDLERS = [GraphQLTransportWSHandler, ApolloHandler]


def orjson_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def orjson_handler(handler_class: type[ProtocolHandler]) -> ProtocolHandler:
    return handler_class(json_serialize=orjson_dumps, json_deserialize=orjson.loads)


OUTGOING = [
    pytest.param(lambda h: h.connection_init({"token": "t"}), id="connection_init"),
    pytest.param(lambda h: h.connection_init(None), id="connection_init None"),
    pytest.param(lambda h: h.start(3, {"query": "{a}", "variables": {"x": [1, 2.5]}}), id="start"),
    pytest.param(lambda h: h.stop(3), id="stop"),
    pytest.param(lambda h: h.ping(), id="ping"),
    pytest.param(lambda h: h.ping({"p": 1}), id="ping payload"),
    pytest.param(lambda h: h.pong(), id="pong"),
    pytest.param(lambda h: h.pong({"p": 1}), id="pong payload"),
    pytest.param(lambda h: h.terminate(), id="terminate"),
]


@pytest.mark.parametrize("handler_class", HANDLERS)
@pytest.mark.parametrize("build", OUTGOING)
def test_orjson_frames_equal_json_frames(handler_class: type[ProtocolHandler], build: Any) -> None:
    default = build(handler_class())
    custom = build(orjson_handler(handler_class))
    if default is None:
        assert custom is None
    else:
        assert json.loads(custom) == json.loads(default)


@pytest.mark.parametrize(("handler_class", "message", "expected"), EVENT_CASES)
def test_orjson_events_equal_json_events(
    handler_class: type[ProtocolHandler], message: dict[str, Any], expected: Any
) -> None:
    handler = expecting(orjson_handler(handler_class), expected)
    assert handler.receive(orjson_dumps(message)) == expected


@pytest.mark.parametrize(("handler_class", "text", "fragment"), MALFORMED_CASES)
def test_orjson_malformed_frames_raise_protocol_error(
    handler_class: type[ProtocolHandler], text: str, fragment: str
) -> None:
    with pytest.raises(TransportProtocolError) as info:
        orjson_handler(handler_class).receive(text)
    if "not valid JSON" not in fragment:
        assert fragment in str(info.value)


def test_serializer_is_used_for_frames() -> None:
    seen: list[Any] = []

    def recording_dumps(value: Any) -> str:
        seen.append(value)
        return json.dumps(value)

    handler = ApolloHandler(json_serialize=recording_dumps)
    handler.connection_init({"a": 1})
    handler.start(1, {"query": "{a}"})
    handler.stop(1)
    assert [message["type"] for message in seen] == ["connection_init", "start", "stop"]


class DecoderTrouble(Exception):
    """An exception type no handler knows about."""


def failing_loads(text: str) -> Any:
    raise DecoderTrouble(f"cannot decode {len(text)} characters")


@pytest.mark.parametrize("handler_class", HANDLERS)
def test_foreign_deserializer_exception_becomes_protocol_error(
    handler_class: type[ProtocolHandler],
) -> None:
    handler = handler_class(json_deserialize=failing_loads)
    with pytest.raises(TransportProtocolError, match="not valid JSON") as info:
        handler.receive('{"type": "ka"}')
    assert isinstance(info.value.__cause__, DecoderTrouble)


@pytest.mark.parametrize("handler_class", HANDLERS)
@pytest.mark.parametrize(
    ("decoded", "kind"),
    [((1, 2), "tuple"), ({"type"}, "set"), (b"{}", "bytes"), (1.5, "number")],
)
def test_deserializer_returning_a_non_object_is_a_protocol_error(
    handler_class: type[ProtocolHandler], decoded: object, kind: str
) -> None:
    handler = handler_class(json_deserialize=lambda _text: decoded)
    with pytest.raises(TransportProtocolError, match=f"it is a JSON {kind} where an object"):
        handler.receive("{}")


@pytest.mark.parametrize("handler_class", HANDLERS)
def test_orjson_invalid_utf8_surrogate_is_a_protocol_error(
    handler_class: type[ProtocolHandler],
) -> None:
    # A lone surrogate cannot be encoded to UTF-8; orjson refuses such str input.
    with pytest.raises(TransportProtocolError):
        orjson_handler(handler_class).receive('{"type": "\ud800"}')
