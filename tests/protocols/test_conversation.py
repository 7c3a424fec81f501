"""The conversation's rules, kept by the handler: what may arrive before and after the ack."""

from __future__ import annotations

import json

import pytest
from gql.transport.exceptions import TransportProtocolError

from gql_aiohttp_websockets.protocols import (
    Ack,
    ApolloHandler,
    GraphQLTransportWSHandler,
    Phase,
    ProtocolHandler,
)
from gql_aiohttp_websockets.protocols.conversation import ACCEPTS

from .helpers import ACK_FRAME, acknowledged

HANDLERS = [GraphQLTransportWSHandler, ApolloHandler]

# Frames that belong to no operation, by subprotocol: allowed in either phase.
CONNECTION_LEVEL = {
    GraphQLTransportWSHandler: ['{"type":"ping"}', '{"type":"pong","payload":{"x":1}}'],
    ApolloHandler: [
        '{"type":"ka"}',
        '{"type":"error","payload":{"message":"Invalid message type!"}}',
        '{"type":"connection_error","payload":{"message":"no"}}',
    ],
}
# Frames of an operation: refused before the ack.
OPERATION_LEVEL = {
    GraphQLTransportWSHandler: [
        ('{"id":"1","type":"next","payload":{"data":{}}}', "a result"),
        ('{"id":"1","type":"complete"}', "complete"),
        ('{"id":"1","type":"error","payload":[{"message":"x"}]}', "an error"),
    ],
    ApolloHandler: [
        ('{"id":"1","type":"data","payload":{"data":{}}}', "a result"),
        ('{"id":"1","type":"complete"}', "complete"),
        ('{"id":"1","type":"error","payload":{"message":"x"}}', "an error"),
    ],
}


@pytest.mark.parametrize("handler_class", HANDLERS)
def test_a_new_handler_awaits_the_ack_and_one_ack_moves_it_on(
    handler_class: type[ProtocolHandler],
) -> None:
    handler = handler_class()
    assert handler.phase is Phase.AWAITING_ACK
    assert handler.receive('{"type":"connection_ack","payload":{"v":1}}') == Ack({"v": 1})
    assert handler.phase is Phase.ACKNOWLEDGED


@pytest.mark.parametrize("handler_class", HANDLERS)
def test_connection_level_messages_are_accepted_in_both_phases(
    handler_class: type[ProtocolHandler],
) -> None:
    handler = handler_class()
    for frame in CONNECTION_LEVEL[handler_class]:
        handler.receive(frame)
        assert handler.phase is Phase.AWAITING_ACK, frame
    acknowledged(handler)
    for frame in CONNECTION_LEVEL[handler_class]:
        handler.receive(frame)
        assert handler.phase is Phase.ACKNOWLEDGED, frame


@pytest.mark.parametrize("handler_class", HANDLERS)
def test_operation_messages_before_the_ack_are_refused_by_name(
    handler_class: type[ProtocolHandler],
) -> None:
    for frame, name in OPERATION_LEVEL[handler_class]:
        handler = handler_class()
        with pytest.raises(TransportProtocolError) as caught:
            handler.receive(frame)
        assert str(caught.value) == (
            f"the server sent {name} before connection_ack; only ping, pong "
            "and keep-alive messages may come first"
        )
        assert handler.phase is Phase.AWAITING_ACK


@pytest.mark.parametrize("handler_class", HANDLERS)
def test_a_second_ack_is_refused(handler_class: type[ProtocolHandler]) -> None:
    handler = acknowledged(handler_class())
    with pytest.raises(TransportProtocolError, match=r"^the server sent a second connection_ack$"):
        handler.receive(ACK_FRAME)


@pytest.mark.parametrize("handler_class", HANDLERS)
def test_ids_the_server_sends_never_become_issued_ids(
    handler_class: type[ProtocolHandler],
) -> None:
    kind = handler_class.result_type
    handler = acknowledged(handler_class())
    handler.start(1, {"query": "{a}"})
    # A well-formed result for an id the client never issued is parsed (and
    # left to the transport to ignore), but does not teach the fast path it.
    frame = json.dumps({"id": "9", "type": kind, "payload": {"data": {}}}, separators=(",", ":"))
    assert handler.receive(frame).op_id == 9  # type: ignore[union-attr]
    assert handler.route(frame) is None
    assert handler.route(frame.replace('"9"', '"1"')) == (1, '{"data":{}}')


def test_the_table_gives_every_phase_its_rules() -> None:
    assert set(ACCEPTS) == set(Phase)
    assert ACCEPTS[Phase.AWAITING_ACK][Ack] is Phase.ACKNOWLEDGED
    assert Ack not in ACCEPTS[Phase.ACKNOWLEDGED]
