"""The dispatch floor: the raw floor plus the one task hop any multiplexing client pays.

``raw-aiohttp`` reads every frame in the task that waits for it.  A transport
that runs many operations on one websocket cannot: one reader task awaits
aiohttp's ``receive()`` and hands each result to the task consuming its
operation.  This client does that and nothing else (``json.loads``, a dict
lookup by id, a list and a future per operation, one consumer task per
subscription), so ``ours / raw-aiohttp-dispatch`` is what our transport costs
on top of the hand-over, and ``raw-aiohttp-dispatch / raw-aiohttp`` is what
the hand-over itself costs on top of aiohttp.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from clients import RawAiohttpClient
from payloads import IDLE_QUERY, STREAM_QUERY, TINY_QUERY, stream_variables

__all__ = ["DispatchFloorClient"]

_DONE = object()


class _Operation:
    __slots__ = ("items", "op_id", "waiter")

    def __init__(self, op_id: str) -> None:
        self.op_id = op_id
        self.items: list[Any] = []
        self.waiter: asyncio.Future[None] | None = None

    def put(self, item: Any) -> None:
        self.items.append(item)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def take(self) -> Any:
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
        # Few items wait at a time here; pop(0) on a short list is cheap.
        return self.items.pop(0)


class DispatchFloorClient(RawAiohttpClient):
    """``raw-aiohttp`` with a reader task dispatching results to one task per operation."""

    def __init__(self, url: str, subprotocol: str) -> None:
        super().__init__(url, subprotocol)
        self._operations: dict[str, _Operation] = {}
        self._reader: asyncio.Task[None] | None = None
        self._idle: list[asyncio.Task[None]] = []

    async def open(self) -> None:
        await super().open()
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        await self.close_idle()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.wait([self._reader], timeout=10)
        if self._session is not None:
            await self._session.close()

    async def _read(self) -> None:
        result_type = self._dialect.result
        text_type = self._aiohttp.WSMsgType.TEXT
        operations = self._operations
        while True:
            message = await self._ws.receive()
            if message.type is not text_type:
                return
            frame = json.loads(message.data)
            operation = operations.get(frame.get("id"))
            if operation is None:
                continue
            kind = frame["type"]
            if kind == result_type:
                operation.put(frame["payload"])
            elif kind == "complete":
                operation.put(_DONE)

    async def _start(self, query: str, variables: dict[str, Any] | None) -> _Operation:
        # _subscribe() takes the next id before it awaits anything.
        op_id = str(self._next_id + 1)
        operation = self._operations[op_id] = _Operation(op_id)
        await self._subscribe(query, variables)
        return operation

    def _forget(self, operation: _Operation) -> None:
        self._operations.pop(operation.op_id, None)

    async def _consume(self, query: str, variables: dict[str, Any] | None) -> int:
        operation = await self._start(query, variables)
        received = 0
        try:
            while (await operation.take()) is not _DONE:
                received += 1
        finally:
            self._forget(operation)
        return received

    async def stream(self, kind: str, count: int) -> int:
        return await self._consume(STREAM_QUERY, stream_variables(kind, count))

    async def fan_in(self, kind: str, count: int, subscriptions: int) -> int:
        streams = [self.stream(kind, count) for _ in range(subscriptions)]
        return sum(await asyncio.gather(*streams))

    async def execute_tiny(self) -> None:
        if await self._consume(TINY_QUERY, None) != 1:
            raise AssertionError("expected one result")

    async def execute_batch(self, size: int) -> None:
        await asyncio.gather(*(self.execute_tiny() for _ in range(size)))

    async def open_idle(self, count: int) -> None:
        started: list[asyncio.Future[None]] = []

        async def idle(ready: asyncio.Future[None]) -> None:
            operation = await self._start(IDLE_QUERY, None)
            try:
                await operation.take()
                ready.set_result(None)
                await operation.take()
            finally:
                self._forget(operation)

        loop = asyncio.get_running_loop()
        for _ in range(count):
            ready = loop.create_future()
            started.append(ready)
            self._idle.append(asyncio.create_task(idle(ready)))
        await asyncio.gather(*started)

    async def close_idle(self) -> None:
        for task in self._idle:
            task.cancel()
        await asyncio.gather(*self._idle, return_exceptions=True)
        self._idle.clear()
