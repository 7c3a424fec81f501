"""route() + routed_result(): the lazy path gives what receive() gives, for any frame.

The receive loop splits a result frame with ``route()`` and queues the payload
text; the consumer decodes it with ``routed_result()``.  Whatever the frame,
the two together must agree with ``receive()`` on the whole frame: the same
result, or a ``TransportProtocolError`` where it raises one.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from gql.transport.exceptions import TransportProtocolError
from hypothesis import given, settings
from hypothesis import strategies as st

from gql_aiohttp_websockets.protocols import (
    ApolloHandler,
    Complete,
    GraphQLTransportWSHandler,
    Next,
    ProtocolHandler,
)

from .helpers import acknowledged
from .test_fuzz import json_values, payloads, results

HANDLERS = [GraphQLTransportWSHandler, ApolloHandler]
# Each example below checks up to ten frames under two decoders: a quarter of
# the profile's examples keeps them in step with the other properties.
FEWER = settings(max_examples=max(settings().max_examples // 4, 10))


def stdlib_handler(handler_class: type[ProtocolHandler]) -> ProtocolHandler:
    return acknowledged(handler_class())


def orjson_handler(handler_class: type[ProtocolHandler]) -> ProtocolHandler:
    return acknowledged(
        handler_class(
            json_serialize=lambda value: orjson.dumps(value).decode(),
            json_deserialize=orjson.loads,
        )
    )


DECODERS = [
    pytest.param(stdlib_handler, id="json"),
    pytest.param(orjson_handler, id="orjson"),
]


def started(make: Any, handler_class: type[ProtocolHandler], op_id: int = 7) -> ProtocolHandler:
    handler: ProtocolHandler = make(handler_class)
    handler.start(op_id, {"query": "{ a }"})
    return handler


def lazily(handler: ProtocolHandler, text: str) -> Any:
    """Route then decode, as the transport does; the result, an error, or None if not routed."""
    routed = handler.route(text)
    if routed is None:
        return None
    op_id, payload_text = routed
    try:
        return op_id, handler.routed_result(op_id, payload_text)
    except TransportProtocolError as error:
        return error


def assert_agrees(handler: ProtocolHandler, text: str) -> None:
    lazy = lazily(handler, text)
    if lazy is None:
        return
    try:
        event = handler.receive(text)
    except TransportProtocolError:
        assert isinstance(lazy, TransportProtocolError), f"{text!r} routed to {lazy!r}"
        return
    if type(event) is not Next:
        # A frame that repeats its "type" with another value: only then does
        # the last one (json's rule) name something other than a result.
        assert isinstance(lazy, TransportProtocolError)
        return
    assert not isinstance(lazy, TransportProtocolError), f"{text!r}: {lazy}"
    op_id, result = lazy
    assert op_id == event.op_id
    assert (result.data, result.errors, result.extensions) == (
        event.result.data,
        event.result.errors,
        event.result.extensions,
    )


def layouts(result_type: str, op_id: str, payload_text: str) -> list[str]:
    """The same message written the ways servers write it, and some they should not."""
    return [
        f'{{"id":"{op_id}","type":"{result_type}","payload":{payload_text}}}',
        f'{{"type":"{result_type}","id":"{op_id}","payload":{payload_text}}}',
        f'{{"type": "{result_type}", "id": "{op_id}", "payload": {payload_text}}}',
        f'{{ "id" : "{op_id}" ,\n "type" : "{result_type}" ,\t"payload" :\r{payload_text} }}\n',
        f'{{"payload":{payload_text},"id":"{op_id}","type":"{result_type}"}}',
        f'{{"id":"{op_id}","type":"{result_type}","payload":{payload_text},"extra":1}}',
        f'{{"id":"{op_id}","type":"{result_type}","payload":{payload_text},"type":"complete"}}',
        f'{{"id":"{op_id}","type":"{result_type}","payload":{payload_text}',
        f'{{"id":"{op_id}","type":"{result_type}","payload":{payload_text}}}}}',
        f'{{"id":"{op_id}","type":"{result_type}","payload":{payload_text}}} x',
    ]


@pytest.mark.fuzz
@pytest.mark.parametrize("make", DECODERS)
@pytest.mark.parametrize("handler_class", HANDLERS)
@FEWER
@given(payload=results | payloads, layout=st.integers(min_value=0, max_value=9))
def test_routing_agrees_with_receive(
    make: Any, handler_class: type[ProtocolHandler], payload: Any, layout: int
) -> None:
    handler = started(make, handler_class)
    text = layouts(handler.result_type, "7", json.dumps(payload))[layout]
    assert_agrees(handler, text)


@pytest.mark.fuzz
@pytest.mark.parametrize("make", DECODERS)
@pytest.mark.parametrize("handler_class", HANDLERS)
@FEWER
@given(payload_text=st.text(max_size=40) | json_values.map(json.dumps).map(lambda t: t[:-1]))
def test_routing_agrees_with_receive_on_broken_payloads(
    make: Any, handler_class: type[ProtocolHandler], payload_text: str
) -> None:
    handler = started(make, handler_class)
    for text in layouts(handler.result_type, "7", payload_text):
        assert_agrees(handler, text)


@pytest.mark.parametrize("make", DECODERS)
@pytest.mark.parametrize("handler_class", HANDLERS)
def test_the_usual_layouts_are_routed(make: Any, handler_class: type[ProtocolHandler]) -> None:
    handler = started(make, handler_class)
    payload = {"data": {"tick": {"n": 1}}, "extensions": {"cost": 2}}
    for text in layouts(handler.result_type, "7", json.dumps(payload))[:4]:
        routed = handler.route(text)
        assert routed is not None, text
        result = handler.routed_result(*routed)
        assert (result.data, result.errors, result.extensions) == (
            payload["data"],
            None,
            payload["extensions"],
        )


@pytest.mark.parametrize("handler_class", HANDLERS)
def test_a_frame_cut_short_is_not_routed_and_its_error_quotes_it(
    handler_class: type[ProtocolHandler],
) -> None:
    handler = started(stdlib_handler, handler_class, op_id=1)
    kind = handler.result_type
    for text in [
        f'{{"id": "1", "type": "{kind}", "payload": [',
        f'{{"id":"1","type":"{kind}","payload":{{"data":1  ',
    ]:
        assert handler.route(text) is None, text
        with pytest.raises(TransportProtocolError) as raised:
            handler.receive(text)
        assert text.strip() in str(raised.value)


@pytest.mark.parametrize("handler_class", HANDLERS)
def test_only_results_of_issued_ids_are_routed(handler_class: type[ProtocolHandler]) -> None:
    handler = started(stdlib_handler, handler_class, op_id=7)
    kind = handler.result_type
    other_kind = "data" if kind == "next" else "next"
    for text in [
        f'{{"id":"8","type":"{kind}","payload":{{"data":{{}}}}}}',  # never issued
        f'{{"id":"07","type":"{kind}","payload":{{"data":{{}}}}}}',  # not as issued
        f'{{"id":"7","type":"{other_kind}","payload":{{"data":{{}}}}}}',
        '{"id":"7","type":"complete","payload":{"data":{}}}',
        '{"id":"7","type":"complete"}',
        '{"type":"ka"}',
        "not json",
        "",
    ]:
        assert handler.route(text) is None, text
    assert handler.route(f'{{"id":"7","type":"{kind}","payload":{{"data":{{}}}}}}') == (
        7,
        '{"data":{}}',
    )


@pytest.mark.parametrize("handler_class", HANDLERS)
def test_with_thousands_of_ids_issued_every_one_is_still_routed(
    handler_class: type[ProtocolHandler],
) -> None:
    # Past the handler's cache of issued ids, their results stay on the lazy path.
    handler = started(stdlib_handler, handler_class, op_id=1)
    for op_id in range(2, 50_001):
        handler.start(op_id, {"query": "{ a }"})
    kind = handler.result_type
    for op_id in (1, 2, 4096, 25_000, 50_000):
        frame = f'{{"id":"{op_id}","type":"{kind}","payload":{{"data":{{}}}}}}'
        assert handler.route(frame) == (op_id, '{"data":{}}')
    for raw_id in ("50001", "0", "01", "²", "1e3", "-1"):
        frame = f'{{"id":"{raw_id}","type":"{kind}","payload":{{"data":{{}}}}}}'
        assert handler.route(frame) is None, raw_id


@pytest.mark.parametrize("handler_class", HANDLERS)
def test_a_broken_payload_raises_what_receive_raises(handler_class: type[ProtocolHandler]) -> None:
    handler = started(stdlib_handler, handler_class)
    kind = handler.result_type
    cases = {
        f'{{"id":"7","type":"{kind}","payload":{{"data":{{"x":}}}}}}': "not valid JSON",
        f'{{"id":"7","type":"{kind}","payload":{{"errors":5}}}}': "not a list",
        f'{{"id":"7","type":"{kind}","payload":null}}': "not a GraphQL result object",
        f'{{"id":"7","type":"{kind}","payload":{{}}}}': "neither 'data' nor 'errors'",
        f'{{"id":"7","type":"{kind}","payload":{{"data":{{}}}},"type":"complete"}}': (
            "repeats its 'type' or 'id'"
        ),
    }
    for text, fragment in cases.items():
        routed = handler.route(text)
        assert routed is not None, text
        with pytest.raises(TransportProtocolError, match=fragment) as caught:
            handler.routed_result(*routed)
        assert handler.subprotocol in str(caught.value)


@pytest.mark.parametrize("handler_class", HANDLERS)
def test_a_repeated_type_is_not_taken_for_a_result(handler_class: type[ProtocolHandler]) -> None:
    # receive() follows json's last-key-wins rule; the lazy path refuses to guess.
    handler = started(stdlib_handler, handler_class)
    text = (
        f'{{"id":"7","type":"{handler.result_type}","payload":{{"data":{{}}}},"type":"complete"}}'
    )
    assert handler.receive(text) == Complete(7)
    assert isinstance(lazily(handler, text), TransportProtocolError)


def test_a_handler_with_its_own_receive_is_never_routed() -> None:
    class OwnReceive(GraphQLTransportWSHandler):
        """Reads results its own way: route() must not second-guess it."""

        __slots__ = ()

        def receive(self, text: str) -> Any:
            return Complete(0)

    handler = started(stdlib_handler, OwnReceive)
    assert handler.route('{"id":"7","type":"next","payload":{"data":{}}}') is None
    default = started(stdlib_handler, GraphQLTransportWSHandler)
    assert default.route('{"id":"7","type":"next","payload":{"data":{}}}') == (7, '{"data":{}}')
