"""gql's synchronous Client API with this transport.

The synchronous API runs an event loop of its own for each call, so the demo
server gets a thread with its own loop.  Run from a clone:

    python -m pip install -e . && python examples/sync_client.py
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

from gql import Client, gql

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport
from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema

STARTUP_SECONDS = 10


class ServerThread(threading.Thread):
    """The demo GraphQL server, running on an event loop in a thread of its own."""

    def __init__(self) -> None:
        super().__init__(name="graphql-server", daemon=True)
        self.url: Future[str] = Future()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            async with GraphQLWebsocketServer(example_schema()) as server:
                self.url.set_result(server.url)
                await self._stopping.wait()
        except BaseException as error:
            if not self.url.done():
                self.url.set_exception(error)
            raise

    def stop(self) -> None:
        """Ask the server to shut down and wait until it has."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self.join(STARTUP_SECONDS)


def main() -> None:
    server = ServerThread()
    server.start()
    try:
        url = server.url.result(timeout=STARTUP_SECONDS)
        print(f"server listening on {url}")

        client = Client(transport=AIOHTTPWebsocketsTransport(url=url))

        # Each call connects, runs one operation and closes the connection.
        print("query result:", client.execute(gql('query { hello(name: "sync") }')))

        subscription = gql("subscription { countdown(from: 3, delay_ms: 50) }")
        for result in client.subscribe(subscription):
            print("subscription result:", result)
    finally:
        server.stop()
    print("closed")


if __name__ == "__main__":
    main()
