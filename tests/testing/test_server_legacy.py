"""GraphQLWebsocketServer speaking the legacy graphql-ws subprotocol, frame by frame."""

from __future__ import annotations

from typing import Any

from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema, scaled_timeout

from .conftest import LEGACY, Connect, RawClient


def start(op_id: str, query: str, **extra: Any) -> dict[str, Any]:
    return {"id": op_id, "type": "start", "payload": {"query": query, **extra}}


async def ready(server: GraphQLWebsocketServer, connect: Connect, payload: Any = None) -> RawClient:
    client = await connect(server.url, (LEGACY,))
    await client.init(payload)
    return client


async def test_query_gives_data_then_complete(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    await client.send(start("1", "query Q($n: String) { hello(name: $n) }", variables={"n": "ws"}))
    assert await client.receive() == {
        "id": "1",
        "type": "data",
        "payload": {"data": {"hello": "Hello ws!"}},
    }
    assert await client.receive() == {"id": "1", "type": "complete"}


async def test_subscription_streams_then_completes(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    await client.send(start("1", 'subscription { prices(symbol: "AB", count: 2) { seq price } }'))
    assert await client.receive_op("1") == [
        {"id": "1", "type": "data", "payload": {"data": {"prices": {"seq": 0, "price": 102.0}}}},
        {"id": "1", "type": "data", "payload": {"data": {"prices": {"seq": 1, "price": 102.25}}}},
        {"id": "1", "type": "complete"},
    ]


async def test_validation_error_is_one_error_object_without_complete(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    await client.send(start("1", "{ nope }"))
    await client.send(start("2", "{ hello }"))
    error = await client.receive()
    assert error["id"] == "1"
    assert error["type"] == "error"
    assert error["payload"]["message"] == "Cannot query field 'nope' on type 'Query'."
    assert (await client.receive())["id"] == "2"


async def test_source_failure_mid_stream_is_data_with_errors_then_complete(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    await client.send(start("1", "subscription { errorAfter(n: 1, delay_ms: 0) }"))
    assert await client.receive_op("1") == [
        {"id": "1", "type": "data", "payload": {"data": {"errorAfter": 0}}},
        {
            "id": "1",
            "type": "data",
            "payload": {"data": None, "errors": [{"message": "errorAfter: failing after 1 items"}]},
        },
        {"id": "1", "type": "complete"},
    ]


async def test_stop_ends_the_operation_with_complete(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    await client.send(start("1", "subscription { ticks(count: 100000, delay_ms: 5) }"))
    assert (await client.receive())["type"] == "data"
    await client.send({"id": "1", "type": "stop"})
    assert (await client.receive_op("1"))[-1] == {"id": "1", "type": "complete"}
    record = server.connections[0]
    assert await record.wait_for_type("stop", scaled_timeout(5)) == {"id": "1", "type": "stop"}


async def test_stop_of_an_unknown_id_sends_nothing(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    await client.send({"id": "never", "type": "stop"})
    await client.send(start("1", "{ hello }"))
    assert (await client.receive())["id"] == "1"


async def test_start_reusing_a_running_id_replaces_the_operation(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    await client.send(start("1", "subscription { ticks(count: 100000, delay_ms: 5) }"))
    assert (await client.receive())["type"] == "data"
    await client.send(start("1", "{ hello }"))
    old_stream = await client.receive_op("1")
    assert old_stream[-1] == {"id": "1", "type": "complete"}
    assert all("ticks" in m["payload"]["data"] for m in old_stream[:-1])
    assert await client.receive_op("1") == [
        {"id": "1", "type": "data", "payload": {"data": {"hello": "Hello world!"}}},
        {"id": "1", "type": "complete"},
    ]


async def test_keep_alive_right_after_ack_then_periodically(connect: Connect) -> None:
    async with GraphQLWebsocketServer(example_schema(), keep_alive_interval=0.02) as alive:
        client = await ready(alive, connect)
        assert await client.receive() == {"type": "ka"}
        assert await client.receive() == {"type": "ka"}


async def test_no_keep_alive_by_default(server: GraphQLWebsocketServer, connect: Connect) -> None:
    client = await ready(server, connect)
    await client.send(start("1", "{ hello }"))
    assert (await client.receive())["type"] == "data"


async def test_refused_connection_gets_connection_error_then_1011(connect: Connect) -> None:
    async with GraphQLWebsocketServer(example_schema(), on_connect=lambda _: False) as refusing:
        client = await connect(refusing.url, (LEGACY,))
        await client.send({"type": "connection_init", "payload": {}})
        assert await client.receive() == {
            "type": "connection_error",
            "payload": {"message": "Prohibited connection!"},
        }
        assert (await client.receive_close())[0] == 1011


async def test_on_connect_dict_becomes_the_ack_payload(connect: Connect) -> None:
    async with GraphQLWebsocketServer(example_schema(), on_connect=lambda _: {"v": 1}) as server:
        client = await connect(server.url, (LEGACY,))
        assert await client.init() == {"type": "connection_ack", "payload": {"v": 1}}


async def test_connection_terminate_closes_1000(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    await client.send({"type": "connection_terminate"})
    assert (await client.receive_close())[0] == 1000
    record = server.connections[0]
    assert await record.wait_closed(scaled_timeout(5)) == 1000
    assert record.closed_by == "server"


async def test_start_before_init_closes_4401(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await connect(server.url, (LEGACY,))
    await client.send(start("1", "{ hello }"))
    assert await client.receive_close() == (4401, "Unauthorized")


async def test_garbage_is_answered_and_the_connection_stays_up(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    await client.send_text("not json")
    assert await client.receive() == {
        "type": "connection_error",
        "payload": {"message": "Message must be JSON"},
    }
    await client.send({"type": "ping"})
    assert await client.receive() == {
        "type": "error",
        "payload": {"message": "Invalid message type!"},
    }
    await client.send({"id": "1", "type": "start", "payload": {"no": "query"}})
    error = await client.receive()
    assert (error["id"], error["type"]) == ("1", "error")
    await client.send(start("2", "{ hello }"))
    assert [m["type"] for m in await client.receive_op("2")] == ["data", "complete"]


async def test_connection_params_via_the_default_context(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect, {"authToken": "t"})
    await client.send(start("1", "{ connectionParams }"))
    first = (await client.receive_op("1"))[0]
    assert first["payload"] == {"data": {"connectionParams": '{"authToken":"t"}'}}
    assert server.connections[0].init_payload == {"authToken": "t"}


async def test_on_connect_raising_is_a_connection_error_then_1011(connect: Connect) -> None:
    def on_connect(payload: Any) -> None:
        raise RuntimeError("auth backend down")

    async with GraphQLWebsocketServer(example_schema(), on_connect=on_connect) as broken:
        client = await connect(broken.url, (LEGACY,))
        await client.send({"type": "connection_init"})
        assert await client.receive() == {
            "type": "connection_error",
            "payload": {"message": "auth backend down"},
        }
        assert (await client.receive_close())[0] == 1011
    assert broken.handler_errors == []
