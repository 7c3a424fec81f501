"""Idle subscriptions spread over capped connections, against one connection.

    python benchmarks/spread.py [--subscriptions N] [--cap N] [--pin]

Opens ``N`` idle subscriptions through ``gql.Client`` against the package's own
test server in a process of its own, twice, each in a fresh client process:
once on one connection (``max_operations_per_connection`` off, the server
uncapped), once with ``max_operations_per_connection=cap`` against the server
capped at ``cap`` operations per connection (Strawberry's way).  Reports the
time to open them all (until each has its first result), the growth of
resident memory per subscription, the connections used, and the ratio of the
two.  Traffic stays on 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from typing import Any

from clients import TransportClient
from processes import package_server
from workloads import idle_subscriptions

#: The longest one measurement may take, opening and closing included.
_RUN_TIMEOUT = 600.0


async def measure(url: str, count: int, cap: int | None) -> dict[str, Any]:
    """Open ``count`` idle subscriptions, in this process; return the measurements."""
    from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport, Connected, TransportEvent

    connections: set[int] = set()

    def on_event(event: TransportEvent) -> None:
        if isinstance(event, Connected):
            connections.add(getattr(event, "connection", 1))

    # Not passed when off, so that a tree without the option can be measured too.
    spreading: dict[str, Any] = {} if cap is None else {"max_operations_per_connection": cap}
    client = TransportClient(
        lambda: AIOHTTPWebsocketsTransport(
            url=url, subprotocols=["graphql-transport-ws"], on_event=on_event, **spreading
        ),
        via_client=True,
    )
    # Workload 7 itself, on this one client.
    metrics = await idle_subscriptions(lambda: client, {"subscriptions": count})
    return {
        "subscriptions": count,
        "cap": cap,
        "connections": len(connections),
        "open_s": metrics["open_ms"] / 1e3,
        "teardown_s": metrics["teardown_ms"] / 1e3,
        "kb_per_subscription": metrics["kb_per_subscription"],
    }


def run_child(url: str, count: int, cap: int | None, cpu: int | None) -> dict[str, Any]:
    """Measure in a fresh interpreter, so that neither run inherits the other's heap."""
    command = [sys.executable, __file__, "--child", url, "--subscriptions", str(count)]
    if cap is not None:
        command += ["--cap", str(cap)]
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=_RUN_TIMEOUT, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Parse the command line, run both measurements, print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--cap", type=int, default=None, help="operations per connection (100)")
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
            asyncio.wait_for(measure(args.child, args.subscriptions, args.cap), _RUN_TIMEOUT)
        )
        print(json.dumps(result))
        return
    server_cpu, client_cpu = (0, 1) if args.pin else (None, None)
    if args.cap is None:
        args.cap = 100
    rows = []
    for cap in (None, args.cap):
        with package_server(sys.executable, server_cpu, _RUN_TIMEOUT * 2, cap=cap) as server:
            rows.append(run_child(server.url, args.subscriptions, cap, client_cpu))
    one, spread = rows
    print(f"{args.subscriptions:,} idle subscriptions through gql.Client, package server")
    print(f"{'':32} {'one connection':>16} {'cap ' + str(args.cap):>16} {'ratio':>8}")
    for key, label in (
        ("connections", "connections"),
        ("open_s", "open all, s"),
        ("kb_per_subscription", "memory, KB/subscription"),
        ("teardown_s", "teardown, s"),
    ):
        a, b = one[key], spread[key]
        ratio = f"{b / a:.2f}x" if isinstance(a, (int, float)) and a else "-"
        print(f"{label:32} {a:>16.3g} {b:>16.3g} {ratio:>8}")


if __name__ == "__main__":
    main()
