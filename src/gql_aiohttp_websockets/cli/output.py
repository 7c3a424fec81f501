"""How results and GraphQL errors are printed: ``pretty``, ``json`` or ``jsonl``.

``jsonl`` prints one compact JSON object per result and line (its ``data``,
and its ``errors`` and ``extensions`` when present), so that ``| jq`` reads
the stream as it comes.  ``json``
prints each result indented.  ``pretty``, for a terminal, puts each result's
arrival time first and lists its errors with their paths.  Every result is
flushed as soon as it is printed.
"""

from __future__ import annotations

import enum
import json
import shutil
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TextIO

from graphql import ExecutionResult

__all__ = [
    "OutputClosed",
    "OutputFormat",
    "ResultPrinter",
    "clock",
    "error_lines",
    "format_path",
    "result_object",
]

_INDENT = "  "


class OutputClosed(Exception):
    """Standard output's reader left (``gql-ws ... | head -1``): nothing more can be printed."""


class OutputFormat(enum.Enum):
    """The ``--output`` choices."""

    PRETTY = "pretty"
    JSON = "json"
    JSONL = "jsonl"


def clock(moment: datetime) -> str:
    """Return ``moment`` as the pretty output shows it: ``HH:MM:SS.mmm``."""
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def format_path(path: object) -> str:
    """Return an error's ``path`` as a reader writes it: ``prices[0].symbol``."""
    if not isinstance(path, list) or not path:
        return ""
    parts: list[str] = []
    for key in path:
        if isinstance(key, int) and parts:
            parts.append(f"[{key}]")
        else:
            parts.append(("." if parts else "") + str(key))
    return "".join(parts)


def error_lines(errors: Iterable[Any]) -> list[str]:
    """Describe GraphQL errors, one line each: ``error at a.b[0]: message``.

    Args:
        errors: The ``errors`` of a result or of an ``error`` message: JSON
            objects as the server sent them (anything else is shown as it is).
    """
    lines: list[str] = []
    for error in errors:
        if isinstance(error, dict):
            message = error.get("message", error)
            where = format_path(error.get("path"))
        else:
            message, where = error, ""
        text = message if isinstance(message, str) else json.dumps(message, default=str)
        lines.append(f"error at {where}: {text}" if where else f"error: {text}")
    return lines


def result_object(result: ExecutionResult) -> dict[str, Any]:
    """Return ``result`` as a response object: ``data``, with ``errors``, ``extensions`` if any."""
    response: dict[str, Any] = {"data": result.data}
    if result.errors is not None:
        response["errors"] = result.errors
    if result.extensions is not None:
        response["extensions"] = result.extensions
    return response


class ResultPrinter:
    """Prints each result to ``stream`` as it arrives, in one of the formats.

    Args:
        stream: Where results go (standard output).
        output: The format.
    """

    def __init__(self, stream: TextIO, output: OutputFormat) -> None:
        self._stream = stream
        self._output = output
        self._count = 0

    def print_result(self, result: ExecutionResult, arrived: datetime) -> None:
        """Print one result and flush it.

        Args:
            result: The result.
            arrived: When it arrived (shown by the pretty format).
        """
        self._count += 1
        response = result_object(result)
        if self._output is OutputFormat.JSONL:
            text = json.dumps(response, ensure_ascii=False, default=str) + "\n"
        elif self._output is OutputFormat.JSON:
            text = json.dumps(response, ensure_ascii=False, indent=2, default=str) + "\n"
        else:
            text = self._pretty(response, arrived)
        try:
            self._stream.write(text)
            self._stream.flush()
        except BrokenPipeError:
            # Told apart here from a socket's BrokenPipeError, which is the connection's.
            raise OutputClosed from None

    def _pretty(self, response: dict[str, Any], arrived: datetime) -> str:
        header = f"{clock(arrived)}  #{self._count}"
        data = json.dumps(response["data"], ensure_ascii=False, default=str)
        width = shutil.get_terminal_size().columns
        if len(header) + 2 + len(data) <= width:
            lines = [f"{header}  {data}"]
        else:
            indented = json.dumps(response["data"], ensure_ascii=False, indent=2, default=str)
            lines = [header, *(_INDENT + line for line in indented.splitlines())]
        lines.extend(_INDENT + line for line in error_lines(response.get("errors") or ()))
        if "extensions" in response:
            extensions = json.dumps(response["extensions"], ensure_ascii=False, default=str)
            lines.append(f"{_INDENT}extensions: {extensions}")
        return "\n".join(lines) + "\n"
