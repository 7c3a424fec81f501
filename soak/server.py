"""The soak's GraphQL websocket server, in a process of its own.

Serves the package's own ``GraphQLWebsocketServer`` with ``example_schema()``
(``graphql-transport-ws``) on 127.0.0.1, prints ``READY <port>``, then obeys
one command a line on its standard input and answers each with one line,
``ok ...`` or ``error ...``:

``drop``
    Cut every TCP connection, without a close frame.
``close CODE REASON...``
    Close every websocket with ``CODE``.
``refuse STATUS COUNT``
    Answer the next ``COUNT`` upgrade requests with HTTP ``STATUS``.
``stats``
    ``ok live=N handler_errors=M``.
``quit``
    Close everything and exit; the last line is
    ``ok handler_errors=M warnings=W``, ``W`` counting the Python warnings
    the server issued (they also go to its standard error, as usual).

The end of its standard input (the soak went away) counts as ``quit``, and
``--max-seconds`` bounds its life whatever happens.

The server records every message of every connection
(``ConnectionRecord.sent`` and ``received``): closed connections' records are
let go of every second, so that what it holds stays bounded by the live
connections, which the soak replaces every few seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import warnings
from typing import TextIO

from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema

_PRUNE_INTERVAL = 1.0


#: Seconds between the numbers of the ``sequence`` subscription (soak/run.py's followers).
SEQUENCE_TICK = 0.2


def _forget_closed(server: GraphQLWebsocketServer) -> None:
    server.connections[:] = [record for record in server.connections if not record.closed]


async def _prune(server: GraphQLWebsocketServer) -> None:
    while True:
        await asyncio.sleep(_PRUNE_INTERVAL)
        _forget_closed(server)


async def _obey(server: GraphQLWebsocketServer, words: list[str]) -> str:
    command = words[0] if words else ""
    if command == "drop":
        server.drop_connections()
        return "ok"
    if command == "close" and len(words) >= 2:
        await server.close_connections(int(words[1]), " ".join(words[2:]))
        return "ok"
    if command == "refuse" and len(words) == 3:
        server.refuse_connections(int(words[1]), count=int(words[2]))
        return "ok"
    if command == "stats":
        live = sum(1 for record in server.connections if not record.closed)
        return f"ok live={live} handler_errors={len(server.handler_errors)}"
    return f"error unknown command {' '.join(words)!r}"


async def _commands(reader: asyncio.StreamReader, server: GraphQLWebsocketServer) -> None:
    while True:
        line = await reader.readline()
        words = line.decode().split()
        if not line or words == ["quit"]:
            return
        try:
            answer = await _obey(server, words)
        except Exception as error:
            answer = f"error {error!r}"
        print(answer, flush=True)


class _WarningCounter:
    """Counts the warnings shown, and shows them as Python would."""

    def __init__(self) -> None:
        self.count = 0
        self._show = warnings.showwarning

    def __call__(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        self.count += 1
        self._show(message, category, filename, lineno, file, line)


async def serve(max_seconds: float, shown: _WarningCounter) -> int:
    """Serve until ``quit``, the end of standard input, or ``max_seconds``.

    Args:
        max_seconds: The longest the server runs.
        shown: Counts the warnings issued meanwhile.

    Returns:
        The exit status: 0, or 1 when the server met unexpected errors.
    """
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    server = GraphQLWebsocketServer(
        example_schema(), subprotocols=("graphql-transport-ws",), tick_interval=SEQUENCE_TICK
    )
    await server.start()
    pruning = asyncio.ensure_future(_prune(server))
    try:
        print(f"READY {server.port}", flush=True)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(_commands(reader, server), max_seconds)
    finally:
        pruning.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pruning
        errors = len(server.handler_errors)
        # close() raises the first handler error again; it was counted above.
        with contextlib.suppress(Exception):
            await server.close()
    print(f"ok handler_errors={errors} warnings={shown.count}", flush=True)
    return 1 if errors else 0


def main() -> int:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max-seconds", type=float, default=3600.0, help="stop after this long whatever happens"
    )
    args = parser.parse_args()
    shown = _WarningCounter()
    warnings.showwarning = shown
    return asyncio.run(serve(args.max_seconds, shown))


if __name__ == "__main__":
    sys.exit(main())
