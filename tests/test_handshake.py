"""The upgrade request's arguments and the reading of the server's answer, without I/O."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp import hdrs
from gql.transport.exceptions import TransportProtocolError

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport
from gql_aiohttp_websockets.handshake import (
    negotiated_subprotocol,
    offer_after_refusal,
    with_credentials,
    ws_connect_kwargs,
)
from tests.helpers import basic_auth

BOTH = ("graphql-transport-ws", "graphql-ws")


def kwargs_for(url: str = "ws://127.0.0.1/graphql", **options: Any) -> dict[str, Any]:
    settings = AIOHTTPWebsocketsTransport(url, **options).connection_settings()
    return ws_connect_kwargs(settings, BOTH)


def test_credentials_become_the_header_they_stand_for() -> None:
    merged = with_credentials({"X-A": "1"}, hdrs.AUTHORIZATION, basic_auth("u", "p"))
    assert merged is not None
    assert merged[hdrs.AUTHORIZATION] == basic_auth("u", "p").encode()
    assert merged["X-A"] == "1"
    assert with_credentials(None, hdrs.AUTHORIZATION, None) is None
    with pytest.raises(ValueError, match="either the Authorization header or its BasicAuth"):
        with_credentials({"Authorization": "x"}, hdrs.AUTHORIZATION, basic_auth("u", "p"))


def test_the_request_carries_the_options() -> None:
    kwargs = kwargs_for(heartbeat=5.0, origin="http://o", max_msg_size=10, receive_timeout=3)
    assert kwargs["protocols"] == BOTH
    assert (kwargs["heartbeat"], kwargs["origin"], kwargs["max_msg_size"]) == (5.0, "http://o", 10)
    assert kwargs["timeout"] == aiohttp.ClientWSTimeout(ws_receive=3, ws_close=10.0)
    assert "ssl" not in kwargs, "aiohttp's default checks unless ssl= is given"
    assert kwargs_for(ssl=False)["ssl"] is False


def test_connect_args_override_what_the_transport_computes() -> None:
    kwargs = kwargs_for(heartbeat=5.0, connect_args={"heartbeat": 1.0, "compress": 15})
    assert (kwargs["heartbeat"], kwargs["compress"]) == (1.0, 15)


@pytest.mark.parametrize(("scheme", "in_request"), [("ws", True), ("wss", False)])
def test_proxy_credentials_without_tls_go_with_the_request(scheme: str, in_request: bool) -> None:
    auth = basic_auth("p", "q")
    kwargs = kwargs_for(
        f"{scheme}://127.0.0.1/graphql", proxy="http://127.0.0.1:3128", proxy_auth=auth
    )
    assert kwargs["proxy_headers"][hdrs.PROXY_AUTHORIZATION] == auth.encode()
    headers = kwargs["headers"] or {}
    assert (hdrs.PROXY_AUTHORIZATION in headers) is in_request


@pytest.mark.parametrize(
    ("answered", "offer", "chosen", "agreed"),
    [
        ("graphql-ws", BOTH, "graphql-ws", True),
        (" graphql-transport-ws ", BOTH, "graphql-transport-ws", True),
        ("", BOTH, "graphql-ws", False),  # none named: the legacy one, as gql assumes
        ("", ("graphql-transport-ws",), "graphql-transport-ws", False),
    ],
)
def test_the_answer_names_the_subprotocol(
    answered: str, offer: tuple[str, ...], chosen: str, agreed: bool
) -> None:
    headers = {"Sec-WebSocket-Protocol": answered} if answered else {}
    assert negotiated_subprotocol(headers, offer) == (chosen, agreed)


def test_a_subprotocol_that_was_not_offered_is_refused() -> None:
    with pytest.raises(TransportProtocolError, match="'mqtt', which was not offered"):
        negotiated_subprotocol({"Sec-WebSocket-Protocol": "mqtt"}, BOTH)


@pytest.mark.parametrize(
    ("offer", "agreed", "code", "reason", "spoke", "next_offer"),
    [
        # subscriptions-transport-ws: echoes the first offer, closes 1002 at
        # once, with no reason and no message.
        (BOTH, "graphql-transport-ws", 1002, "", False, ("graphql-ws",)),
        (BOTH, "graphql-ws", 1002, "", False, ("graphql-transport-ws",)),
        # async-graphql refusing the init: 1002 with its reason, an answer in itself.
        (BOTH, "graphql-transport-ws", 1002, "invalid token", False, ()),
        # A server that said something first speaks the subprotocol.
        (BOTH, "graphql-transport-ws", 1002, "", True, ()),
        (BOTH, "graphql-transport-ws", 1000, "", False, ()),
        (BOTH, "graphql-transport-ws", 1005, "", False, ()),
        (BOTH, "graphql-transport-ws", None, "", False, ()),
        (("graphql-ws",), "graphql-ws", 1002, "", False, ()),
        (BOTH, "other", 1002, "", False, ()),
    ],
)
def test_another_offer_only_after_an_echoed_refusal(
    offer: tuple[str, ...],
    agreed: str,
    code: int | None,
    reason: str,
    spoke: bool,
    next_offer: tuple[str, ...],
) -> None:
    assert offer_after_refusal(offer, agreed, code, reason, server_spoke=spoke) == next_offer
