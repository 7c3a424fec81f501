"""Starting, talking to and always reaping the server and runner processes."""

from __future__ import annotations

import json
import select
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["HERE", "RunnerResult", "ServerProcess", "run_runner"]

HERE = Path(__file__).resolve().parent
_READY_TIMEOUT = 30.0
_STOP_TIMEOUT = 5.0


class ServerProcess:
    """The benchmark server as a child process, stopped on exit whatever happens.

    Args:
        python: Interpreter to run it with.
        cpu: Pin the server to this CPU (``None``: no pinning).
        max_seconds: The server stops by itself after this long.
    """

    def __init__(self, python: str, cpu: int | None, max_seconds: float) -> None:
        command = [python, str(HERE / "server.py"), "--max-seconds", str(max_seconds)]
        if cpu is not None:
            command += ["--cpu", str(cpu)]
        self._command = command
        self._process: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> ServerProcess:
        # The server stops when its stdin closes, so it cannot outlive this process.
        self._process = subprocess.Popen(
            self._command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=HERE,
        )
        try:
            self.url = f"ws://127.0.0.1:{self._wait_ready()}/graphql"
        except BaseException:
            self._stop()
            raise
        return self

    def _wait_ready(self) -> int:
        assert self._process is not None
        assert self._process.stdout is not None
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self._process.stdout], [], [], 0.5)
            if ready:
                line = self._process.stdout.readline()
                if line.startswith("READY "):
                    return int(line.split()[1])
                if not line:
                    break
            if self._process.poll() is not None:
                break
        raise RuntimeError("the benchmark server did not start (see its stderr above)")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop()

    def _stop(self) -> None:
        process = self._process
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        finally:
            if process.stdout is not None:
                process.stdout.close()


@dataclass
class RunnerResult:
    """What one runner process reported, and how long it took."""

    ok: bool
    metrics: dict[str, Any] | None
    error: str | None
    skip: str | None
    seconds: float


def run_runner(
    python: str,
    client: str,
    workload: str,
    url: str,
    params: dict[str, int] | None,
    timeout: float,
    cpu: int | None = None,
    check: bool = False,
) -> RunnerResult:
    """Run ``runner.py`` once in a fresh process and parse its JSON line.

    ``subprocess.run`` kills and reaps the child on timeout and on any exception
    (including KeyboardInterrupt) before re-raising.
    """
    command = [python, str(HERE / "runner.py"), "--client", client, "--workload", workload]
    command += ["--url", url, "--timeout", str(timeout)]
    if params is not None:
        command += ["--params", json.dumps(params)]
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    if check:
        command.append("--check")
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout + 30,
            cwd=HERE,
            check=False,
        )
    except subprocess.TimeoutExpired:
        seconds = time.perf_counter() - started
        return RunnerResult(False, None, f"killed after {seconds:.0f} s", None, seconds)
    seconds = time.perf_counter() - started
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if not lines:
        stderr_tail = " | ".join(completed.stderr.strip().splitlines()[-3:])
        error = f"exit {completed.returncode}, no result line; stderr: {stderr_tail}"
        return RunnerResult(False, None, error, None, seconds)
    result = json.loads(lines[-1])
    return RunnerResult(
        bool(result.get("ok")),
        result.get("metrics"),
        result.get("error"),
        result.get("skip"),
        seconds,
    )
