"""Peak resident memory growth of this process across a block of code (Linux).

``VmHWM`` in ``/proc/self/status`` is the peak RSS since the process started, so
on its own it would also count anything the imports and the connection setup
touched.  Writing ``5`` to ``/proc/self/clear_refs`` (Linux >= 4.0) resets the
peak to the current RSS; then ``VmHWM`` after the block minus ``VmRSS`` before it
is exactly the block's peak growth.  Where the reset is refused, the same
difference is an upper bound, and ``hwm_reset`` says so.  Off Linux nothing is
measured and the metrics are ``None``.
"""

from __future__ import annotations

from types import TracebackType

__all__ = ["PeakRss", "rss_mb"]

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"


def _status_kib(*fields: str) -> dict[str, int] | None:
    try:
        with open(_STATUS, encoding="ascii") as status:
            lines = status.readlines()
    except OSError:
        return None
    values: dict[str, int] = {}
    for line in lines:
        name, _, rest = line.partition(":")
        if name in fields:
            values[name] = int(rest.split()[0])
    return values if len(values) == len(fields) else None


def _reset_peak() -> bool:
    try:
        with open(_CLEAR_REFS, "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def rss_mb() -> float | None:
    """Return this process's resident memory now, in MB (``None`` off Linux)."""
    values = _status_kib("VmRSS")
    return None if values is None else values["VmRSS"] * 1024 / 1e6


class PeakRss:
    """Context manager measuring peak RSS growth, in MB (10**6 bytes)."""

    def __init__(self) -> None:
        self._before: dict[str, int] | None = None
        self._after: dict[str, int] | None = None
        self._reset = False

    def __enter__(self) -> PeakRss:
        self._reset = _reset_peak()
        self._before = _status_kib("VmRSS", "VmHWM")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._after = _status_kib("VmRSS", "VmHWM")

    def as_metrics(self) -> dict[str, float | bool | None]:
        """Return ``rss_before_mb``, ``peak_growth_mb``, ``rss_growth_after_mb``, ``hwm_reset``."""
        if self._before is None or self._after is None:
            return {
                "rss_before_mb": None,
                "peak_growth_mb": None,
                "rss_growth_after_mb": None,
                "hwm_reset": False,
            }
        before = self._before["VmRSS"]
        return {
            "rss_before_mb": before * 1024 / 1e6,
            "peak_growth_mb": (self._after["VmHWM"] - before) * 1024 / 1e6,
            "rss_growth_after_mb": (self._after["VmRSS"] - before) * 1024 / 1e6,
            "hwm_reset": self._reset,
        }
