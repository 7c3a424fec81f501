"""What counts as a GraphQL result, and the decoder received text goes through.

One validator (:func:`execution_result`) and one decoder
(:func:`json_decoder`) serve every path a result takes: the receive loop's
fast path, a consumer decoding a result queued as text, and the full checks
that name what is wrong with a malformed one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json.scanner import make_scanner
from typing import Any, TypeAlias

from graphql import ExecutionResult

from .wording import a_kind, json_kind

__all__ = [
    "JsonDeserializer",
    "JsonSerializer",
    "execution_result",
    "json_decoder",
    "result_problem",
]

JsonSerializer: TypeAlias = Callable[[Any], str]
JsonDeserializer: TypeAlias = Callable[[str], Any]


def execution_result(payload: Any) -> ExecutionResult | None:
    """Return the GraphQL result ``payload`` holds, or ``None`` if it is not one.

    A result is an object with ``data`` (an object or ``null``) or ``errors``
    (a list), or both; ``extensions`` is kept as it is.  :func:`result_problem`
    says what is wrong with a payload this rejects.
    """
    if type(payload) is not dict:
        return None
    data = payload.get("data")
    errors = payload.get("errors")
    if errors is None:
        if type(data) is not dict and (data is not None or "data" not in payload):
            return None
    elif type(errors) is not list or (data is not None and type(data) is not dict):
        return None
    return ExecutionResult(data, errors, payload.get("extensions"))


def result_problem(payload: Any, carrier: str) -> str:
    """Say why :func:`execution_result` rejected ``payload``.

    Args:
        payload: The rejected payload.
        carrier: The message it came in, e.g. ``"a 'next' message"``.
    """
    if type(payload) is not dict:
        return (
            f"the payload of {carrier} is {a_kind(json_kind(payload))}, not a GraphQL result object"
        )
    errors = payload.get("errors")
    if "data" not in payload and errors is None:
        return f"the payload of {carrier} has neither 'data' nor 'errors'"
    if errors is not None and type(errors) is not list:
        return "'errors' in a result is not a list"
    return "'data' in a result is not an object"


def json_decoder(json_deserialize: JsonDeserializer) -> JsonDeserializer:
    """Return the function a handler decodes received text with.

    It is ``json_deserialize`` itself, except for the default
    :func:`json.loads`: then its C scanner is called directly, since
    ``json.loads`` adds two regular expression matches and two Python frames
    around it, a large part of its cost on a small frame (see
    ``benchmarks/README.md``).  Text the scanner does not
    take whole goes through ``json.loads``, which accepts surrounding
    whitespace and names any error precisely.
    """
    if json_deserialize is not json.loads:
        return json_deserialize
    # typeshed types make_scanner's argument as a scanner, not a decoder.
    decoder: Any = json.JSONDecoder()
    scan: Callable[[str, int], tuple[Any, int]] = make_scanner(decoder)
    loads = json.loads

    def decode(text: str) -> Any:
        try:
            value, end = scan(text, 0)
        except (StopIteration, ValueError, RecursionError):
            return loads(text)
        return value if end == len(text) else loads(text)

    return decode
