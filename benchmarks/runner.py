"""One measurement in a fresh process: one client, one workload, one JSON line out.

    python benchmarks/runner.py --client ours --workload small --url ws://127.0.0.1:PORT/graphql \
        [--subprotocol graphql-ws]

The last line on standard output is a JSON object: ``{"ok": true, "metrics": {...}}``,
``{"ok": false, "error": "..."}``, or, with ``--check``, ``{"ok": true}`` /
``{"ok": false, "skip": "why"}`` telling whether the client can be built at all.
The pseudo-client ``sink`` measures the server's own send rate (see :mod:`sink`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import traceback
from typing import Any

from clients import CLIENT_NAMES, client_factory
from payloads import SUBPROTOCOL, SUBPROTOCOLS
from sink import measure_send_rate
from workloads import WORKLOADS

SINK = "sink"


async def _measure(args: argparse.Namespace, params: dict[str, int]) -> dict[str, Any]:
    workload = WORKLOADS[args.workload]
    make = client_factory(
        args.client, args.url, via_client=workload.via_client, subprotocol=args.subprotocol
    )
    return await asyncio.wait_for(workload.run(make, params), timeout=args.timeout)


def _sink(url: str, workload: str, params: dict[str, int]) -> dict[str, Any]:
    if workload == "fanin":
        return measure_send_rate(url, "small", params["count"], params["subscriptions"])
    if workload not in ("small", "large"):
        raise ValueError("the sink measures only the small, large and fanin workloads")
    return measure_send_rate(url, workload, params["count"])


async def _check(args: argparse.Namespace) -> dict[str, Any]:
    try:
        client_factory(args.client, args.url, subprotocol=args.subprotocol)
    except ImportError as exc:
        return {"ok": False, "skip": f"cannot import: {exc}"}
    except TypeError as exc:
        return {"ok": False, "skip": f"constructor rejected the benchmark options: {exc}"}
    return {"ok": True}


def _run(args: argparse.Namespace) -> dict[str, Any]:
    if args.check:
        return asyncio.run(_check(args)) if args.client != SINK else {"ok": True}
    params: dict[str, int] = json.loads(args.params) if args.params else {}
    if not params:
        params = WORKLOADS[args.workload].full
    if args.client == SINK:
        return {"ok": True, "metrics": _sink(args.url, args.workload, params)}
    return {"ok": True, "metrics": asyncio.run(_measure(args, params))}


def main(argv: list[str] | None = None) -> int:
    """Run one measurement and print its JSON line; return the exit status."""
    parser = argparse.ArgumentParser(description="Run one benchmark measurement.")
    parser.add_argument("--client", required=True, choices=(*CLIENT_NAMES, SINK))
    parser.add_argument("--workload", required=True, choices=tuple(WORKLOADS))
    parser.add_argument("--url", required=True)
    parser.add_argument("--subprotocol", choices=SUBPROTOCOLS, default=SUBPROTOCOL)
    parser.add_argument("--params", default="", help="workload sizes as a JSON object")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    parser.add_argument("--check", action="store_true", help="only check the client builds")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    try:
        result = _run(args)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] or "skip" in result else 1


if __name__ == "__main__":
    sys.exit(main())
