"""The command line of ``gql-ws``: its name, its :mod:`argparse` parser, and its exit statuses.

The options follow gql-cli's where it has one (the URL as the positional
argument, ``-V``, ``-H``, ``-o``, ``-d``); the others are what watching a
subscription needs.  The parser checks single values (numbers, choices);
values that need reading (files, the environment) or parsing as JSON are
checked later, by :mod:`.inputs`.
"""

from __future__ import annotations

import argparse
import enum
from collections.abc import Sequence

from ..retry import RetryPolicy

__all__ = [
    "DEFAULT_RECONNECT_ATTEMPTS",
    "OUTPUT_CHOICES",
    "PROGRAM",
    "SUBPROTOCOL_CHOICES",
    "ExitCode",
    "build_parser",
    "parse_arguments",
]

#: How the command names itself, in its usage line and on stderr.
PROGRAM = "gql-ws"
#: What ``--subprotocol`` accepts.
SUBPROTOCOL_CHOICES = ("graphql-transport-ws", "graphql-ws")
#: The attempts of a bare ``--reconnect``: those of the default retry policy.
DEFAULT_RECONNECT_ATTEMPTS: int = RetryPolicy().attempts or 5
#: What ``--output`` accepts.
OUTPUT_CHOICES = ("pretty", "json", "jsonl")


class ExitCode(enum.IntEnum):
    """What ``gql-ws`` exits with.

    When several apply, the highest below 128 wins: a connection that broke
    after a result with errors exits 3.
    """

    #: Every result arrived without errors.
    OK = 0
    #: A result carried GraphQL errors, or the server answered with ``error``.
    GRAPHQL_ERRORS = 1
    #: Bad usage or input: an option, a variable, the document, the init payload.
    USAGE = 2
    #: The connection could not be made, or it broke, or ``--timeout`` expired.
    CONNECTION = 3
    #: Stopped by Ctrl-C (SIGINT), after telling the server.
    INTERRUPTED = 130
    #: Stopped by SIGTERM (``timeout 60 gql-ws ...``), after telling the server.
    TERMINATED = 143


_DESCRIPTION = """\
Run a GraphQL query or mutation, or watch a subscription, over a websocket
(graphql-transport-ws or the legacy graphql-ws). The document is read from
standard input unless -q or -f gives it."""

_EPILOG = f"""\
exit status:
  {ExitCode.OK:<4}every result arrived without errors
  {ExitCode.GRAPHQL_ERRORS:<4}a result carried GraphQL errors, or the server answered with 'error'
  {ExitCode.USAGE:<4}bad usage or input (an option, a variable, the document)
  {ExitCode.CONNECTION:<4}the connection could not be made, or it broke, or --timeout expired
  {ExitCode.INTERRUPTED:<4}stopped by Ctrl-C (the server was told)

example:
  gql-ws wss://example.com/graphql --init-payload env:GQL_INIT \\
      -q 'subscription {{ prices(symbol: "ACME") {{ price }} }}' --count 3"""


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _int_at_least(minimum: int) -> type[int]:
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected at least {minimum}, got {value}")
        return value

    # argparse names the type in its messages by __name__.
    convert.__name__ = "number"
    return convert  # type: ignore[return-value]


def build_parser() -> argparse.ArgumentParser:
    """Build the parser of ``gql-ws``'s command line.

    Returns:
        The parser; its ``error()`` exits with status 2, as usage errors do.
    """
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("url", help="the server's websocket URL (ws:// or wss://)")
    document = parser.add_mutually_exclusive_group()
    document.add_argument("-q", "--query", metavar="TEXT", help="the GraphQL document itself")
    document.add_argument(
        "-f", "--file", metavar="FILE", help="read the GraphQL document from FILE ('-': stdin)"
    )
    parser.add_argument(
        "-V",
        "--variable",
        "--variables",
        dest="variables",
        metavar="NAME:JSON",
        action="append",
        default=[],
        help="a variable, its value as JSON: -V 'symbol:\"ACME\"' -V limit:10 (repeatable)",
    )
    parser.add_argument(
        "-H",
        "--header",
        "--headers",
        dest="headers",
        metavar="NAME:VALUE",
        action="append",
        default=[],
        help="an HTTP header of the websocket handshake (repeatable)",
    )
    parser.add_argument(
        "-o", "--operation-name", metavar="NAME", help="the operation to run, of several"
    )
    parser.add_argument(
        "-d",
        "--debug",
        action="store_true",
        help="debug logs on stderr (init payload, header values and URL queries left out)",
    )
    parser.add_argument(
        "--init-payload",
        metavar="JSON|@FILE|env:NAME",
        help="the connection_init payload: a JSON object, or read from FILE or from "
        "the environment variable NAME (keeps tokens out of the shell history)",
    )
    parser.add_argument(
        "--subprotocol",
        choices=SUBPROTOCOL_CHOICES,
        help="offer only this subprotocol (default: both, graphql-transport-ws first)",
    )
    parser.add_argument(
        "--ping-interval",
        metavar="S",
        type=_positive_float,
        help="send a ping every S seconds and fail when no pong comes in S/2 "
        "(graphql-transport-ws only)",
    )
    parser.add_argument(
        "--reconnect",
        metavar="N",
        nargs="?",
        const=DEFAULT_RECONNECT_ATTEMPTS,
        type=_int_at_least(0),
        help="when an acknowledged connection is lost, connect again up to N times "
        f"in a row (default {DEFAULT_RECONNECT_ATTEMPTS}) and subscribe again",
    )
    parser.add_argument(
        "--renew-every",
        metavar="S",
        type=_positive_float,
        help="renew the connection every S seconds without a gap in the subscription: "
        "a new one is opened first (--init-payload @FILE is read again), then the old "
        "one closed; set it below the lifetime of the server's tokens",
    )
    parser.add_argument(
        "--count",
        metavar="N",
        type=_int_at_least(1),
        help="stop the subscription after N results (the server is told)",
    )
    parser.add_argument(
        "--timeout",
        metavar="S",
        type=_positive_float,
        help="fail when connecting, or waiting for the next result, takes longer than S seconds",
    )
    parser.add_argument(
        "--events",
        action="store_true",
        help="print the connection's lifecycle events on stderr",
    )
    parser.add_argument(
        "--output",
        choices=OUTPUT_CHOICES,
        help="how results are printed (default: pretty on a terminal, jsonl otherwise)",
    )
    return parser


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse a command line (``sys.argv[1:]`` when ``argv`` is ``None``).

    Raises:
        SystemExit: With status 2 for bad usage, 0 after ``--help``.
    """
    return build_parser().parse_args(argv)
