"""The websocket upgrade: what the request carries, and what the answer means.

Pure functions of the connection's settings and of the response headers: no
I/O here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import BasicAuth, ClientWSTimeout, hdrs
from aiohttp.typedefs import LooseHeaders
from gql.transport.exceptions import TransportProtocolError
from multidict import CIMultiDict
from yarl import URL

from .close_codes import CloseCode
from .protocols import protocol_for_unnegotiated
from .settings import ConnectionSettings

__all__ = ["negotiated_subprotocol", "offer_after_refusal", "with_credentials", "ws_connect_kwargs"]

log = logging.getLogger("gql_aiohttp_websockets.connection")


def with_credentials(
    headers: LooseHeaders | None, name: str, credentials: BasicAuth | None
) -> CIMultiDict[str] | None:
    """Return ``headers`` with ``credentials`` encoded under header ``name``.

    aiohttp 3.14 deprecates its ``auth=`` and ``proxy_auth=`` arguments; the
    header they stand for is sent the same way, without a warning for gql users.

    Raises:
        ValueError: ``headers`` already has ``name``.
    """
    if credentials is None:
        return None if headers is None else CIMultiDict(headers)
    merged: CIMultiDict[str] = CIMultiDict(headers or {})
    if name in merged:
        raise ValueError(f"pass either the {name} header or its BasicAuth argument, not both")
    merged[name] = credentials.encode()
    return merged


def ws_connect_kwargs(settings: ConnectionSettings, offer: tuple[str, ...]) -> dict[str, Any]:
    """Return the keyword arguments of ``ClientSession.ws_connect`` for one attempt.

    ``settings.connect_args`` override the computed ones.

    Raises:
        ValueError: A header is given both as a header and as credentials.
    """
    headers = with_credentials(settings.headers, hdrs.AUTHORIZATION, settings.auth)
    proxy_headers = with_credentials(
        settings.proxy_headers, hdrs.PROXY_AUTHORIZATION, settings.proxy_auth
    )
    if settings.proxy_auth is not None and URL(settings.url).scheme in ("ws", "http"):
        # Without TLS aiohttp forwards the request itself instead of opening
        # a CONNECT tunnel, and sends proxy_headers only with CONNECT.
        headers = CIMultiDict(headers or {})
        headers[hdrs.PROXY_AUTHORIZATION] = settings.proxy_auth.encode()
    kwargs: dict[str, Any] = {
        "headers": headers,
        "heartbeat": settings.heartbeat,
        "origin": settings.origin,
        "params": settings.params,
        "proxy": settings.proxy,
        "proxy_headers": proxy_headers,
        "timeout": ClientWSTimeout(
            ws_receive=settings.receive_timeout, ws_close=settings.websocket_close_timeout
        ),
        "protocols": offer,
        "max_msg_size": settings.max_msg_size,
    }
    if settings.ssl is not None:
        kwargs["ssl"] = settings.ssl
    kwargs.update(settings.connect_args)
    return kwargs


def negotiated_subprotocol(headers: Mapping[str, str], offer: tuple[str, ...]) -> tuple[str, bool]:
    """Return the subprotocol to speak, as the server's handshake answer decides it.

    Args:
        headers: The handshake response's headers.
        offer: The subprotocols offered, in order.

    Returns:
        The subprotocol, and whether the server agreed to it: ``False`` when
        its answer named none and the subprotocol is only assumed (see
        :func:`~gql_aiohttp_websockets.protocols.protocol_for_unnegotiated`).

    Raises:
        TransportProtocolError: The server chose one that was not offered.
    """
    # aiohttp drops a subprotocol answer that was not offered, so read the header.
    answered = headers.get("Sec-WebSocket-Protocol", "").strip()
    if not answered:
        chosen = protocol_for_unnegotiated(offer)
        log.debug(
            "the server's handshake answer named no subprotocol; assuming %r, "
            "which the server never agreed to",
            chosen,
        )
        return chosen, False
    if answered not in offer:
        raise TransportProtocolError(
            f"the server chose subprotocol {answered!r}, which was not offered "
            f"(offered: {', '.join(offer)})"
        )
    return answered, True


def offer_after_refusal(
    offer: tuple[str, ...],
    agreed: str | None,
    close_code: int | None,
    reason: str,
    *,
    server_spoke: bool,
) -> tuple[str, ...]:
    """Return what to offer next when the server closed before its ack.

    subscriptions-transport-ws (ws 7) echoes the client's first offer even
    when it cannot speak it, then closes at once with 1002 Protocol Error,
    no reason, and no message before (Mercurius does the same for a first
    offer it does not know).  gql offered the legacy protocol first and never
    met this; offering the rest again keeps the migration a one-line change
    for such servers.  Every server seen that speaks the subprotocol it
    agreed to and closes with 1002 over the ``connection_init`` gives a
    reason (async-graphql: the error of its ``on_connection_init``; gqlgen:
    "decoding error"): that is its answer, reported as it is, without a
    second handshake.

    Args:
        offer: What was offered, in order.
        agreed: The subprotocol the server's answer agreed to (or assumed).
        close_code: The code the server closed with, ``None`` without one.
        reason: The close reason, possibly empty.
        server_spoke: Whether any message came from the server before the close.

    Returns:
        The offer without ``agreed``, or ``()`` when not to try again.
    """
    if (
        close_code != CloseCode.PROTOCOL_ERROR
        or reason
        or server_spoke
        or agreed not in offer
        or len(offer) < 2
    ):
        return ()
    return tuple(name for name in offer if name != agreed)
