"""Whether a transport reports to OpenTelemetry, decided without loading it when it is absent.

The ``otel`` extra is optional: when ``opentelemetry-api`` cannot be
imported, :func:`load_telemetry` returns ``None`` and the transport runs as
it always did, with nothing of OpenTelemetry imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .telemetry import Telemetry

__all__ = ["load_telemetry"]

# Whether opentelemetry-api turned out not to be importable.
_absent = False


def load_telemetry(
    url: str,
    *,
    tracer_provider: Any,
    meter_provider: Any,
    send_traceparent: bool,
    trace_document: bool,
) -> Telemetry | None:
    """Return the transport's telemetry, or ``None`` without ``opentelemetry-api``.

    Args:
        url: The server's URL.
        tracer_provider: The ``tracer_provider`` option (``None``: the global one).
        meter_provider: The ``meter_provider`` option (``None``: the global one).
        send_traceparent: The ``send_traceparent`` option.
        trace_document: The ``trace_document`` option.

    Raises:
        ImportError: A provider was given but ``opentelemetry-api`` is missing.
    """
    global _absent
    if not _absent:
        try:
            from .telemetry import Telemetry
        except ImportError:
            # Asked once: a failed import is tried in full again each time.
            _absent = True
    if _absent:
        if tracer_provider is not None or meter_provider is not None:
            raise ImportError(
                "tracer_provider= and meter_provider= need opentelemetry-api: "
                "pip install 'gql-aiohttp-websockets[otel]'"
            ) from None
        return None
    return Telemetry(
        url,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        send_traceparent=send_traceparent,
        trace_document=trace_document,
    )
