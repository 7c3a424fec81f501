"""What a test server saw on one websocket, with ways to wait for it without sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .timeouts import scaled_timeout

__all__ = ["DEFAULT_WAIT", "ConnectionRecord", "WebsocketClosed"]

#: Seconds a wait helper waits when the caller gives no timeout (before scaling).
DEFAULT_WAIT = 10.0

#: Who ended a connection: the server (close frame or dropped TCP) or the client.
ClosedBy = Literal["server", "client"]


class WebsocketClosed(Exception):
    """The websocket closed while a test server was waiting for or sending a message.

    Attributes:
        code: The close code the connection ended with (1006 when it ended
            without a close frame), or ``None`` if unknown.
        reason: The close reason, possibly empty.
    """

    def __init__(self, code: int | None, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        detail = f" ({reason})" if reason else ""
        super().__init__(f"websocket closed with code {code}{detail}")


def resolve_timeout(timeout: float | None) -> float:
    """Return ``timeout``, or the scaled default wait when it is ``None``.

    Args:
        timeout: Seconds chosen by the caller (already scaled by them), or ``None``.

    Returns:
        The number of seconds to wait.
    """
    return scaled_timeout(DEFAULT_WAIT) if timeout is None else timeout


@dataclass(eq=False)
class ConnectionRecord:
    """Everything a test server recorded about one accepted websocket.

    Attributes:
        path: The request path.
        request_headers: The HTTP headers of the upgrade request.
        query: The query-string parameters of the upgrade request.
        offered_subprotocols: The subprotocols the client offered, in its order.
        subprotocol: The negotiated subprotocol, ``None`` when none was agreed.
        init_payload: The payload of the client's ``connection_init`` (``None``
            until one arrives, or when it had none).
        received: Every JSON text frame from the client, parsed, in arrival order.
        frames: Every data frame from the client as received (``str`` for
            text, ``bytes`` for binary), including unparsable ones.
        sent: Every JSON message the server sent, in order.
        close_code: The close code the connection ended with (the server's
            code when the server closed first, the client's otherwise, 1006
            when it ended without a close frame); ``None`` while open.
        close_reason: The close reason that went with ``close_code``.
        closed_by: ``"server"`` or ``"client"``: who ended the connection.
    """

    path: str
    request_headers: Mapping[str, str] = field(repr=False)
    query: Mapping[str, str] = field(repr=False)
    offered_subprotocols: list[str]
    subprotocol: str | None
    init_payload: Any = None
    received: list[Any] = field(default_factory=list)
    frames: list[str | bytes] = field(default_factory=list, repr=False)
    sent: list[Any] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""
    closed_by: ClosedBy | None = None
    _closed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def closed(self) -> bool:
        """Whether the connection has ended."""
        return self._closed.is_set()

    @property
    def started_operations(self) -> list[str]:
        """The ids of the operations the client started, in order (either subprotocol)."""
        return [
            str(message.get("id"))
            for message in self.received
            if isinstance(message, dict) and message.get("type") in ("subscribe", "start")
        ]

    def messages_of_type(self, message_type: str) -> list[dict[str, Any]]:
        """Return the received messages whose ``type`` is ``message_type``.

        Args:
            message_type: A protocol message type such as ``"subscribe"``.

        Returns:
            The matching messages, in arrival order.
        """
        return [
            message
            for message in self.received
            if isinstance(message, dict) and message.get("type") == message_type
        ]

    async def wait_closed(self, timeout: float | None = None) -> int | None:
        """Wait until the connection has ended.

        Args:
            timeout: Seconds to wait, used as given; ``None`` means the scaled
                default of 10 s.

        Returns:
            The close code (see ``close_code``).

        Raises:
            TimeoutError: The connection was still open after ``timeout``.
        """
        seconds = resolve_timeout(timeout)
        try:
            await asyncio.wait_for(self._closed.wait(), seconds)
        except asyncio.TimeoutError:
            raise TimeoutError(
                f"connection still open after {seconds:g} s; received {self.received!r}"
            ) from None
        return self.close_code

    async def wait_for_message(
        self, predicate: Callable[[Any], bool], timeout: float | None = None
    ) -> Any:
        """Wait for a client message matching ``predicate`` and return it.

        Messages that arrived before the call count, so there is no race
        between a client sending and a test starting to wait.

        Args:
            predicate: Called with each parsed client message, in order.
            timeout: Seconds to wait, used as given; ``None`` means the scaled
                default of 10 s.

        Returns:
            The first received message for which ``predicate`` is true.

        Raises:
            TimeoutError: No such message arrived in time.
            WebsocketClosed: The connection ended without such a message.
        """
        seconds = resolve_timeout(timeout)
        try:
            return await asyncio.wait_for(self._first_match(predicate), seconds)
        except asyncio.TimeoutError:
            raise TimeoutError(
                f"no matching client message after {seconds:g} s; received {self.received!r}"
            ) from None

    async def wait_for_type(self, message_type: str, timeout: float | None = None) -> Any:
        """Wait for a client message whose ``type`` is ``message_type``.

        Args:
            message_type: A protocol message type such as ``"stop"``.
            timeout: As for `wait_for_message`.

        Returns:
            The first such message.
        """
        return await self.wait_for_message(
            lambda message: isinstance(message, dict) and message.get("type") == message_type,
            timeout,
        )

    async def _first_match(self, predicate: Callable[[Any], bool]) -> Any:
        checked = 0
        while True:
            while checked < len(self.received):
                message = self.received[checked]
                checked += 1
                if predicate(message):
                    return message
            if self.closed:
                raise WebsocketClosed(self.close_code, self.close_reason)
            self._changed.clear()
            await self._changed.wait()

    def record_frame(self, data: str | bytes, parsed: Any, *, is_json: bool) -> None:
        """Store one client data frame and wake up waiters (server-side use).

        Args:
            data: The frame as received.
            parsed: The parsed JSON value, meaningful only when ``is_json``.
            is_json: Whether ``data`` was a text frame holding valid JSON.
        """
        self.frames.append(data)
        if is_json:
            self.received.append(parsed)
        self._changed.set()

    def record_sent(self, message: Any) -> None:
        """Store one message the server sent and wake up waiters (server-side use)."""
        self.sent.append(message)
        self._changed.set()

    async def wait_for_sent(
        self, predicate: Callable[[Any], bool], count: int = 1, timeout: float | None = None
    ) -> None:
        """Wait until at least ``count`` messages the server sent match ``predicate``.

        Raises:
            TimeoutError: Fewer were sent in time.
        """
        seconds = resolve_timeout(timeout)

        async def enough() -> None:
            while sum(1 for message in self.sent if predicate(message)) < count:
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(enough(), seconds)
        except asyncio.TimeoutError:
            raise TimeoutError(
                f"fewer than {count} matching messages sent after {seconds:g} s"
            ) from None

    def mark_closed(self, code: int | None, reason: str, closed_by: ClosedBy) -> None:
        """Record how the connection ended; only the first call counts (server-side use).

        Args:
            code: The close code.
            reason: The close reason.
            closed_by: Who ended the connection.
        """
        if self.closed:
            return
        self.close_code = code
        self.close_reason = reason
        self.closed_by = closed_by
        self._closed.set()
        self._changed.set()
