"""GraphQLWebsocketServer speaking graphql-transport-ws, checked frame by frame."""

from __future__ import annotations

from typing import Any

import pytest

from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema, scaled_timeout

from .conftest import TRANSPORT_WS, Connect, RawClient


def subscribe(op_id: str, query: str, **extra: Any) -> dict[str, Any]:
    return {"id": op_id, "type": "subscribe", "payload": {"query": query, **extra}}


async def ready(server: GraphQLWebsocketServer, connect: Connect, payload: Any = None) -> RawClient:
    client = await connect(server.url, (TRANSPORT_WS,))
    await client.init(payload)
    return client


async def test_query_gives_next_then_complete(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    await client.send(subscribe("1", "{ hello }"))
    assert await client.receive() == {
        "id": "1",
        "type": "next",
        "payload": {"data": {"hello": "Hello world!"}},
    }
    assert await client.receive() == {"id": "1", "type": "complete"}


async def test_subscription_streams_every_item_then_completes(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    await client.send(subscribe("a", "subscription { countdown(from: 2, delay_ms: 0) }"))
    assert await client.receive_op("a") == [
        {"id": "a", "type": "next", "payload": {"data": {"countdown": 2}}},
        {"id": "a", "type": "next", "payload": {"data": {"countdown": 1}}},
        {"id": "a", "type": "next", "payload": {"data": {"countdown": 0}}},
        {"id": "a", "type": "complete"},
    ]


async def test_mutation_with_variables_and_operation_name(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    query = "mutation Add($a: Int!, $b: Int!) { addNumbers(a: $a, b: $b) } query Other { hello }"
    await client.send(subscribe("1", query, variables={"a": 2, "b": 40}, operationName="Add"))
    assert await client.receive_op("1") == [
        {"id": "1", "type": "next", "payload": {"data": {"addNumbers": 42}}},
        {"id": "1", "type": "complete"},
    ]


async def test_field_error_is_a_next_with_errors(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    await client.send(subscribe("1", '{ error(message: "boom") }'))
    first, last = await client.receive_op("1")
    assert first["type"] == "next"
    assert first["payload"]["data"] == {"error": None}
    assert [error["message"] for error in first["payload"]["errors"]] == ["boom"]
    assert last == {"id": "1", "type": "complete"}


async def test_validation_error_is_an_error_list_without_complete(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    await client.send(subscribe("1", "{ nope }"))
    await client.send(subscribe("2", "{ hello }"))
    error = await client.receive()
    assert error["id"] == "1"
    assert error["type"] == "error"
    assert isinstance(error["payload"], list)
    assert error["payload"][0]["message"] == "Cannot query field 'nope' on type 'Query'."
    # The next frame belongs to operation 2: no complete for 1 came in between.
    assert (await client.receive())["id"] == "2"


async def test_syntax_error_is_an_error_list(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    await client.send(subscribe("1", "{ hello"))
    error = await client.receive()
    assert error["type"] == "error"
    assert "Syntax Error" in error["payload"][0]["message"]


async def test_source_failure_mid_stream_is_an_error_without_complete(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    await client.send(subscribe("1", "subscription { errorAfter(n: 2, delay_ms: 0) }"))
    assert await client.receive_op("1") == [
        {"id": "1", "type": "next", "payload": {"data": {"errorAfter": 0}}},
        {"id": "1", "type": "next", "payload": {"data": {"errorAfter": 1}}},
        {"id": "1", "type": "error", "payload": [{"message": "errorAfter: failing after 2 items"}]},
    ]
    await client.send(subscribe("2", "{ hello }"))
    assert (await client.receive())["id"] == "2"
    assert {"id": "1", "type": "complete"} not in server.connections[0].sent


async def test_client_complete_stops_the_operation_silently(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    await client.send(subscribe("1", "subscription { ticks(count: 100000, delay_ms: 5) }"))
    assert (await client.receive())["type"] == "next"
    await client.send({"id": "1", "type": "complete"})
    await client.send(subscribe("2", "{ hello }"))
    await client.receive_op("2")
    sent_for_1 = [m["type"] for m in server.connections[0].sent if m.get("id") == "1"]
    assert set(sent_for_1) == {"next"}


async def test_id_can_be_reused_once_its_operation_completed(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    for _ in range(2):
        await client.send(subscribe("same", "{ hello }"))
        assert [m["type"] for m in await client.receive_op("same")] == ["next", "complete"]


async def test_duplicate_active_id_closes_4409(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    query = "subscription { ticks(count: 100000, delay_ms: 5) }"
    await client.send(subscribe("1", query))
    await client.send(subscribe("1", query))
    assert await client.receive_close() == (4409, "Subscriber for 1 already exists")
    record = server.connections[0]
    assert await record.wait_closed(scaled_timeout(5)) == 4409
    assert record.closed_by == "server"


async def test_subscribe_before_ack_closes_4401(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await connect(server.url, (TRANSPORT_WS,))
    await client.send(subscribe("1", "{ hello }"))
    assert await client.receive_close() == (4401, "Unauthorized")


async def test_second_init_closes_4429(server: GraphQLWebsocketServer, connect: Connect) -> None:
    client = await ready(server, connect)
    await client.send({"type": "connection_init"})
    assert await client.receive_close() == (4429, "Too many initialisation requests")


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param("not json", id="not-json"),
        pytest.param("[1, 2]", id="array"),
        pytest.param('{"payload": {}}', id="no-type"),
        pytest.param('{"type": 3}', id="numeric-type"),
        pytest.param('{"type": "whatever"}', id="unknown-type"),
        pytest.param('{"type": "connection_terminate"}', id="legacy-terminate"),
        pytest.param('{"type": "next", "id": "1", "payload": {}}', id="server-message"),
        pytest.param('{"type": "connection_init", "payload": [1]}', id="array-init-payload"),
        pytest.param('{"type": "ping", "payload": "text"}', id="string-ping-payload"),
    ],
)
async def test_invalid_message_closes_4400(
    server: GraphQLWebsocketServer, connect: Connect, frame: str
) -> None:
    client = await connect(server.url, (TRANSPORT_WS,))
    await client.send_text(frame)
    code, reason = await client.receive_close()
    assert code == 4400
    assert reason.startswith("Invalid message received")


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(
            {"type": "subscribe", "id": 1, "payload": {"query": "{ hello }"}}, id="num-id"
        ),
        pytest.param(
            {"type": "subscribe", "id": "", "payload": {"query": "{ hello }"}}, id="empty"
        ),
        pytest.param({"type": "subscribe", "id": "1", "payload": {}}, id="no-query"),
        pytest.param(
            {"type": "subscribe", "id": "1", "payload": {"query": "{ hello }", "variables": [1]}},
            id="array-variables",
        ),
        pytest.param({"type": "complete"}, id="complete-without-id"),
    ],
)
async def test_malformed_operation_message_closes_4400(
    server: GraphQLWebsocketServer, connect: Connect, message: dict[str, Any]
) -> None:
    client = await ready(server, connect)
    await client.send(message)
    assert (await client.receive_close())[0] == 4400


async def test_binary_frame_closes_4400(server: GraphQLWebsocketServer, connect: Connect) -> None:
    client = await connect(server.url, (TRANSPORT_WS,))
    await client.ws.send_bytes(b'{"type": "connection_init"}')
    assert (await client.receive_close())[0] == 4400


async def test_unknown_complete_id_is_ignored(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect)
    await client.send({"type": "complete", "id": "never-started"})
    await client.send(subscribe("1", "{ hello }"))
    assert [m["type"] for m in await client.receive_op("1")] == ["next", "complete"]


async def test_ping_is_answered_with_pong_echoing_the_payload(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await connect(server.url, (TRANSPORT_WS,))
    await client.send({"type": "ping"})  # before connection_init: allowed
    assert await client.receive() == {"type": "pong"}
    await client.init()
    await client.send({"type": "ping", "payload": {"n": 1}})
    assert await client.receive() == {"type": "pong", "payload": {"n": 1}}
    await client.send({"type": "pong", "payload": {"unsolicited": True}})
    await client.send({"type": "ping", "payload": None})
    assert await client.receive() == {"type": "pong", "payload": None}


async def test_ping_interval_sends_pings_after_the_ack(connect: Connect) -> None:
    async with GraphQLWebsocketServer(example_schema(), ping_interval=0.02) as pinging:
        client = await connect(pinging.url, (TRANSPORT_WS,))
        await client.init()
        assert await client.receive() == {"type": "ping"}
        await client.send({"type": "pong"})
        record = pinging.connections[0]
        await record.wait_for_type("pong", scaled_timeout(5))
        assert await client.receive() == {"type": "ping"}


async def test_no_connection_init_in_time_closes_4408(connect: Connect) -> None:
    async with GraphQLWebsocketServer(example_schema(), connection_init_timeout=0.05) as strict:
        client = await connect(strict.url, (TRANSPORT_WS,))
        assert await client.receive_close() == (4408, "Connection initialisation timeout")
        assert await strict.connections[0].wait_closed(scaled_timeout(5)) == 4408


async def test_init_in_time_is_not_closed(connect: Connect) -> None:
    init_timeout = scaled_timeout(0.2)
    async with GraphQLWebsocketServer(
        example_schema(), connection_init_timeout=init_timeout
    ) as strict:
        client = await connect(strict.url, (TRANSPORT_WS,))
        await client.init()
        # The stream outlasts the init timeout: the connection must survive it.
        delay_ms = int(init_timeout * 1000 / 2)
        query = f"subscription {{ countdown(from: 3, delay_ms: {delay_ms}) }}"
        await client.send(subscribe("1", query))
        assert [m["type"] for m in await client.receive_op("1")][-1] == "complete"
        assert not strict.connections[0].closed


async def test_on_connect_false_closes_4403(connect: Connect) -> None:
    async with GraphQLWebsocketServer(example_schema(), on_connect=lambda _: False) as refusing:
        client = await connect(refusing.url, (TRANSPORT_WS,))
        await client.send({"type": "connection_init", "payload": {"token": "bad"}})
        assert await client.receive_close() == (4403, "Forbidden")
        assert refusing.connections[0].init_payload == {"token": "bad"}


async def test_async_on_connect_dict_becomes_the_ack_payload(connect: Connect) -> None:
    seen: list[Any] = []

    async def on_connect(payload: Any) -> dict[str, Any]:
        seen.append(payload)
        return {"welcome": payload["user"]}

    async with GraphQLWebsocketServer(example_schema(), on_connect=on_connect) as greeting:
        client = await connect(greeting.url, (TRANSPORT_WS,))
        ack = await client.init({"user": "ada"})
        assert ack == {"type": "connection_ack", "payload": {"welcome": "ada"}}
        assert seen == [{"user": "ada"}]


async def test_on_connect_raising_closes_4500(connect: Connect) -> None:
    def on_connect(payload: Any) -> None:
        raise RuntimeError("auth backend down")

    async with GraphQLWebsocketServer(example_schema(), on_connect=on_connect) as broken:
        client = await connect(broken.url, (TRANSPORT_WS,))
        await client.send({"type": "connection_init"})
        assert await client.receive_close() == (4500, "auth backend down")


async def test_connection_params_resolver_reads_the_init_payload(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect, {"token": "abc", "n": 1})
    await client.send(subscribe("1", "{ connectionParams }"))
    first = (await client.receive_op("1"))[0]
    assert first["payload"] == {"data": {"connectionParams": '{"token":"abc","n":1}'}}


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        pytest.param({"connection_params": {"fixed": True}}, '{"fixed":true}', id="value"),
        pytest.param(lambda p: {"connection_params": [p]}, '[{"x":1}]', id="callable"),
        pytest.param(object(), None, id="not-a-dict"),
    ],
)
async def test_context_is_passed_to_resolvers(
    connect: Connect, context: object, expected: str | None
) -> None:
    async with GraphQLWebsocketServer(example_schema(), context=context) as contextual:
        client = await connect(contextual.url, (TRANSPORT_WS,))
        await client.init({"x": 1})
        await client.send(subscribe("1", "{ connectionParams }"))
        first = (await client.receive_op("1"))[0]
        assert first["payload"] == {"data": {"connectionParams": expected}}


async def test_record_keeps_messages_in_order_and_the_client_close(
    server: GraphQLWebsocketServer, connect: Connect
) -> None:
    client = await ready(server, connect, {"a": 1})
    await client.send(subscribe("1", "{ hello }"))
    await client.receive_op("1")
    await client.ws.close(code=1000, message=b"bye")
    record = (await server.wait_for_connections(1, scaled_timeout(5)))[0]
    assert await record.wait_closed(scaled_timeout(5)) == 1000
    assert (record.closed_by, record.close_reason) == ("client", "bye")
    assert record.subprotocol == TRANSPORT_WS
    assert record.init_payload == {"a": 1}
    assert [m["type"] for m in record.received] == ["connection_init", "subscribe"]
    assert [m["type"] for m in record.sent] == ["connection_ack", "next", "complete"]
