"""The command line's tests use the transport tests' servers: the package's own, on 127.0.0.1."""

from __future__ import annotations

from tests.transport.conftest import server, subprotocol

__all__ = ["server", "subprotocol"]
