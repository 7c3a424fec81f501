"""What one run of ``gql-ws`` needs, read from what the command line points at, and checked.

The variables, the handshake's headers, the init payload and the GraphQL
document are read here, the operation to run is chosen from the document, and
all of it comes together in an :class:`Invocation`.  Every function here
raises :class:`UsageError` with a message naming what is wrong, and never
quotes a value that may be a secret (the init payload).

A subscription is subscribed to; a query or a mutation is executed once.  The
operation's type is read from graphql-core's parse of the document, with
``-o`` choosing among several operations as the server will.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from graphql import DocumentNode, GraphQLSyntaxError, OperationDefinitionNode, OperationType, parse
from yarl import URL

from ..redaction import safe_url
from ..retry import RetryPolicy
from .output import OutputFormat

__all__ = [
    "Invocation",
    "Operation",
    "UsageError",
    "build_invocation",
    "choose_operation",
    "load_init_payload",
    "parse_headers",
    "parse_variables",
    "read_document_text",
]

# What a --init-payload value starts with to be read from elsewhere.
_FROM_FILE = "@"
_FROM_ENV = "env:"
# What HTTP forbids in a header value (aiohttp would refuse it when connecting).
_FORBIDDEN_IN_HEADERS = frozenset("\r\n\0")
_WEBSOCKET_SCHEMES = {"ws", "wss"}
_HTTP_TO_WS = {"http": "ws", "https": "wss"}


class UsageError(Exception):
    """The command line, or what it points at, cannot be used; ``gql-ws`` exits with 2."""


def _split_pair(item: str, option: str, what: str) -> tuple[str, str]:
    name, colon, value = item.partition(":")
    name = name.strip()
    if not colon or not name:
        raise UsageError(f"{option} expects {what}, got {item!r}")
    return name, value


def _read_file(path: str, source: str, option: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{option}cannot read {source}: {error}") from None


def _json_problem(error: json.JSONDecodeError) -> str:
    # Position only: the text itself may be a secret.
    return f"{error.msg} (line {error.lineno}, column {error.colno})"


def parse_variables(items: Iterable[str]) -> dict[str, Any]:
    """Read ``-V name:json`` options; a later one for the same name wins.

    Args:
        items: The option values, e.g. ``['symbol:"ACME"', "limit:10"]``.

    Returns:
        The variables by name.

    Raises:
        UsageError: An item has no name, or its value is not JSON (the
            message names the variable).
    """
    variables: dict[str, Any] = {}
    for item in items:
        name, text = _split_pair(item, "-V", "NAME:JSON")
        try:
            variables[name] = json.loads(text)
        except json.JSONDecodeError as error:
            hint = ""
            if text and text.strip()[:1] not in ('"', "{", "[", "-") and not text[:1].isdigit():
                hint = f"; a string needs JSON quotes: -V '{name}:\"{text}\"'"
            raise UsageError(
                f"variable {name!r}: the value {text!r} is not JSON: {_json_problem(error)}{hint}"
            ) from None
    return variables


def parse_headers(items: Iterable[str]) -> list[tuple[str, str]]:
    """Read ``-H name:value`` options, in order (a name may repeat).

    Args:
        items: The option values, e.g. ``["Authorization: Bearer abc"]``.

    Returns:
        ``(name, value)`` pairs; spaces around the value are dropped.

    Raises:
        UsageError: An item has no name, or a name with spaces in it.
    """
    headers: list[tuple[str, str]] = []
    for item in items:
        name, value = _split_pair(item, "-H", "NAME:VALUE")
        if any(character.isspace() for character in name):
            raise UsageError(f"-H: the header name {name!r} has a space in it")
        if any(character in _FORBIDDEN_IN_HEADERS for character in value):
            # Named, not quoted: the value may be a token.
            raise UsageError(f"-H: the value of {name!r} has a line break or a NUL in it")
        headers.append((name, value.strip()))
    return headers


def load_init_payload(
    spec: str | None, environ: Mapping[str, str] = os.environ
) -> dict[str, Any] | None:
    """Read ``--init-payload``: a JSON object, ``@FILE`` or ``env:NAME``.

    Args:
        spec: The option's value, or ``None`` when it was not given.
        environ: Where ``env:NAME`` is looked up.

    Returns:
        The payload, or ``None`` without the option.

    Raises:
        UsageError: The file or variable is missing, or the text is not a
            JSON object.  The message says where the text came from, never
            what it holds.
    """
    if spec is None:
        return None
    if spec.startswith(_FROM_ENV):
        name = spec[len(_FROM_ENV) :]
        if not name:
            raise UsageError("--init-payload env:NAME needs the variable's name")
        source = f"the environment variable {name}"
        if name not in environ:
            raise UsageError(f"--init-payload: {source} is not set")
        text = environ[name]
    elif spec.startswith(_FROM_FILE):
        path = spec[len(_FROM_FILE) :]
        source = f"the file {path}"
        text = _read_file(path, source, "--init-payload: ")
    else:
        source = "the command line"
        text = spec
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(
            f"--init-payload: the text from {source} is not JSON: {_json_problem(error)}"
        ) from None
    if not isinstance(payload, dict):
        raise UsageError(
            f"--init-payload: the text from {source} is JSON but not an object "
            "(connection_init payloads are objects)"
        )
    return payload


def read_document_text(query: str | None, file: str | None, stdin: TextIO) -> str:
    """Return the GraphQL document: ``-q TEXT``, ``-f FILE`` (``-`` for stdin), or stdin.

    Raises:
        UsageError: The file cannot be read, or the document is empty.
    """
    if query is not None:
        text, source = query, "-q"
    elif file is not None and file != "-":
        source = f"the file {file}"
        text = _read_file(file, source, "")
    else:
        source = "standard input"
        text = stdin.read()
    if not text.strip():
        raise UsageError(f"the GraphQL document from {source} is empty")
    return text


@dataclass(frozen=True, slots=True)
class Operation:
    """The operation ``gql-ws`` runs.

    Attributes:
        document: The whole parsed document (it is sent whole).
        name: The operation name to send, ``None`` for the only, unnamed one.
        kind: ``query``, ``mutation`` or ``subscription``.
    """

    document: DocumentNode
    name: str | None
    kind: OperationType

    @property
    def is_subscription(self) -> bool:
        """Whether the operation is a subscription (else it is executed once)."""
        return self.kind is OperationType.SUBSCRIPTION


def _describe(operation: OperationDefinitionNode) -> str:
    name = operation.name.value if operation.name else "(unnamed)"
    return f"{operation.operation.value} {name}"


def choose_operation(text: str, operation_name: str | None = None) -> Operation:
    """Parse ``text`` and pick the operation to run.

    Args:
        text: The GraphQL document.
        operation_name: The ``-o`` option: required when the document holds
            several operations.

    Returns:
        The operation, with the parsed document.

    Raises:
        UsageError: The document does not parse, has no operation, has
            several and ``operation_name`` picks none of them.
    """
    try:
        document = parse(text)
    except GraphQLSyntaxError as error:
        location = error.locations[0] if error.locations else None
        where = f" at line {location.line}, column {location.column}" if location else ""
        raise UsageError(f"the GraphQL document does not parse{where}: {error.message}") from None
    operations = [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]
    if not operations:
        raise UsageError("the GraphQL document has no operation (only fragments?)")
    if operation_name is not None:
        for operation in operations:
            if operation.name is not None and operation.name.value == operation_name:
                return Operation(document, operation_name, operation.operation)
        found = ", ".join(_describe(operation) for operation in operations)
        raise UsageError(f"-o: the document has no operation named {operation_name!r}: {found}")
    if len(operations) > 1:
        found = ", ".join(_describe(operation) for operation in operations)
        count = len(operations)
        raise UsageError(f"the document has {count} operations; pick one with -o: {found}")
    only = operations[0]
    return Operation(document, only.name.value if only.name else None, only.operation)


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
        init_payload_file: ``--init-payload @FILE``'s value, read again for
            each connection; ``None`` otherwise.
        reconnect: The retry policy, or ``None`` without ``--reconnect``.
        renew_every: ``--renew-every``: seconds after which each connection
            is renewed, or ``None``.
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
    init_payload_file: str | None = None
    renew_every: float | None = None


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
        init_payload_file=(
            arguments.init_payload
            if arguments.init_payload is not None and arguments.init_payload.startswith(_FROM_FILE)
            else None
        ),
        renew_every=arguments.renew_every,
    )
