"""The benchmark server: both subprotocols on a raw asyncio protocol, in its own process.

It speaks just enough of ``graphql-transport-ws`` and of the legacy
``graphql-ws`` for the benchmark clients (the first of the client's offered
subprotocols that it knows wins): ``connection_init`` -> ``connection_ack``;
``ping`` -> ``pong``; ``subscribe`` (legacy ``start``) with variables
``{"kind", "count"}`` streams ``count`` pre-encoded ``next`` (legacy ``data``)
frames then ``complete``; any other one (the tiny query) gets one result and
``complete``; a client ``complete`` (legacy ``stop``, answered with
``complete``) stops its stream; legacy ``connection_terminate`` closes.
Websocket ping and close frames are answered.

Frames are encoded once (see :mod:`payloads`) and written in blocks of about
256 KiB, respecting the transport's flow control, so the server stays far
ahead of any Python client.  Several active streams on one connection are
interleaved one message at a time (the fan-in case).

Run by ``run.py``; prints ``READY <port>`` and stops when its standard input
closes (the parent went away), on SIGTERM/SIGINT, or after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from typing import Any

from frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    ClientFrameParser,
    accept_key,
    server_frame,
)
from payloads import (
    DIALECTS,
    KINDS,
    TINY_RESULT,
    Dialect,
    FrameRing,
    build_ring,
    complete_frame,
    next_frame,
)

_MAX_HANDSHAKE = 16 * 1024
_MAX_CONNECTIONS = 256
_MAX_COUNT = 10_000_000
_RING_CACHE_LIMIT = 20_000
_ACK = server_frame(b'{"type":"connection_ack"}')
_PONG = server_frame(b'{"type":"pong"}')


class RingCache:
    """Frame rings by ``(kind, op_id, result type)``, built on first use and kept (bounded)."""

    def __init__(self) -> None:
        self._rings: dict[tuple[str, str, str], FrameRing] = {}

    def get(self, kind: str, op_id: str, result_type: str) -> FrameRing:
        """Return the ring of ``kind`` frames for ``op_id``."""
        key = (kind, op_id, result_type)
        ring = self._rings.get(key)
        if ring is None:
            if len(self._rings) >= _RING_CACHE_LIMIT:
                self._rings.clear()
            ring = self._rings[key] = build_ring(kind, op_id, result_type)
        return ring

    def prewarm(self, op_ids: range) -> None:
        """Build the rings of the ids gql-style clients use first ("1", "2", ...)."""
        for dialect in DIALECTS.values():
            for op_id in op_ids:
                self.get("small", str(op_id), dialect.result)
            for op_id in range(1, 9):
                self.get("large", str(op_id), dialect.result)


class Stream:
    """The progress of one streaming operation through its frame ring."""

    __slots__ = ("phase", "remaining", "ring")

    def __init__(self, ring: FrameRing, count: int) -> None:
        self.ring = ring
        self.remaining = count
        self.phase = 0

    def take(self, burst: int) -> tuple[bytes, bool]:
        """Return up to ``burst`` next frames (and ``complete`` at the end), and if done."""
        ring = self.ring
        size = len(ring.frames)
        count = min(burst, self.remaining)
        if self.phase == 0 and count >= ring.cycle_messages:
            count = ring.cycle_messages
            block = ring.cycle
        elif count == 1:
            block = ring.frames[self.phase]
        else:
            count = min(count, ring.cycle_messages)
            block = b"".join(ring.frames[(self.phase + step) % size] for step in range(count))
        self.phase = (self.phase + count) % size
        self.remaining -= count
        if self.remaining == 0:
            return block + ring.complete, True
        return block, False


class Connection(asyncio.Protocol):
    """One client connection: HTTP upgrade, then the negotiated subprotocol's frames."""

    def __init__(self, server: BenchServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._handshake = bytearray()
        self._parser: ClientFrameParser | None = None
        self._streams: dict[str, Stream] = {}
        self._pump_task: asyncio.Task[None] | None = None
        self._writable = asyncio.Event()
        self._writable.set()
        self._closing = False
        self._replies: list[bytes] | None = None
        self._dialect: Dialect = DIALECTS["graphql-transport-ws"]

    # asyncio.Protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.set_write_buffer_limits(high=1024 * 1024, low=256 * 1024)
        self._server.connections.add(self)
        if len(self._server.connections) > _MAX_CONNECTIONS:
            transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._streams.clear()
        self._writable.set()
        self._server.connections.discard(self)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        if self._parser is None:
            self._handshake += data
            end = self._handshake.find(b"\r\n\r\n")
            if end < 0:
                if len(self._handshake) > _MAX_HANDSHAKE:
                    self._abort()
                return
            request, rest = bytes(self._handshake[:end]), bytes(self._handshake[end + 4 :])
            self._handshake.clear()
            if not self._upgrade(request):
                return
            self._parser = ClientFrameParser()
            data = rest
        try:
            messages = self._parser.feed(data)
        except ValueError:
            self._abort()
            return
        # Answers to everything in this read go out in one write (200 executes: 1 syscall).
        self._replies = []
        try:
            for opcode, payload in messages:
                self._on_frame(opcode, payload)
        finally:
            replies, self._replies = self._replies, None
            if replies:
                self._write(b"".join(replies))

    # handshake and frames

    def _upgrade(self, request: bytes) -> bool:
        lines = request.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            field = name.strip().lower()
            value = value.strip()
            headers[field] = f"{headers[field]}, {value}" if field in headers else value
        offered = [item.strip() for item in headers.get("sec-websocket-protocol", "").split(",")]
        chosen = next((name for name in offered if name in DIALECTS), None)
        key = headers.get("sec-websocket-key")
        if not lines[0].startswith("GET ") or key is None or chosen is None:
            self._write(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            self._close()
            return False
        self._dialect = DIALECTS[chosen]
        self._write(
            b"HTTP/1.1 101 Switching Protocols\r\n"
            b"Upgrade: websocket\r\n"
            b"Connection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept_key(key).encode() + b"\r\n"
            b"Sec-WebSocket-Protocol: " + chosen.encode() + b"\r\n\r\n"
        )
        return True

    def _on_frame(self, opcode: int, payload: bytes) -> None:
        if opcode in (OP_TEXT, OP_BINARY):
            self._on_message(payload)
        elif opcode == OP_PING:
            self._reply(server_frame(payload, OP_PONG))
        elif opcode == OP_CLOSE:
            # RFC 6455 §5.5.1: answer with a close frame (echoing the code), then close.
            self._streams.clear()
            self._write(server_frame(payload[:2], OP_CLOSE))
            self._close()

    def _on_message(self, text: bytes) -> None:
        try:
            message: Any = json.loads(text)
            kind = message["type"]
        except (ValueError, TypeError, KeyError):
            self._close_with(4400)
            return
        dialect = self._dialect
        if kind == "connection_init":
            self._reply(_ACK)
        elif kind == "ping":
            self._reply(_PONG)
        elif kind == dialect.start:
            self._on_subscribe(message)
        elif kind == dialect.stop:
            op_id = str(message.get("id"))
            if self._streams.pop(op_id, None) is not None and dialect.stop == "stop":
                self._reply(server_frame(complete_frame(op_id)))
        elif kind == "connection_terminate":
            self._close()

    def _on_subscribe(self, message: dict[str, Any]) -> None:
        op_id = message.get("id")
        payload = message.get("payload")
        if not isinstance(op_id, str) or not isinstance(payload, dict):
            self._close_with(4400)
            return
        variables = payload.get("variables") or {}
        kind = variables.get("kind")
        count = variables.get("count")
        result_type = self._dialect.result
        if kind not in KINDS or not isinstance(count, int) or not 0 <= count <= _MAX_COUNT:
            self._reply(server_frame(next_frame(op_id, TINY_RESULT, result_type)))
            self._reply(server_frame(complete_frame(op_id)))
            return
        if op_id in self._streams:
            self._close_with(4409)
            return
        ring = self._server.rings.get(kind, op_id, result_type)
        if count == 0:
            self._reply(ring.complete)
            return
        self._streams[op_id] = Stream(ring, count)
        if self._pump_task is None:
            self._pump_task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        """Write the active streams, whole cycles when alone, interleaved when many."""
        streams = self._streams
        try:
            while streams and not self._closing:
                await self._writable.wait()
                burst = 1 if len(streams) > 1 else 1 << 30
                blocks: list[bytes] = []
                for op_id, stream in list(streams.items()):
                    block, done = stream.take(burst)
                    blocks.append(block)
                    if done:
                        del streams[op_id]
                if not self._closing:
                    self._write(b"".join(blocks))
                # Let data_received run (client `complete`, new `subscribe`).
                await asyncio.sleep(0)
        finally:
            self._pump_task = None

    def _reply(self, data: bytes) -> None:
        """Queue an answer to a received message (written at the end of the read)."""
        if self._replies is not None:
            self._replies.append(data)
        else:
            self._write(data)

    def _write(self, data: bytes) -> None:
        if self._replies:
            # Something written now (a close frame) must follow the queued answers.
            data = b"".join(self._replies) + data
            self._replies.clear()
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _close_with(self, code: int) -> None:
        self._streams.clear()
        self._write(server_frame(code.to_bytes(2, "big"), OP_CLOSE))
        self._close()

    def _close(self) -> None:
        self._closing = True
        if self._transport is not None:
            self._transport.close()

    def _abort(self) -> None:
        self._closing = True
        if self._transport is not None:
            self._transport.abort()


class BenchServer:
    """The listening socket, its connections and the shared frame rings."""

    def __init__(self) -> None:
        self.rings = RingCache()
        self.connections: set[Connection] = set()

    async def serve(self, host: str, port: int, max_seconds: float) -> None:
        """Listen, print ``READY <port>``, and serve until told or timed out to stop."""
        loop = asyncio.get_running_loop()
        self.rings.prewarm(range(1, 1001))
        server = await loop.create_server(lambda: Connection(self), host, port, backlog=512)
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        _stop_on_stdin_eof(loop, stop)
        bound_port = server.sockets[0].getsockname()[1]
        print(f"READY {bound_port}", flush=True)
        try:
            await asyncio.wait_for(stop.wait(), timeout=max_seconds)
        except asyncio.TimeoutError:
            print("benchmark server: --max-seconds reached, stopping", file=sys.stderr)
        finally:
            server.close()
            for connection in list(self.connections):
                connection._abort()
            await server.wait_closed()


def _stop_on_stdin_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Set ``stop`` when standard input reaches end of file (the parent closed it)."""
    fd = sys.stdin.fileno()

    def on_readable() -> None:
        if not os.read(fd, 4096):
            loop.remove_reader(fd)
            stop.set()

    loop.add_reader(fd, on_readable)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--cpu", type=int, default=None, help="pin the server to this CPU")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        parser.error("the benchmark server listens on loopback only")
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    asyncio.run(BenchServer().serve(args.host, args.port, args.max_seconds))


if __name__ == "__main__":
    main()
