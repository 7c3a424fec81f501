"""What a renewal costs: N running subscriptions moved to a new connection.

    python benchmarks/renewal.py [--subscriptions N] [--tick S] [--pin]

Opens ``N`` ``sequence`` subscriptions (one global number every ``--tick``
seconds, sent to every subscriber) on the package's own test server in a
process of its own, then renews the connection twice
(``transport.renew()``), in a fresh client process.  Reports for each
renewal its time (from the call until the old connection is closed), the
longest stall of the client's event loop during it (the longest gap between
10 ms sleeps of a watching task), and, for the second, the peak of memory
allocated during the renewal (tracemalloc, started just before it; the
first renewal runs without it, as it slows the client down); and over the
whole run, the numbers missing (must be 0) and delivered twice.  Traffic
stays on 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import tracemalloc
from typing import Any

from processes import package_server

#: The longest one measurement may take.
_RUN_TIMEOUT = 600.0
_WATCH_SECONDS = 0.01


class Stalls:
    """Watches the event loop: the longest gap between two 10 ms sleeps."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(_WATCH_SECONDS)
            self.longest = max(self.longest, time.perf_counter() - before - _WATCH_SECONDS)

    def start(self) -> None:
        self.longest = 0.0
        self._task = asyncio.ensure_future(self._watch())

    async def stop(self) -> float:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        return self.longest


async def measure(url: str, count: int) -> dict[str, Any]:
    """Open ``count`` subscriptions and renew twice, in this process; return the measurements."""
    from graphql import parse

    from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport, Renewed, TransportEvent

    renewed: list[Renewed] = []

    def on_event(event: TransportEvent) -> None:
        if isinstance(event, Renewed):
            renewed.append(event)

    transport = AIOHTTPWebsocketsTransport(
        url=url, subprotocols=["graphql-transport-ws"], on_event=on_event
    )
    await transport.connect()
    document = parse("subscription { sequence }")
    values: list[list[int]] = [[] for _ in range(count)]
    arrived = asyncio.Event()

    async def consume(index: int) -> None:
        async for result in transport.subscribe(document):
            assert result.data is not None
            values[index].append(result.data["sequence"])
            arrived.set()

    async def each_past(number: int) -> None:
        while not all(v and v[-1] > number for v in values):
            arrived.clear()
            await arrived.wait()

    consumers = [asyncio.ensure_future(consume(index)) for index in range(count)]
    stalls = Stalls()
    rows = []
    try:
        await asyncio.wait_for(each_past(0), _RUN_TIMEOUT)
        for traced in (False, True):
            stalls.start()
            if traced:
                tracemalloc.start()
            started = time.perf_counter()
            await asyncio.wait_for(transport.renew(), _RUN_TIMEOUT)
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1] if traced else None
            tracemalloc.stop()
            longest = await stalls.stop()
            rows.append({"seconds": seconds, "stall_s": longest, "peak_kb": peak and peak / 1024})
            reached = max(v[-1] for v in values)
            await asyncio.wait_for(each_past(reached + 1), _RUN_TIMEOUT)
    finally:
        for consumer in consumers:
            consumer.cancel()
        await asyncio.gather(*consumers, return_exceptions=True)
        await transport.close()
    missing = sum(len([n for n in range(min(v), max(v)) if n not in set(v)]) for v in values if v)
    twice = sum(len(v) - len(set(v)) for v in values)
    return {
        "subscriptions": count,
        "renewals": rows,
        "switched": [event.switched for event in renewed],
        "missing": missing,
        "delivered_twice": twice,
        "dropped": sum(event.duplicates for event in renewed),
    }


def main() -> None:
    """Parse the command line, run the measurement, print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--tick", type=float, default=1.0, help="seconds between numbers (1)")
    parser.add_argument(
        "--pin", action="store_true", help="pin the server to CPU 0 and the client to CPU 1"
    )
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.cpu is not None:
            os.sched_setaffinity(0, {args.cpu})
        result = asyncio.run(
            asyncio.wait_for(measure(args.child, args.subscriptions), _RUN_TIMEOUT)
        )
        print(json.dumps(result))
        return
    server_cpu, client_cpu = (0, 1) if args.pin else (None, None)
    with package_server(sys.executable, server_cpu, _RUN_TIMEOUT * 2, tick=args.tick) as server:
        command = [sys.executable, __file__, "--child", server.url]
        command += ["--subscriptions", str(args.subscriptions)]
        if client_cpu is not None:
            command += ["--cpu", str(client_cpu)]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_RUN_TIMEOUT, check=True
        )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{args.subscriptions:,} sequence subscriptions renewed, a number every {args.tick:g} s")
    for number, row in enumerate(result["renewals"], 1):
        peak = "" if row["peak_kb"] is None else f", peak allocated {row['peak_kb']:,.0f} KB"
        print(
            f"renewal {number}: {row['seconds']:.2f} s, longest loop stall "
            f"{row['stall_s'] * 1000:.0f} ms{peak}"
        )
    print(
        f"switched {result['switched']}; numbers missing {result['missing']}, delivered twice "
        f"{result['delivered_twice']}, dropped from the old connection {result['dropped']}"
    )


if __name__ == "__main__":
    main()
