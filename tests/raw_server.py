"""A bare TCP server on 127.0.0.1 that speaks just enough HTTP for handshake faults.

The aiohttp-based test servers always negotiate correctly; these cases need a
server that answers the upgrade with a subprotocol that was never offered, or
never answers at all, or goes silent after the upgrade (no PONG frames).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib

from tests.stream_server import StreamServer

_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class RawServer(StreamServer):
    """Accepts connections and handles them as configured.

    Args:
        answer_handshake: Whether to answer the HTTP upgrade at all.
        subprotocol: The Sec-WebSocket-Protocol to answer with (``None``: none).
    """

    def __init__(self, *, answer_handshake: bool = True, subprotocol: str | None = None) -> None:
        super().__init__()
        self.answer_handshake = answer_handshake
        self.subprotocol = subprotocol
        self.requests: list[str] = []
        self.connected = asyncio.Event()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connected.set()
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head.decode("latin-1"))
            if not self.answer_handshake:
                await reader.read()  # until the client gives up
                return
            key = ""
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.strip().lower() == "sec-websocket-key":
                    key = value.strip()
            accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
            lines = [
                "HTTP/1.1 101 Switching Protocols",
                "Upgrade: websocket",
                "Connection: Upgrade",
                f"Sec-WebSocket-Accept: {accept}",
            ]
            if self.subprotocol is not None:
                lines.append(f"Sec-WebSocket-Protocol: {self.subprotocol}")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            await writer.drain()
            await self.serve(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Play the server after the handshake; by default swallow everything, answer nothing."""
        await reader.read()


def text_frame(text: str) -> bytes:
    """Encode ``text`` as one unmasked websocket text frame, as a server sends it."""
    payload = text.encode()
    if len(payload) < 126:
        return bytes([0x81, len(payload)]) + payload
    if len(payload) < 1 << 16:
        return bytes([0x81, 126]) + len(payload).to_bytes(2, "big") + payload
    return bytes([0x81, 127]) + len(payload).to_bytes(8, "big") + payload


async def read_client_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read one masked frame from the client; return its opcode and unmasked payload."""
    head = await reader.readexactly(2)
    length = head[1] & 0x7F
    if length == 126:
        length = int.from_bytes(await reader.readexactly(2), "big")
    elif length == 127:
        length = int.from_bytes(await reader.readexactly(8), "big")
    mask = await reader.readexactly(4)
    payload = await reader.readexactly(length)
    return head[0] & 0x0F, bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
