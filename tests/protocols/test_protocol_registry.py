"""The registry maps Sec-WebSocket-Protocol names to handler classes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from gql_aiohttp_websockets import protocols
from gql_aiohttp_websockets.protocols import (
    Ack,
    ApolloHandler,
    Complete,
    Event,
    GraphQLTransportWSHandler,
    ProtocolHandler,
    get_protocol,
    register_protocol,
    registered_protocols,
)


@pytest.fixture(autouse=True)
def private_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    # Registrations made by a test must not leak into the transport's tests.
    monkeypatch.setattr(protocols, "_REGISTRY", dict(protocols._REGISTRY))


class EchoHandler(ProtocolHandler):
    """A made-up third subprotocol: ``open`` / ``done`` / ``ok``."""

    subprotocol: ClassVar[str] = "example-echo"

    __slots__ = ()

    def start(self, op_id: int, payload: Mapping[str, Any]) -> str:
        return self._dumps({"op": "open", "id": str(op_id), "body": payload})

    def stop(self, op_id: int) -> str:
        return self._dumps({"op": "done", "id": str(op_id)})

    def receive(self, text: str) -> Event:
        message = self._decode(text)
        if message.get("type") == "ok":
            return Ack()
        return Complete(self._op_id(text, message))


@pytest.mark.parametrize(
    ("name", "handler_class"),
    [("graphql-transport-ws", GraphQLTransportWSHandler), ("graphql-ws", ApolloHandler)],
)
def test_builtin_handlers_are_registered(name: str, handler_class: type[ProtocolHandler]) -> None:
    assert get_protocol(name) is handler_class
    assert name in registered_protocols()


@pytest.mark.parametrize(
    "name", ["", "graphql", "GRAPHQL-WS", "graphql-transport-ws ", "example-echo"]
)
def test_unknown_name_gives_none(name: str) -> None:
    assert get_protocol(name) is None


def test_registered_protocols_lists_modern_first() -> None:
    assert registered_protocols()[:2] == ("graphql-transport-ws", "graphql-ws")


def test_third_handler_registers_and_is_found() -> None:
    assert register_protocol(EchoHandler) is EchoHandler
    assert get_protocol("example-echo") is EchoHandler
    assert registered_protocols() == ("graphql-transport-ws", "graphql-ws", "example-echo")
    handler = get_protocol("example-echo")
    assert handler is not None
    instance = handler()
    assert json.loads(instance.start(4, {"query": "{a}"})) == {
        "op": "open",
        "id": "4",
        "body": {"query": "{a}"},
    }
    assert instance.receive('{"type": "ok"}') == Ack()
    assert instance.receive('{"type": "x", "id": "4"}') == Complete(4)
    # What the base class provides by default.
    assert json.loads(instance.connection_init(None)) == {
        "type": "connection_init",
        "payload": None,
    }
    assert instance.ping() is None
    assert instance.pong() is None
    assert instance.terminate() is None
    assert EchoHandler.supports_ping is False


def test_register_as_class_decorator() -> None:
    @register_protocol
    class Decorated(EchoHandler):
        subprotocol: ClassVar[str] = "example-decorated"

        __slots__ = ()

    assert get_protocol("example-decorated") is Decorated


def test_registering_a_name_again_replaces_the_handler() -> None:
    class Replacement(ApolloHandler):
        __slots__ = ()

    register_protocol(Replacement)
    assert get_protocol("graphql-ws") is Replacement
    assert registered_protocols() == ("graphql-transport-ws", "graphql-ws")


def test_registry_is_restored_after_each_test() -> None:
    assert get_protocol("example-echo") is None
    assert get_protocol("graphql-ws") is ApolloHandler


def test_handler_instances_have_no_dict() -> None:
    # __slots__ all the way down: a handler per connection stays small.
    assert not hasattr(GraphQLTransportWSHandler(), "__dict__")
    assert not hasattr(ApolloHandler(), "__dict__")
