"""The few pieces of RFC 6455 the benchmark server and the raw sink need.

Server-to-client frames are unmasked (RFC 6455 §5.1), so they can be encoded once
and written many times.  Client-to-server frames are masked; the server only ever
sees small control and text frames from clients, so unmasking speed does not matter.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct

__all__ = [
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONTINUATION",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "ClientFrameParser",
    "accept_key",
    "client_frame",
    "server_frame",
]

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

# RFC 6455 §1.3: the GUID appended to Sec-WebSocket-Key before hashing.
_HANDSHAKE_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_FIN = 0x80
_MASK = 0x80


def accept_key(key: str) -> str:
    """Return the Sec-WebSocket-Accept value answering a Sec-WebSocket-Key."""
    digest = hashlib.sha1(key.strip().encode("ascii") + _HANDSHAKE_GUID).digest()
    return base64.b64encode(digest).decode("ascii")


def _header(opcode: int, length: int, mask_bit: int) -> bytes:
    # RFC 6455 §5.2: 7-bit length, or 126 + 16-bit, or 127 + 64-bit.
    if length < 126:
        return struct.pack("!BB", _FIN | opcode, mask_bit | length)
    if length < 1 << 16:
        return struct.pack("!BBH", _FIN | opcode, mask_bit | 126, length)
    return struct.pack("!BBQ", _FIN | opcode, mask_bit | 127, length)


def server_frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """Encode one final, unmasked frame as a server sends it."""
    return _header(opcode, len(payload), 0) + payload


def _apply_mask(payload: bytes, mask: bytes) -> bytes:
    if not payload:
        return payload
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    masked = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return masked.to_bytes(len(payload), "big")


def client_frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """Encode one final, masked frame as a client sends it."""
    mask = os.urandom(4)
    return _header(opcode, len(payload), _MASK) + mask + _apply_mask(payload, mask)


class ClientFrameParser:
    """Incremental parser of the masked frames a client sends.

    Fragmented messages are reassembled; control frames may arrive between
    fragments (RFC 6455 §5.4) and are returned on their own.
    """

    def __init__(self, max_message: int = 1 << 20) -> None:
        self._buffer = bytearray()
        self._fragments: list[bytes] = []
        self._fragment_opcode = OP_TEXT
        self._max_message = max_message

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Add received bytes; return every complete ``(opcode, payload)``."""
        self._buffer += data
        messages: list[tuple[int, bytes]] = []
        offset = 0
        while (frame := self._frame_at(offset)) is not None:
            fin, opcode, payload, offset = frame
            if opcode >= OP_CLOSE:
                messages.append((opcode, payload))
            elif opcode == OP_CONTINUATION or not fin:
                if opcode != OP_CONTINUATION:
                    self._fragment_opcode = opcode
                self._fragments.append(payload)
                if fin:
                    messages.append((self._fragment_opcode, b"".join(self._fragments)))
                    self._fragments.clear()
            else:
                messages.append((opcode, payload))
        # One deletion per call: many small frames in one read stay linear.
        del self._buffer[:offset]
        return messages

    def _frame_at(self, start: int) -> tuple[bool, int, bytes, int] | None:
        """Parse the frame at ``start``: ``(fin, opcode, payload, end)``, or None if partial."""
        buffer = self._buffer
        available = len(buffer) - start
        if available < 2:
            return None
        first, second = buffer[start], buffer[start + 1]
        length = second & 0x7F
        offset = 2
        if length == 126:
            if available < 4:
                return None
            (length,) = struct.unpack_from("!H", buffer, start + 2)
            offset = 4
        elif length == 127:
            if available < 10:
                return None
            (length,) = struct.unpack_from("!Q", buffer, start + 2)
            offset = 10
        if length > self._max_message:
            raise ValueError(f"client frame of {length} bytes is too large")
        masked = bool(second & _MASK)
        mask = b""
        if masked:
            if available < offset + 4:
                return None
            mask = bytes(buffer[start + offset : start + offset + 4])
            offset += 4
        if available < offset + length:
            return None
        payload = bytes(buffer[start + offset : start + offset + length])
        if masked:
            payload = _apply_mask(payload, mask)
        return bool(first & _FIN), first & 0x0F, payload, start + offset + length
