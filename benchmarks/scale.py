"""The scale workload: thousands of subscriptions on one connection, ours and gql's.

    python benchmarks/scale.py [--sizes 1000 10000 50000] [--clients ours gql] [--pin]

For each size N and each client, in a fresh client process, against the
package's own test server in a process of its own (pinned to the other core
with ``--pin``), through ``gql.Client`` as an application would (one task
per subscription, each an ``async for`` over ``session.subscribe``):

- **open**: N ``sequence(current: true)`` subscriptions (the server's
  current number first, then one global number to every subscriber at each
  tick, every ``--tick`` seconds), until each has its first result, and the
  longest stall of the client's event loop meanwhile (the longest gap between
  the 10 ms sleeps of a watching task, less the 10 ms);
- **memory**: the growth of resident memory per subscription;
- **burst**: the server's next tick sends one result to each of the N back
  to back; the time from the first frame of the burst read from the socket
  until its consumer ran, until the last consumer ran, and the longest stall;
- **close**: every consumer cancelled, then the client closed; how long.

Traffic stays on 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import time
from typing import Any

from processes import package_server

#: The longest one client process may take.
_RUN_TIMEOUT = 900.0
_WATCH = 0.01
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """This process's resident set size."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * _PAGE


class Watch:
    """The longest stall of the event loop while it runs."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(_WATCH)
            self.longest = max(self.longest, time.perf_counter() - before - _WATCH)

    def reset(self) -> None:
        self.longest = 0.0

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


class FirstFrames:
    """When the websocket's ``receive()`` returned a frame after a quiet spell.

    Measurement only: it wraps aiohttp's ``ClientWebSocketResponse.receive``
    in this process, so that a burst's first frame has a time.
    """

    def __init__(self) -> None:
        import aiohttp

        self.first: float | None = None
        self._last = 0.0
        original = aiohttp.ClientWebSocketResponse.receive
        recorder = self

        async def receive(ws: Any, *args: Any, **kwargs: Any) -> Any:
            message = await original(ws, *args, **kwargs)
            now = time.perf_counter()
            if recorder.first is None and now - recorder._last > 0.2:
                recorder.first = now
            recorder._last = now
            return message

        aiohttp.ClientWebSocketResponse.receive = receive  # type: ignore[method-assign]

    def arm(self) -> None:
        self.first = None


async def measure(url: str, client: str, count: int) -> dict[str, Any]:
    """One client, ``count`` subscriptions: every measurement of the module docstring."""
    from gql import Client, gql

    frames = FirstFrames()
    if client == "ours":
        from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport

        transport: Any = AIOHTTPWebsocketsTransport(
            url=url,
            subprotocols=["graphql-transport-ws"],
            reconnect=True,
            max_queued_results=None,
        )
    else:
        from gql.transport.aiohttp_websockets import AIOHTTPWebsocketsTransport as Gql

        transport = Gql(url=url, subprotocols=["graphql-transport-ws"])
    document = gql("subscription { sequence(current: true) }")
    session_client = Client(transport=transport)
    session = await session_client.connect_async()
    gc.collect()
    rss_before = rss_bytes()
    # Each subscription's last number, and when it came.
    seen = [0] * count
    times = [0.0] * count
    changed = asyncio.Event()

    async def consume(index: int) -> None:
        async for result in session.subscribe(document):
            seen[index] = result["sequence"]
            times[index] = time.perf_counter()
            changed.set()

    async def until(done: Any) -> None:
        while not done():
            changed.clear()
            await changed.wait()

    watch = Watch()
    result: dict[str, Any] = {"client": client, "subscriptions": count}
    started = time.perf_counter()
    consumers = [asyncio.ensure_future(consume(index)) for index in range(count)]
    # Open: until each has its first result (the server's current number).
    await asyncio.wait_for(until(lambda: all(seen)), _RUN_TIMEOUT)
    result["open_s"] = time.perf_counter() - started
    result["open_stall_ms"] = watch.longest * 1e3
    gc.collect()
    result["rss_b_per_sub"] = (rss_bytes() - rss_before) / count
    # Burst: once every one has the last number, the next tick reaches them all.
    last = max(seen)
    await asyncio.wait_for(until(lambda: all(value >= last for value in seen)), _RUN_TIMEOUT)
    last = max(seen)
    watch.reset()
    frames.arm()
    await asyncio.wait_for(until(lambda: all(value > last for value in seen)), _RUN_TIMEOUT)
    if frames.first is not None:
        result["burst_first_ms"] = (min(times) - frames.first) * 1e3
        result["burst_all_ms"] = (max(times) - frames.first) * 1e3
    result["burst_stall_ms"] = watch.longest * 1e3
    # Close: every consumer cancelled, then the client closed.
    started = time.perf_counter()
    for consumer in consumers:
        consumer.cancel()
    await asyncio.gather(*consumers, return_exceptions=True)
    await session_client.close_async()
    result["close_s"] = time.perf_counter() - started
    await watch.stop()
    return result


def main() -> None:
    """Parse the command line, run every measurement, print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 50_000])
    parser.add_argument("--clients", nargs="+", default=["ours", "gql"])
    parser.add_argument("--tick", type=float, default=None)
    parser.add_argument("--pin", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("URL", "CLIENT", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.cpu is not None:
            os.sched_setaffinity(0, {args.cpu})
        url, client, count = args.child
        print(
            json.dumps(
                asyncio.run(asyncio.wait_for(measure(url, client, int(count)), _RUN_TIMEOUT))
            )
        )
        return
    server_cpu, client_cpu = (0, 1) if args.pin else (None, None)
    rows = []
    for size in args.sizes:
        tick = args.tick or max(2.0, size / 5_000)
        for client in args.clients:
            with package_server(sys.executable, server_cpu, _RUN_TIMEOUT * 2, tick=tick) as server:
                command = [sys.executable, __file__, "--child", server.url, client, str(size)]
                if client_cpu is not None:
                    command += ["--cpu", str(client_cpu)]
                done = subprocess.run(
                    command, capture_output=True, text=True, timeout=_RUN_TIMEOUT, check=False
                )
            if done.returncode != 0:
                print(done.stderr[-2000:], file=sys.stderr)
                continue
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()
