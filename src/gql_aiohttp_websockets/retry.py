"""RetryPolicy: whether, and how long after, to connect again once a connection is lost.

Pure: no clock, no sleeping, no I/O.  The transport asks
:meth:`RetryPolicy.delay` and does the waiting itself, so the whole policy is
tested as a table, without an event loop.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from .exceptions import (
    AckTimeoutError,
    ConnectionRejectedError,
    ConnectTimeoutError,
    HeartbeatTimeoutError,
    ServerUnreachableError,
    TransportConnectionClosed,
    UpgradeRefusedError,
)

__all__ = ["Backoff", "RetryPolicy", "is_retryable", "retry_policy"]

# 2.0 ** 64 seconds is past any cap; higher attempts would overflow a float.
_MAX_EXPONENT = 64


@dataclass(frozen=True, slots=True)
class Backoff:
    """A randomised exponential backoff: ``initial * factor ** (n - 1)`` plus jitter, capped.

    The defaults are the graphql-ws client's ``retryWait``: 1 s, 2 s, 4 s, ...
    plus 0.3-3 s drawn at random, so that clients dropped together do not
    come back together; never more than 30 s.

    Attributes:
        initial: Seconds before the first attempt, jitter aside.
        factor: How much each wait grows over the previous one.
        cap: The longest wait, jitter included.
        jitter: The range the random part is drawn from, in seconds.
        random: Returns a number in ``[0, 1)``; replace it for repeatable waits.
    """

    initial: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    jitter: tuple[float, float] = (0.3, 3.0)
    random: Callable[[], float] = random.random

    def __call__(self, attempt: int) -> float:
        """Return the seconds to wait before attempt ``attempt`` (counted from 1).

        Raises:
            ValueError: ``attempt`` is below 1.
        """
        if attempt < 1:
            raise ValueError(f"attempts are counted from 1, got {attempt}")
        base = self.initial * self.factor ** min(attempt - 1, _MAX_EXPONENT)
        low, high = self.jitter
        return min(self.cap, base + low + (high - low) * self.random())


def is_retryable(error: Exception) -> bool:
    """Say whether connecting again may succeed after ``error``, unchanged.

    Worth another attempt: a close code that :func:`classify_close_code`
    calls retryable, and a drop without a close frame; a missing ``pong``
    or keep-alive; a server that could not be reached, took too long to
    answer the upgrade or to acknowledge, or answered the upgrade with a 5xx
    status (a restarting server); a rejected ``connection_init`` (as close
    code 4403: credentials may be refreshed by an ``init_payload`` function).

    Not worth it: a 4xx answer to the upgrade, a malformed or out-of-turn
    frame, a refused subprotocol, a failed certificate check, and anything
    this list does not name.
    """
    if isinstance(error, TransportConnectionClosed):
        return error.retryable
    if isinstance(error, UpgradeRefusedError):
        return error.status >= 500
    return isinstance(
        error,
        (
            HeartbeatTimeoutError,
            ConnectTimeoutError,
            AckTimeoutError,
            ServerUnreachableError,
            ConnectionRejectedError,
        ),
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to connect again after the connection was lost, and how many times.

    Pass it as ``reconnect=`` (``reconnect=True`` means ``RetryPolicy()``).

    Attributes:
        attempts: The most attempts in a row, counted from the last
            successful ``connection_ack``; ``None`` tries forever.
        wait: Seconds to wait before attempt ``n`` (``n`` from 1).  By default
            a :class:`Backoff`, as the graphql-ws client's.
        should_retry: Whether an error (the one that ended the connection, or
            that of a failed attempt) is worth another attempt.  By default
            :func:`is_retryable`.
    """

    attempts: int | None = 5
    wait: Callable[[int], float] = Backoff()
    should_retry: Callable[[Exception], bool] = is_retryable

    def __post_init__(self) -> None:
        if self.attempts is not None and self.attempts < 0:
            raise ValueError(f"attempts must be None or at least 0, got {self.attempts}")

    def delay(self, attempt: int, error: Exception) -> float | None:
        """Return the seconds to wait before attempt ``attempt``, or ``None`` to give up.

        Args:
            attempt: The attempt about to be made, counted from 1 since the
                last successful acknowledgement.
            error: Why the connection (or the previous attempt) failed.
        """
        if self.attempts is not None and attempt > self.attempts:
            return None
        if not self.should_retry(error):
            return None
        return max(0.0, float(self.wait(attempt)))


def retry_policy(reconnect: bool | RetryPolicy | None) -> RetryPolicy | None:
    """Read the ``reconnect=`` option: ``None`` when reconnection is off (``False``, ``None``).

    Raises:
        TypeError: ``reconnect`` is neither a bool nor a :class:`RetryPolicy`.
    """
    if reconnect is True:
        return RetryPolicy()
    if reconnect is False or reconnect is None:
        return None
    if isinstance(reconnect, RetryPolicy):
        return reconnect
    raise TypeError(f"reconnect must be a bool or a RetryPolicy, got {type(reconnect).__name__}")
