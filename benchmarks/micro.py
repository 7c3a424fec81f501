"""Micro-measurements behind design choices named in the code's comments.

Run: ``python benchmarks/micro.py``.  Each line prints what was timed and the
result; benchmarks/README.md keeps the latest figures.  Nothing here touches
the network.
"""

from __future__ import annotations

import asyncio
import json
import sys
import timeit
from collections import deque
from dataclasses import dataclass
from json.scanner import make_scanner
from typing import Any

FRAME = '{"data":{"tick":{"n":123,"at":"2026-12-02T13:00:00Z","price":101.25}}}'


@dataclass(slots=True)
class Plain:
    op_id: int
    result: Any


@dataclass(frozen=True, slots=True)
class Frozen:
    op_id: int
    result: Any


def best(statement: Any, number: int = 200_000) -> float:
    """The best of five runs, in ns per call."""
    return min(timeit.repeat(statement, number=number, repeat=5)) / number * 1e9


async def generator_round_trip() -> None:
    async def results() -> Any:
        yield 1

    stream = results()
    await stream.__anext__()
    await stream.aclose()


async def coroutine_round_trip() -> None:
    async def result() -> int:
        return 1

    await result()


def per_call(coroutine: Any, number: int = 50_000) -> float:
    async def many() -> None:
        for _ in range(number):
            await coroutine()

    loop = asyncio.new_event_loop()
    try:
        timings = []
        for _ in range(5):
            started = loop.time()
            loop.run_until_complete(many())
            timings.append(loop.time() - started)
    finally:
        loop.close()
    return min(timings) / number * 1e9


def main() -> None:
    scan: Any = make_scanner(json.JSONDecoder())
    loads_ns = best(lambda: json.loads(FRAME))
    scan_ns = best(lambda: scan(FRAME, 0))
    print(f"python {sys.version.split()[0]}")
    print(
        f"json.loads of a {len(FRAME)}-char result: {loads_ns:.0f} ns; its C scanner "
        f"called directly: {scan_ns:.0f} ns ({1 - scan_ns / loads_ns:.0%} less)"
    )
    plain_ns = best(lambda: Plain(1, None))
    frozen_ns = best(lambda: Frozen(1, None))
    print(
        f"slots dataclass __init__: {plain_ns:.0f} ns; frozen: {frozen_ns:.0f} ns "
        f"({frozen_ns / plain_ns:.1f}x)"
    )
    print(f"empty deque: {sys.getsizeof(deque())} bytes; empty list: {sys.getsizeof([])} bytes")
    generator_ns = per_call(generator_round_trip)
    coroutine_ns = per_call(coroutine_round_trip)
    print(
        f"async generator made, advanced once and aclose()d: {generator_ns:.0f} ns; "
        f"a coroutine awaited instead: {coroutine_ns:.0f} ns"
    )


if __name__ == "__main__":
    main()
