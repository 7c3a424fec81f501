"""Finding tasks of ours that outlived their test."""

from __future__ import annotations

import asyncio
from pathlib import Path

import gql_aiohttp_websockets

PACKAGE_DIR = Path(gql_aiohttp_websockets.__file__).resolve().parent


def _task_source(task: asyncio.Task[object]) -> str | None:
    coro = task.get_coro()
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    return None if code is None else code.co_filename


def tasks_left_running() -> list[asyncio.Task[object]]:
    """Return the pending tasks of the running loop whose coroutine is package code."""
    current = asyncio.current_task()
    left = []
    for task in asyncio.all_tasks():
        if task is current or task.done():
            continue
        source = _task_source(task)
        if source is not None and Path(source).resolve().is_relative_to(PACKAGE_DIR):
            left.append(task)
    return left
