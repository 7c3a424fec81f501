"""The package's own test server, in its own process, for the idle workloads.

    python benchmarks/package_server.py [--cpu N] [--cap N] [--tick S]

Serves ``gql_aiohttp_websockets.testing.GraphQLWebsocketServer`` with the
example schema (both subprotocols) on 127.0.0.1, prints ``READY <url>``, and
stops when its standard input closes (the parent went away), on SIGTERM or
SIGINT, or after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema


async def serve(max_seconds: float, cap: int | None = None, tick: float | None = None) -> None:
    """Serve until told to stop or ``max_seconds`` have passed."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    fd = sys.stdin.fileno()

    def on_stdin() -> None:
        if not os.read(fd, 4096):
            loop.remove_reader(fd)
            stop.set()

    loop.add_reader(fd, on_stdin)
    async with GraphQLWebsocketServer(
        example_schema(), max_operations_per_connection=cap, tick_interval=tick
    ) as server:
        print(f"READY {server.url}", flush=True)
        try:
            await asyncio.wait_for(stop.wait(), timeout=max_seconds)
        except asyncio.TimeoutError:
            print("package server: --max-seconds reached, stopping", file=sys.stderr)


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--cpu", type=int, default=None, help="pin the server to this CPU")
    parser.add_argument(
        "--cap", type=int, default=None, help="the most operations one connection may run"
    )
    parser.add_argument(
        "--tick", type=float, default=None, help="seconds between the numbers of 'sequence'"
    )
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    asyncio.run(serve(args.max_seconds, args.cap, args.tick))


if __name__ == "__main__":
    main()
