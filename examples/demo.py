"""A query and a subscription through gql.Client, against a server in this process.

Run from a clone:  python -m pip install -e . && python examples/demo.py
"""

from __future__ import annotations

import asyncio

from gql import Client, gql

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport
from gql_aiohttp_websockets.testing import GraphQLWebsocketServer, example_schema

QUERY = 'query { hello(name: "demo") }'
SUBSCRIPTION = """
subscription {
  prices(symbol: "ACME", count: 5, delay_ms: 100) { symbol price seq }
}
"""

# Everything below takes well under a second; this is only a safety net.
DEADLINE_SECONDS = 10


async def main() -> None:
    async with GraphQLWebsocketServer(example_schema()) as server:
        print(f"server listening on {server.url}")
        transport = AIOHTTPWebsocketsTransport(url=server.url)
        async with Client(transport=transport) as session:
            print(f"connected, subprotocol {transport.subprotocol!r}")

            result = await session.execute(gql(QUERY))
            print(f"query result: {result}")

            async for update in session.subscribe(gql(SUBSCRIPTION)):
                print(f"subscription result: {update}")
        print("closed")


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), DEADLINE_SECONDS))
