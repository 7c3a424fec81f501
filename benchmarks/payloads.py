"""What the benchmark server sends, shared by the server, the clients and the sink.

Every ``next`` frame is encoded once: a :class:`FrameRing` holds a few distinct
frames for one ``(kind, operation id)`` and the server cycles through them, so
sending costs no encoding at all.  The distinct frames differ in their numbers
and strings only, which is enough to keep them from being byte-identical; JSON
decoding costs the same for each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from frames import server_frame

__all__ = [
    "DIALECTS",
    "IDLE_QUERY",
    "IDLE_RESULT",
    "KINDS",
    "LEGACY",
    "STREAM_QUERY",
    "SUBPROTOCOL",
    "SUBPROTOCOLS",
    "TINY_QUERY",
    "TINY_RESULT",
    "TRANSPORT_WS",
    "Dialect",
    "FrameRing",
    "build_ring",
    "complete_frame",
    "next_frame",
    "payload_ring",
    "stream_variables",
]

TRANSPORT_WS = "graphql-transport-ws"
LEGACY = "graphql-ws"
#: Both subprotocols, in the order the tables show them.
SUBPROTOCOLS = (TRANSPORT_WS, LEGACY)
#: The default subprotocol (the sink and anything not told otherwise).
SUBPROTOCOL = TRANSPORT_WS


@dataclass(frozen=True)
class Dialect:
    """The message types one subprotocol uses where the benchmark needs them."""

    subprotocol: str
    #: The client's message starting an operation.
    start: str
    #: The server's message carrying a result.
    result: str
    #: The client's message stopping an operation.
    stop: str


DIALECTS = {
    TRANSPORT_WS: Dialect(TRANSPORT_WS, start="subscribe", result="next", stop="complete"),
    LEGACY: Dialect(LEGACY, start="start", result="data", stop="stop"),
}

#: The subscription every streaming workload sends; the server reads only the variables.
STREAM_QUERY = (
    "subscription Stream($kind: String!, $count: Int!) { stream(kind: $kind, count: $count) }"
)
#: The tiny query of the execute and connect workloads: one ``next`` then ``complete``.
TINY_QUERY = "query Tiny { hello }"
TINY_RESULT = b'{"data":{"hello":"world"}}'
#: The subscription of the idle workloads: one result at once, then nothing for an hour.
#: The package's test server and the Node reference servers all serve it.
IDLE_QUERY = "subscription Idle { countdown(from: 1, delay_ms: 3600000) }"
IDLE_RESULT = {"countdown": 1}

#: Message kinds the server can stream: ``small`` ~100 B frames, ``large`` ~10 KB ones.
KINDS = ("small", "large")

_RING_SIZE = {"small": 16, "large": 4}
#: A single stream is written in whole cycles of at least this many bytes.
_CYCLE_BYTES = 256 * 1024


def stream_variables(kind: str, count: int) -> dict[str, Any]:
    """Return the variables asking the server for ``count`` messages of ``kind``."""
    return {"kind": kind, "count": count}


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _small_result(index: int) -> dict[str, Any]:
    return {
        "data": {
            "tick": {
                "seq": 100_000 + index * 7919,
                "value": round(index * 0.731, 3),
                "src": f"s{index % 10}",
                "up": True,
            }
        }
    }


def _large_item(index: int, position: int) -> dict[str, Any]:
    key = index * 1000 + position
    return {
        "id": f"item-{key}",
        "title": f"Item number {key} of the feed",
        "score": round(position * 1.37 + index, 2),
        "tags": ["alpha", "beta", f"tag{position % 7}"],
        "author": {"id": f"user-{key % 97}", "name": f"User {key % 97}", "verified": bool(key % 2)},
        "metrics": {"views": key * 13, "likes": key % 211, "ratio": round((key % 17) / 17, 4)},
        "children": [{"id": f"c-{key}-{n}", "value": n * 3.5, "ok": n % 2 == 0} for n in range(3)],
    }


def _large_result(index: int) -> dict[str, Any]:
    items = [_large_item(index, position) for position in range(29)]
    return {"data": {"feed": {"cursor": f"cursor-{index:08d}", "items": items}}}


@cache
def payload_ring(kind: str) -> tuple[bytes, ...]:
    """Return the distinct pre-encoded results (``next`` payloads) of ``kind``."""
    build = {"small": _small_result, "large": _large_result}[kind]
    return tuple(_compact(build(index)) for index in range(_RING_SIZE[kind]))


def next_frame(op_id: str, payload: bytes, result_type: str = "next") -> bytes:
    """Return the text of a result message (``next``, or legacy ``data``), not yet framed."""
    head = b'{"type":"' + result_type.encode() + b'","id":'
    return head + _compact(op_id) + b',"payload":' + payload + b"}"


def complete_frame(op_id: str) -> bytes:
    """Return the text of a ``complete`` message (not yet framed)."""
    return b'{"type":"complete","id":' + _compact(op_id) + b"}"


class FrameRing:
    """The pre-encoded websocket frames of one stream kind for one operation id.

    Args:
        frames: Complete websocket frames of ``next`` messages, cycled in order.
        complete: The complete websocket frame of the closing ``complete``.
    """

    def __init__(self, frames: tuple[bytes, ...], complete: bytes) -> None:
        self.frames = frames
        self.complete = complete
        one_round = sum(len(frame) for frame in frames)
        self._rounds = max(1, -(-_CYCLE_BYTES // one_round))
        self._cycle: bytes | None = None

    @property
    def cycle_messages(self) -> int:
        """Number of messages in :attr:`cycle`, a multiple of ``len(frames)``."""
        return self._rounds * len(self.frames)

    @property
    def cycle(self) -> bytes:
        """The frames repeated into one large block, built on first use."""
        if self._cycle is None:
            self._cycle = b"".join(self.frames) * self._rounds
        return self._cycle

    def stream_size(self, count: int) -> int:
        """Return how many bytes a stream of ``count`` messages plus ``complete`` takes."""
        size = len(self.complete)
        ring = len(self.frames)
        full, rest = divmod(count, ring)
        size += full * sum(len(frame) for frame in self.frames)
        return size + sum(len(frame) for frame in self.frames[:rest])


def build_ring(kind: str, op_id: str, result_type: str = "next") -> FrameRing:
    """Encode the frames of a ``kind`` stream for the operation ``op_id``."""
    frames = tuple(
        server_frame(next_frame(op_id, payload, result_type)) for payload in payload_ring(kind)
    )
    return FrameRing(frames, server_frame(complete_frame(op_id)))
