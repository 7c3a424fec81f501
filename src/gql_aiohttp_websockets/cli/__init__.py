"""``gql-ws``: run a GraphQL operation, or watch a subscription, from the terminal.

Built on :class:`~gql_aiohttp_websockets.AIOHTTPWebsocketsTransport`; see
``docs/cli.rst`` for the options and the exit statuses.  The modules, one job
each: :mod:`.arguments` (the command line's parser and exit statuses),
:mod:`.inputs` (reading and checking what the options point at: the document
and its operation, variables, headers, init payload), :mod:`.run` (connect,
execute or watch, close; Ctrl-C, failures and events on stderr, ``-d``) and
:mod:`.output` (how results are printed).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Sequence

from .arguments import PROGRAM, ExitCode, parse_arguments
from .inputs import UsageError, build_invocation
from .output import OutputClosed
from .run import disable_debug_logging, enable_debug_logging, log_invocation, run

__all__ = ["ExitCode", "main"]

#: Tells the example server the name it was started by, for its ``--help``.
SERVE_PROG_ENV = "GQL_WS_SERVE_PROG"


def _silence_closed_stdout() -> None:
    # The reader of a pipe left (`gql-ws ... | head -1`): what is still
    # buffered can go nowhere, and Python would complain at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _serve(args: list[str]) -> int:
    # The example server is the testing package's own program: run it as one,
    # in a process of its own, rather than import test code into the CLI.
    command = [sys.executable, "-m", "gql_aiohttp_websockets.testing", *args]
    server = subprocess.Popen(command, env={**os.environ, SERVE_PROG_ENV: f"{PROGRAM} serve"})

    def forward(signum: int, _frame: object) -> None:
        # A SIGTERM meant for `gql-ws serve` is the server's: it must not
        # outlive this process.
        server.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        return server.wait()
    except KeyboardInterrupt:
        # The server saw the Ctrl-C too, and stops.
        server.wait()
        return ExitCode.INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gql-ws`` with ``argv`` (default: ``sys.argv[1:]``) and return its exit status.

    Args:
        argv: The command-line arguments, without the program's name.

    Returns:
        An :class:`ExitCode`: 0 success, 1 GraphQL errors, 2 bad usage or
        input, 3 the connection could not be made or broke, 130 Ctrl-C.

    ``gql-ws serve [OPTIONS]`` runs the package's example server instead
    (``python -m gql_aiohttp_websockets.testing``), for trying the command
    line against a real server from another terminal.

    Raises:
        SystemExit: From argparse, for ``--help`` (0) and usage errors (2).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["serve"]:
        return _serve(args[1:])
    arguments = parse_arguments(args)
    handler = None
    try:
        # Inside the try: reading the document from stdin may meet Ctrl-C.
        invocation = build_invocation(
            arguments, stdin=sys.stdin, stdout_is_terminal=sys.stdout.isatty()
        )
        handler = enable_debug_logging(sys.stderr) if invocation.debug else None
        if handler is not None:
            log_invocation(invocation)
        return asyncio.run(run(invocation, sys.stdout, sys.stderr))
    except UsageError as error:
        sys.stderr.write(f"{PROGRAM}: error: {error}\n")
        return ExitCode.USAGE
    except KeyboardInterrupt:
        # Before the event loop could take Ctrl-C over (or where it cannot).
        return ExitCode.INTERRUPTED
    except OutputClosed:
        _silence_closed_stdout()
        return ExitCode.OK
    finally:
        if handler is not None:
            disable_debug_logging(handler)
