"""Variables, headers, the init payload, the document and the operation chosen: no network."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from graphql import OperationType

from gql_aiohttp_websockets.cli.inputs import (
    UsageError,
    choose_operation,
    load_init_payload,
    parse_headers,
    parse_variables,
    read_document_text,
)

SEVERAL = """
query Hello { hello }
subscription Ticks { ticks }
fragment F on Query { hello }
"""


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], {}),
        (['symbol:"ACME"'], {"symbol": "ACME"}),
        (
            ["limit:10", "ratio:0.5", "on:true", "none:null"],
            {"limit": 10, "ratio": 0.5, "on": True, "none": None},
        ),
        (['filter:{"a": [1, 2]}'], {"filter": {"a": [1, 2]}}),
        (['url:"http://x:1"'], {"url": "http://x:1"}),
        (["n:1", "n:2"], {"n": 2}),
        ([" spaced :1"], {"spaced": 1}),
    ],
)
def test_variables(items: list[str], expected: dict[str, Any]) -> None:
    assert parse_variables(items) == expected


@pytest.mark.parametrize(
    ("item", "named"),
    [
        ("symbol:ACME", "variable 'symbol'"),
        ("limit:", "variable 'limit'"),
        ("filter:{a: 1}", "variable 'filter'"),
    ],
)
def test_a_variable_that_is_not_json_is_named(item: str, named: str) -> None:
    with pytest.raises(UsageError, match=named):
        parse_variables(["ok:1", item])


def test_an_unquoted_string_gets_a_hint() -> None:
    with pytest.raises(UsageError, match=r"""-V 'symbol:"ACME"'"""):
        parse_variables(["symbol:ACME"])


@pytest.mark.parametrize("item", ["nocolon", ":1", "  :1"])
def test_a_variable_without_a_name(item: str) -> None:
    with pytest.raises(UsageError, match="-V expects NAME:JSON"):
        parse_variables([item])


def test_headers_keep_order_and_repeats() -> None:
    items = ["Authorization: Bearer a:b", "X-Tag:one", "X-Tag: two "]

    assert parse_headers(items) == [
        ("Authorization", "Bearer a:b"),
        ("X-Tag", "one"),
        ("X-Tag", "two"),
    ]


@pytest.mark.parametrize(
    "item", ["Authorization", ": value", "Bad Name: x", "X-A: b\r\nX-B: c", "X-A: b\0"]
)
def test_bad_headers(item: str) -> None:
    with pytest.raises(UsageError, match="-H"):
        parse_headers([item])


def test_a_header_value_with_a_line_break_is_not_quoted() -> None:
    with pytest.raises(UsageError) as raised:
        parse_headers(["Authorization: Bearer secret\nX-Injected: 1"])

    assert "secret" not in str(raised.value)
    assert "'Authorization'" in str(raised.value)


def test_no_init_payload() -> None:
    assert load_init_payload(None, {}) is None


def test_init_payload_inline() -> None:
    assert load_init_payload('{"token": "t"}', {}) == {"token": "t"}


def test_init_payload_from_the_environment() -> None:
    assert load_init_payload("env:INIT", {"INIT": '{"token": "t"}'}) == {"token": "t"}


def test_init_payload_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "init.json"
    path.write_text(json.dumps({"token": "t"}), encoding="utf-8")

    assert load_init_payload(f"@{path}", {}) == {"token": "t"}


@pytest.mark.parametrize(
    ("spec", "environ", "message"),
    [
        ("env:MISSING", {}, "the environment variable MISSING is not set"),
        ("env:", {}, "needs the variable's name"),
        ("env:INIT", {"INIT": "Bearer secret-token"}, "environment variable INIT is not JSON"),
        ("@/nonexistent/init.json", {}, "cannot read the file /nonexistent/init.json"),
        ("[1, 2]", {}, "JSON but not an object"),
        ("{token}", {}, "the command line is not JSON"),
    ],
)
def test_bad_init_payloads(spec: str, environ: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message) as raised:
        load_init_payload(spec, environ)

    # What the text holds may be a secret: the message never shows it.
    assert "secret-token" not in str(raised.value)


def test_document_from_the_query_option() -> None:
    assert read_document_text("{ a }", None, io.StringIO("{ b }")) == "{ a }"


def test_document_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "doc.graphql"
    path.write_text("{ c }", encoding="utf-8")

    assert read_document_text(None, str(path), io.StringIO("{ b }")) == "{ c }"


@pytest.mark.parametrize("file", [None, "-"])
def test_document_from_stdin(file: str | None) -> None:
    assert read_document_text(None, file, io.StringIO("{ b }")) == "{ b }"


@pytest.mark.parametrize(
    ("query", "file", "stdin", "message"),
    [
        ("  ", None, "", "from -q is empty"),
        (None, None, "\n", "from standard input is empty"),
        (None, "/nonexistent/doc.graphql", "", "cannot read the file"),
    ],
)
def test_bad_documents(query: str | None, file: str | None, stdin: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        read_document_text(query, file, io.StringIO(stdin))


@pytest.mark.parametrize(
    ("text", "name", "kind", "chosen"),
    [
        ("{ hello }", None, OperationType.QUERY, None),
        ("query Q { hello }", None, OperationType.QUERY, "Q"),
        ("mutation { addNumbers(a: 1, b: 2) }", None, OperationType.MUTATION, None),
        ("subscription { ticks }", None, OperationType.SUBSCRIPTION, None),
        (SEVERAL, "Ticks", OperationType.SUBSCRIPTION, "Ticks"),
        (SEVERAL, "Hello", OperationType.QUERY, "Hello"),
    ],
)
def test_the_operation_and_its_kind(
    text: str, name: str | None, kind: OperationType, chosen: str | None
) -> None:
    operation = choose_operation(text, name)

    assert operation.kind is kind
    assert operation.name == chosen
    assert operation.is_subscription is (kind is OperationType.SUBSCRIPTION)


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("{ hello", None, r"does not parse at line 1, column 8"),
        ("fragment F on Query { hello }", None, "has no operation"),
        (SEVERAL, None, "has 2 operations; pick one with -o: query Hello, subscription Ticks"),
        (SEVERAL, "Nope", "no operation named 'Nope'"),
        ("{ hello }", "Hello", "no operation named 'Hello'"),
    ],
)
def test_documents_that_cannot_run(text: str, name: str | None, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        choose_operation(text, name)
