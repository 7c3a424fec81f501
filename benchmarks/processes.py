"""Starting, talking to and always reaping the server and runner processes."""

from __future__ import annotations

import json
import re
import select
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = [
    "HERE",
    "NODE_SERVERS",
    "RunnerResult",
    "ServerProcess",
    "node_server",
    "package_server",
    "run_runner",
]

HERE = Path(__file__).resolve().parent
INTEROP = HERE.parent / "tests" / "interop"
#: The Node reference server of each subprotocol (the interop suite's own).
NODE_SERVERS = {
    "graphql-transport-ws": "graphql_ws_server.cjs",
    "graphql-ws": "subscriptions_transport_ws_server.cjs",
}
_NODE_LISTENING = re.compile(r"\blistening url=(ws://\S+)")
_READY_TIMEOUT = 30.0
_STOP_TIMEOUT = 5.0


def _bench_url(line: str) -> str | None:
    if line.startswith("READY "):
        return f"ws://127.0.0.1:{int(line.split()[1])}/graphql"
    return None


def _ready_url(line: str) -> str | None:
    return line.split()[1] if line.startswith("READY ws://") else None


def _node_url(line: str) -> str | None:
    match = _NODE_LISTENING.search(line)
    return match[1] if match else None


class ServerProcess:
    """A server as a child process, stopped on exit whatever happens.

    By default the benchmark server (``server.py``).  Once it said where it
    listens, a thread reads and drops the rest of its output, so a chatty
    server never blocks on a full pipe.

    Args:
        python: Interpreter to run it with.
        cpu: Pin the server to this CPU (``None``: no pinning).
        max_seconds: The server stops by itself after this long.
        command: Another server's command line (then ``python``, ``cpu`` and
            ``max_seconds`` are not used).
        ready: Returns the URL from the line announcing it, else ``None``.
        by_signal: Stop it with SIGTERM at once instead of closing its stdin.
        cwd: Its working directory.
    """

    def __init__(
        self,
        python: str,
        cpu: int | None,
        max_seconds: float,
        *,
        command: list[str] | None = None,
        ready: Callable[[str], str | None] = _bench_url,
        by_signal: bool = False,
        cwd: Path = HERE,
    ) -> None:
        if command is None:
            command = [python, str(HERE / "server.py"), "--max-seconds", str(max_seconds)]
            if cpu is not None:
                command += ["--cpu", str(cpu)]
        self._command = command
        self._ready = ready
        self._by_signal = by_signal
        self._cwd = cwd
        self._process: subprocess.Popen[str] | None = None
        self._drain: threading.Thread | None = None
        self.url = ""

    def __enter__(self) -> ServerProcess:
        # The server stops when its stdin closes, so it cannot outlive this process.
        self._process = subprocess.Popen(
            self._command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=self._cwd,
        )
        try:
            self.url = self._wait_ready()
        except BaseException:
            self._stop()
            raise
        stdout = self._process.stdout
        assert stdout is not None
        self._drain = threading.Thread(target=lambda: [None for _ in stdout], daemon=True)
        self._drain.start()
        return self

    def _wait_ready(self) -> str:
        assert self._process is not None
        assert self._process.stdout is not None
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self._process.stdout], [], [], 0.5)
            if ready:
                line = self._process.stdout.readline()
                url = self._ready(line)
                if url is not None:
                    return url
                if not line:
                    break
            if self._process.poll() is not None:
                break
        raise RuntimeError(f"{' '.join(self._command)} did not start (see its stderr above)")

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
            if self._by_signal:
                process.terminate()
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
            if self._drain is not None:
                self._drain.join(timeout=_STOP_TIMEOUT)
            if process.stdout is not None:
                process.stdout.close()


def package_server(
    python: str,
    cpu: int | None,
    max_seconds: float,
    cap: int | None = None,
    tick: float | None = None,
) -> ServerProcess:
    """Return the package's own test server (``package_server.py``), not yet started.

    ``cap`` is its ``max_operations_per_connection`` (``None``: no cap), ``tick``
    the seconds between the numbers of its ``sequence`` subscription (``None``:
    they never move).
    """
    command = [python, str(HERE / "package_server.py"), "--max-seconds", str(max_seconds)]
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    if cap is not None:
        command += ["--cap", str(cap)]
    if tick is not None:
        command += ["--tick", str(tick)]
    return ServerProcess(python, cpu, max_seconds, command=command, ready=_ready_url)


def node_server(subprotocol: str, cpu: int | None) -> ServerProcess | str:
    """Return the Node reference server of ``subprotocol``, or why it cannot run here."""
    node = shutil.which("node")
    if node is None:
        return "node is not on PATH"
    if not (INTEROP / "node_modules").is_dir():
        return f"no {INTEROP / 'node_modules'}: run `npm ci` in {INTEROP}"
    command = [node, str(INTEROP / "servers" / NODE_SERVERS[subprotocol]), "0", "127.0.0.1"]
    if cpu is not None:
        taskset = shutil.which("taskset")
        if taskset is not None:
            command = [taskset, "-c", str(cpu), *command]
    return ServerProcess("", cpu, 0, command=command, ready=_node_url, by_signal=True, cwd=INTEROP)


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
    subprotocol: str | None = None,
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
    if subprotocol is not None:
        command += ["--subprotocol", subprotocol]
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
