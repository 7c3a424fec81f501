"""Invocation: everything one run of ``gql-ws`` needs, checked, built from the command line."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from yarl import URL

from ..redaction import safe_url
from ..retry import RetryPolicy
from .documents import Operation, choose_operation
from .inputs import (
    UsageError,
    load_init_payload,
    parse_headers,
    parse_variables,
    read_document_text,
)
from .output import OutputFormat

__all__ = ["Invocation", "build_invocation"]

_WEBSOCKET_SCHEMES = {"ws", "wss"}
_HTTP_TO_WS = {"http": "ws", "https": "wss"}


@dataclass(frozen=True)
class Invocation:
    """One run of ``gql-ws``, every input read and checked.

    Attributes:
        url: The websocket URL.
        operation: What to run.
        variables: The operation's variables.
        headers: The handshake's extra HTTP headers, in order.
        init_payload: The ``connection_init`` payload; ``None`` sends none.
        subprotocols: The subprotocols to offer; ``None`` for the transport's default.
        ping_interval: Seconds between protocol pings, or ``None``.
        reconnect: The retry policy, or ``None`` without ``--reconnect``.
        count: Stop a subscription after this many results; ``None``: never.
        timeout: Seconds allowed to connect and between results; ``None``: the
            transport's connect and ack timeouts, then forever.
        events: Print lifecycle events on stderr.
        output: How results are printed.
        debug: Debug logs on stderr.
    """

    url: str
    operation: Operation
    variables: dict[str, Any]
    headers: list[tuple[str, str]]
    init_payload: dict[str, Any] | None
    subprotocols: tuple[str, ...] | None
    ping_interval: float | None
    reconnect: RetryPolicy | None
    count: int | None
    timeout: float | None
    events: bool
    output: OutputFormat
    debug: bool


def _check_url(text: str, headers: list[tuple[str, str]]) -> str:
    try:
        url = URL(text)
    except (TypeError, ValueError) as error:
        raise UsageError(f"the URL {safe_url(text)!r} is not valid: {error}") from None
    if url.scheme in _WEBSOCKET_SCHEMES and url.host:
        if url.user is not None and any(name.lower() == "authorization" for name, _ in headers):
            raise UsageError(
                "the URL carries credentials and -H gives an Authorization header: keep one"
            )
        return text
    if url.scheme in _HTTP_TO_WS and url.host:
        suggested = safe_url(str(url.with_scheme(_HTTP_TO_WS[url.scheme])))
        raise UsageError(f"expected a ws:// or wss:// URL (did you mean {suggested}?)")
    raise UsageError("expected a ws:// or wss:// URL with a host, e.g. wss://example.com/graphql")


def build_invocation(
    arguments: argparse.Namespace,
    *,
    stdin: TextIO,
    stdout_is_terminal: bool,
    environ: Mapping[str, str] = os.environ,
) -> Invocation:
    """Read and check everything the parsed command line points at.

    Args:
        arguments: What :func:`~.arguments.parse_arguments` returned.
        stdin: Where the document is read from without ``-q`` and ``-f``.
        stdout_is_terminal: Whether results go to a terminal (the default
            output is then ``pretty``, else ``jsonl``).
        environ: Where ``--init-payload env:NAME`` is looked up.

    Raises:
        UsageError: Something given cannot be used; the message says what.
    """
    headers = parse_headers(arguments.headers)
    url = _check_url(arguments.url, headers)
    variables = parse_variables(arguments.variables)
    init_payload = load_init_payload(arguments.init_payload, environ)
    text = read_document_text(arguments.query, arguments.file, stdin)
    operation = choose_operation(text, arguments.operation_name)
    if arguments.output is not None:
        output = OutputFormat(arguments.output)
    else:
        output = OutputFormat.PRETTY if stdout_is_terminal else OutputFormat.JSONL
    reconnect = None if arguments.reconnect is None else RetryPolicy(attempts=arguments.reconnect)
    return Invocation(
        url=url,
        operation=operation,
        variables=variables,
        headers=headers,
        init_payload=init_payload,
        subprotocols=None if arguments.subprotocol is None else (arguments.subprotocol,),
        ping_interval=arguments.ping_interval,
        reconnect=reconnect,
        count=arguments.count,
        timeout=arguments.timeout,
        events=arguments.events,
        output=output,
        debug=arguments.debug,
    )
