"""What both server-side subprotocols share: settings, connection init, operation tasks.

A session owns one websocket from the moment the subprotocol is known until
it closes.  The subclass for each subprotocol reads messages and decides what
to send; this module runs operations, background timers, and the cleanup that
leaves no task behind.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLSchema

from .admission import EXPIRED_CODE, EXPIRED_REASON, Admission, Refused
from .execution import (
    OperationRequest,
    Rejected,
    SingleResult,
    close_stream,
    error_from_exception,
    run_operation,
)
from .wire import ServerWire

__all__ = ["DEFAULT_CONTEXT", "ConnectDecision", "OnConnect", "ServerSettings", "Session"]

_log = logging.getLogger(__name__)

#: ``on_connect(payload)``: return ``False`` to reject, a dict to send as the ack payload.
OnConnect = Callable[[Any], object]

#: Marks "no context given": resolvers then get ``{"connection_params": payload}``.
DEFAULT_CONTEXT: object = object()


#: What a server capping the operations of a connection says to one more (Strawberry's words).
LIMIT_REACHED = "Subscription limit reached"


@dataclass(frozen=True)
class ServerSettings:
    """How a `GraphQLWebsocketServer` treats each connection.

    Attributes:
        schema: The graphql-core schema operations run against.
        on_connect: Called with the ``connection_init`` payload.
        context: The context value, a callable building it from the init
            payload, or `DEFAULT_CONTEXT`.
        keep_alive_interval: Seconds between legacy ``ka`` messages (``None``: off).
        ping_interval: Seconds between graphql-transport-ws ``ping`` messages
            (``None``: off).
        connection_init_timeout: Seconds a graphql-transport-ws client has to
            send ``connection_init`` before a 4408 close (``None``: forever).
        max_operations_per_connection: The most operations one connection may
            run at once (``None``: no cap); one more is refused as Strawberry
            refuses it (see `Session.refused_at_cap`).
        admission: Who is let in, and until when (see `Admission`).
        root_value: The root value of every operation.
    """

    schema: GraphQLSchema
    on_connect: OnConnect | None = None
    context: object = DEFAULT_CONTEXT
    keep_alive_interval: float | None = None
    ping_interval: float | None = None
    connection_init_timeout: float | None = None
    max_operations_per_connection: int | None = None
    admission: Admission | None = None
    root_value: object = None


@dataclass(frozen=True)
class ConnectDecision:
    """The outcome of ``on_connect``.

    Attributes:
        accepted: Whether the connection may proceed.
        ack_payload: The payload for ``connection_ack``, if any.
        error: The exception ``on_connect`` raised, if it did.
        expires_in: Seconds until the connection's token expires, when
            there is one: the session closes it with 4403 then.
    """

    accepted: bool
    ack_payload: dict[str, Any] | None = None
    error: Exception | None = None
    expires_in: float | None = None


class Session:
    """Base class of the per-subprotocol sessions.

    Subclasses implement `run` and the four ways an operation reports back.
    """

    def __init__(
        self,
        wire: ServerWire,
        settings: ServerSettings,
        report_error: Callable[[BaseException], None],
    ) -> None:
        self.wire = wire
        self.settings = settings
        self.context: object = None
        self._report_error = report_error
        self._operations: dict[Hashable, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Serve the connection until it ends."""
        raise NotImplementedError

    async def serve(self) -> None:
        """Run the session, then cancel and await every task it started."""
        try:
            await self.run()
        finally:
            await self._cancel_all()

    async def decide_connect(self, payload: Any) -> ConnectDecision:
        """Run ``on_connect`` and build the connection's context.

        Args:
            payload: The ``connection_init`` payload (``None`` when absent).

        Returns:
            Whether to accept, and the ack payload.
        """
        self.wire.record.init_payload = payload
        ack_payload: dict[str, Any] | None = None
        expires_in = None
        admission = self.settings.admission
        if admission is not None:
            try:
                expires_in = admission.admit(payload)
            except Refused as refused:
                _log.info("refused a connection_init: %s", refused)
                return ConnectDecision(accepted=False)
        try:
            if self.settings.on_connect is not None:
                verdict = self.settings.on_connect(payload)
                if inspect.isawaitable(verdict):
                    verdict = await verdict
                if verdict is False:
                    return ConnectDecision(accepted=False)
                if isinstance(verdict, dict):
                    ack_payload = verdict
            self.context = await self._build_context(payload)
        except Exception as error:
            # The test's callback failing is server behaviour a client may
            # meet; it is logged, not re-raised.
            _log.exception("on_connect or the context factory raised")
            return ConnectDecision(accepted=False, error=error)
        return ConnectDecision(accepted=True, ack_payload=ack_payload, expires_in=expires_in)

    def expire_at(self, decision: ConnectDecision) -> None:
        """Close the connection with 4403 when its token expires, as Hasura does."""
        if decision.expires_in is not None:
            self.call_later(decision.expires_in, self._token_expired)

    async def _token_expired(self) -> None:
        admission = self.settings.admission
        if admission is not None:
            admission.expired += 1
        await self.wire.close(EXPIRED_CODE, EXPIRED_REASON)

    async def _build_context(self, payload: Any) -> object:
        context = self.settings.context
        if context is DEFAULT_CONTEXT:
            return {"connection_params": payload}
        if callable(context):
            built = context(payload)
            if inspect.isawaitable(built):
                built = await built
            return built
        return context

    def is_active(self, op_id: Hashable) -> bool:
        """Whether an operation with this id is running."""
        return op_id in self._operations

    async def refused_at_cap(self, op_id: Hashable) -> bool:
        """Refuse an operation past ``max_operations_per_connection``; say whether it was.

        As Strawberry does (its ``max_subscriptions_per_connection``, 100 by
        default since 0.312.3): an ``error`` for that operation with the
        message ``Subscription limit reached``; the connection goes on.
        """
        cap = self.settings.max_operations_per_connection
        if cap is None or len(self._operations) < cap:
            return False
        await self.send_rejected(op_id, [{"message": LIMIT_REACHED}])
        return True

    def start_operation(self, op_id: Hashable, request: OperationRequest) -> None:
        """Run an operation in its own task, under ``op_id``."""
        task = self._spawn(lambda: self._operate(op_id, request))
        self._operations[op_id] = task

    def stop_operation(self, op_id: Hashable) -> bool:
        """Cancel a running operation; it sends nothing more.

        Returns:
            Whether an operation with this id was running.
        """
        task = self._operations.pop(op_id, None)
        if task is None:
            return False
        task.cancel()
        return True

    def start_timer(self, interval: float, action: Callable[[], Awaitable[None]]) -> None:
        """Call ``action`` every ``interval`` seconds until the connection ends."""

        async def repeat() -> None:
            while True:
                await asyncio.sleep(interval)
                await action()

        self._spawn(repeat)

    def call_later(self, delay: float, action: Callable[[], Awaitable[None]]) -> None:
        """Call ``action`` once after ``delay`` seconds unless the connection ended."""

        async def once() -> None:
            await asyncio.sleep(delay)
            await action()

        self._spawn(once)

    async def send_result(self, op_id: Hashable, result: dict[str, Any]) -> None:
        """Send one execution result (``next`` / ``data``)."""
        raise NotImplementedError

    async def send_complete(self, op_id: Hashable) -> None:
        """Send the end of an operation's results (``complete`` in both subprotocols)."""
        await self.wire.send_json({"id": op_id, "type": "complete"})

    async def send_rejected(self, op_id: Hashable, errors: list[dict[str, Any]]) -> None:
        """Report that the document failed to parse or validate."""
        raise NotImplementedError

    async def send_stream_failed(self, op_id: Hashable, error: dict[str, Any]) -> None:
        """Report that a subscription's source raised mid-stream."""
        raise NotImplementedError

    async def on_internal_error(self, error: Exception) -> None:
        """React to a bug in the server itself (after it was reported)."""
        await self.wire.close(1011, "Internal server error")

    def _spawn(self, work: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task[None]:
        # The coroutine is made inside the task: a task cancelled before its
        # first step (the connection ended at once) leaves none un-awaited.
        task = asyncio.get_running_loop().create_task(self._guarded(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guarded(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._report_error(error)
            await self.on_internal_error(error)

    async def _operate(self, op_id: Hashable, request: OperationRequest) -> None:
        try:
            outcome = await run_operation(
                self.settings.schema, request, self.context, self.settings.root_value
            )
            if isinstance(outcome, Rejected):
                self._forget(op_id)
                await self.send_rejected(op_id, outcome.errors)
                return
            if isinstance(outcome, SingleResult):
                await self.send_result(op_id, outcome.result)
                self._forget(op_id)
                await self.send_complete(op_id)
                return
            try:
                async for result in outcome.results:
                    await self.send_result(op_id, dict(result.formatted))
                    # A stream that never suspends would starve the reader,
                    # and with it the client's stop/complete messages.
                    await asyncio.sleep(0)
            except Exception as error:
                self._forget(op_id)
                await self.send_stream_failed(op_id, error_from_exception(error))
                return
            finally:
                await close_stream(outcome.results)
            # Forgotten before the last message goes out, so that a client
            # reusing the id right after it is not refused.
            self._forget(op_id)
            await self.send_complete(op_id)
        finally:
            self._forget(op_id)

    def _forget(self, op_id: Hashable) -> None:
        if self._operations.get(op_id) is asyncio.current_task():
            del self._operations[op_id]

    async def _cancel_all(self) -> None:
        self._operations.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
