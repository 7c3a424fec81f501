"""ReusedPayload: an operation payload handed out again for the same request."""

from __future__ import annotations

from typing import Any

__all__ = ["ReusedPayload"]


class ReusedPayload(dict[str, Any]):
    """A payload that is handed out again, unchanged, for the same request.

    ``request_payload.build_payload`` gives one to requests without variables
    or extensions.  Nobody mutates it, so a protocol handler may keep its JSON
    text and skip encoding it again.
    """

    __slots__ = ()
