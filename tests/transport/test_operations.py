"""execute and subscribe against the package's own server, under both subprotocols."""

from __future__ import annotations

import asyncio

import pytest
from gql.transport.exceptions import TransportQueryError

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport
from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, scaled_timeout
from tests.helpers import collect, doc, within

STOP_TYPE = {"graphql-transport-ws": "complete", "graphql-ws": "stop"}
START_TYPE = {"graphql-transport-ws": "subscribe", "graphql-ws": "start"}


async def test_execute_returns_the_first_result(transport: AIOHTTPWebsocketsTransport) -> None:
    result = await within(transport.execute(doc('{ hello(name: "you") }')))
    assert result.data == {"hello": "Hello you!"}
    assert result.errors is None


async def test_execute_sends_no_stop(
    transport: AIOHTTPWebsocketsTransport, server: GraphQLWebsocketServer, subprotocol: str
) -> None:
    await within(transport.execute(doc("{ hello }")))
    await within(transport.execute(doc("{ hello }")))
    record = server.connections[0]
    types = [message["type"] for message in record.received]
    assert types == ["connection_init", START_TYPE[subprotocol], START_TYPE[subprotocol]]
    assert [m["id"] for m in record.received[1:]] == ["1", "2"]


async def test_variables_and_operation_name(transport: AIOHTTPWebsocketsTransport) -> None:
    document = doc("query A($v: String!) { echo(input: $v) } query B { hello }")
    result = await within(transport.execute(document, {"v": "x"}, "A"))
    assert result.data == {"echo": "x"}
    result = await within(transport.execute(document, operation_name="B"))
    assert result.data == {"hello": "Hello world!"}


async def test_mutation(transport: AIOHTTPWebsocketsTransport) -> None:
    result = await within(transport.execute(doc("mutation { addNumbers(a: 2, b: 3) }")))
    assert result.data == {"addNumbers": 5}


async def test_subscribe_yields_every_result_until_complete(
    transport: AIOHTTPWebsocketsTransport,
) -> None:
    data = await collect(
        transport.subscribe(doc("subscription { countdown(from: 4, delay_ms: 0) }"))
    )
    assert data == [{"countdown": n} for n in (4, 3, 2, 1, 0)]
    assert transport.listeners == {}


async def test_a_result_carrying_errors_is_a_result_not_the_end(
    transport: AIOHTTPWebsocketsTransport,
) -> None:
    result = await within(transport.execute(doc('{ error(message: "boom") hello }')))
    assert result.data == {"error": None, "hello": "Hello world!"}
    assert result.errors is not None
    assert result.errors[0]["message"] == "boom"


async def test_an_error_message_fails_only_its_operation(
    transport: AIOHTTPWebsocketsTransport,
) -> None:
    with pytest.raises(TransportQueryError) as raised:
        await within(transport.execute(doc("{ noSuchField }")))
    assert raised.value.query_id == 1
    assert raised.value.errors is not None
    assert "noSuchField" in str(raised.value.errors[0])
    result = await within(transport.execute(doc("{ hello }")))
    assert result.data == {"hello": "Hello world!"}


async def test_a_stream_failing_mid_way_delivers_what_came_before(
    transport: AIOHTTPWebsocketsTransport, subprotocol: str
) -> None:
    received = []
    failure: Exception | None = None
    try:
        async for result in transport.subscribe(
            doc("subscription { errorAfter(n: 3, delay_ms: 0) }")
        ):
            received.append(result)
    except TransportQueryError as exc:
        failure = exc
    assert [r.data for r in received[:3]] == [{"errorAfter": n} for n in range(3)]
    # The server reports the failure as 'error' or as a last result carrying errors.
    reported = str(failure) if failure is not None else str(received[3].errors)
    assert "failing after 3 items" in reported
    assert (await within(transport.execute(doc("{ hello }")))).data == {"hello": "Hello world!"}


async def test_breaking_out_sends_stop_and_keeps_the_connection(
    transport: AIOHTTPWebsocketsTransport, server: GraphQLWebsocketServer, subprotocol: str
) -> None:
    results = transport.subscribe(doc("subscription { countdown(from: 1000, delay_ms: 5) }"))
    async for result in results:
        assert result.data == {"countdown": 1000}
        break
    await results.aclose()
    record = server.connections[0]
    stop = await record.wait_for_message(
        lambda m: m.get("type") == STOP_TYPE[subprotocol], scaled_timeout(5)
    )
    assert stop["id"] == "1"
    assert transport.listeners == {}
    assert (await within(transport.execute(doc("{ hello }")))).data == {"hello": "Hello world!"}


async def test_cancelling_the_consumer_sends_stop(
    transport: AIOHTTPWebsocketsTransport, server: GraphQLWebsocketServer, subprotocol: str
) -> None:
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in transport.subscribe(
            doc("subscription { countdown(from: 1000, delay_ms: 5) }")
        ):
            first.set()

    task = asyncio.ensure_future(consume())
    await within(first.wait())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    record = server.connections[0]
    await record.wait_for_message(
        lambda m: m.get("type") == STOP_TYPE[subprotocol], scaled_timeout(5)
    )
    assert (await within(transport.execute(doc("{ hello }")))).data == {"hello": "Hello world!"}


async def test_send_stop_false_sends_nothing(
    transport: AIOHTTPWebsocketsTransport, server: GraphQLWebsocketServer, subprotocol: str
) -> None:
    results = transport.subscribe(
        doc("subscription { countdown(from: 3, delay_ms: 50) }"), send_stop=False
    )
    async for _ in results:
        break
    await results.aclose()
    # A later operation's start proves everything before it on the wire was seen.
    await within(transport.execute(doc("{ hello }")))
    record = server.connections[0]
    await record.wait_for_message(lambda m: m.get("id") == "2", scaled_timeout(5))
    assert not record.messages_of_type(STOP_TYPE[subprotocol])


async def test_many_concurrent_operations_from_many_tasks(
    transport: AIOHTTPWebsocketsTransport,
) -> None:
    async def one_task(index: int) -> list[object]:
        subscription = collect(
            transport.subscribe(
                doc(f"subscription {{ countdown(from: {index % 7}, delay_ms: 1) }}")
            )
        )
        query = transport.execute(doc(f'{{ echo(input: "{index}") }}'))
        streamed, answered = await asyncio.gather(subscription, query)
        return [streamed, answered.data]

    outcomes = await within(asyncio.gather(*(one_task(i) for i in range(40))), 20)
    for index, (streamed, answered) in enumerate(outcomes):
        assert streamed == [{"countdown": n} for n in range(index % 7, -1, -1)]
        assert answered == {"echo": str(index)}
    assert transport.listeners == {}
    assert transport.next_query_id == 81


async def test_gql4_graphql_request_call_style(transport: AIOHTTPWebsocketsTransport) -> None:
    graphql_request = pytest.importorskip("gql.graphql_request")
    request_class = graphql_request.GraphQLRequest
    document = doc("query Q($v: String!) { echo(input: $v) }")
    try:
        request = request_class(document, variable_values={"v": "r"}, operation_name="Q")
    except TypeError:  # gql 3.5: a dataclass with keyword fields
        request = request_class(document=document, variable_values={"v": "r"}, operation_name="Q")
    result = await within(transport.execute(request))
    assert result.data == {"echo": "r"}
    data = await collect(transport.subscribe(request))
    assert data == [{"echo": "r"}]


async def test_query_text_is_accepted(transport: AIOHTTPWebsocketsTransport) -> None:
    result = await within(transport.execute('{ hello(name: "text") }'))
    assert result.data == {"hello": "Hello text!"}


async def test_init_payload_reaches_the_server(
    server: GraphQLWebsocketServer, make_transport: object
) -> None:
    transport = make_transport(server.url, init_payload={"token": "abc"})  # type: ignore[operator]
    await within(transport.connect())
    result = await within(transport.execute(doc("{ connectionParams }")))
    assert result.data == {"connectionParams": '{"token": "abc"}'} or result.data == {
        "connectionParams": '{"token":"abc"}'
    }
    assert server.connections[0].init_payload == {"token": "abc"}
