"""Opening a connection until the server acknowledges it.

One connect may take more than one websocket: a server that echoes a
subprotocol it cannot speak and closes with 1002, saying nothing and giving no
reason, is offered the others on a new connection (a connection is never
reused).  Whatever fails, the
connection made for the attempt is closed before the error is raised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .close_codes import CloseCode
from .connection import NOT_OPEN, Connection, InitPayload
from .exceptions import AckTimeoutError, TransportConnectionClosed, TransportConnectionFailed
from .handshake import offer_after_refusal
from .waiting import shielded

__all__ = ["close_after_failure", "open_connection"]

log = logging.getLogger("gql_aiohttp_websockets.connection")


async def open_connection(
    new_connection: Callable[[], Connection],
    offer: tuple[str, ...],
    *,
    init_payload: InitPayload,
    connect_timeout: float | None,
    ack_timeout: float | None,
    close_timeout: float | None,
    opened: Callable[[], object],
    offered_again: Callable[[], object],
) -> Connection:
    """Return a new connection that the server acknowledged, not yet started.

    Args:
        new_connection: Makes the connection of each attempt.
        offer: The subprotocols to offer, in order of preference.
        init_payload: The ``connection_init`` payload, or a function making it.
        connect_timeout: Seconds allowed for each handshake.
        ack_timeout: Seconds allowed for each ``connection_ack``.
        close_timeout: Seconds allowed for closing a failed attempt.
        opened: Called once each websocket is open.
        offered_again: Called before another websocket offers what is left.

    Raises:
        Exception: What :meth:`Connection.open` and
            :meth:`Connection.initialize` raise, from the last attempt.
    """
    while True:
        connection = new_connection()
        try:
            await connection.open(offer, connect_timeout)
            trace = connection.trace
            if trace is not None:
                trace.opened(connection.subprotocol)
            opened()
            await connection.initialize(init_payload, ack_timeout)
            if trace is not None:
                trace.acknowledged()
            return connection
        except BaseException as exc:
            retry_offer: tuple[str, ...] = ()
            if isinstance(exc, TransportConnectionClosed):
                retry_offer = offer_after_refusal(
                    offer,
                    connection.subprotocol,
                    exc.code,
                    exc.reason,
                    server_spoke=connection.messages_before_ack > 0,
                )
            await shielded(close_after_failure(connection, exc, close_timeout))
            if not retry_offer:
                raise
            log.info(
                "the server closed with 1002, no reason and no message after agreeing to %r; "
                "connecting again offering %s",
                connection.subprotocol,
                ", ".join(retry_offer),
            )
            offer = retry_offer
            offered_again()


async def close_after_failure(
    connection: Connection, error: BaseException, timeout: float | None
) -> None:
    """Close a connection whose opening failed with ``error``, with the code that says why."""
    if isinstance(error, asyncio.CancelledError):
        code: int = CloseCode.TERMINATED
    elif isinstance(error, AckTimeoutError):
        code = CloseCode.CONNECTION_ACKNOWLEDGEMENT_TIMEOUT
    else:
        code = CloseCode.NORMAL_CLOSURE
    reason = error if isinstance(error, Exception) else TransportConnectionFailed(NOT_OPEN)
    connection.begin_close(reason, code)
    await connection.close(timeout, goodbye=False)
