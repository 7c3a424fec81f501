"""The exit statuses of ``gql-ws``, one name each."""

from __future__ import annotations

import enum

__all__ = ["ExitCode"]


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
