"""connect(): negotiation, connection_init / connection_ack, rejection, clean failure."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gql.transport.exceptions import (
    TransportAlreadyConnected,
    TransportProtocolError,
    TransportServerError,
)

from gql_aiohttp_websockets import (
    AckTimeoutError,
    AIOHTTPWebsocketsTransport,
    ConnectTimeoutError,
    TransportConnectionClosed,
    TransportConnectionFailed,
)
from gql_aiohttp_websockets.lifecycle import State
from gql_aiohttp_websockets.testing import (
    GraphQLWebsocketServer,
    ScriptedWebsocketServer,
    example_schema,
    scaled_timeout,
)
from tests.gql_compat import CLOSED_BY_SERVER
from tests.helpers import doc, within
from tests.raw_server import RawServer
from tests.transport.conftest import MakeTransport


def assert_nothing_open(transport: AIOHTTPWebsocketsTransport) -> None:
    assert transport.state is State.CLOSED
    assert transport.websocket is None
    assert transport.session is None


async def test_default_offer_puts_graphql_transport_ws_first(make_transport: MakeTransport) -> None:
    async with GraphQLWebsocketServer(example_schema()) as server:
        transport = make_transport(server.url)
        assert transport.subprotocols == ("graphql-transport-ws", "graphql-ws")
        await within(transport.connect())
        assert transport.subprotocol == "graphql-transport-ws"
        assert server.connections[0].offered_subprotocols == ["graphql-transport-ws", "graphql-ws"]
        assert transport.response_headers["Sec-WebSocket-Protocol"] == "graphql-transport-ws"


async def test_subprotocols_forces_the_legacy_protocol(make_transport: MakeTransport) -> None:
    async with GraphQLWebsocketServer(example_schema()) as server:
        transport = make_transport(server.url, subprotocols=["graphql-ws"])
        await within(transport.connect())
        assert transport.subprotocol == transport.APOLLO_SUBPROTOCOL
        assert server.connections[0].subprotocol == "graphql-ws"
        assert (await within(transport.execute(doc("{ hello }")))).data == {"hello": "Hello world!"}


def test_an_unknown_subprotocol_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="no handler is registered"):
        AIOHTTPWebsocketsTransport(url="ws://127.0.0.1:1/graphql", subprotocols=["graphql-sse"])


def test_unknown_keywords_are_a_type_error() -> None:
    with pytest.raises(TypeError):
        AIOHTTPWebsocketsTransport(url="ws://127.0.0.1:1/graphql", no_such_option=1)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("offered", "assumed"),
    [
        (None, "graphql-ws"),
        (["graphql-transport-ws", "graphql-ws"], "graphql-ws"),
        (["graphql-transport-ws"], "graphql-transport-ws"),
    ],
)
async def test_a_server_naming_no_subprotocol_gets_what_gql_assumes(
    make_transport: MakeTransport, offered: list[str] | None, assumed: str
) -> None:
    async with RawServer(subprotocol=None).running() as server:
        transport = make_transport(server.url, subprotocols=offered, ack_timeout=0.2)
        # The raw server never acks; the negotiation result is what this test is about.
        with pytest.raises(asyncio.TimeoutError):
            await within(transport.connect())
        assert transport.subprotocol == assumed
        assert_nothing_open(transport)


async def test_a_subprotocol_that_was_not_offered_is_a_protocol_error(
    make_transport: MakeTransport,
) -> None:
    async with RawServer(subprotocol="graphql-sse").running() as server:
        # The raw server never answers our close frame: do not wait long for it.
        transport = make_transport(server.url, websocket_close_timeout=0.2)
        with pytest.raises(TransportProtocolError, match="'graphql-sse', which was not offered"):
            await within(transport.connect())
        assert_nothing_open(transport)


async def test_connect_timeout_raises_timeout_error(make_transport: MakeTransport) -> None:
    async with RawServer(answer_handshake=False).running() as server:
        transport = make_transport(server.url, connect_timeout=0.2)
        with pytest.raises(ConnectTimeoutError, match=r"connect_timeout=0\.2s"):
            await within(transport.connect())
        assert issubclass(ConnectTimeoutError, asyncio.TimeoutError)
        assert_nothing_open(transport)


async def test_an_unreachable_server_fails_clearly(make_transport: MakeTransport) -> None:
    async with RawServer().running() as server:
        url = server.url
    transport = make_transport(url)
    with pytest.raises(TransportConnectionFailed, match="could not open a websocket"):
        await within(transport.connect())
    assert_nothing_open(transport)


async def test_a_refused_upgrade_names_the_http_status(make_transport: MakeTransport) -> None:
    async with GraphQLWebsocketServer(example_schema()) as server:
        transport = make_transport(server.url.replace("/graphql", "/nowhere"))
        with pytest.raises(TransportConnectionFailed, match="HTTP 404"):
            await within(transport.connect())
        assert_nothing_open(transport)


async def test_a_missing_ack_times_out_and_leaves_nothing_open(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    async def never_ack(conn: Any) -> None:
        await conn.receive_json()
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(never_ack, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url, ack_timeout=0.2)
        with pytest.raises(AckTimeoutError, match=r"no connection_ack within ack_timeout=0\.2s"):
            await within(transport.connect())
        assert isinstance(AckTimeoutError(), asyncio.TimeoutError)
        assert_nothing_open(transport)
        code = await server.connections[0].wait_closed(scaled_timeout(5))
        assert code == 4504


async def test_keep_alives_and_pings_before_the_ack_are_handled(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    async def chatty(conn: Any) -> None:
        init = await conn.receive_json()
        assert init == {"type": "connection_init", "payload": {"a": 1}}
        if conn.subprotocol == "graphql-ws":
            await conn.send_json({"type": "ka"})
            await conn.send_json({"type": "ka"})
        else:
            await conn.send_json({"type": "ping", "payload": {"early": True}})
            assert await conn.receive_json() == {"type": "pong"}
            await conn.send_json({"type": "pong"})
        await conn.send_json({"type": "connection_ack", "payload": {"ok": 1}})
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(chatty, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url, init_payload={"a": 1})
        await within(transport.connect())
        assert transport.state is State.OPEN
        assert transport.payloads["connection_ack"] == {"ok": 1}
        if subprotocol == "graphql-transport-ws":
            assert transport.ping_received.is_set()
            assert transport.payloads["ping"] == {"early": True}


async def test_a_result_before_the_ack_is_a_protocol_error(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    data_type = "next" if subprotocol == "graphql-transport-ws" else "data"

    async def eager(conn: Any) -> None:
        await conn.receive_json()
        await conn.send_json({"type": data_type, "id": "1", "payload": {"data": {}}})
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(eager, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url)
        with pytest.raises(TransportProtocolError, match="before connection_ack"):
            await within(transport.connect())
        assert_nothing_open(transport)


async def test_connection_error_fails_connect(make_transport: MakeTransport) -> None:
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=("graphql-ws",), on_connect=lambda payload: False
    ) as server:
        transport = make_transport(server.url)
        with pytest.raises(TransportServerError, match="rejected the connection"):
            await within(transport.connect())
        assert_nothing_open(transport)


async def test_close_4403_during_init_names_the_code(make_transport: MakeTransport) -> None:
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=("graphql-transport-ws",), on_connect=lambda payload: False
    ) as server:
        transport = make_transport(server.url)
        with pytest.raises(TransportConnectionClosed, match="4403 \\(Forbidden\\)") as raised:
            await within(transport.connect())
        assert raised.value.code == 4403
        assert isinstance(raised.value, CLOSED_BY_SERVER)
        assert_nothing_open(transport)


@pytest.mark.parametrize("code", [1000, 1011, 4400, 4500])
async def test_any_close_during_init_fails_connect(
    make_transport: MakeTransport, subprotocol: str, code: int
) -> None:
    async def close_at_once(conn: Any) -> None:
        await conn.receive_json()
        await conn.close(code, "go away")

    async with ScriptedWebsocketServer(close_at_once, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url)
        with pytest.raises(TransportConnectionClosed, match=f"code {code}") as raised:
            await within(transport.connect())
        assert raised.value.code == code
        assert raised.value.reason == "go away"
        assert_nothing_open(transport)


async def test_a_rejected_transport_can_connect_again(make_transport: MakeTransport) -> None:
    allowed = False

    def gate(payload: Any) -> bool:
        return allowed

    async with GraphQLWebsocketServer(example_schema(), on_connect=gate) as server:
        transport = make_transport(server.url)
        with pytest.raises(TransportConnectionClosed):
            await within(transport.connect())
        allowed = True
        await within(transport.connect())
        assert (await within(transport.execute(doc("{ hello }")))).data == {"hello": "Hello world!"}


async def test_connect_while_connected_raises(transport: AIOHTTPWebsocketsTransport) -> None:
    with pytest.raises(TransportAlreadyConnected):
        await transport.connect()
    assert transport.state is State.OPEN


async def test_concurrent_connects_one_wins(make_transport: MakeTransport) -> None:
    async with GraphQLWebsocketServer(example_schema()) as server:
        transport = make_transport(server.url)
        outcomes = await within(
            asyncio.gather(transport.connect(), transport.connect(), return_exceptions=True)
        )
        assert outcomes.count(None) == 1
        assert sum(isinstance(o, TransportAlreadyConnected) for o in outcomes) == 1
        assert transport.state is State.OPEN
        await server.wait_for_connections(1, scaled_timeout(5))
        assert len(server.connections) == 1


async def test_live_objects_while_connected_none_after_close(
    transport: AIOHTTPWebsocketsTransport,
) -> None:
    assert transport.websocket is not None
    assert not transport.websocket.closed
    assert transport.session is not None
    assert not transport.session.closed
    session = transport.session
    await within(transport.close())
    assert transport.websocket is None
    assert transport.session is None
    assert session.closed


@pytest.mark.parametrize("kind", ["plain", "async"])
async def test_an_init_payload_function_is_called_on_every_connect(
    make_transport: MakeTransport, kind: str
) -> None:
    calls = 0

    def plain() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return {"token": f"t{calls}"}

    async def asynchronous() -> dict[str, Any]:
        return plain()

    async with GraphQLWebsocketServer(example_schema()) as server:
        transport = make_transport(
            server.url, init_payload=plain if kind == "plain" else asynchronous
        )
        await within(transport.connect())
        await within(transport.close())
        await within(transport.connect())
        assert [c.init_payload for c in server.connections] == [{"token": "t1"}, {"token": "t2"}]


async def test_an_init_payload_function_that_raises_fails_connect_cleanly(
    make_transport: MakeTransport,
) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("token store unavailable")

    async with GraphQLWebsocketServer(example_schema()) as server:
        transport = make_transport(server.url, init_payload=broken)
        with pytest.raises(RuntimeError, match="token store unavailable"):
            await within(transport.connect())
        assert_nothing_open(transport)
