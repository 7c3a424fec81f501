"""One run of ``gql-ws``: connect, execute or watch, print, close; and the exit status.

Everything happens in one task, which Ctrl-C cancels: the transport then
stops the operation on the server and closes, as it does when a consumer
leaves a subscription early.  The transport is closed on every path, so that
no task is left running when the event loop ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from gql.transport.exceptions import TransportQueryError
from graphql import ExecutionResult
from multidict import CIMultiDict

from ..transport import AIOHTTPWebsocketsTransport
from .debug_log import LOGGER_NAME
from .events import EventPrinter
from .exit_codes import ExitCode
from .failures import CONNECTION_ERRORS, ResultTimeout, describe_failure
from .invocation import Invocation
from .output import OutputClosed, ResultPrinter, error_lines
from .signals import cancel_on_signals

__all__ = ["PROGRAM", "build_transport", "run"]

#: How the command names itself on stderr.
PROGRAM = "gql-ws"

log = logging.getLogger(LOGGER_NAME)


@dataclass
class _Outcome:
    graphql_errors: bool = False

    def note(self, result: ExecutionResult) -> None:
        if result.errors:
            self.graphql_errors = True


def build_transport(invocation: Invocation, stderr: TextIO) -> AIOHTTPWebsocketsTransport:
    """Build the (unconnected) transport the invocation asks for.

    Args:
        invocation: The run.
        stderr: Where ``--events`` lines go.
    """
    options: dict[str, Any] = {}
    if invocation.timeout is not None:
        options["connect_timeout"] = invocation.timeout
        options["ack_timeout"] = invocation.timeout
    return AIOHTTPWebsocketsTransport(
        url=invocation.url,
        headers=CIMultiDict(invocation.headers) if invocation.headers else None,
        init_payload={} if invocation.init_payload is None else invocation.init_payload,
        subprotocols=invocation.subprotocols,
        ping_interval=invocation.ping_interval,
        reconnect=invocation.reconnect or False,
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
    transport: AIOHTTPWebsocketsTransport,
    invocation: Invocation,
    printer: ResultPrinter,
    outcome: _Outcome,
) -> None:
    results = transport.subscribe(invocation.operation.document, **_operation_options(invocation))
    received = 0
    try:
        while invocation.count is None or received < invocation.count:
            try:
                result = await _within_timeout(results.__anext__(), invocation.timeout, "result")
            except StopAsyncIteration:
                return
            received += 1
            outcome.note(result)
            printer.print_result(result, datetime.now())
    finally:
        # Leaving early (--count, an error, Ctrl-C) tells the server to stop.
        await results.aclose()


async def _execute(
    transport: AIOHTTPWebsocketsTransport,
    invocation: Invocation,
    printer: ResultPrinter,
    outcome: _Outcome,
) -> None:
    answer = transport.execute(invocation.operation.document, **_operation_options(invocation))
    result = await _within_timeout(answer, invocation.timeout, "answer")
    outcome.note(result)
    printer.print_result(result, datetime.now())


def _report_query_error(error: TransportQueryError, stderr: TextIO) -> None:
    errors: list[Any] = list(error.errors) if error.errors else [{"message": str(error)}]
    stderr.write(f"{PROGRAM}: the server ended the operation with an error\n")
    for line in error_lines(errors):
        stderr.write(f"{PROGRAM}: {line}\n")
    stderr.flush()


async def _session(invocation: Invocation, stdout: TextIO, stderr: TextIO) -> ExitCode:
    transport = build_transport(invocation, stderr)
    printer = ResultPrinter(stdout, invocation.output)
    outcome = _Outcome()
    try:
        await transport.connect()
        if invocation.operation.is_subscription:
            await _watch(transport, invocation, printer, outcome)
        else:
            await _execute(transport, invocation, printer, outcome)
    except TransportQueryError as error:
        _report_query_error(error, stderr)
        outcome.graphql_errors = True
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
    return ExitCode.GRAPHQL_ERRORS if outcome.graphql_errors else ExitCode.OK


async def run(invocation: Invocation, stdout: TextIO, stderr: TextIO) -> ExitCode:
    """Run ``invocation`` until its operation ends, ``--count`` is reached or a signal comes.

    Args:
        invocation: The run.
        stdout: Where results go.
        stderr: Where failures, the server's ``error`` and ``--events`` go.

    Returns:
        The exit status (see :class:`~.exit_codes.ExitCode`).
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
