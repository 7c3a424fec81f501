"""The one result validator and the one decoder every result goes through."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from graphql import ExecutionResult

from gql_aiohttp_websockets.protocols.results import (
    execution_result,
    json_decoder,
    result_problem,
)

CARRIER = "a 'next' message"

VALID = [
    ({"data": {"a": 1}}, ExecutionResult({"a": 1})),
    ({"data": None}, ExecutionResult(None)),
    ({"errors": [{"message": "x"}]}, ExecutionResult(None, [{"message": "x"}])),
    ({"data": None, "errors": [{"message": "x"}]}, ExecutionResult(None, [{"message": "x"}])),
    ({"data": {}, "errors": [], "extensions": {"t": 1}}, ExecutionResult({}, [], {"t": 1})),
]

INVALID = [
    ([1], "the payload of a 'next' message is an array, not a GraphQL result object"),
    (None, "the payload of a 'next' message is a null, not a GraphQL result object"),
    ("x", "the payload of a 'next' message is a string, not a GraphQL result object"),
    ({}, "the payload of a 'next' message has neither 'data' nor 'errors'"),
    ({"extensions": {}}, "the payload of a 'next' message has neither 'data' nor 'errors'"),
    ({"errors": 5}, "'errors' in a result is not a list"),
    ({"errors": {"message": "x"}}, "'errors' in a result is not a list"),
    ({"data": [1]}, "'data' in a result is not an object"),
    ({"data": 1, "errors": []}, "'data' in a result is not an object"),
]


@pytest.mark.parametrize(("payload", "expected"), VALID)
def test_graphql_results_are_taken(payload: Any, expected: ExecutionResult) -> None:
    result = execution_result(payload)
    assert result is not None
    assert (result.data, result.errors, result.extensions) == (
        expected.data,
        expected.errors,
        expected.extensions,
    )


@pytest.mark.parametrize(("payload", "problem"), INVALID)
def test_anything_else_is_refused_with_its_problem_named(payload: Any, problem: str) -> None:
    assert execution_result(payload) is None
    assert result_problem(payload, CARRIER) == problem


@pytest.mark.parametrize(
    "text", ['{"a":[1,2.5,null,true]}', ' {"a": 1} \n', "[]", '"s"', "3", "null"]
)
def test_the_default_decoder_decodes_as_json_loads(text: str) -> None:
    assert json_decoder(json.loads)(text) == json.loads(text)


@pytest.mark.parametrize("text", ['{"a":', "", '{"a":1} x', "{'a': 1}", "[" * 100_000])
def test_the_default_decoder_fails_as_json_loads(text: str) -> None:
    decode = json_decoder(json.loads)
    with pytest.raises((ValueError, RecursionError)):
        decode(text)


def test_a_custom_decoder_is_used_as_it_is() -> None:
    assert json_decoder(orjson.loads) is orjson.loads
