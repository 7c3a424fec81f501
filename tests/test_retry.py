"""RetryPolicy, Backoff and is_retryable: tables, no event loop."""

from __future__ import annotations

import asyncio

import pytest
from gql.transport.exceptions import TransportProtocolError, TransportServerError

from gql_aiohttp_websockets import (
    AckTimeoutError,
    Backoff,
    ConnectionRejectedError,
    ConnectTimeoutError,
    HeartbeatTimeoutError,
    RetryPolicy,
    ServerUnreachableError,
    TransportConnectionClosed,
    TransportConnectionFailed,
    UpgradeRefusedError,
    is_retryable,
)
from gql_aiohttp_websockets.retry import retry_policy


def closed(code: int | None) -> TransportConnectionClosed:
    return TransportConnectionClosed("closed", code=code)


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        # Close codes, as classify_close_code says.
        (closed(None), True),
        (closed(1000), True),
        (closed(1001), True),
        (closed(1006), True),
        (closed(1011), True),
        (closed(1012), True),
        (closed(1013), True),
        (closed(4403), True),
        (closed(4408), True),
        (closed(4499), True),
        (closed(4504), True),
        (closed(1002), False),
        (closed(1003), False),
        (closed(1008), False),
        (closed(1009), False),
        (closed(4400), False),
        (closed(4401), False),
        (closed(4406), False),
        (closed(4409), False),
        (closed(4429), False),
        (closed(4500), False),
        (closed(4321), False),
        # Liveness.
        (HeartbeatTimeoutError("no pong"), True),
        # Connect attempts.
        (ServerUnreachableError("refused"), True),
        (ConnectTimeoutError("slow"), True),
        (AckTimeoutError("no ack"), True),
        (UpgradeRefusedError("HTTP 500", status=500), True),
        (UpgradeRefusedError("HTTP 502", status=502), True),
        (UpgradeRefusedError("HTTP 503", status=503), True),
        (UpgradeRefusedError("HTTP 400", status=400), False),
        (UpgradeRefusedError("HTTP 401", status=401), False),
        (UpgradeRefusedError("HTTP 404", status=404), False),
        (ConnectionRejectedError("connection_error"), True),
        # What names no passing trouble.
        (TransportProtocolError("malformed frame"), False),
        (TransportServerError("something else"), False),
        (TransportConnectionFailed("generic"), False),
        (asyncio.TimeoutError(), False),
        (ValueError("a bug"), False),
    ],
    ids=lambda value: repr(value) if not isinstance(value, bool) else str(value),
)
def test_is_retryable(error: Exception, retry: bool) -> None:
    assert is_retryable(error) is retry


def fixed_jitter(value: float) -> Backoff:
    return Backoff(random=lambda: value)


@pytest.mark.parametrize(
    ("backoff", "attempt", "seconds"),
    [
        # 2^(n-1) s, plus 0.3 s at the bottom of the jitter range ...
        (fixed_jitter(0.0), 1, 1.3),
        (fixed_jitter(0.0), 2, 2.3),
        (fixed_jitter(0.0), 3, 4.3),
        (fixed_jitter(0.0), 5, 16.3),
        # ... or 3.0 s at the top of it ...
        (fixed_jitter(1.0), 1, 4.0),
        (fixed_jitter(0.5), 2, 3.65),
        # ... and never more than the cap.
        (fixed_jitter(0.0), 6, 30.0),
        (fixed_jitter(1.0), 5, 19.0),
        (fixed_jitter(0.0), 10_000, 30.0),
        (Backoff(initial=0.1, factor=3.0, cap=5.0, jitter=(0.0, 0.0)), 1, 0.1),
        (Backoff(initial=0.1, factor=3.0, cap=5.0, jitter=(0.0, 0.0)), 3, 0.9),
        (Backoff(initial=0.1, factor=3.0, cap=5.0, jitter=(0.0, 0.0)), 9, 5.0),
    ],
)
def test_backoff(backoff: Backoff, attempt: int, seconds: float) -> None:
    assert backoff(attempt) == pytest.approx(seconds)


def test_the_default_backoff_is_random_within_its_range() -> None:
    waits = {Backoff()(1) for _ in range(50)}
    assert len(waits) > 1
    assert all(1.3 <= wait <= 4.0 for wait in waits)


def test_backoff_counts_attempts_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        Backoff()(0)


RETRY = closed(1001)
FATAL = closed(4400)


@pytest.mark.parametrize(
    ("policy", "attempt", "error", "delay"),
    [
        (RetryPolicy(wait=lambda n: n / 10), 1, RETRY, 0.1),
        (RetryPolicy(wait=lambda n: n / 10), 5, RETRY, 0.5),
        (RetryPolicy(wait=lambda n: n / 10), 6, RETRY, None),
        (RetryPolicy(wait=lambda n: n / 10), 1, FATAL, None),
        (RetryPolicy(attempts=0), 1, RETRY, None),
        (RetryPolicy(attempts=None, wait=lambda n: 1.0), 1_000_000, RETRY, 1.0),
        (RetryPolicy(should_retry=lambda error: True, wait=lambda n: 0.0), 1, FATAL, 0.0),
        (RetryPolicy(should_retry=lambda error: False), 1, RETRY, None),
        # A wait below zero means at once.
        (RetryPolicy(wait=lambda n: -1.0), 1, RETRY, 0.0),
    ],
)
def test_policy_delay(
    policy: RetryPolicy, attempt: int, error: Exception, delay: float | None
) -> None:
    assert policy.delay(attempt, error) == delay


def test_the_default_policy_is_graphql_ws_s() -> None:
    policy = RetryPolicy()
    assert policy.attempts == 5
    assert isinstance(policy.wait, Backoff)
    assert policy.should_retry is is_retryable
    delay = policy.delay(1, RETRY)
    assert delay is not None
    assert 1.3 <= delay <= 4.0


def test_policy_is_frozen_and_checks_attempts() -> None:
    policy = RetryPolicy()
    with pytest.raises(AttributeError):
        policy.attempts = 3  # type: ignore[misc]
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=-1)


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (False, None),
        (None, None),
        (True, RetryPolicy()),
        (RetryPolicy(attempts=2), RetryPolicy(attempts=2)),
    ],
)
def test_the_reconnect_option(
    option: bool | RetryPolicy | None, expected: RetryPolicy | None
) -> None:
    assert retry_policy(option) == expected


def test_the_reconnect_option_refuses_other_types() -> None:
    with pytest.raises(TypeError, match="reconnect must be a bool or a RetryPolicy, got int"):
        retry_policy(3)  # type: ignore[arg-type]
