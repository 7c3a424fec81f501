"""Shared by the interoperability tests: the Node.js server runner and gql call helpers.

The transport under test is imported here and only here, so switching between
gql's own transport and ours is one line.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import gql
import pytest
from gql.transport import exceptions as gql_exceptions

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport
from gql_aiohttp_websockets.testing.timeouts import scaled_timeout

__all__ = [
    "GQL_MAJOR",
    "KEEPALIVE_INTERVAL",
    "LEGACY_WS",
    "TRANSPORT_WS",
    "AIOHTTPWebsocketsTransport",
    "ConnectionFailed",
    "NodeServer",
    "execute",
    "execute_sync",
    "marker",
    "subscribe",
    "subscribe_sync",
    "unavailable_reason",
]

INTEROP_DIR = Path(__file__).resolve().parent
SERVERS_DIR = INTEROP_DIR / "servers"
NODE_MODULES = INTEROP_DIR / "node_modules"
REQUIRED_PACKAGES = (
    "graphql",
    "graphql-ws",
    "subscriptions-transport-ws",
    "ws",
    "fastify",
    "@fastify/websocket",
    "mercurius",
)

#: Subprotocol strings, spelled out (gql calls them GRAPHQLWS_ and APOLLO_SUBPROTOCOL).
TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"

#: Keep-alive interval (seconds, before scaling) of the keep-alive server instances.
KEEPALIVE_INTERVAL = 0.15

#: What gql raises when a live connection breaks (gql 4: TransportConnectionFailed,
#: gql 3.5: TransportClosed); our TransportConnectionClosed subclasses it.
ConnectionFailed: type[Exception] = getattr(
    gql_exceptions, "TransportConnectionFailed", gql_exceptions.TransportClosed
)

GQL_MAJOR = int(gql.__version__.split(".", 1)[0])

_LISTENING = re.compile(r"\blistening url=(?P<url>ws://\S+) pid=(?P<pid>\d+)")
_LINES_KEPT = 20_000


def unavailable_reason() -> str | None:
    """Why the reference servers cannot run here, or ``None`` when they can."""
    if shutil.which("node") is None:
        return "node is not on PATH (the interop tests run the Node.js reference servers)"
    missing = [name for name in REQUIRED_PACKAGES if not (NODE_MODULES / name).is_dir()]
    if missing:
        return (
            f"Node packages missing under {NODE_MODULES} ({', '.join(missing)}): "
            "run `npm ci --no-audit --no-fund` in tests/interop"
        )
    return None


def marker() -> str:
    """A value unique to one test, to find that test's lines in a shared server's log."""
    return f"m-{uuid.uuid4().hex[:16]}"


# -- gql calls that work the same under gql 3.5 and gql 4 -------------------------
#
# gql 4 takes a GraphQLRequest carrying variables and operation name; gql 3.5
# takes a DocumentNode plus keyword arguments.  Passing gql 3.5's keywords to
# gql 4 goes down another path (they reach the transport as extra arguments),
# so the call is built per installed version.


def _call(
    source: str, variables: dict[str, Any] | None, operation_name: str | None
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if GQL_MAJOR >= 4:
        request = gql.GraphQLRequest(
            source, variable_values=variables, operation_name=operation_name
        )
        return (request,), {}
    return (gql.gql(source),), {"variable_values": variables, "operation_name": operation_name}


async def execute(
    session: Any,
    source: str,
    *,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> dict[str, Any]:
    """``session.execute`` of an async session, bounded in time."""
    args, kwargs = _call(source, variables, operation_name)
    result: dict[str, Any] = await asyncio.wait_for(
        session.execute(*args, **kwargs), scaled_timeout(10)
    )
    return result


def subscribe(
    session: Any,
    source: str,
    *,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """``session.subscribe`` of an async session (an async generator)."""
    args, kwargs = _call(source, variables, operation_name)
    stream: AsyncIterator[dict[str, Any]] = session.subscribe(*args, **kwargs)
    return stream


def execute_sync(
    session: Any,
    source: str,
    *,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> dict[str, Any]:
    """``session.execute`` of a sync session (gql's sync ``Client``)."""
    args, kwargs = _call(source, variables, operation_name)
    result: dict[str, Any] = session.execute(*args, **kwargs)
    return result


def subscribe_sync(
    session: Any,
    source: str,
    *,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> Iterator[dict[str, Any]]:
    """``session.subscribe`` of a sync session (a generator)."""
    args, kwargs = _call(source, variables, operation_name)
    stream: Iterator[dict[str, Any]] = session.subscribe(*args, **kwargs)
    return stream


# -- the Node.js servers ----------------------------------------------------------


class NodeServer:
    """One reference server running as a ``node`` subprocess.

    A thread reads the server's output lines (formats in ``servers/common.cjs``);
    tests wait for the line that shows what the server saw with
    :meth:`wait_for_line`.
    """

    def __init__(
        self, name: str, script: str, subprotocol: str, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.script = SERVERS_DIR / script
        self.subprotocol = subprotocol
        self.extra_env = dict(env or {})
        self.url = ""
        self.process: subprocess.Popen[str] | None = None
        self._lines: collections.deque[str] = collections.deque(maxlen=_LINES_KEPT)
        self._cond = threading.Condition()
        self._watchers: list[_Watcher] = []
        self._reader: threading.Thread | None = None

    @property
    def other_subprotocol(self) -> str:
        """The subprotocol this server does not speak."""
        return LEGACY_WS if self.subprotocol == TRANSPORT_WS else TRANSPORT_WS

    def transport(self, **kwargs: Any) -> AIOHTTPWebsocketsTransport:
        """A transport for this server, offering only its subprotocol unless told otherwise."""
        kwargs.setdefault("subprotocols", [self.subprotocol])
        return AIOHTTPWebsocketsTransport(url=self.url, **kwargs)

    # -- lifecycle -----------------------------------------------------------------

    def start(self, port: int = 0) -> None:
        """Start node on ``port`` (0: one the OS picks); return once it printed its
        listening line.

        Also starts a stopped server again (say on its old :attr:`port`); the
        output lines of the earlier processes are kept.
        """
        node = shutil.which("node")
        assert node is not None
        listening_before = len(self.find_lines(_LISTENING))
        self.process = subprocess.Popen(
            [node, str(self.script), str(port), "127.0.0.1"],
            cwd=INTEROP_DIR,
            env={**os.environ, **self.extra_env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            start_new_session=True,  # its own process group, which stop() signals
        )
        self._reader = threading.Thread(
            target=self._read_output, name=f"interop-{self.name}", daemon=True
        )
        self._reader.start()
        timeout = scaled_timeout(15)
        match = self.wait_for_line_sync(_LISTENING, timeout, count=listening_before + 1)
        if match is None:
            tail = self.output_tail()
            self.stop()
            raise RuntimeError(
                f"the {self.name} server printed no listening line within {timeout:g} s "
                f"(exit code {self.process.returncode}); its output:\n{tail}"
            )
        self.url = match.group("url")

    @property
    def port(self) -> int:
        """The port the server listens (or last listened) on."""
        port = urllib.parse.urlsplit(self.url).port
        assert port is not None, f"{self!r} was never started"
        return port

    def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL it if it lingers, reap it."""
        process = self.process
        if process is None:
            return
        # Until wait()/poll() reaps it, the PID (and the group it leads) stays ours.
        if process.poll() is None:
            self._signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=scaled_timeout(5))
            except subprocess.TimeoutExpired:
                self._signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=scaled_timeout(5))
        if self._reader is not None:
            self._reader.join(timeout=scaled_timeout(5))
        if process.stdout is not None:
            process.stdout.close()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP to its PID): it answers nothing, while the
        kernel still accepts TCP connections on its port.
        """
        process = self.process
        assert process is not None, self
        assert process.poll() is None, self
        os.kill(process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server run again (SIGCONT); harmless if it was not paused."""
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGCONT)

    @staticmethod
    def _signal_group(pid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)

    # -- output --------------------------------------------------------------------

    def _read_output(self) -> None:
        process = self.process
        assert process is not None
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip("\n")
            with self._cond:
                self._lines.append(line)
                self._cond.notify_all()
                watchers = list(self._watchers)
            for watcher in watchers:
                watcher.offer(line)
        with self._cond:
            self._cond.notify_all()

    def output_tail(self, count: int = 40) -> str:
        """The last ``count`` output lines, for failure messages."""
        with self._cond:
            return "\n".join(list(self._lines)[-count:])

    def find_lines(self, pattern: str | re.Pattern[str]) -> list[re.Match[str]]:
        """Matches of ``pattern`` in every output line so far."""
        regex = re.compile(pattern)
        with self._cond:
            lines = list(self._lines)
        return [m for m in map(regex.search, lines) if m is not None]

    def wait_for_line_sync(
        self, pattern: str | re.Pattern[str], timeout: float, *, count: int = 1
    ) -> re.Match[str] | None:
        """Block until ``count`` output lines match; the last match, or ``None`` on
        timeout or when the server's output ended.
        """
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                matches = [m for m in map(regex.search, self._lines) if m is not None]
                if len(matches) >= count:
                    return matches[count - 1]
                if self._reader is not None and not self._reader.is_alive():
                    return None  # output closed: the server is gone
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    async def wait_for_line(
        self, pattern: str | re.Pattern[str], timeout: float | None = None, *, count: int = 1
    ) -> re.Match[str]:
        """Wait until ``count`` output lines match ``pattern`` and return the last
        match; fail the test after ``timeout``.
        """
        timeout = scaled_timeout(5) if timeout is None else timeout
        regex = re.compile(pattern)
        with self._cond:
            matches = [m for m in map(regex.search, self._lines) if m is not None]
            if len(matches) >= count:
                return matches[count - 1]
            # registered under the lock that guards appends: no line is missed or seen twice
            watcher = _Watcher(regex, asyncio.get_running_loop(), count - len(matches))
            self._watchers.append(watcher)
        try:
            return await asyncio.wait_for(watcher.future, timeout)
        except asyncio.TimeoutError:
            pytest.fail(
                f"the {self.name} server printed fewer than {count} line(s) matching "
                f"{regex.pattern!r} within {timeout:g} s; its last lines:\n{self.output_tail()}"
            )
        finally:
            with self._cond:
                self._watchers.remove(watcher)

    async def connection_number(self, tag: str) -> int:
        """The server's number of the connection whose init payload contains ``tag``."""
        match = await self.wait_for_line(rf"\binit #(\d+) params=.*{re.escape(tag)}")
        return int(match.group(1))

    def __repr__(self) -> str:
        return f"<NodeServer {self.name} {self.url or '(not started)'}>"


class _Watcher:
    """One coroutine waiting for lines; the reader thread hands it the last match."""

    def __init__(
        self, regex: re.Pattern[str], loop: asyncio.AbstractEventLoop, needed: int
    ) -> None:
        self.regex = regex
        self.loop = loop
        self.needed = needed  # only the reader thread changes it after registration
        self.future: asyncio.Future[re.Match[str]] = loop.create_future()

    def offer(self, line: str) -> None:
        match = self.regex.search(line)
        if match is None or self.needed <= 0:
            return
        self.needed -= 1
        if self.needed > 0:
            return
        with contextlib.suppress(RuntimeError):  # the test's loop closed meanwhile
            self.loop.call_soon_threadsafe(self._resolve, match)

    def _resolve(self, match: re.Match[str]) -> None:
        if not self.future.done():
            self.future.set_result(match)
