"""OpenTelemetry's SDK with in-memory exporters, and transports that report to them.

These tests need ``opentelemetry-api`` and ``opentelemetry-sdk``.  The test
sessions without the ``otel`` extra set ``GQL_AIOHTTP_WS_WITHOUT_OTEL=1``: then
these modules are not collected, and ``tests/test_telemetry_absent.py``
checks that the package runs without OpenTelemetry and imports none of it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

WITHOUT_OTEL = os.environ.get("GQL_AIOHTTP_WS_WITHOUT_OTEL", "").strip() == "1"

# Without the extra, this directory is left out rather than failing to import.
collect_ignore_glob = ["test_*.py"] if WITHOUT_OTEL else []

if not WITHOUT_OTEL:
    try:
        import opentelemetry.sdk  # noqa: F401
    except ImportError as missing:
        raise ImportError(
            "tests/telemetry needs opentelemetry-api and opentelemetry-sdk "
            "(pip install -e '.[test,otel]' opentelemetry-sdk); "
            "without them, set GQL_AIOHTTP_WS_WITHOUT_OTEL=1"
        ) from missing
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport
    from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema
    from tests.conftest import MakeTransport

    @pytest.fixture
    def spans() -> InMemorySpanExporter:
        """Every span ended, kept in memory."""
        return InMemorySpanExporter()

    @pytest.fixture
    def tracer_provider(spans: InMemorySpanExporter) -> Iterator[TracerProvider]:
        provider = TracerProvider(shutdown_on_exit=False)
        provider.add_span_processor(SimpleSpanProcessor(spans))
        yield provider
        provider.shutdown()

    @pytest.fixture
    def metric_reader() -> InMemoryMetricReader:
        return InMemoryMetricReader()

    @pytest.fixture
    def meter_provider(metric_reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
        provider = MeterProvider(metric_readers=[metric_reader], shutdown_on_exit=False)
        yield provider
        provider.shutdown()

    @pytest.fixture
    async def server() -> AsyncIterator[GraphQLWebsocketServer]:
        async with GraphQLWebsocketServer(example_schema()) as running:
            yield running

    @pytest.fixture
    def make_transport(
        make_transport: MakeTransport,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider,
    ) -> MakeTransport:
        """The suite's transports (closed at teardown), reporting to the in-memory SDK."""

        def make(url: str, **kwargs: Any) -> AIOHTTPWebsocketsTransport:
            kwargs.setdefault("tracer_provider", tracer_provider)
            kwargs.setdefault("meter_provider", meter_provider)
            return make_transport(url, **kwargs)

        return make

    @pytest.fixture
    async def transport(
        server: GraphQLWebsocketServer, make_transport: MakeTransport
    ) -> AIOHTTPWebsocketsTransport:
        connected = make_transport(server.url)
        await connected.connect()
        return connected
