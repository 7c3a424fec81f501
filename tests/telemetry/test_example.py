"""examples/observability.py: the global providers alone make the transport report."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gql_aiohttp_websockets.testing import scaled_timeout

pytestmark = pytest.mark.otel

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "observability.py"


def printed_spans(out: str) -> list[dict[str, Any]]:
    """The JSON objects ConsoleSpanExporter printed, one per span."""
    decoder = json.JSONDecoder()
    spans = []
    for match in re.finditer(r"^\{$", out, re.MULTILINE):
        found, _ = decoder.raw_decode(out, match.start())
        if "context" in found and "kind" in found:
            spans.append(found)
    return spans


def test_the_example_prints_the_spans_and_metrics_of_the_global_providers() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=scaled_timeout(60),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    spans = {span["name"]: span for span in printed_spans(done.stdout)}
    assert set(spans) == {
        "handle request",
        "query Hello",
        "mutation Add",
        "subscription Countdown",
        "subscription",
        "graphql.connect",
    }
    request = spans["handle request"]["context"]["span_id"]
    for name in ("query Hello", "mutation Add", "subscription Countdown", "subscription"):
        assert spans[name]["kind"] == "SpanKind.CLIENT"
        assert spans[name]["parent_id"] == request
    assert spans["subscription Countdown"]["attributes"]["graphql.client.subscription.results"] == 4
    assert spans["subscription"]["attributes"]["graphql.client.subscription.end"] == "left"
    for metric in (
        "graphql.client.request.duration",
        "graphql.client.subscription.active",
        "graphql.client.subscription.results",
        "graphql.client.connection.attempts",
    ):
        assert f'"name": "{metric}"' in done.stdout
    assert done.stdout.rstrip().endswith("done")
