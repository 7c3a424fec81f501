"""Spans and metrics against the package's own server, read from the SDK's in-memory exporters."""

from __future__ import annotations

import asyncio
import hashlib
from contextlib import aclosing
from typing import Any

import pytest
from gql import Client
from gql.transport.exceptions import TransportQueryError
from graphql import GraphQLError, GraphQLField, GraphQLObjectType, GraphQLSchema, GraphQLString
from opentelemetry import trace
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from gql_aiohttp_websockets import (
    AIOHTTPWebsocketsTransport,
    Resubscribed,
    RetryPolicy,
    TransportConnectionClosed,
)
from gql_aiohttp_websockets.telemetry import Telemetry
from gql_aiohttp_websockets.testing import GraphQLWebsocketServer
from tests.gql_compat import request
from tests.helpers import doc, within
from tests.telemetry.conftest import MakeTransport

pytestmark = pytest.mark.otel

QUICK = RetryPolicy(attempts=5, wait=lambda attempt: 0.01)


def operation_spans(spans: InMemorySpanExporter) -> list[ReadableSpan]:
    return [span for span in spans.get_finished_spans() if span.name != "graphql.connect"]


def connection_spans(spans: InMemorySpanExporter) -> list[ReadableSpan]:
    return [span for span in spans.get_finished_spans() if span.name == "graphql.connect"]


def points(reader: InMemoryMetricReader, name: str) -> list[tuple[dict[str, Any], Any]]:
    """Each data point of the metric ``name``: its attributes and value (a histogram's count)."""
    data = reader.get_metrics_data()
    found = []
    for resource in data.resource_metrics if data is not None else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        value = getattr(point, "count", None)
                        if value is None:
                            value = point.value  # type: ignore[union-attr]
                        found.append((dict(point.attributes or {}), value))
    return found


def total(reader: InMemoryMetricReader, name: str, **where: Any) -> Any:
    return sum(
        value
        for attributes, value in points(reader, name)
        if all(attributes.get(key) == wanted for key, wanted in where.items())
    )


def every_attribute_value(spans: InMemorySpanExporter) -> list[Any]:
    values: list[Any] = []
    for span in spans.get_finished_spans():
        values.extend((span.attributes or {}).values())
        for event in span.events:
            values.extend((event.attributes or {}).values())
    return values


async def test_a_named_query_has_a_client_span_linked_to_its_connection(
    transport: AIOHTTPWebsocketsTransport,
    server: GraphQLWebsocketServer,
    spans: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    text = 'query Greeting { hello(name: "secret-name") }'
    result = await within(transport.execute(doc(text)))
    assert result.data == {"hello": "Hello secret-name!"}
    await transport.close()

    (span,) = operation_spans(spans)
    assert span.name == "query Greeting"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attributes = dict(span.attributes or {})
    assert attributes["graphql.operation.type"] == "query"
    assert attributes["graphql.operation.name"] == "Greeting"
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == server.port
    sent = server.connections[0].received[1]["payload"]["query"]
    assert attributes["graphql.document.hash"] == hashlib.sha256(sent.encode()).hexdigest()
    assert "graphql.document" not in attributes
    assert "error.type" not in attributes
    (connection,) = connection_spans(spans)
    assert [link.context.span_id for link in span.links] == [connection.context.span_id]
    assert (
        total(
            metric_reader,
            "graphql.client.request.duration",
            **{"graphql.operation.name": "Greeting"},
        )
        == 1
    )


async def test_an_unnamed_query_is_named_by_its_type_alone(
    transport: AIOHTTPWebsocketsTransport, spans: InMemorySpanExporter
) -> None:
    await within(transport.execute(doc("{ hello }")))
    (span,) = operation_spans(spans)
    assert span.name == "query"
    assert "graphql.operation.name" not in (span.attributes or {})


async def test_a_mutation_records_neither_its_variables_nor_the_init_payload(
    server: GraphQLWebsocketServer,
    make_transport: MakeTransport,
    spans: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    transport = make_transport(server.url, init_payload={"token": "init-secret"})
    await transport.connect()
    document = doc("mutation Add($a: Int!, $b: Int!) { addNumbers(a: $a, b: $b) }")
    result = await within(transport.execute(document, {"a": 40000, "b": 2}))
    assert result.data == {"addNumbers": 40002}
    await transport.close()

    (span,) = operation_spans(spans)
    assert span.name == "mutation Add"
    assert dict(span.attributes or {})["graphql.operation.type"] == "mutation"
    values = [str(value) for value in every_attribute_value(spans)]
    assert not [value for value in values if "40000" in value or "init-secret" in value]
    assert total(metric_reader, "graphql.client.request.duration") == 1


async def test_the_document_text_is_recorded_only_when_asked_for(
    server: GraphQLWebsocketServer, make_transport: MakeTransport, spans: InMemorySpanExporter
) -> None:
    transport = make_transport(server.url, trace_document=True)
    await transport.connect()
    await within(transport.execute(doc("{ hello }")))
    (span,) = operation_spans(spans)
    sent = server.connections[0].received[1]["payload"]["query"]
    assert dict(span.attributes or {})["graphql.document"] == sent


def _forbidding_schema() -> GraphQLSchema:
    def forbidden(*_: Any) -> str:
        raise GraphQLError("not for you", extensions={"code": "FORBIDDEN"})

    return GraphQLSchema(
        query=GraphQLObjectType(
            "Query",
            {
                "forbidden": GraphQLField(GraphQLString, resolve=forbidden),
                "plain": GraphQLField(GraphQLString, resolve=lambda *_: "ok"),
            },
        )
    )


async def test_a_graphql_error_sets_status_error_and_its_code(
    make_transport: MakeTransport,
    spans: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    async with GraphQLWebsocketServer(_forbidding_schema()) as server:
        transport = make_transport(server.url)
        async with Client(transport=transport) as session:
            guarded, kwargs = request("query Guarded { forbidden }")
            with pytest.raises(TransportQueryError, match="not for you"):
                await within(session.execute(guarded, **kwargs))
            # Refused by validation: the server ends it with `error`, without a code.
            invalid, kwargs = request("query Invalid { nothing }")
            with pytest.raises(TransportQueryError, match="nothing"):
                await within(session.execute(invalid, **kwargs))

    guarded, invalid = operation_spans(spans)
    assert guarded.status.status_code is StatusCode.ERROR
    assert dict(guarded.attributes or {})["error.type"] == "FORBIDDEN"
    assert invalid.status.status_code is StatusCode.ERROR
    assert dict(invalid.attributes or {})["error.type"] == "TransportQueryError"
    assert (
        total(metric_reader, "graphql.client.request.duration", **{"error.type": "FORBIDDEN"}) == 1
    )


async def test_a_subscription_run_to_its_end_counts_its_results(
    transport: AIOHTTPWebsocketsTransport,
    spans: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    results = []
    async with aclosing(transport.subscribe(doc("subscription Down { countdown(from: 3) }"))) as it:
        async for result in it:
            results.append(result.data)
            assert total(metric_reader, "graphql.client.subscription.active") == 1
    assert len(results) == 4

    (span,) = operation_spans(spans)
    assert span.name == "subscription Down"
    attributes = dict(span.attributes or {})
    assert attributes["graphql.client.subscription.results"] == 4
    assert attributes["graphql.client.subscription.end"] == "complete"
    assert span.status.status_code is StatusCode.UNSET
    assert total(metric_reader, "graphql.client.subscription.results") == 4
    assert total(metric_reader, "graphql.client.subscription.active") == 0


async def test_a_subscription_left_early_says_so(
    transport: AIOHTTPWebsocketsTransport,
    spans: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    async with aclosing(transport.subscribe(doc("subscription { ticks(count: 1000) }"))) as it:
        async for _ in it:
            break

    (span,) = operation_spans(spans)
    attributes = dict(span.attributes or {})
    assert attributes["graphql.client.subscription.results"] == 1
    assert attributes["graphql.client.subscription.end"] == "left"
    assert span.status.status_code is StatusCode.UNSET
    assert total(metric_reader, "graphql.client.subscription.active") == 0


async def test_a_subscription_ended_by_an_error_fails_its_span(
    transport: AIOHTTPWebsocketsTransport, spans: InMemorySpanExporter
) -> None:
    seen: list[Any] = []

    async def consume() -> None:
        async with aclosing(transport.subscribe(doc("subscription { errorAfter(n: 2) }"))) as it:
            async for result in it:
                seen.append(result)

    with pytest.raises(TransportQueryError):
        await within(consume())
    (span,) = operation_spans(spans)
    attributes = dict(span.attributes or {})
    assert attributes["graphql.client.subscription.end"] == "error"
    assert attributes["error.type"] == "TransportQueryError"
    assert attributes["graphql.client.subscription.results"] == len(seen)
    assert span.status.status_code is StatusCode.ERROR


async def test_a_reconnection_carries_the_subscription_span_over(
    server: GraphQLWebsocketServer,
    make_transport: MakeTransport,
    spans: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    resubscribed = asyncio.Event()

    def on_event(event: object) -> None:
        if isinstance(event, Resubscribed):
            resubscribed.set()

    transport = make_transport(server.url, reconnect=QUICK, on_event=on_event)
    await transport.connect()
    async with aclosing(transport.subscribe(doc("subscription { sequence }"))) as it:
        async for _ in it:
            if not resubscribed.is_set():
                server.drop_connections()
                await within(resubscribed.wait())
                continue
            break
    await transport.close()

    (span,) = operation_spans(spans)
    events = [
        event for event in span.events if event.name == "graphql.client.subscription.carried_over"
    ]
    assert [dict(event.attributes or {}) for event in events] == [
        {"graphql.client.carry_over.reason": "reconnection"}
    ]
    first, second = connection_spans(spans)
    assert [link.context.span_id for link in span.links] == [
        first.context.span_id,
        second.context.span_id,
    ]
    assert "websocket.close.code" in dict(first.attributes or {})
    assert total(metric_reader, "graphql.client.connection.losses") == 1
    assert (
        total(
            metric_reader,
            "graphql.client.connection.reconnections",
            **{"graphql.client.outcome": "success"},
        )
        == 1
    )
    assert (
        total(
            metric_reader,
            "graphql.client.connection.attempts",
            **{"graphql.client.outcome": "success"},
        )
        == 2
    )


async def test_a_renewal_carries_the_subscription_span_over(
    transport: AIOHTTPWebsocketsTransport,
    spans: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    async with aclosing(transport.subscribe(doc("subscription { sequence }"))) as it:
        renewed = False
        async for _ in it:
            if renewed:
                break
            await within(transport.renew())
            renewed = True
    (span,) = operation_spans(spans)
    reasons = [
        dict(event.attributes or {})["graphql.client.carry_over.reason"]
        for event in span.events
        if event.name == "graphql.client.subscription.carried_over"
    ]
    assert reasons == ["renewal"]
    assert len(span.links) == 2
    assert (
        total(
            metric_reader,
            "graphql.client.connection.renewals",
            **{"graphql.client.outcome": "success"},
        )
        == 1
    )


async def test_a_failed_connection_attempt_is_an_error_span(
    make_transport: MakeTransport,
    spans: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    async with GraphQLWebsocketServer(
        _forbidding_schema(), on_connect=lambda payload: False
    ) as server:
        transport = make_transport(server.url)
        with pytest.raises(TransportConnectionClosed) as raised:
            await within(transport.connect())
    (span,) = connection_spans(spans)
    assert span.status.status_code is StatusCode.ERROR
    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == type(raised.value).__name__
    assert attributes["websocket.close.code"] == 4403
    assert (
        total(
            metric_reader,
            "graphql.client.connection.attempts",
            **{"graphql.client.outcome": "failure"},
        )
        == 1
    )


async def test_an_operation_started_inside_a_span_is_its_child(
    transport: AIOHTTPWebsocketsTransport,
    tracer_provider: TracerProvider,
    spans: InMemorySpanExporter,
) -> None:
    tracer = tracer_provider.get_tracer("the application")
    with tracer.start_as_current_span("handle request") as outer:
        await within(transport.execute(doc("{ hello }")))
        async with aclosing(transport.subscribe(doc("subscription { countdown(from: 1) }"))) as it:
            async for _ in it:
                pass
    query, subscription = [span for span in operation_spans(spans) if span.name != "handle request"]
    assert (query.name, subscription.name) == ("query", "subscription")
    for span in (query, subscription):
        assert span.parent is not None
        assert span.parent.span_id == outer.get_span_context().span_id
        assert span.context.trace_id == outer.get_span_context().trace_id


async def test_the_traceparent_is_sent_only_when_asked_for(
    server: GraphQLWebsocketServer,
    make_transport: MakeTransport,
    spans: InMemorySpanExporter,
) -> None:
    quiet = make_transport(server.url)
    await quiet.connect()
    await within(quiet.execute(doc("{ hello }")))
    telling = make_transport(server.url, send_traceparent=True)
    await telling.connect()
    await within(telling.execute(doc("{ hello }"), extensions={"mine": 1}))

    quiet_payload = server.connections[0].received[1]["payload"]
    assert "extensions" not in quiet_payload
    told = server.connections[1].received[1]["payload"]["extensions"]
    assert told["mine"] == 1
    context = TraceContextTextMapPropagator().extract(told)
    sent = trace.get_current_span(context).get_span_context()
    _, span = operation_spans(spans)
    assert sent.trace_id == span.context.trace_id
    assert sent.span_id == span.context.span_id


async def test_with_the_api_and_no_sdk_nothing_is_started(
    server: GraphQLWebsocketServer,
) -> None:
    # The global providers are the API's proxies here: no test sets them in-process.
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    telemetry = Telemetry(
        server.url,
        tracer_provider=None,
        meter_provider=None,
        send_traceparent=True,
        trace_document=False,
    )
    assert telemetry.operation({"query": "{ hello }"}, None, subscription=False) is None
    assert telemetry.connection(1) is None
    transport = AIOHTTPWebsocketsTransport(url=server.url, send_traceparent=True)
    await transport.connect()
    try:
        result = await within(transport.execute(doc("{ hello }")))
        async with aclosing(transport.subscribe(doc("subscription { countdown(from: 1) }"))) as it:
            counted = [item.data async for item in it]
    finally:
        await transport.close()
    assert result.data == {"hello": "Hello world!"}
    assert counted == [{"countdown": 1}, {"countdown": 0}]
    # Nothing records, so nothing is sent either.
    assert "extensions" not in server.connections[0].received[1]["payload"]
