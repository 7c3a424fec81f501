"""Opening a connection until acknowledged: another offer after an echoed refusal, and
the close code a failed attempt is closed with. Against the scripted server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from gql_aiohttp_websockets import AckTimeoutError, AIOHTTPWebsocketsTransport
from gql_aiohttp_websockets.connection import Connection
from gql_aiohttp_websockets.exceptions import TransportConnectionClosed
from gql_aiohttp_websockets.lifecycle import ConnectionState
from gql_aiohttp_websockets.opening import open_connection
from gql_aiohttp_websockets.operations import Operations
from gql_aiohttp_websockets.testing import ScriptedWebsocketServer, scaled_timeout
from tests.helpers import within

BOTH = ("graphql-transport-ws", "graphql-ws")


class Attempts:
    """Makes the connections of ``open_connection`` and remembers them."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.settings = AIOHTTPWebsocketsTransport(url).connection_settings()
        self.session = session
        self.made: list[Connection] = []
        self.opened = 0
        self.offered_again = 0

    def new(self) -> Connection:
        connection = Connection(
            self.settings,
            self.session,
            operations=Operations(),
            ping_received=asyncio.Event(),
            pong_received=asyncio.Event(),
            on_end=lambda *_: None,
        )
        self.made.append(connection)
        return connection

    def open(self) -> None:
        self.opened += 1

    def offer_again(self) -> None:
        self.offered_again += 1

    async def run(self, *, ack_timeout: float = 5) -> Connection:
        return await open_connection(
            self.new,
            BOTH,
            init_payload={},
            connect_timeout=scaled_timeout(5),
            ack_timeout=ack_timeout,
            close_timeout=scaled_timeout(5),
            opened=self.open,
            offered_again=self.offer_again,
        )


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


async def test_an_echoed_refusal_is_answered_with_the_other_offer(
    session: aiohttp.ClientSession,
) -> None:
    async def refuse_the_modern_one(conn: Any) -> None:
        if conn.subprotocol == "graphql-transport-ws":
            # subscriptions-transport-ws: no reason, and no message before it.
            await conn.close(1002)
            return
        await conn.accept_init()
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(refuse_the_modern_one) as server:
        attempts = Attempts(server.url, session)
        connection = await within(attempts.run())
        assert connection.subprotocol == "graphql-ws"
        assert [made.state for made in attempts.made] == [
            ConnectionState.CLOSED,
            ConnectionState.INITIALIZING,
        ]
        assert attempts.opened == 2
        assert attempts.offered_again == 1
        assert [record.offered_subprotocols for record in server.connections] == [
            list(BOTH),
            ["graphql-ws"],
        ]
        connection.begin_close(RuntimeError("done"), 1000)
        await within(connection.close(5, goodbye=True))


async def test_when_every_offer_is_refused_the_last_refusal_is_raised(
    session: aiohttp.ClientSession,
) -> None:
    async def refuse(conn: Any) -> None:
        await conn.close(1002)

    async with ScriptedWebsocketServer(refuse) as server:
        attempts = Attempts(server.url, session)
        with pytest.raises(TransportConnectionClosed) as caught:
            await within(attempts.run())
        assert (caught.value.code, caught.value.reason) == (1002, "")
        assert [record.offered_subprotocols for record in server.connections] == [
            list(BOTH),
            ["graphql-ws"],
        ], "the second attempt offers what the first did not agree to; then it gives up"
        assert [made.state for made in attempts.made] == [ConnectionState.CLOSED] * 2


async def test_a_refusal_with_a_reason_is_the_answer(session: aiohttp.ClientSession) -> None:
    async def refuse(conn: Any) -> None:
        await conn.expect("connection_init")
        await conn.close(1002, "invalid token")

    async with ScriptedWebsocketServer(refuse) as server:
        attempts = Attempts(server.url, session)
        with pytest.raises(TransportConnectionClosed) as caught:
            await within(attempts.run())
        assert (caught.value.code, caught.value.reason) == (1002, "invalid token")
        assert attempts.opened == 1
        assert [made.state for made in attempts.made] == [ConnectionState.CLOSED]


async def test_a_missing_ack_closes_the_attempt_with_4504(session: aiohttp.ClientSession) -> None:
    async def never_ack(conn: Any) -> None:
        await conn.expect("connection_init")
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(never_ack) as server:
        attempts = Attempts(server.url, session)
        with pytest.raises(AckTimeoutError):
            await within(attempts.run(ack_timeout=0.05))
        code = await server.connections[0].wait_closed(scaled_timeout(5))
        assert code == 4504
        assert attempts.made[0].state is ConnectionState.CLOSED


async def test_a_cancelled_opening_closes_the_attempt_with_4499(
    session: aiohttp.ClientSession,
) -> None:
    init_seen = asyncio.Event()

    async def hold_the_ack(conn: Any) -> None:
        await conn.expect("connection_init")
        init_seen.set()
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(hold_the_ack) as server:
        attempts = Attempts(server.url, session)
        opening = asyncio.ensure_future(attempts.run())
        await within(init_seen.wait())
        opening.cancel()
        with pytest.raises(asyncio.CancelledError):
            await within(opening)
        code = await server.connections[0].wait_closed(scaled_timeout(5))
        assert code == 4499
        assert attempts.made[0].state is ConnectionState.CLOSED
