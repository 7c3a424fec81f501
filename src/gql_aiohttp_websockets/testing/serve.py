"""Run the package's example GraphQL websocket server from a terminal.

``python -m gql_aiohttp_websockets.testing`` serves `example_schema` (a query,
a mutation, ticking subscriptions) with `GraphQLWebsocketServer` on 127.0.0.1,
in both subprotocols, and prints its URL, so that ``gql-ws`` and your own code
can be tried against a real server in a second terminal.  Flags make it drop
every connection now and then (to watch ``reconnect=`` at work), require a
token in the ``connection_init`` payload, or cap the operations of one
connection as Strawberry does.  It stops on Ctrl-C, SIGTERM, or after
``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from ..cli import SERVE_PROG_ENV
from .graphql_server import GraphQLWebsocketServer
from .schema import example_schema
from .server_base import BOTH_SUBPROTOCOLS

__all__ = ["main", "serve"]

# Closed connections' records are let go of this often: a server left running
# for hours keeps only what its live connections need.
_PRUNE_SECONDS = 5.0


def _token_check(token: str) -> Any:
    def accepts(payload: Any) -> bool:
        # {"token": T}, or an Authorization entry holding T or "Bearer T".
        if not isinstance(payload, dict):
            return False
        given = payload.get("token", payload.get("Authorization", payload.get("authorization")))
        return given in (token, f"Bearer {token}")

    return accepts


async def serve(
    *,
    port: int = 0,
    subprotocols: Sequence[str] = BOTH_SUBPROTOCOLS,
    token: str | None = None,
    drop_every: float | None = None,
    max_operations_per_connection: int | None = None,
    max_seconds: float | None = None,
    out: TextIO = sys.stdout,
    handle_signals: bool = True,
) -> None:
    """Serve the example schema until stopped (see the module's docstring).

    Args:
        port: The port on 127.0.0.1; 0 picks a free one.
        subprotocols: The subprotocols to accept.
        token: Refuse a ``connection_init`` whose payload does not carry it.
        drop_every: Cut every connection this often, in seconds.
        max_operations_per_connection: Refuse one operation past this many
            on a connection, as Strawberry does.
        max_seconds: Stop after this long (``None``: on a signal only).
        out: Where the URL and what happens are printed.
        handle_signals: Stop on SIGINT and SIGTERM (a program's main loop;
            not inside a test runner).
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM) if handle_signals else ()
    for signum in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    server = GraphQLWebsocketServer(
        example_schema(),
        subprotocols=subprotocols,
        on_connect=None if token is None else _token_check(token),
        max_operations_per_connection=max_operations_per_connection,
        port=port,
    )
    async with server:
        print(f"serving {server.url} ({', '.join(server.subprotocols)})", file=out, flush=True)
        init = "" if token is None else f""" --init-payload '{{"token": "{token}"}}'"""
        ticks = "'subscription { ticks(count: 5, delay_ms: 500) }'"
        print(f"try: gql-ws {server.url}{init} -q {ticks}", file=out, flush=True)
        chores = [asyncio.ensure_future(_prune(server))]
        if drop_every is not None:
            chores.append(asyncio.ensure_future(_drop(server, drop_every, out)))
        try:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), max_seconds)
        finally:
            for chore in chores:
                chore.cancel()
            await asyncio.gather(*chores, return_exceptions=True)
            for signum in signals:
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(signum)
    print("stopped", file=out, flush=True)


async def _prune(server: GraphQLWebsocketServer) -> None:
    while True:
        await asyncio.sleep(_PRUNE_SECONDS)
        server.connections[:] = [record for record in server.connections if not record.closed]


async def _drop(server: GraphQLWebsocketServer, every: float, out: TextIO) -> None:
    while True:
        await asyncio.sleep(every)
        live = sum(1 for record in server.connections if not record.closed)
        server.drop_connections()
        print(f"dropped {live} connection(s)", file=out, flush=True)


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Parse the command line and serve; returns the exit status.

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).
        prog: The program's name in the help (default: what ``gql-ws serve`` says,
            which ``gql-ws serve`` sets, else ``python -m ...``).
    """
    parser = argparse.ArgumentParser(
        prog=prog or os.environ.get(SERVE_PROG_ENV) or "python -m gql_aiohttp_websockets.testing",
        description="Serve the package's example GraphQL schema over a websocket on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8000, help="port (0: any free one)")
    parser.add_argument(
        "--subprotocol",
        action="append",
        choices=BOTH_SUBPROTOCOLS,
        help="accept only this subprotocol (repeat for both; default both)",
    )
    parser.add_argument("--token", help="require this token in the connection_init payload")
    parser.add_argument(
        "--drop-every", type=_positive, metavar="S", help="cut every connection each S seconds"
    )
    parser.add_argument(
        "--max-operations-per-connection",
        type=int,
        metavar="N",
        help="refuse one operation past N on a connection, as Strawberry does",
    )
    parser.add_argument("--max-seconds", type=_positive, help="stop after this long")
    args = parser.parse_args(argv)
    try:
        asyncio.run(
            serve(
                port=args.port,
                subprotocols=tuple(args.subprotocol or BOTH_SUBPROTOCOLS),
                token=args.token,
                drop_every=args.drop_every,
                max_operations_per_connection=args.max_operations_per_connection,
                max_seconds=args.max_seconds,
            )
        )
    except OSError as error:
        print(f"could not serve: {error}", file=sys.stderr)
        return 1
    return 0
