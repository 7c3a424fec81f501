"""Ctrl-C and SIGTERM: cancel the run, so that it stops its operation and closes cleanly.

Cancelling the task is what makes the transport tell the server (``complete``
or ``stop``) and close the websocket; a signal handler of the event loop does
it between two steps of the loop, never in the middle of one.  Where the loop
has no signal handlers (Windows), Ctrl-C stays a ``KeyboardInterrupt``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

from .exit_codes import ExitCode

__all__ = ["Interruption", "cancel_on_signals"]

_EXIT_CODES = {signal.SIGINT: ExitCode.INTERRUPTED, signal.SIGTERM: ExitCode.TERMINATED}


class Interruption:
    """Which signal, if any, cancelled the run.

    Attributes:
        exit_code: The exit status the signal calls for, ``None`` without one.
    """

    def __init__(self) -> None:
        self.exit_code: ExitCode | None = None


@contextlib.contextmanager
def cancel_on_signals(task: asyncio.Task[ExitCode]) -> Iterator[Interruption]:
    """Cancel ``task`` on SIGINT or SIGTERM while the block runs.

    A second signal cancels it again, cutting a slow close short.

    Yields:
        What records the signal that came, for the exit status.
    """
    loop = asyncio.get_running_loop()
    interruption = Interruption()
    installed: list[signal.Signals] = []

    def interrupt(received: signal.Signals) -> None:
        if interruption.exit_code is None:
            interruption.exit_code = _EXIT_CODES[received]
        task.cancel()

    try:
        for received in _EXIT_CODES:
            try:
                loop.add_signal_handler(received, interrupt, received)
            except (NotImplementedError, RuntimeError):
                continue
            installed.append(received)
        yield interruption
    finally:
        for received in installed:
            loop.remove_signal_handler(received)
