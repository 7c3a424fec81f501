"""Without OpenTelemetry the transport runs as before and imports none of it.

Runs in every test session: in a subprocess where ``opentelemetry`` cannot be
imported (blocked, when the session has the ``otel`` extra).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

from gql_aiohttp_websockets.testing import scaled_timeout

SCRIPT = """
import asyncio, json, sys

sys.modules["opentelemetry"] = None  # unimportable, as when the extra is absent

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport
from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema


async def main():
    async with GraphQLWebsocketServer(example_schema()) as server:
        transport = AIOHTTPWebsocketsTransport(url=server.url)
        await transport.connect()
        try:
            query = await transport.execute("{ hello }")
            results = transport.subscribe("subscription { countdown(from: 2) }")
            counted = [result.data async for result in results]
        finally:
            await transport.close()
        try:
            AIOHTTPWebsocketsTransport(url=server.url, tracer_provider=object())
            refused = None
        except ImportError as error:
            refused = str(error)
    return query.data, counted, refused


query, counted, refused = asyncio.run(main())
loaded = sorted(
    name for name, module in sys.modules.items()
    if module is not None and (name.startswith("opentelemetry") or name.endswith(".telemetry"))
)
print(json.dumps({"query": query, "counted": counted, "refused": refused, "loaded": loaded}))
"""


def test_without_opentelemetry_nothing_of_it_is_imported_and_nothing_changes() -> None:
    if os.environ.get("GQL_AIOHTTP_WS_WITHOUT_OTEL", "").strip() == "1":
        # The sessions that say they lack the extra do lack it.
        assert importlib.util.find_spec("opentelemetry") is None
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=scaled_timeout(60),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    report = json.loads(done.stdout)
    assert report["query"] == {"hello": "Hello world!"}
    assert report["counted"] == [{"countdown": 2}, {"countdown": 1}, {"countdown": 0}]
    assert report["loaded"] == []
    assert "pip install 'gql-aiohttp-websockets[otel]'" in report["refused"]
