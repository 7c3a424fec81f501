"""The workloads: each drives one client and returns its measurements as a flat dict.

Timers start after the connection is open (except for ``connect``), after a
``gc.collect()``; the garbage collector stays enabled, as in an application.
Wall time is ``time.perf_counter``; CPU time is ``time.process_time`` of this
(client) process, which is what workload 6 reports per message.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from clients import BenchClient
from memory import PeakRss, rss_mb

__all__ = ["PARAMS", "WORKLOADS", "Workload"]

Metrics = dict[str, Any]
Runner = Callable[[Callable[[], BenchClient], dict[str, int]], Awaitable[Metrics]]


@dataclass(frozen=True)
class Workload:
    """A named workload, what it measures, and its sizes in full and quick mode.

    ``server`` names the server it runs against: the benchmark server
    (``bench``), the package's own test server (``package``) or the Node
    reference server of the subprotocol (``node``).  ``floor`` says whether
    the raw aiohttp floor runs it (it has no ``gql.Client`` mode).
    """

    name: str
    description: str
    run: Runner
    full: dict[str, int]
    quick: dict[str, int]
    via_client: bool = False
    server: str = "bench"
    floor: bool = True


def _check(received: int, expected: int) -> None:
    if received != expected:
        raise AssertionError(f"received {received} messages, expected {expected}")


async def _throughput(
    client: BenchClient, kind: str, count: int, subscriptions: int = 1
) -> Metrics:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    if subscriptions == 1:
        received = await client.stream(kind, count)
    else:
        received = await client.fan_in(kind, count, subscriptions)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    _check(received, count * subscriptions)
    return {
        "msgs": received,
        "wall_s": wall,
        "cpu_s": cpu,
        "msgs_per_s": received / wall,
        "cpu_us_per_msg": cpu / received * 1e6,
    }


async def _stream(kind: str, make: Callable[[], BenchClient], params: dict[str, int]) -> Metrics:
    client = make()
    await client.open()
    try:
        await client.stream(kind, params["warmup"])
        return await _throughput(client, kind, params["count"])
    finally:
        await client.close()


async def stream_small(make: Callable[[], BenchClient], params: dict[str, int]) -> Metrics:
    """Workload 1: one subscription of small (~100 B) ``next`` messages."""
    return await _stream("small", make, params)


async def stream_large(make: Callable[[], BenchClient], params: dict[str, int]) -> Metrics:
    """Workload 2: one subscription of ~10 KB nested-JSON ``next`` messages."""
    return await _stream("large", make, params)


async def fan_in(make: Callable[[], BenchClient], params: dict[str, int]) -> Metrics:
    """Workload 3: many concurrent subscriptions on one connection, plus peak RSS growth."""
    client = make()
    await client.open()
    try:
        await client.stream("small", 10)
        gc.collect()
        with PeakRss() as rss:
            metrics = await _throughput(client, "small", params["count"], params["subscriptions"])
        metrics.update(rss.as_metrics())
        return metrics
    finally:
        await client.close()


def _percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


async def execute_sequential(make: Callable[[], BenchClient], params: dict[str, int]) -> Metrics:
    """Workload 4a: sequential executes of a tiny query, latency per call."""
    client = make()
    await client.open()
    try:
        for _ in range(params["warmup"]):
            await client.execute_tiny()
        gc.collect()
        samples: list[float] = []
        clock = time.perf_counter
        cpu = time.process_time()
        for _ in range(params["count"]):
            started = clock()
            await client.execute_tiny()
            samples.append((clock() - started) * 1e6)
        cpu = time.process_time() - cpu
    finally:
        await client.close()
    ordered = sorted(samples)
    return {
        "calls": len(samples),
        "p50_us": _percentile(ordered, 0.50),
        "p99_us": _percentile(ordered, 0.99),
        "mean_us": statistics.fmean(samples),
        "cpu_us_per_call": cpu / len(samples) * 1e6,
        "samples_us": [round(value, 1) for value in samples],
    }


async def execute_batches(make: Callable[[], BenchClient], params: dict[str, int]) -> Metrics:
    """Workload 4b: batches of concurrent tiny executes, milliseconds per batch."""
    client = make()
    await client.open()
    try:
        for _ in range(params["warmup"]):
            await client.execute_batch(params["size"])
        gc.collect()
        samples: list[float] = []
        for _ in range(params["batches"]):
            started = time.perf_counter()
            await client.execute_batch(params["size"])
            samples.append((time.perf_counter() - started) * 1e3)
    finally:
        await client.close()
    return {
        "batch_size": params["size"],
        "batch_ms": statistics.median(samples),
        "samples_ms": [round(value, 3) for value in samples],
    }


async def connect_cycle(make: Callable[[], BenchClient], params: dict[str, int]) -> Metrics:
    """Workload 5: fresh client, connect + init + first result + close, each time."""

    async def once() -> float:
        started = time.perf_counter()
        client = make()
        await client.open()
        try:
            await client.execute_tiny()
        finally:
            await client.close()
        return (time.perf_counter() - started) * 1e3

    for _ in range(params["warmup"]):
        await once()
    gc.collect()
    samples = [await once() for _ in range(params["count"])]
    return {
        "cycles": len(samples),
        "median_ms": statistics.median(samples),
        "samples_ms": [round(value, 3) for value in samples],
    }


async def idle_subscriptions(make: Callable[[], BenchClient], params: dict[str, int]) -> Metrics:
    """Workload 7: many subscriptions opened on one connection that then stay idle.

    Opening ends when every subscription has its first result; the memory is
    the growth of resident memory from the connected client to all of them
    open and idle, per subscription.
    """
    count = params["subscriptions"]
    client = make()
    await client.open()
    try:
        await client.open_idle(1)
        await client.close_idle()
        gc.collect()
        before = rss_mb()
        started = time.perf_counter()
        await client.open_idle(count)
        open_s = time.perf_counter() - started
        gc.collect()
        after = rss_mb()
        started = time.perf_counter()
        await client.close_idle()
        teardown_s = time.perf_counter() - started
    finally:
        await client.close()
    per_subscription = None if before is None or after is None else (after - before) * 1e3 / count
    return {
        "subscriptions": count,
        "open_ms": open_s * 1e3,
        "teardown_ms": teardown_s * 1e3,
        "kb_per_subscription": per_subscription,
    }


WORKLOADS: dict[str, Workload] = {
    workload.name: workload
    for workload in (
        Workload(
            "small",
            "1: one subscription, small (~100 B) messages, bare transport",
            stream_small,
            full={"count": 100_000, "warmup": 1_000},
            quick={"count": 20_000, "warmup": 200},
        ),
        Workload(
            "small-client",
            "1: one subscription, small messages, through gql.Client",
            stream_small,
            full={"count": 100_000, "warmup": 1_000},
            quick={"count": 20_000, "warmup": 200},
            via_client=True,
            floor=False,
        ),
        Workload(
            "large",
            "2: one subscription, ~10 KB nested-JSON messages, bare transport",
            stream_large,
            full={"count": 10_000, "warmup": 100},
            quick={"count": 2_000, "warmup": 20},
        ),
        Workload(
            "fanin",
            "3: concurrent subscriptions on one connection, small messages",
            fan_in,
            full={"subscriptions": 1_000, "count": 100},
            quick={"subscriptions": 200, "count": 50},
        ),
        Workload(
            "exec-seq",
            "4: sequential execute of a tiny query",
            execute_sequential,
            full={"count": 2_000, "warmup": 100},
            quick={"count": 300, "warmup": 20},
        ),
        Workload(
            "exec-batch",
            "4: batches of concurrent executes of a tiny query",
            execute_batches,
            full={"batches": 20, "size": 200, "warmup": 2},
            quick={"batches": 5, "size": 200, "warmup": 1},
        ),
        Workload(
            "connect",
            "5: fresh transport: connect + init + first result + close",
            connect_cycle,
            full={"count": 200, "warmup": 5},
            quick={"count": 30, "warmup": 2},
        ),
        Workload(
            "idle-package",
            "7: idle subscriptions through gql.Client, the package's own test server",
            idle_subscriptions,
            # The package's server is Python, on one core: at 10,000 it spends
            # ~20 s per sample on itself; the Node server carries the 10,000 row.
            full={"subscriptions": 2_000},
            quick={"subscriptions": 500},
            via_client=True,
            server="package",
        ),
        Workload(
            "idle-node",
            "7: idle subscriptions through gql.Client, the Node reference server",
            idle_subscriptions,
            full={"subscriptions": 10_000},
            quick={"subscriptions": 1_000},
            via_client=True,
            server="node",
        ),
    )
}

#: Sizes by mode, for the report header and the JSON output.
PARAMS = {
    mode: {name: getattr(workload, mode) for name, workload in WORKLOADS.items()}
    for mode in ("full", "quick")
}
