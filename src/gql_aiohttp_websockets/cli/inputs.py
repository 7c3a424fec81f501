"""Reading what the command line points at: variables, headers, the init payload, the document.

Every function here raises :class:`UsageError` with a message naming what is
wrong, and never quotes a value that may be a secret (the init payload).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "UsageError",
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
