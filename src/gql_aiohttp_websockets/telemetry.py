"""Telemetry: the transport's OpenTelemetry spans and metrics (the ``otel`` extra).

Imported only when ``opentelemetry-api`` is installed (``telemetry_switch.py``
decides): nothing of OpenTelemetry is loaded otherwise.  One
:class:`Telemetry` per transport holds the tracer and the instruments; it
hands out an :class:`OperationTrace` per operation and a
:class:`ConnectionTrace` per connection attempt, and reads the lifecycle
events for the connection metrics.  Nothing here touches the hot path of a
received frame: results are counted by the consumer's loop, dropped ones
read from the buffer's counter at the end.

The names follow OpenTelemetry's GraphQL conventions and the client-span
draft (semantic-conventions PR 3515): a CLIENT span named
``{graphql.operation.type} {graphql.operation.name}``, and the histogram
``graphql.client.request.duration``.  The rest are ours, in the same style,
and listed in ``docs/observability.rst``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from gql.transport.exceptions import TransportQueryError
from graphql import ExecutionResult, GraphQLError, OperationDefinitionNode, parse
from opentelemetry import metrics, trace
from opentelemetry.metrics import MeterProvider, NoOpMeterProvider
from opentelemetry.trace import (
    Link,
    NoOpTracerProvider,
    ProxyTracerProvider,
    Span,
    SpanKind,
    StatusCode,
    TracerProvider,
)
from opentelemetry.trace.propagation import set_span_in_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from yarl import URL

from .exceptions import close_details
from .lifecycle_events import (
    Connected,
    Connecting,
    Disconnected,
    RenewalFailed,
    Renewed,
    TransportEvent,
)

__all__ = [
    "INSTRUMENTATION_NAME",
    "ConnectionTrace",
    "OperationTrace",
    "Telemetry",
    "describe_document",
    "error_type",
]

#: The instrumentation scope of every span and instrument.
INSTRUMENTATION_NAME = "gql_aiohttp_websockets"

#: Span and metric attributes (OpenTelemetry's names where it has them).
OPERATION_TYPE = "graphql.operation.type"
OPERATION_NAME = "graphql.operation.name"
DOCUMENT = "graphql.document"
DOCUMENT_HASH = "graphql.document.hash"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"
RESULTS = "graphql.client.subscription.results"
SUBSCRIPTION_END = "graphql.client.subscription.end"
CARRIED_OVER = "graphql.client.subscription.carried_over"
CARRY_REASON = "graphql.client.carry_over.reason"
OUTCOME = "graphql.client.outcome"
WILL_RETRY = "graphql.client.connection.will_retry"
CONNECTION_NUMBER = "graphql.client.connection.number"
SUBPROTOCOL = "websocket.subprotocol"
CLOSE_CODE = "websocket.close.code"
CLOSE_REASON = "websocket.close.reason"
OVERFLOW = "graphql.client.queue.outcome"

#: Buckets for the request duration: 5 ms to 10 s, as HTTP clients' advice.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)

# Without a type to be found (unparsable text), the draft's fallback name.
_UNKNOWN_OPERATION = "GraphQL Operation"

_propagator = TraceContextTextMapPropagator()

#: A subscription's results are added to ``graphql.client.subscription.results``
#: once this many have gathered, or this many seconds after the last add.
COUNT_EVERY_RESULTS = 100
COUNT_EVERY_SECONDS = 1.0

#: While no SDK is set up, how long the transport goes on without asking again:
#: an SDK set up later is used from this many seconds on at the latest.
SILENT_RECHECK_SECONDS = 1.0

# How many (document, operation name) descriptions one transport keeps.
_DESCRIPTIONS = 256

# Providers that record nothing: OpenTelemetry's no-op ones, and the proxies
# the API hands out while no SDK is set up (the metrics' proxy class has no
# public name; without it, the transport always reports).
_NO_TRACING: tuple[type, ...] = (ProxyTracerProvider, NoOpTracerProvider)
try:
    from opentelemetry.metrics._internal import _ProxyMeterProvider

    _NO_METRICS: tuple[type, ...] = (_ProxyMeterProvider, NoOpMeterProvider)
except ImportError:  # pragma: no cover - an API that moved it
    _NO_METRICS = ()


@lru_cache(maxsize=1)
def _package_version() -> str:
    try:
        return version("gql-aiohttp-websockets")
    except PackageNotFoundError:  # pragma: no cover - run from a bare source tree
        return "0"


@lru_cache(maxsize=256)
def describe_document(query: str, operation_name: str | None) -> tuple[str | None, str | None, str]:
    """Return the type and name of the operation ``query`` runs, and the document's hash.

    Parsed once per distinct text (the cache), as the payload carries text.

    Args:
        query: The document's text, as sent.
        operation_name: The ``operationName`` sent, if any.

    Returns:
        ``(type, name, hash)``: the type (``"query"``, ``"mutation"``,
        ``"subscription"``) and name of the operation selected, each ``None``
        when the text does not tell; the SHA-256 of the text, in hex.
    """
    digest = hashlib.sha256(query.encode()).hexdigest()
    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        return None, operation_name, digest
    definitions = [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]
    for definition in definitions:
        name = definition.name.value if definition.name is not None else None
        if (operation_name is None and len(definitions) == 1) or name == operation_name:
            return definition.operation.value, name, digest
    return None, operation_name, digest


def error_type(error: BaseException | None, result: ExecutionResult | None = None) -> str | None:
    """Return the ``error.type`` of a failed operation, ``None`` when it did not fail.

    The first GraphQL error's ``extensions.code`` when it has one, else the
    exception's class name (``TransportQueryError`` for a result carrying
    errors, the exception gql's ``Client`` raises for it).
    """
    errors: Any = None
    if isinstance(error, TransportQueryError):
        errors = error.errors
    elif error is None:
        if result is None or not result.errors:
            return None
        errors = result.errors
    if errors:
        first = errors[0]
        extensions = first.get("extensions") if isinstance(first, Mapping) else first.extensions
        if isinstance(extensions, Mapping) and extensions.get("code") is not None:
            return str(extensions["code"])
    return type(error).__name__ if error is not None else TransportQueryError.__name__


class Telemetry:
    """The spans and instruments of one transport.

    Args:
        url: The server's URL, for ``server.address`` and ``server.port``.
        tracer_provider: The provider to use; ``None`` for the global one.
        meter_provider: The provider to use; ``None`` for the global one.
        send_traceparent: Send the W3C ``traceparent`` in each operation's
            ``extensions``.
        trace_document: Record the document's text as ``graphql.document``.
    """

    def __init__(
        self,
        url: str,
        *,
        tracer_provider: TracerProvider | None,
        meter_provider: MeterProvider | None,
        send_traceparent: bool,
        trace_document: bool,
    ) -> None:
        scope_version = _package_version()
        self.tracer = trace.get_tracer(
            INSTRUMENTATION_NAME, scope_version, tracer_provider=tracer_provider
        )
        meter = metrics.get_meter(
            INSTRUMENTATION_NAME, scope_version, meter_provider=meter_provider
        )
        self.send_traceparent = send_traceparent
        self.trace_document = trace_document
        parsed = URL(url)
        self.server: dict[str, str | int] = {SERVER_ADDRESS: parsed.host or ""}
        if parsed.port is not None:
            self.server[SERVER_PORT] = parsed.port
        self.request_duration = meter.create_histogram(
            "graphql.client.request.duration",
            unit="s",
            description="Duration of GraphQL queries and mutations (execute), from send to result.",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        self.active_subscriptions = meter.create_up_down_counter(
            "graphql.client.subscription.active",
            unit="{subscription}",
            description="Subscriptions running: started, not yet ended or left.",
        )
        self.results = meter.create_counter(
            "graphql.client.subscription.results",
            unit="{result}",
            description="Subscription results handed to their consumers.",
        )
        self.overflows = meter.create_counter(
            "graphql.client.subscription.overflows",
            unit="{result}",
            description="Results lost to a full queue: dropped (keep_newest) or failed (fail).",
        )
        self.attempts = meter.create_counter(
            "graphql.client.connection.attempts",
            unit="{attempt}",
            description="Connection attempts (handshake, init, ack), by outcome.",
        )
        self.losses = meter.create_counter(
            "graphql.client.connection.losses",
            unit="{connection}",
            description="Acknowledged connections that ended without being closed by the client.",
        )
        self.reconnections = meter.create_counter(
            "graphql.client.connection.reconnections",
            unit="{reconnection}",
            description="Lost connections replaced (success) or given up on (failure).",
        )
        self.renewals = meter.create_counter(
            "graphql.client.connection.renewals",
            unit="{renewal}",
            description="Connection renewals, by outcome.",
        )
        # The lanes with an attempt under way, and its number (0: connect()).
        self._attempting: dict[int, int] = {}
        self._descriptions: dict[tuple[Any, Any], tuple[str, Mapping[str, Any], Mapping[str, Any]]]
        self._descriptions = {}
        # Given providers decide once; the global ones may be set up later.
        self._always_silent: bool | None = None
        self._silent_until = float("-inf")
        if tracer_provider is not None or meter_provider is not None:
            self._always_silent = isinstance(
                tracer_provider or trace.get_tracer_provider(), _NO_TRACING
            ) and isinstance(meter_provider or metrics.get_meter_provider(), _NO_METRICS)

    # ------------------------------------------------------------- operations

    def operation(
        self, payload: Mapping[str, Any], connection: ConnectionTrace | None, *, subscription: bool
    ) -> OperationTrace | None:
        """Start the span of an operation about to be sent (a child of the current span).

        Args:
            payload: What is sent: its ``query`` and ``operationName``.
            connection: The trace of the connection it is sent on, linked.
            subscription: Whether it was started with ``subscribe()``.

        Returns:
            Its trace; ``None`` while nothing records (no SDK set up).
        """
        if self._silent():
            return None
        span_name, attributes, metric_attributes = self._described(
            payload.get("query"), payload.get("operationName")
        )
        span = self.tracer.start_span(
            span_name,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            links=None if connection is None else connection.links,
        )
        return OperationTrace(self, span, metric_attributes, subscription=subscription)

    def _silent(self) -> bool:
        # Whether neither spans nor metrics would be recorded: the providers
        # are OpenTelemetry's no-op or proxy ones, with nothing behind them.
        # Asking the API costs microseconds (it reads os.environ), so a
        # silent answer stands for SILENT_RECHECK_SECONDS; a global provider,
        # once set, cannot be unset.
        silent = self._always_silent
        if silent is not None:
            return silent
        now = time.monotonic()
        if now < self._silent_until:
            return True
        if isinstance(trace.get_tracer_provider(), _NO_TRACING) and isinstance(
            metrics.get_meter_provider(), _NO_METRICS
        ):
            self._silent_until = now + SILENT_RECHECK_SECONDS
            return True
        self._always_silent = False
        return False

    def _described(
        self, query: Any, operation_name: Any
    ) -> tuple[str, Mapping[str, Any], Mapping[str, Any]]:
        # The span's name, its attributes and the metrics' for one document
        # and operation name: built once, shared by every call (read-only).
        key = (query, operation_name)
        described = self._descriptions.get(key)
        if described is not None:
            return described
        attributes: dict[str, Any] = dict(self.server)
        kind = name = None
        if isinstance(query, str):
            kind, name, digest = describe_document(
                query, operation_name if isinstance(operation_name, str) else None
            )
            attributes[DOCUMENT_HASH] = digest
            if self.trace_document:
                attributes[DOCUMENT] = query
        if kind is not None:
            attributes[OPERATION_TYPE] = kind
        if name is not None:
            attributes[OPERATION_NAME] = name
        span_name = (
            _UNKNOWN_OPERATION if kind is None else kind if name is None else f"{kind} {name}"
        )
        metric_attributes = {
            key: value for key, value in attributes.items() if key not in (DOCUMENT, DOCUMENT_HASH)
        }
        described = span_name, attributes, metric_attributes
        if len(self._descriptions) >= _DESCRIPTIONS:
            self._descriptions.pop(next(iter(self._descriptions)))
        self._descriptions[key] = described
        return described

    def with_traceparent(self, payload: dict[str, Any], trace: OperationTrace) -> dict[str, Any]:
        """Return ``payload`` with the W3C trace context of ``trace`` in its ``extensions``.

        A copy: a payload may be shared by every call with the same document.
        """
        carrier: dict[str, str] = {}
        _propagator.inject(carrier, context=set_span_in_context(trace.span))
        if not carrier:
            return payload
        extensions = payload.get("extensions")
        merged = {**extensions, **carrier} if isinstance(extensions, Mapping) else carrier
        return {**payload, "extensions": merged}

    # ------------------------------------------------------------ connections

    def connection(self, number: int) -> ConnectionTrace | None:
        """Start the span of a connection attempt on the connection numbered ``number``.

        Returns:
            Its trace; ``None`` while nothing records (no SDK set up).
        """
        if self._silent():
            return None
        span = self.tracer.start_span(
            "graphql.connect",
            kind=SpanKind.CLIENT,
            attributes={**self.server, CONNECTION_NUMBER: number},
        )
        return ConnectionTrace(self, span)

    def observe(self, event: TransportEvent) -> None:
        """Count what a lifecycle event says about the connections."""
        kind = type(event)
        if kind is Connecting:
            assert isinstance(event, Connecting)
            self._attempting[event.connection] = event.attempt
        elif kind is Connected:
            assert isinstance(event, Connected)
            if self._attempting.pop(event.connection, 0):
                self.reconnections.add(1, {**self.server, OUTCOME: "success"})
        elif kind is Disconnected:
            assert isinstance(event, Disconnected)
            attempt = self._attempting.pop(event.connection, None)
            if attempt is None:
                self.losses.add(
                    1,
                    {
                        **self.server,
                        ERROR_TYPE: type(event.error).__name__,
                        WILL_RETRY: event.will_retry,
                    },
                )
            elif attempt and not event.will_retry:
                self.reconnections.add(1, {**self.server, OUTCOME: "failure"})
        elif kind is Renewed:
            self.renewals.add(1, {**self.server, OUTCOME: "success"})
        elif kind is RenewalFailed:
            self.renewals.add(1, {**self.server, OUTCOME: "failure"})


class OperationTrace:
    """The span of one operation, and what its metrics need.

    Attributes:
        span: The operation's CLIENT span.
        results: Results handed to the consumer and not yet counted in the
            metric (the consumer's loop adds; :meth:`flush` counts).
    """

    __slots__ = (
        "_attributes",
        "_counted_at",
        "_started",
        "_subscription",
        "_telemetry",
        "_total",
        "results",
        "span",
    )

    def __init__(
        self,
        telemetry: Telemetry,
        span: Span,
        attributes: Mapping[str, Any],
        *,
        subscription: bool,
    ) -> None:
        self._telemetry = telemetry
        self.span = span
        self._attributes = attributes
        self._subscription = subscription
        self._started = self._counted_at = time.perf_counter()
        self.results = 0
        self._total = 0
        if subscription:
            telemetry.active_subscriptions.add(1, attributes)

    def flush(self, *, now: bool = False) -> None:
        """Count the results handed over since the last count.

        The consumer's loop calls it each time it waits: the metric is added
        to once :data:`COUNT_EVERY_RESULTS` results or
        :data:`COUNT_EVERY_SECONDS` seconds have gathered (a recording
        counter's ``add`` costs more than a small result), or when ``now``.
        """
        count = self.results
        if not count:
            return
        at = time.perf_counter()
        if now or count >= COUNT_EVERY_RESULTS or at - self._counted_at >= COUNT_EVERY_SECONDS:
            self.results = 0
            self._counted_at = at
            self._total += count
            self._telemetry.results.add(count, self._attributes)

    def carried_over(self, reason: str, connection: ConnectionTrace | None) -> None:
        """The subscription was started again on a new connection (``reconnection``, ``renewal``).

        An event on the span, and a link to the new connection's span.
        """
        attributes: dict[str, Any] = {CARRY_REASON: reason}
        self.span.add_event(CARRIED_OVER, attributes)
        if connection is not None:
            self.span.add_link(connection.links[0].context, attributes)

    def end_execute(self, result: ExecutionResult | None, error: BaseException | None) -> None:
        """End an ``execute()``: its result came, or it failed with ``error``."""
        failure = error_type(error, result)
        self._end(failure, error)
        attributes = self._attributes
        if failure is not None:
            attributes = {**attributes, ERROR_TYPE: failure}
        self._telemetry.request_duration.record(time.perf_counter() - self._started, attributes)

    def end_subscription(self, how: str, error: BaseException | None, *, dropped: int) -> None:
        """End a subscription.

        Args:
            how: ``"complete"``, ``"error"`` or ``"left"`` (its consumer left early).
            error: What ended it, for ``"error"``.
            dropped: Results its full queue dropped (``keep_newest``).
        """
        self.flush(now=True)
        telemetry = self._telemetry
        span = self.span
        if span.is_recording():
            span.set_attribute(RESULTS, self._total)
            span.set_attribute(SUBSCRIPTION_END, how)
        self._end(error_type(error), error)
        telemetry.active_subscriptions.add(-1, self._attributes)
        if dropped:
            telemetry.overflows.add(dropped, {**self._attributes, OVERFLOW: "dropped"})
        if type(error).__name__ == "QueueFullError":
            telemetry.overflows.add(1, {**self._attributes, OVERFLOW: "failed"})

    def _end(self, failure: str | None, error: BaseException | None) -> None:
        span = self.span
        if failure is not None:
            span.set_attribute(ERROR_TYPE, failure)
            span.set_status(StatusCode.ERROR, None if error is None else str(error))
        span.end()


class ConnectionTrace:
    """The span of one connection attempt, from the handshake until the websocket closes.

    Attributes:
        span: The connection's span; the operations that ran on it link to it.
    """

    __slots__ = ("_acknowledged", "_telemetry", "links", "span")

    def __init__(self, telemetry: Telemetry, span: Span) -> None:
        self._telemetry = telemetry
        self.span = span
        #: What the spans of the operations that run on it link to.
        self.links = (Link(span.get_span_context()),)
        self._acknowledged = False

    def opened(self, subprotocol: str | None) -> None:
        """The websocket handshake succeeded with ``subprotocol``."""
        span = self.span
        if subprotocol is not None:
            span.set_attribute(SUBPROTOCOL, subprotocol)
        span.add_event("websocket.open")

    def acknowledged(self) -> None:
        """The server sent ``connection_ack``: the attempt succeeded."""
        self._acknowledged = True
        self.span.add_event("graphql.connection_ack")
        telemetry = self._telemetry
        telemetry.attempts.add(1, {**telemetry.server, OUTCOME: "success"})

    def closed(self, code: int, error: Exception | None) -> None:
        """The websocket is closed, with ``code`` (ours) after ``error``.

        The server's close code and reason are recorded when it sent them.
        """
        span = self.span
        server_code, reason = (None, "") if error is None else close_details(error)
        span.set_attribute(CLOSE_CODE, int(code if server_code is None else server_code))
        if reason:
            span.set_attribute(CLOSE_REASON, reason)
        if not self._acknowledged:
            failure = "CancelledError" if error is None else type(error).__name__
            span.set_attribute(ERROR_TYPE, failure)
            span.set_status(StatusCode.ERROR, None if error is None else str(error))
            telemetry = self._telemetry
            telemetry.attempts.add(1, {**telemetry.server, OUTCOME: "failure", ERROR_TYPE: failure})
        span.end()
