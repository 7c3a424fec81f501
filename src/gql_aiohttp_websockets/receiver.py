"""Receiver: one connection's receive loop, and what each received event does.

The hot path: a text frame whose envelope :meth:`ProtocolHandler.route`
reads becomes text queued for its operation's ``ListenerQueue``, decoded only
when the consumer takes it; a frame it cannot route is parsed whole into an
event.  Results and ``complete`` are queued with their consumers' wake-ups
held for the turn (see ``wakeups.py``); everything else ends the turn first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from aiohttp import WSMsgType
from gql.transport.exceptions import (
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)
from graphql import ExecutionResult

from .aiohttp_errors import frame_error, receive_timeout_error
from .aiohttp_internals import parsed_frames
from .close_codes import CloseCode
from .exceptions import ConnectionRejectedError, TransportConnectionFailed
from .flow_control import Pressure
from .heartbeats import Fail
from .listener_queue import COMPLETE, ListenerQueue, QueueMarker
from .protocols import (
    Complete,
    ConnectionRejected,
    Ignored,
    Next,
    OperationError,
    Ping,
    Pong,
    ProtocolHandler,
    ServerNotice,
)
from .protocols.server_messages import Event
from .protocols.wording import elide
from .redaction import frame_for_log
from .settings import ConnectionSettings
from .wakeups import RESULT_WEIGHT, Turn, readable_probe

if TYPE_CHECKING:
    from aiohttp.client_ws import ClientWebSocketResponse as _ClientWebSocketResponse

    ClientWebSocketResponse: TypeAlias = _ClientWebSocketResponse[bool]

__all__ = ["Receiver"]

log = logging.getLogger("gql_aiohttp_websockets.connection")


class Receiver:
    """The reading side of one connection.

    Args:
        websocket: The open websocket.
        handler: The negotiated subprotocol's handler.
        settings: The connection's options.
        listeners: The running operations by id (shared with the transport).
        payloads: Where the last ``ping``/``pong`` payloads are kept.
        ping_received: Set for each ``ping``.
        pong_received: Set for each ``pong``.
        send: Sends a frame (a ``pong``).
        closing: Whether the connection is closing, so that the websocket's
            end is expected.
        fail: Ends the connection with an error and a close code.
        pressure: The full queues that hold reading back.
    """

    def __init__(
        self,
        websocket: ClientWebSocketResponse,
        handler: ProtocolHandler,
        settings: ConnectionSettings,
        *,
        listeners: dict[int, ListenerQueue],
        payloads: dict[str, Any],
        ping_received: asyncio.Event,
        pong_received: asyncio.Event,
        send: Callable[[str], Awaitable[None]],
        closing: Callable[[], bool],
        fail: Fail,
        pressure: Pressure,
    ) -> None:
        self._websocket = websocket
        self._handler = handler
        self._settings = settings
        self._listeners = listeners
        self._payloads = payloads
        self._ping_received = ping_received
        self._pong_received = pong_received
        self._send = send
        self._closing = closing
        self._fail = fail
        self._pressure = pressure
        #: Whether reading is held back by a full queue (``BACKPRESSURE``).
        self.paused = False
        #: Text frames received, counted only with a keep-alive watchdog.
        self.frames_received = 0
        #: The highest operation id started on this connection.
        self.last_issued = 0

    async def run(self) -> None:
        """Receive until the websocket ends; then report why through ``fail``.

        The end the connection expects (it is closing) is reported to nobody.
        """
        websocket, handler = self._websocket, self._handler
        listeners = self._listeners
        receive = websocket.receive
        route = handler.route
        parse = handler.receive
        text_type = WSMsgType.TEXT
        debug = log.isEnabledFor(logging.DEBUG)
        # Frames are counted only for the keep-alive watchdog, when there is one.
        counting = self._settings.keep_alive_timeout is not None
        turn = Turn(
            asyncio.get_running_loop(),
            parsed_frames(websocket),
            readable_probe(websocket.get_extra_info("socket")),
        )
        held = turn.held
        before_receive = turn.before_receive
        full = self._pressure.queues
        error: Exception
        try:
            while True:
                if held and before_receive():
                    await asyncio.sleep(0)
                if full:
                    turn.end()
                    await self._hold_back()
                message = await receive()
                if turn.holding:
                    turn.stop_holding()
                if message.type is not text_type:
                    if self._closing():
                        return
                    error = frame_error(
                        message,
                        "while operations were running",
                        self._settings.max_msg_size,
                        self._settings.heartbeat,
                    )
                    break
                if counting:
                    self.frames_received += 1
                text = message.data
                if debug:
                    log.debug("<<< %s", frame_for_log(text))
                item: ExecutionResult | str | QueueMarker
                routed = route(text)
                if routed is not None:
                    # The payload stays text until the consumer takes it.
                    op_id, item = routed
                else:
                    event = parse(text)
                    if type(event) is Next:
                        op_id, item = event.op_id, event.result
                    elif type(event) is Complete:
                        # Held like a result: it is queued after them anyway.
                        op_id, item = event.op_id, COMPLETE
                    else:
                        turn.end()
                        await self._handle_event(event, listeners)
                        continue
                listener = listeners.get(op_id)
                if listener is not None:
                    if listener.put_held(item):
                        held.append(listener)
                    turn.bytes += len(text) + RESULT_WEIGHT
                elif debug:
                    self._log_unclaimed("complete" if item is COMPLETE else "a result", op_id)
        except (TransportProtocolError, TransportServerError) as exc:
            error = exc
        except asyncio.TimeoutError:
            error = receive_timeout_error(self._settings.receive_timeout)
        except Exception as exc:
            log.exception("unexpected error in the receive loop")
            error = TransportConnectionFailed(f"unexpected error in the receive loop: {exc!r}")
        finally:
            turn.end()
        if isinstance(error, TransportProtocolError):
            self._fail(error, handler.protocol_error_close_code)
        else:
            self._fail(error, CloseCode.NORMAL_CLOSURE)

    async def _hold_back(self) -> None:
        # Not reading lets aiohttp's buffer fill, which pauses the socket's
        # reading, and TCP's window then slows the server down.
        self.paused = True
        if log.isEnabledFor(logging.DEBUG):
            log.debug("a full queue holds reading back")
        try:
            await self._pressure.relieved()
        finally:
            self.paused = False

    async def _handle_event(self, event: Event, listeners: dict[int, ListenerQueue]) -> None:
        # Results and complete never get here: the receive loop queues them.
        if isinstance(event, OperationError):
            listener = listeners.get(event.op_id)
            if listener is None:
                if log.isEnabledFor(logging.DEBUG):
                    self._log_unclaimed("an error", event.op_id)
            else:
                listener.set_exception_nowait(
                    TransportQueryError(
                        str(event.errors[0]), query_id=event.op_id, errors=event.errors
                    )
                )
        elif isinstance(event, ConnectionRejected):
            raise ConnectionRejectedError(
                f"the server reported a connection error: {event.payload!r}"
            )
        else:
            await self.handle_control(event)

    async def handle_control(self, event: Event) -> None:
        """Do what a ping, pong, keep-alive, server notice or ignored message asks for."""
        if isinstance(event, Ping):
            self._payloads["ping"] = event.payload
            self._ping_received.set()
            if self._settings.answer_pings:
                frame = self._handler.pong()
                if frame is not None:
                    await self._send(frame)
        elif isinstance(event, Pong):
            self._payloads["pong"] = event.payload
            self._pong_received.set()
        elif isinstance(event, ServerNotice):
            log.warning(
                "the server complained about the connection: %s", elide(repr(event.payload))
            )
        elif isinstance(event, Ignored):
            # Known to carry no result (see ProtocolHandler.ignored_types).
            log.debug(
                "ignored a %s message, which %s does not define",
                elide(repr(event.message_type), 60),
                self._handler.subprotocol,
            )

    def _log_unclaimed(self, what: str, op_id: int) -> None:
        # gql and the graphql-ws client ignore such messages too: nobody waits
        # for them, so they can hurt no operation.
        state = "has finished" if op_id <= self.last_issued else "was never started"
        log.debug("ignored %s for operation %d, which %s", what, op_id, state)
