"""Where the memory of an idle subscription goes, by the package that allocated it.

    python benchmarks/attribute.py [--subscriptions 2000] [--clients ours gql-aiohttp]

Starts the package's own test server, opens that many idle subscriptions
through ``gql.Client`` (as workload 7 does), and with ``tracemalloc`` splits
the bytes still allocated per subscription by the innermost frame of their
allocation's traceback that belongs to a known package: the transport under
test, gql (its ``Client`` and, for gql's own transports, the transport), the
benchmark's application code (the task and the result it holds), or the
standard library.  RSS includes the allocator's overhead on top of these.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import sys
import tracemalloc
from collections.abc import Sequence

from clients import client_factory
from processes import package_server

#: Path fragments naming who allocated a block, most specific first.
_OWNERS = (
    ("gql_aiohttp_websockets", "gql-aiohttp-websockets"),
    ("/gql/transport/", "gql's transport"),
    ("/gql/", "gql (Client, session)"),
    ("/aiohttp/", "aiohttp"),
    ("/graphql/", "graphql-core"),
    ("/benchmarks/", "application (task, held result)"),
)


def _owner(traceback: tracemalloc.Traceback) -> str:
    for frame in reversed(traceback):
        for fragment, owner in _OWNERS:
            if fragment in frame.filename:
                return owner
    return "standard library (asyncio)"


async def attribute(client: str, url: str, count: int) -> dict[str, float]:
    """Return the bytes per idle subscription by owner for ``client``."""
    bench = client_factory(client, url, via_client=True)()
    await bench.open()
    try:
        await bench.open_idle(1)
        await bench.close_idle()
        gc.collect()
        tracemalloc.start(40)
        before = tracemalloc.take_snapshot()
        await bench.open_idle(count)
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        await bench.close_idle()
    finally:
        await bench.close()
    owners: collections.Counter[str] = collections.Counter()
    for stat in after.compare_to(before, "traceback"):
        owners[_owner(stat.traceback)] += stat.size_diff
    return {owner: size / count for owner, size in owners.most_common()}


def main(argv: Sequence[str] | None = None) -> int:
    """Print the split for each client."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=2000)
    parser.add_argument("--clients", nargs="+", default=["ours", "gql-aiohttp"])
    args = parser.parse_args(argv)
    with package_server(sys.executable, None, 600) as server:
        for client in args.clients:
            split = asyncio.run(attribute(client, server.url, args.subscriptions))
            print(f"{client}: {sum(split.values()):.0f} B per idle subscription (traced)")
            for owner, size in split.items():
                if abs(size) >= 1:
                    print(f"  {size:7.0f} B  {owner}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
