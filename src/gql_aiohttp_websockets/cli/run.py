"""One run of ``gql-ws``: connect, execute or watch, print, close; and the exit status.

Everything happens in one task, which Ctrl-C or SIGTERM cancels: the
transport then stops the operation on the server (``complete`` or ``stop``)
and closes, as it does when a consumer leaves a subscription early.  The
signal handlers of the event loop cancel it between two steps of the loop,
never in the middle of one; where the loop has no signal handlers (Windows),
Ctrl-C stays a ``KeyboardInterrupt``.  The transport is closed on every path,
so that no task is left running when the event loop ends.

What goes wrong with the connection is one line on stderr: the transport's
exceptions already say what happened in words (and leave credentials out of
URLs); :func:`describe_failure` puts first what a reader looks for: the close
code and its meaning, the HTTP status of a refused upgrade, the timeout that
expired.  ``--events`` prints each lifecycle event of the transport as one
line on stderr too.

``-d`` sends the package's debug logs to stderr, and what the run is about to
do, without secrets: the transport's own logs never show the init payload and
cut frames short (:mod:`gql_aiohttp_websockets.redaction`); the summary
logged here names the headers but not their values, and the URL without its
query or user-info.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
from collections.abc import Awaitable, Iterator
from datetime import datetime
from typing import Any, TextIO

from gql.transport.exceptions import TransportError, TransportProtocolError, TransportQueryError
from graphql import ExecutionResult
from multidict import CIMultiDict

from ..close_codes import classify_close_code
from ..exceptions import (
    AckTimeoutError,
    ConnectionRejectedError,
    ConnectTimeoutError,
    HeartbeatTimeoutError,
    ServerUnreachableError,
    TransportConnectionClosed,
    TransportConnectionFailed,
    UpgradeRefusedError,
)
from ..lifecycle_events import (
    Closed,
    Connected,
    Connecting,
    Disconnected,
    RenewalFailed,
    RenewalStarted,
    Renewed,
    Resubscribed,
    Retrying,
    TransportEvent,
)
from ..redaction import safe_url
from ..transport import AIOHTTPWebsocketsTransport
from .arguments import PROGRAM, ExitCode
from .inputs import Invocation, load_init_payload
from .output import OutputClosed, ResultPrinter, clock, error_lines

__all__ = [
    "CONNECTION_ERRORS",
    "LOGGER_NAME",
    "EventPrinter",
    "Interruption",
    "ResultTimeout",
    "build_transport",
    "cancel_on_signals",
    "describe_event",
    "describe_failure",
    "disable_debug_logging",
    "enable_debug_logging",
    "log_invocation",
    "one_line",
    "run",
]

#: The logger of the command line, under the package's.
LOGGER_NAME = "gql_aiohttp_websockets.cli"
_PACKAGE_LOGGER = "gql_aiohttp_websockets"

log = logging.getLogger(LOGGER_NAME)

_SIGNAL_EXIT_CODES = {signal.SIGINT: ExitCode.INTERRUPTED, signal.SIGTERM: ExitCode.TERMINATED}


def enable_debug_logging(stream: TextIO) -> logging.Handler:
    """Send the package's log records, DEBUG and up, to ``stream``.

    Returns:
        The handler added, for the caller to remove.
    """
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        logging.Formatter("%(asctime)s.%(msecs)03d %(name)s %(message)s", datefmt="%H:%M:%S")
    )
    package = logging.getLogger(_PACKAGE_LOGGER)
    package.addHandler(handler)
    package.setLevel(logging.DEBUG)
    return handler


def disable_debug_logging(handler: logging.Handler) -> None:
    """Undo :func:`enable_debug_logging`."""
    package = logging.getLogger(_PACKAGE_LOGGER)
    package.removeHandler(handler)
    package.setLevel(logging.NOTSET)


def log_invocation(invocation: Invocation) -> None:
    """Log what the run will do: URL, offer, header names, operation; no secret value."""
    operation = invocation.operation
    log.debug(
        "server %s; subprotocols %s",
        safe_url(invocation.url),
        ", ".join(invocation.subprotocols) if invocation.subprotocols else "both (default)",
    )
    if invocation.headers:
        names = ", ".join(name for name, _value in invocation.headers)
        log.debug("handshake headers (values not logged): %s", names)
    if invocation.init_payload is not None:
        keys = ", ".join(sorted(invocation.init_payload)) or "none"
        log.debug("init payload given (values not logged); its keys: %s", keys)
    log.debug(
        "%s %s with variables %s",
        operation.kind.value,
        operation.name or "(unnamed)",
        ", ".join(sorted(invocation.variables)) or "none",
    )


class ResultTimeout(asyncio.TimeoutError):
    """No result arrived within ``--timeout`` seconds."""


#: What ends a run with "the connection could not be made or broke".
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (TransportError, asyncio.TimeoutError, OSError)


def one_line(text: str) -> str:
    """Join ``text``'s lines with spaces: a failure is one line on stderr."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _close_code(error: TransportConnectionClosed) -> str:
    if error.code is None:
        return "no close frame"
    return f"close code {error.code}: {classify_close_code(error.code).meaning}"


def describe_failure(error: BaseException) -> str:
    """Say in one line what went wrong: what happened, then the transport's own words.

    Args:
        error: One of :data:`CONNECTION_ERRORS`, or any other exception
            (named "unexpected error" with its class).

    Returns:
        For instance ``connection closed by the server (close code 4403:
        Forbidden): the server closed the websocket ...``.
    """
    detail = one_line(str(error))
    if isinstance(error, TransportConnectionClosed):
        named = error.code is not None and f"code {error.code}" in detail
        what = "connection closed" if named else f"connection closed ({_close_code(error)})"
    elif isinstance(error, UpgradeRefusedError):
        what = f"websocket upgrade refused (HTTP {error.status})"
    elif isinstance(error, AckTimeoutError):
        what = "no connection_ack in time"
    elif isinstance(error, ConnectTimeoutError):
        what = "websocket handshake timed out"
    elif isinstance(error, ResultTimeout):
        what = "timed out"
    elif isinstance(error, ConnectionRejectedError):
        what = "connection_init rejected"
    elif isinstance(error, HeartbeatTimeoutError):
        what = "the server went silent"
    elif isinstance(error, TransportProtocolError):
        what = "protocol error"
    elif isinstance(error, ServerUnreachableError):
        what = "server unreachable"
    elif isinstance(error, TransportConnectionFailed):
        what = "connection failed"
    elif isinstance(error, asyncio.TimeoutError):
        what = "timed out"
    elif isinstance(error, CONNECTION_ERRORS):
        what = "connection error"
    else:
        what = f"unexpected error: {type(error).__name__}"
    return f"{what}: {detail}" if detail else what


def describe_event(event: TransportEvent, url: str) -> str:
    """Say what ``event`` means, e.g. ``connected (graphql-transport-ws)``.

    Args:
        event: The event.
        url: The server's URL, named (without credentials or query) when connecting.
    """
    if isinstance(event, Connecting):
        again = f" (attempt {event.attempt})" if event.attempt else ""
        return f"connecting to {safe_url(url)}{again}"
    if isinstance(event, Connected):
        return f"connected ({event.subprotocol})"
    if isinstance(event, Disconnected):
        then = "; will connect again" if event.will_retry else ""
        return f"disconnected: {one_line(str(event.error))}{then}"
    if isinstance(event, Retrying):
        return f"connecting again in {event.delay:.2f} s (attempt {event.attempt})"
    if isinstance(event, Resubscribed):
        plural = "" if event.count == 1 else "s"
        return (
            f"subscribed again ({event.count} operation{plural}) after a {event.gap:.2f} s gap; "
            "results the server sent meanwhile are not replayed"
        )
    if isinstance(event, RenewalStarted):
        return "renewing the connection: opening a new one beside it"
    if isinstance(event, Renewed):
        plural = "" if event.moved == 1 else "s"
        return (
            f"renewed ({event.moved} subscription{plural} moved without a gap, "
            f"{event.duplicates} duplicate result(s) dropped) in {event.seconds:.2f} s"
        )
    if isinstance(event, RenewalFailed):
        return f"could not renew, the connection goes on: {one_line(str(event.error))}"
    closed: Closed = event
    return "closed" if closed.error is None else f"closed: {one_line(str(closed.error))}"


class EventPrinter:
    """The transport's ``on_event`` callback for ``--events``: one line per event.

    Args:
        stream: Where the lines go (standard error).
        url: The server's URL.
    """

    def __init__(self, stream: TextIO, url: str) -> None:
        self._stream = stream
        self._url = url

    def __call__(self, event: TransportEvent) -> None:
        """Print ``event``, with the time it happened, and flush."""
        line = f"{clock(datetime.now())} event: {describe_event(event, self._url)}\n"
        # A closed stderr must not end the run: events are commentary.
        with contextlib.suppress(BrokenPipeError):
            self._stream.write(line)
            self._stream.flush()


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
            interruption.exit_code = _SIGNAL_EXIT_CODES[received]
        task.cancel()

    try:
        for received in _SIGNAL_EXIT_CODES:
            try:
                loop.add_signal_handler(received, interrupt, received)
            except (NotImplementedError, RuntimeError):
                continue
            installed.append(received)
        yield interruption
    finally:
        for received in installed:
            loop.remove_signal_handler(received)


def build_transport(invocation: Invocation, stderr: TextIO) -> AIOHTTPWebsocketsTransport:
    """Build the (unconnected) transport the invocation asks for.

    Args:
        invocation: The run.
        stderr: Where ``--events`` lines go.
    """
    options: dict[str, Any] = {}
    reread = invocation.init_payload_file
    if reread is not None:
        # Read again for each connection: a renewal sends what the file
        # holds then (a token rotated on disk, say).
        options["init_payload"] = functools.partial(load_init_payload, reread)
    else:
        options["init_payload"] = {} if invocation.init_payload is None else invocation.init_payload
    if invocation.timeout is not None:
        options["connect_timeout"] = invocation.timeout
        options["ack_timeout"] = invocation.timeout
    return AIOHTTPWebsocketsTransport(
        url=invocation.url,
        headers=CIMultiDict(invocation.headers) if invocation.headers else None,
        subprotocols=invocation.subprotocols,
        ping_interval=invocation.ping_interval,
        reconnect=invocation.reconnect or False,
        renew_every=invocation.renew_every,
        on_event=EventPrinter(stderr, invocation.url) if invocation.events else None,
        **options,
    )


async def _within_timeout(
    answer: Awaitable[ExecutionResult], timeout: float | None, what: str
) -> ExecutionResult:
    if timeout is None:
        return await answer
    try:
        return await asyncio.wait_for(answer, timeout)
    except asyncio.TimeoutError as error:
        # The transport's own timeouts are subclasses: those are not ours to rename.
        if type(error) is not asyncio.TimeoutError:
            raise
        raise ResultTimeout(f"no {what} within --timeout {timeout:g} s") from None


def _operation_options(invocation: Invocation) -> dict[str, Any]:
    return {
        "variable_values": invocation.variables or None,
        "operation_name": invocation.operation.name,
    }


async def _watch(
    transport: AIOHTTPWebsocketsTransport, invocation: Invocation, printer: ResultPrinter
) -> bool:
    """Print the subscription's results as they come; return whether any carried errors."""
    results = transport.subscribe(invocation.operation.document, **_operation_options(invocation))
    received = 0
    graphql_errors = False
    try:
        while invocation.count is None or received < invocation.count:
            try:
                result = await _within_timeout(results.__anext__(), invocation.timeout, "result")
            except StopAsyncIteration:
                break
            received += 1
            graphql_errors = graphql_errors or bool(result.errors)
            printer.print_result(result, datetime.now())
    finally:
        # Leaving early (--count, an error, Ctrl-C) tells the server to stop.
        await results.aclose()
    return graphql_errors


async def _execute(
    transport: AIOHTTPWebsocketsTransport, invocation: Invocation, printer: ResultPrinter
) -> bool:
    """Print the operation's one result; return whether it carried errors."""
    answer = transport.execute(invocation.operation.document, **_operation_options(invocation))
    result = await _within_timeout(answer, invocation.timeout, "answer")
    printer.print_result(result, datetime.now())
    return bool(result.errors)


def _report_query_error(error: TransportQueryError, stderr: TextIO) -> None:
    errors: list[Any] = list(error.errors) if error.errors else [{"message": str(error)}]
    stderr.write(f"{PROGRAM}: the server ended the operation with an error\n")
    for line in error_lines(errors):
        stderr.write(f"{PROGRAM}: {line}\n")
    stderr.flush()


async def _session(invocation: Invocation, stdout: TextIO, stderr: TextIO) -> ExitCode:
    transport = build_transport(invocation, stderr)
    printer = ResultPrinter(stdout, invocation.output)
    try:
        await transport.connect()
        if invocation.operation.is_subscription:
            graphql_errors = await _watch(transport, invocation, printer)
        else:
            graphql_errors = await _execute(transport, invocation, printer)
    except TransportQueryError as error:
        _report_query_error(error, stderr)
        graphql_errors = True
    except OutputClosed:
        # Not the connection's: the reader of our output left (main() handles it).
        raise
    except Exception as error:
        if not isinstance(error, CONNECTION_ERRORS):
            # No rule names it: still one line, with the traceback in the -d log.
            log.debug("unexpected error", exc_info=True)
        stderr.write(f"{PROGRAM}: {describe_failure(error)}\n")
        stderr.flush()
        return ExitCode.CONNECTION
    finally:
        await transport.close()
    return ExitCode.GRAPHQL_ERRORS if graphql_errors else ExitCode.OK


async def run(invocation: Invocation, stdout: TextIO, stderr: TextIO) -> ExitCode:
    """Run ``invocation`` until its operation ends, ``--count`` is reached or a signal comes.

    Args:
        invocation: The run.
        stdout: Where results go.
        stderr: Where failures, the server's ``error`` and ``--events`` go.

    Returns:
        The exit status (see :class:`~.arguments.ExitCode`).
    """
    work = asyncio.ensure_future(_session(invocation, stdout, stderr))
    with cancel_on_signals(work) as interruption:
        try:
            code = await work
        except asyncio.CancelledError:
            if interruption.exit_code is None:
                raise
            return interruption.exit_code
    return code if interruption.exit_code is None else interruption.exit_code
