"""Handlers in the phase a test needs: acknowledged, unless the test is about the ack."""

from __future__ import annotations

from typing import Any, TypeVar

from gql_aiohttp_websockets.protocols import Ack, Phase, ProtocolHandler

H = TypeVar("H", bound=ProtocolHandler)

ACK_FRAME = '{"type":"connection_ack"}'


def acknowledged(handler: H) -> H:
    """Return ``handler`` after it received ``connection_ack``."""
    handler.receive(ACK_FRAME)
    if type(handler).receive is ProtocolHandler.receive:
        assert handler.phase is Phase.ACKNOWLEDGED
    return handler


def expecting(handler: H, event: Any) -> H:
    """Return ``handler`` in the phase where ``event`` may arrive."""
    return handler if isinstance(event, Ack) else acknowledged(handler)
