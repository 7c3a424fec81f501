"""ConnectionSettings: what one connection is made with.

The transport reads them from its public attributes at each connect (gql
users may change those between connects), so that a connection never looks
back at the transport.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ssl import SSLContext
from typing import Any, Literal

from aiohttp import BasicAuth, Fingerprint
from aiohttp.typedefs import LooseHeaders, StrOrURL

from .protocols.results import JsonDeserializer, JsonSerializer

__all__ = ["ConnectionSettings"]


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    """The options of one connection; each means what the transport's keyword does."""

    url: str
    headers: LooseHeaders | None
    auth: BasicAuth | None
    origin: str | None
    params: Mapping[str, str] | None
    proxy: StrOrURL | None
    proxy_auth: BasicAuth | None
    proxy_headers: LooseHeaders | None
    ssl: SSLContext | Literal[False] | Fingerprint | None
    heartbeat: float | None
    receive_timeout: float | None
    websocket_close_timeout: float
    max_msg_size: int
    connect_args: Mapping[str, Any]
    json_serialize: JsonSerializer
    json_deserialize: JsonDeserializer
    ping_interval: float | None
    pong_timeout: float | None
    keep_alive_timeout: float | None
    answer_pings: bool
