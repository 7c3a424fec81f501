"""The server's own send rate: a raw socket that subscribes and discards bytes.

No websocket or JSON parsing happens on this side: after the handshake and the
``connection_ack`` it counts received bytes until the whole stream (known in
advance from :mod:`payloads`) has arrived.  What it measures is the server plus
the loopback, i.e. the most any client could receive.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from typing import Any
from urllib.parse import urlsplit

from frames import OP_CLOSE, client_frame, server_frame
from payloads import STREAM_QUERY, SUBPROTOCOL, build_ring, stream_variables

__all__ = ["measure_send_rate"]

_ACK = server_frame(b'{"type":"connection_ack"}')


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _handshake(sock: socket.socket, host: str, path: str) -> None:
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: {SUBPROTOCOL}\r\n\r\n"
    )
    sock.sendall(request.encode())
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("the server closed the connection during the handshake")
        response += chunk
    head, _, rest = response.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(f"handshake refused: {head[:80]!r}")
    if rest:
        raise ConnectionError("unexpected bytes after the handshake")


def _send_json(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(client_frame(json.dumps(message).encode()))


def measure_send_rate(url: str, kind: str, count: int, subscriptions: int = 1) -> dict[str, float]:
    """Subscribe ``subscriptions`` times to ``count`` messages of ``kind``; time the bytes.

    Returns:
        ``msgs``, ``wall_s``, ``msgs_per_s`` and ``mb_per_s`` (megabytes of frames).
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    op_ids = [str(number) for number in range(1, subscriptions + 1)]
    expected = sum(build_ring(kind, op_id).stream_size(count) for op_id in op_ids)
    buffer = bytearray(1 << 20)
    with socket.create_connection((host, port), timeout=60) as sock:
        _handshake(sock, f"{host}:{port}", parts.path or "/")
        _send_json(sock, {"type": "connection_init", "payload": {}})
        if _recv_exactly(sock, len(_ACK)) != _ACK:
            raise ConnectionError("expected connection_ack")
        payload = {"query": STREAM_QUERY, "variables": stream_variables(kind, count)}
        started = time.perf_counter()
        for op_id in op_ids:
            _send_json(sock, {"id": op_id, "type": "subscribe", "payload": payload})
        received = 0
        while received < expected:
            size = sock.recv_into(buffer)
            if not size:
                raise ConnectionError("the server closed the connection mid-stream")
            received += size
        elapsed = time.perf_counter() - started
        if received != expected:
            raise ConnectionError(f"received {received} bytes, expected {expected}")
        sock.sendall(client_frame((1000).to_bytes(2, "big"), OP_CLOSE))
    total = count * subscriptions
    return {
        "msgs": total,
        "wall_s": elapsed,
        "msgs_per_s": total / elapsed,
        "mb_per_s": expected / elapsed / 1e6,
    }
