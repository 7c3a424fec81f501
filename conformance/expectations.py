"""The expectations file of the conformance runs: what is set aside, what departs.

`conformance/expectations.toml` holds one table per gql line, ``[line."4"]`` and
``[line."3.5"]``.  Each has two tables of entries, keyed by
``test_file.py::test_function`` (an entry covers every parametrization of that
function):

- ``set_aside``: ``{ reads = "..." }``, a test that reads a gql internal (or
  compares exact ``json.dumps`` text) and says nothing about public behaviour;
  it is deselected;
- ``departure``: ``{ reason = "..." }``, a test of a behaviour we depart from on
  purpose; it is expected to fail (strict xfail), so a pass is reported.

This module is shared by `run.py` and the pytest plugin `expectations_plugin`.
It needs only the standard library, and `tomli` on Python 3.10.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "Entry",
    "ExpectationsError",
    "LineExpectations",
    "load_line",
]

#: The form of an entry's key: a test file of gql's suite and a test function.
KEY_PATTERN = re.compile(r"test_\w+\.py::test_\w+")

_KINDS = {"set_aside": "reads", "departure": "reason"}


class ExpectationsError(ValueError):
    """The expectations file is malformed or has no table for the gql line."""


@dataclass(frozen=True)
class Entry:
    """One entry of the expectations file.

    Attributes:
        key: ``test_file.py::test_function``.
        kind: ``"set_aside"`` or ``"departure"``.
        text: What the test reads (set aside) or why we depart (departure).
    """

    key: str
    kind: str
    text: str


@dataclass(frozen=True)
class LineExpectations:
    """The entries of one gql line.

    Attributes:
        line: The gql line, e.g. ``"4"``.
        set_aside: The tests deselected, by key.
        departures: The tests expected to fail, by key.
    """

    line: str
    set_aside: Mapping[str, Entry]
    departures: Mapping[str, Entry]

    def entries(self) -> list[Entry]:
        """Return every entry, set-aside ones first, each group in key order.

        Returns:
            The entries.
        """
        return [self.set_aside[key] for key in sorted(self.set_aside)] + [
            self.departures[key] for key in sorted(self.departures)
        ]


def _entries(path: Path, line: str, kind: str, table: Any) -> dict[str, Entry]:
    where = f'{path}: [line."{line}".{kind}]'
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise ExpectationsError(f"{where} must be a table")
    field = _KINDS[kind]
    entries: dict[str, Entry] = {}
    for key, value in table.items():
        if not KEY_PATTERN.fullmatch(key):
            raise ExpectationsError(
                f"{where}: key {key!r} is not of the form test_file.py::test_function"
            )
        if not isinstance(value, dict) or set(value) != {field}:
            raise ExpectationsError(f"{where}: {key!r} must have exactly one field, {field!r}")
        text = value[field]
        if not isinstance(text, str) or not text.strip():
            raise ExpectationsError(f"{where}: {key!r}: {field!r} must be a non-empty string")
        entries[key] = Entry(key=key, kind=kind, text=" ".join(text.split()))
    return entries


def load_line(path: Path, line: str) -> LineExpectations:
    """Read the entries of one gql line from the expectations file.

    Args:
        path: The TOML file.
        line: The gql line, e.g. ``"4"`` or ``"3.5"``.

    Returns:
        The line's entries.

    Raises:
        ExpectationsError: The file is malformed or has no table for `line`.
    """
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ExpectationsError(f"cannot read {path}: {error}") from error
    lines = document.get("line")
    if not isinstance(lines, dict) or line not in lines:
        raise ExpectationsError(f'{path} has no [line."{line}"] table')
    table = lines[line]
    if not isinstance(table, dict):
        raise ExpectationsError(f'{path}: [line."{line}"] must be a table')
    unknown = set(table) - set(_KINDS)
    if unknown:
        raise ExpectationsError(
            f'{path}: [line."{line}"] has unknown keys {sorted(unknown)}; expected {sorted(_KINDS)}'
        )
    set_aside = _entries(path, line, "set_aside", table.get("set_aside"))
    departures = _entries(path, line, "departure", table.get("departure"))
    both = set(set_aside) & set(departures)
    if both:
        raise ExpectationsError(
            f'{path}: [line."{line}"] lists {sorted(both)} both as set aside and as departure'
        )
    return LineExpectations(line=line, set_aside=set_aside, departures=departures)
