"""Which operation runs, and whether it is subscribed to: no network."""

from __future__ import annotations

import pytest
from graphql import OperationType

from gql_aiohttp_websockets.cli.documents import choose_operation
from gql_aiohttp_websockets.cli.inputs import UsageError

SEVERAL = """
query Hello { hello }
subscription Ticks { ticks }
fragment F on Query { hello }
"""


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
