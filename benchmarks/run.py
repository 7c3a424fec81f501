"""Side-by-side benchmark of gql websocket transports: one command, one table.

    python benchmarks/run.py              # full run: 10 repeats, 7-15 minutes
    python benchmarks/run.py --quick      # smaller counts, one repeat, under a minute
    python benchmarks/run.py --workloads small large --clients ours gql-aiohttp --repeats 3
    python benchmarks/run.py --subprotocols graphql-ws     # the legacy subprotocol only

Starts the benchmark server in its own process (and, for the idle workloads,
the package's own test server and the Node reference servers), then runs every
(workload, subprotocol, client) measurement in a fresh runner process, repeats
interleaved (for each repeat, for each workload, for each subprotocol: every
client in turn), and prints the machine, the server's capacity, for each
subprotocol a table of medians and tables of ratios to gql's
AIOHTTPWebsocketsTransport and to the raw aiohttp floor, and the ratios of the
legacy subprotocol to graphql-transport-ws.  All raw samples go to a JSON file
(``--json``, by default under ``benchmarks/results/``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from charts import write_charts
from clients import CLIENT_NAMES, DEFAULT_CLIENTS
from machine import describe_machine, format_machine
from payloads import SUBPROTOCOL, SUBPROTOCOLS
from processes import HERE, ServerProcess, node_server, package_server, run_runner
from report import (
    FLOOR,
    GQL,
    format_cpu_share,
    format_sink,
    format_subprotocol_table,
    format_tables,
    format_value,
    headline,
    summarize,
    summarize_subprotocols,
)
from workloads import PARAMS, WORKLOADS

SINK = "sink"
SINK_WORKLOADS = ("small", "large", "fanin")
#: The sink measures the server over this many times the workload's message count.
SINK_SCALE = 5


def _names(
    values: list[str] | None,
    known: tuple[str, ...],
    what: str,
    default: tuple[str, ...] | None = None,
) -> list[str]:
    """Accept space- or comma-separated names; keep the canonical order."""
    if not values:
        return list(known if default is None else default)
    wanted = {name for value in values for name in value.split(",") if name}
    unknown = wanted - set(known)
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(sorted(unknown))}; known: {', '.join(known)}")
    return [name for name in known if name in wanted]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"workloads: {', '.join(WORKLOADS)}\nclients:   {', '.join(CLIENT_NAMES)}",
    )
    parser.add_argument("--quick", action="store_true", help="small counts, 1 repeat (< 1 min)")
    parser.add_argument("--repeats", type=int, default=None, help="default: 10, or 1 with --quick")
    parser.add_argument("--json", type=Path, default=None, help="where to write all samples")
    parser.add_argument(
        "--charts",
        type=Path,
        default=None,
        metavar="DIR",
        help="also draw the medians as SVG charts into DIR (charts.py)",
    )
    parser.add_argument("--workloads", nargs="+", metavar="NAME", help="subset of workloads")
    parser.add_argument("--clients", nargs="+", metavar="NAME", help="subset of clients")
    parser.add_argument(
        "--subprotocols", nargs="+", metavar="NAME", help="subset of subprotocols (default: both)"
    )
    parser.add_argument(
        "--pin", action="store_true", help="pin the server to CPU 0 and the clients to CPU 1"
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds per measurement (default 240/60)"
    )
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter for the server and the runners"
    )
    args = parser.parse_args(argv)
    args.workloads = _names(args.workloads, tuple(WORKLOADS), "workload")
    args.clients = _names(args.clients, CLIENT_NAMES, "client", DEFAULT_CLIENTS)
    args.subprotocols = _names(args.subprotocols, SUBPROTOCOLS, "subprotocol")
    if args.repeats is None:
        args.repeats = 1 if args.quick else 10
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.timeout is None:
        args.timeout = 60.0 if args.quick else 240.0
    return args


def _cpus(pin: bool) -> tuple[int | None, int | None]:
    """Return the (server, client) CPUs to pin to, or ``None`` each."""
    if not pin:
        return None, None
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        print("--pin ignored: fewer than 2 usable CPUs", file=sys.stderr)
        return None, None
    return usable[0], usable[1]


def _probe_clients(args: argparse.Namespace, url: str, cpu: int | None) -> dict[str, str]:
    """Return the clients that cannot run here, with the reason."""
    skipped: dict[str, str] = {}
    for client in args.clients:
        result = run_runner(args.python, client, "small", url, None, 60.0, cpu, check=True)
        if not result.ok:
            skipped[client] = result.skip or result.error or "unknown failure"
    return skipped


Step = tuple[int, str, str, str]


def _plan(
    args: argparse.Namespace, clients: list[str], urls: dict[tuple[str, str], str]
) -> list[Step]:
    """Every measurement in order: for each repeat, workload and subprotocol, each client.

    A workload whose server is not running here (``urls`` has no entry) is left out.
    """
    plan: list[Step] = []
    for repeat in range(args.repeats):
        for workload in args.workloads:
            server = WORKLOADS[workload].server
            if workload in SINK_WORKLOADS and SUBPROTOCOL in args.subprotocols:
                plan.append((repeat, workload, SUBPROTOCOL, SINK))
            for subprotocol in args.subprotocols:
                if (server, subprotocol) not in urls:
                    continue
                for client in clients:
                    if client.startswith("raw-") and not WORKLOADS[workload].floor:
                        continue
                    plan.append((repeat, workload, subprotocol, client))
    return plan


def _params(args: argparse.Namespace, workload: str, client: str) -> dict[str, int]:
    params = dict(PARAMS["quick" if args.quick else "full"][workload])
    if client == SINK and workload != "fanin":
        params["count"] *= SINK_SCALE
    return params


def _progress(index: int, total: int, sample: dict[str, Any], eta: float | None) -> str:
    workload, client = sample["workload"], sample["client"]
    legacy = " legacy" if sample["subprotocol"] != SUBPROTOCOL else ""
    if sample["ok"]:
        metric, unit = ("msgs_per_s", "msg/s") if client == SINK else headline[workload]
        outcome = f"{format_value(sample['metrics'][metric], unit)} {unit}"
    else:
        outcome = f"FAILED: {sample['error']}"
    remaining = f", ~{eta / 60:.1f} min left" if eta is not None else ""
    return (
        f"[{index:>3}/{total}] r{sample['repeat'] + 1} {workload + legacy:<19} {client:<15}"
        f"{outcome}  ({sample['seconds']:.1f} s{remaining})"
    )


def _measure(
    args: argparse.Namespace,
    urls: dict[tuple[str, str], str],
    clients: list[str],
    cpu: int | None,
) -> tuple[list[dict[str, Any]], bool]:
    """Run the plan; return the samples and whether it was interrupted."""
    plan = _plan(args, clients, urls)
    samples: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        for index, (repeat, workload, subprotocol, client) in enumerate(plan, start=1):
            params = _params(args, workload, client)
            url = urls[(WORKLOADS[workload].server, subprotocol)]
            result = run_runner(
                args.python,
                client,
                workload,
                url,
                params,
                args.timeout,
                cpu,
                subprotocol=subprotocol,
            )
            sample = {
                "repeat": repeat,
                "workload": workload,
                "subprotocol": subprotocol,
                "client": client,
                "ok": result.ok,
                "metrics": result.metrics,
                "error": result.error,
                "seconds": round(result.seconds, 3),
                "params": params,
            }
            samples.append(sample)
            elapsed = time.perf_counter() - started
            eta = elapsed / index * (len(plan) - index) if index < len(plan) else None
            print(_progress(index, len(plan), sample, eta), file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("interrupted: reporting what was measured", file=sys.stderr)
        return samples, True
    return samples, False


def _start_servers(
    args: argparse.Namespace, servers: ExitStack, cpu: int | None
) -> dict[tuple[str, str], str]:
    """Start the servers the workloads need; return their URLs by (server, subprotocol).

    A Node server that cannot run here is reported and its workloads left out.
    """
    bench = servers.enter_context(ServerProcess(args.python, cpu, max_seconds=4 * 3600))
    urls = {("bench", subprotocol): bench.url for subprotocol in SUBPROTOCOLS}
    needed = {WORKLOADS[name].server for name in args.workloads}
    if "package" in needed:
        package = servers.enter_context(package_server(args.python, cpu, 4 * 3600))
        urls.update({("package", subprotocol): package.url for subprotocol in SUBPROTOCOLS})
    if "node" in needed:
        for subprotocol in args.subprotocols:
            node = node_server(subprotocol, cpu)
            if isinstance(node, str):
                print(f"skipping the Node {subprotocol} server: {node}")
                continue
            urls[("node", subprotocol)] = servers.enter_context(node).url
    return urls


def _default_json_path() -> Path:
    return HERE / "results" / time.strftime("bench-%Y%m%d-%H%M%S.json")


def _interrupt_on_sigterm() -> None:
    """Make SIGTERM stop the run like Ctrl-C: children reaped, partial report written."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    """Run the suite; return 0 when every measurement succeeded."""
    args = parse_args(argv)
    _interrupt_on_sigterm()
    machine = describe_machine()
    mode = "quick" if args.quick else "full"
    print("gql websocket transports benchmark", f"({mode} mode, {args.repeats} repeat(s))")
    for line in format_machine(machine):
        print(line)
    server_cpu, client_cpu = _cpus(args.pin)
    started = time.perf_counter()
    with ExitStack() as servers:
        urls = _start_servers(args, servers, server_cpu)
        skipped = _probe_clients(args, urls[("bench", SUBPROTOCOL)], client_cpu)
        for client, reason in skipped.items():
            print(f"skipping client {client}: {reason}")
        clients = [client for client in args.clients if client not in skipped]
        samples, interrupted = _measure(args, urls, clients, client_cpu)
    load_end = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    summaries = {
        subprotocol: summarize(
            [sample for sample in samples if sample["subprotocol"] == subprotocol], clients
        )
        for subprotocol in args.subprotocols
    }
    first = summaries[args.subprotocols[0]]
    print()
    for line in [*format_sink(samples, first), *format_cpu_share(samples)]:
        print(line)
    for subprotocol, summary in summaries.items():
        print()
        print(f"== {subprotocol} ==")
        for line in format_tables(summary, clients, args.repeats):
            print(line)
    by_subprotocol = summarize_subprotocols(samples, clients)
    if by_subprotocol:
        print()
        for line in format_subprotocol_table(by_subprotocol, clients):
            print(line)
    failures = [sample for sample in samples if not sample["ok"]]
    for sample in failures:
        print(
            f"failed: r{sample['repeat'] + 1} {sample['workload']} {sample['client']}: "
            f"{sample['error']}"
        )
    if GQL not in clients or FLOOR not in clients:
        print(f"note: ratios need {GQL} and {FLOOR} in the run")
    elapsed = time.perf_counter() - started
    if load_end:
        print(f"load at end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    print(f"took {elapsed / 60:.1f} min")

    path = args.json or _default_json_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "format": 2,
        "mode": mode,
        "repeats": args.repeats,
        "interrupted": interrupted,
        "machine": machine,
        "loadavg_end": load_end,
        "params": PARAMS[mode],
        "workloads": {name: WORKLOADS[name].description for name in args.workloads},
        "clients": clients,
        "skipped": skipped,
        "pinned": {"server": server_cpu, "clients": client_cpu},
        "subprotocols": args.subprotocols,
        "summary": summaries,
        "legacy_to_transport_ws": by_subprotocol,
        "samples": samples,
    }
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"samples written to {path}")
    if args.charts is not None:
        for chart_path in write_charts(document, args.charts):
            print(f"chart written to {chart_path}")
    return 130 if interrupted else (1 if failures else 0)


if __name__ == "__main__":
    sys.exit(main())
