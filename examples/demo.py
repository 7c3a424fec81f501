"""What the transport is for, in one run against servers in this process.

Run from a clone:  python -m pip install -e . && python examples/demo.py

1. A query and a subscription through ``gql.Client``, with ``reconnect=True``
   and every lifecycle event printed.
2. The server drops the connection, then refuses the first attempt to come
   back: the transport retries, subscribes again, and the ``async for`` goes on.
3. Two servers that misbehave: one sends a malformed result, one closes with
   4400.  Each gives the error a user catches, after every result before it.

Everything stays on 127.0.0.1 and takes a few seconds.
"""

from __future__ import annotations

import asyncio
import time

from gql import Client, gql
from gql.transport.exceptions import TransportError

from gql_aiohttp_websockets import (
    AIOHTTPWebsocketsTransport,
    RetryPolicy,
    TransportEvent,
)
from gql_aiohttp_websockets.testing import (
    GraphQLWebsocketServer,
    ScriptedConnection,
    ScriptedWebsocketServer,
    ScriptHandler,
    example_schema,
)

QUERY = gql('query { hello(name: "demo") }')
PRICES = gql('subscription { prices(symbol: "ACME", count: 5, delay_ms: 150) { price seq } }')
TICKS = gql("subscription { ticks(count: 3) }")
# Quick retries, so that the demo does not wait; the default backs off as graphql-ws does.
QUICK = RetryPolicy(attempts=5, wait=lambda attempt: 0.2)
# A safety net: the whole run takes a few seconds.
DEADLINE_SECONDS = 30

started = time.monotonic()


def say(text: str) -> None:
    print(f"{time.monotonic() - started:6.2f}s  {text}", flush=True)


def show(event: TransportEvent) -> None:
    say(f"   event: {event!r}")


async def survive(server: GraphQLWebsocketServer) -> None:
    say("-- 1. a query and a subscription, with reconnect=True and on_event")
    transport = AIOHTTPWebsocketsTransport(url=server.url, reconnect=QUICK, on_event=show)
    async with Client(transport=transport) as session:
        say(f"query result: {await session.execute(QUERY)}")
        received = 0
        # The server starts the subscription over on the new connection (seq
        # from 0 again): what it sent during the gap is not replayed.
        async for update in session.subscribe(PRICES):
            received += 1
            say(f"result {received}: price #{update['prices']['seq']} {update['prices']['price']}")
            if received == 3:
                say("-- 2. the server drops every connection (no close frame)")
                server.drop_connections()
            elif received == 6:
                say("-- 2. once more, and the server refuses the first attempt to come back")
                server.refuse_connections(503, count=1)
                server.drop_connections()
        say("the subscription completed: its `async for` went on across both drops")


async def malformed(connection: ScriptedConnection) -> None:
    await connection.accept_init()
    subscribe = await connection.expect("subscribe")
    for n in range(2):
        await connection.send_json(
            {"id": subscribe["id"], "type": "next", "payload": {"data": {"ticks": n}}}
        )
    await connection.send_text('{"id": "' + subscribe["id"] + '", "type": "next", "payload": [')
    await connection.wait_closed()


async def forbidden(connection: ScriptedConnection) -> None:
    await connection.accept_init()
    subscribe = await connection.expect("subscribe")
    await connection.send_json(
        {"id": subscribe["id"], "type": "next", "payload": {"data": {"ticks": 0}}}
    )
    await connection.close(4400, "Invalid message received")


async def fail(script: ScriptHandler, what: str) -> None:
    say(f"-- 3. {what}")
    async with ScriptedWebsocketServer(script, subprotocols=("graphql-transport-ws",)) as server:
        transport = AIOHTTPWebsocketsTransport(url=server.url)
        try:
            async with Client(transport=transport) as session:
                async for update in session.subscribe(TICKS):
                    say(f"result: {update}")
        except TransportError as error:
            say(f"caught {type(error).__name__}: {error}")


async def main() -> None:
    async with GraphQLWebsocketServer(example_schema()) as server:
        say(f"server listening on {server.url}")
        await survive(server)
    await fail(malformed, "a server sends a malformed result after two good ones")
    await fail(forbidden, "a server closes with 4400 after one result")
    say("done")


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), DEADLINE_SECONDS))
