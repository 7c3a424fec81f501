"""One knob for every timeout in tests: an environment factor for slow machines."""

from __future__ import annotations

import os

__all__ = ["TIMEOUT_FACTOR_ENV", "scaled_timeout"]

#: Environment variable multiplying every test timeout (default 1.0).
TIMEOUT_FACTOR_ENV = "GQL_AIOHTTP_WS_TIMEOUT_FACTOR"


def scaled_timeout(seconds: float) -> float:
    """Return ``seconds`` multiplied by the factor in ``GQL_AIOHTTP_WS_TIMEOUT_FACTOR``.

    Args:
        seconds: The timeout a test would use on an unloaded machine.

    Returns:
        The timeout to use here.

    Raises:
        ValueError: The environment variable is set to something that is not a
            positive number.
    """
    raw = os.environ.get(TIMEOUT_FACTOR_ENV, "").strip()
    if not raw:
        return seconds
    factor = float(raw)
    if factor <= 0:
        raise ValueError(f"{TIMEOUT_FACTOR_ENV} must be a positive number, got {raw!r}")
    return seconds * factor
