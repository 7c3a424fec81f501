"""A bare asyncio stream server on 127.0.0.1 whose connection handlers are tracked.

The base of the hand-written peers the aiohttp-based test servers cannot play:
a server that answers a handshake wrongly or not at all, one that never answers
a PING frame, an HTTP forward proxy.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

from gql_aiohttp_websockets.testing import scaled_timeout

_Server = TypeVar("_Server", bound="StreamServer")


class StreamServer:
    """Accepts connections and runs :meth:`handle` for each, until :meth:`running` exits."""

    def __init__(self) -> None:
        self.port = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._handlers: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection; subclasses implement it."""
        raise NotImplementedError

    def keep(self, writer: asyncio.StreamWriter) -> None:
        """Close ``writer`` when the server stops (e.g. an upstream connection)."""
        self._writers.append(writer)

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.keep(writer)
        task = asyncio.ensure_future(self.handle(reader, writer))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    @asynccontextmanager
    async def running(self: _Server) -> AsyncIterator[_Server]:
        """Listen on a free port of 127.0.0.1; on exit close everything and await the handlers."""
        server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            server.close()
            for writer in self._writers:
                writer.close()
            if self._handlers:
                await asyncio.wait(self._handlers, timeout=scaled_timeout(5))
            await server.wait_closed()
