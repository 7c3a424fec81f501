"""renew() and renew_every against the reference servers.

npm graphql-ws (graphql-transport-ws), npm subscriptions-transport-ws (legacy
graphql-ws) and Mercurius (both).  Their ``sequence`` subscription sends one global
number to every subscriber at each tick (every 10 ms): a subscription moved from one
connection to another must see every number from its first to its last.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport, RenewalFailed, Renewed
from tests.helpers import within
from tests.transport.test_reconnect import Events
from tests.transport.test_renewal import Sequences

from ._support import NodeServer

pytestmark = pytest.mark.interop


async def test_renew_moves_every_subscription_without_a_gap(server: NodeServer) -> None:
    await _renew_three_times(server.transport)


async def test_renew_on_mercurius(mercurius_server: NodeServer, mercurius_subprotocol: str) -> None:
    await _renew_three_times(
        lambda **options: mercurius_server.transport(
            subprotocols=[mercurius_subprotocol], **options
        )
    )


async def _renew_three_times(make: Callable[..., AIOHTTPWebsocketsTransport]) -> None:
    events = Events()
    transport = make(on_event=events)
    await within(transport.connect())
    try:
        sequences = Sequences(transport, 50)
        await sequences.each_received(3)
        for renewal in (1, 2, 3):
            await within(transport.renew())
            reached = max(values[-1] for values in sequences.values)
            await sequences.each_past(reached + 3)
            assert len(events.of(Renewed)) == renewal
        await sequences.stop()
    finally:
        await within(transport.close())
    assert sequences.errors == [None] * 50
    assert sequences.missing() == [[]] * 50
    for renewed in events.of(Renewed):
        assert renewed.moved == 50
        assert renewed.switched == 50


async def test_renew_every_over_many_renewals(graphql_ws_server: NodeServer) -> None:
    events = Events()
    calls: list[int] = []

    def init_payload() -> dict[str, int]:
        calls.append(len(calls) + 1)
        return {"renewal": len(calls)}

    transport = graphql_ws_server.transport(
        init_payload=init_payload, renew_every=0.25, on_event=events
    )
    await within(transport.connect())
    try:
        sequences = Sequences(transport, 20)
        await events.wait_for(Renewed, count=5)
        reached = max(values[-1] for values in sequences.values)
        await sequences.each_past(reached + 2)
        await sequences.stop()
    finally:
        await within(transport.close())
    assert not events.of(RenewalFailed)
    assert sequences.errors == [None] * 20
    assert sequences.missing() == [[]] * 20
    assert len(calls) >= 6
