"""Building the operation payload from either gql call style."""

from __future__ import annotations

import pytest
from graphql import parse, print_ast

from gql_aiohttp_websockets.request_payload import ReusedPayload, build_payload, query_text


def test_a_document_alone() -> None:
    document = parse("{ hello }")
    assert build_payload(document) == {"query": print_ast(document)}


def test_gql35_keywords() -> None:
    document = parse("query Q($a: Int) { x(a: $a) }")
    payload = build_payload(document, {"a": 1}, "Q")
    assert payload == {"query": print_ast(document), "variables": {"a": 1}, "operationName": "Q"}


def test_a_request_object_and_overrides() -> None:
    class Request:
        document = parse("query Q { x }")
        variable_values = {"a": 1}
        operation_name = "Q"
        extensions = {"persistedQuery": {"version": 1}}

    payload = build_payload(Request())
    assert payload["variables"] == {"a": 1}
    assert payload["operationName"] == "Q"
    assert payload["extensions"] == {"persistedQuery": {"version": 1}}
    assert build_payload(Request(), {"b": 2}, "R")["variables"] == {"b": 2}


def test_empty_optional_fields_are_left_out() -> None:
    assert set(build_payload(parse("{ x }"), {}, "", {})) == {"query"}


def test_query_text_is_printed_once_per_document() -> None:
    document = parse("{ a }")
    first = query_text(document)
    assert query_text(document) is first
    assert query_text(parse("{ a }")) == first


def test_anything_else_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="GraphQLRequest, a graphql DocumentNode or query text"):
        build_payload(42)


def test_a_request_without_variables_gets_the_same_payload_each_time() -> None:
    document = parse("query Q { x }")
    first = build_payload(document, operation_name="Q")
    assert isinstance(first, ReusedPayload)
    assert first == {"query": print_ast(document), "operationName": "Q"}
    assert build_payload(document, operation_name="Q") is first
    assert build_payload(document) is not first, "another operation name, another payload"
    with_variables = build_payload(document, {"a": 1}, "Q")
    assert type(with_variables) is dict
    assert build_payload(document, {"a": 1}, "Q") is not with_variables
