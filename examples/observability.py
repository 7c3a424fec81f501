"""OpenTelemetry spans and metrics of the transport, printed to the console.

Run from a clone:
    python -m pip install -e '.[otel]' opentelemetry-sdk && python examples/observability.py

The SDK is set up as an application does, through the global providers: the
transport uses them without being told.  One query, one mutation, one
subscription run to its end and one left early, all inside an application
span ``handle request`` (their parent), against the package's own server.
Each span is printed as JSON when it ends (the connection's last, when the
transport closes); the metrics once, at the end.
"""

from __future__ import annotations

import asyncio

from gql import Client, gql
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport
from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema

HELLO = gql('query Hello { hello(name: "otel") }')
ADD = gql("mutation Add { addNumbers(a: 1, b: 2) }")
COUNTDOWN = gql("subscription Countdown { countdown(from: 3) }")
TICKS = gql("subscription { ticks(count: 1000) }")


def set_up_opentelemetry() -> MeterProvider:
    """What an application does once at start-up (or opentelemetry-instrument does for it)."""
    resource = Resource.create({"service.name": "observability-example"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    # Exported when the provider shuts down, at the end (an hour is "never" here).
    reader = PeriodicExportingMetricReader(
        ConsoleMetricExporter(), export_interval_millis=3_600_000
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    metrics.set_meter_provider(meter_provider)
    return meter_provider


async def main() -> None:
    tracer = trace.get_tracer("observability-example")
    async with GraphQLWebsocketServer(example_schema()) as server:
        transport = AIOHTTPWebsocketsTransport(url=server.url)
        async with Client(transport=transport) as session:
            with tracer.start_as_current_span("handle request"):
                print("query:", await session.execute(HELLO), flush=True)
                print("mutation:", await session.execute(ADD), flush=True)
                async for result in session.subscribe(COUNTDOWN):
                    print("countdown:", result, flush=True)
                async for result in session.subscribe(TICKS):
                    print("left after:", result, flush=True)
                    break


if __name__ == "__main__":
    meter_provider = set_up_opentelemetry()
    asyncio.run(main())
    meter_provider.shutdown()
    trace.get_tracer_provider().shutdown()  # type: ignore[attr-defined]
    print("done", flush=True)
