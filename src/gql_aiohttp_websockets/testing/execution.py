"""Run one GraphQL operation with graphql-core, for either server-side subprotocol.

The document is parsed and validated first, so that a pre-execution failure
(which the subprotocols report with an ``error`` message) is told apart from
an execution result that carries field errors.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    subscribe,
    validate,
)

__all__ = [
    "OperationRequest",
    "Outcome",
    "Rejected",
    "SingleResult",
    "Stream",
    "close_stream",
    "error_from_exception",
    "read_operation_request",
    "run_operation",
]


@dataclass(frozen=True)
class OperationRequest:
    """The fields of a ``subscribe``/``start`` payload."""

    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


@dataclass(frozen=True)
class Rejected:
    """The document did not parse or validate: nothing was executed."""

    errors: list[dict[str, Any]]


@dataclass(frozen=True)
class SingleResult:
    """A query, a mutation, or a subscription that failed before streaming."""

    result: dict[str, Any]


@dataclass(frozen=True)
class Stream:
    """A subscription's results, one execution result per event."""

    results: AsyncIterator[ExecutionResult]


Outcome = Rejected | SingleResult | Stream


def read_operation_request(payload: object) -> OperationRequest | str:
    """Check the shape of an operation payload.

    Args:
        payload: The ``payload`` member of a ``subscribe`` or ``start`` message.

    Returns:
        The request, or a message saying what is wrong with the payload.
    """
    if not isinstance(payload, dict):
        return "the operation payload must be an object"
    query = payload.get("query")
    if not isinstance(query, str):
        return "the operation payload must have a string 'query'"
    variables = payload.get("variables")
    if variables is not None and not isinstance(variables, dict):
        return "'variables' must be an object or null"
    operation_name = payload.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        return "'operationName' must be a string or null"
    extensions = payload.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        return "'extensions' must be an object or null"
    return OperationRequest(query, variables, operation_name)


def error_from_exception(error: BaseException) -> dict[str, Any]:
    """Format an exception the way GraphQL formats errors.

    Args:
        error: Raised while producing results.

    Returns:
        A formatted GraphQL error with at least ``message``.
    """
    if isinstance(error, GraphQLError):
        return dict(error.formatted)
    return {"message": str(error)}


async def run_operation(
    schema: GraphQLSchema, request: OperationRequest, context: object, root_value: object = None
) -> Outcome:
    """Parse, validate and start one operation.

    Queries and mutations are executed to completion; subscriptions return
    their result stream, which the caller iterates and must close.

    Args:
        schema: The schema to run against.
        request: The operation.
        context: Passed to resolvers as ``info.context``.
        root_value: The root value: the first argument of top-level resolvers.

    Returns:
        What happened: rejected before execution, one result, or a stream.
    """
    try:
        document = parse(request.query)
    except GraphQLError as error:
        return Rejected([dict(error.formatted)])
    validation_errors = validate(schema, document)
    if validation_errors:
        return Rejected([dict(error.formatted) for error in validation_errors])
    operation = get_operation_ast(document, request.operation_name)
    if operation is not None and operation.operation == OperationType.SUBSCRIPTION:
        subscribed: object = subscribe(
            schema,
            document,
            root_value=root_value,
            context_value=context,
            variable_values=request.variables,
            operation_name=request.operation_name,
        )
        # graphql-core 3.2 returns a coroutine here, 3.3 may return the value itself.
        if inspect.isawaitable(subscribed):
            subscribed = await subscribed
        if isinstance(subscribed, ExecutionResult):
            return SingleResult(dict(subscribed.formatted))
        return Stream(cast("AsyncIterator[ExecutionResult]", subscribed))
    executed: object = execute(
        schema,
        document,
        root_value=root_value,
        context_value=context,
        variable_values=request.variables,
        operation_name=request.operation_name,
    )
    if inspect.isawaitable(executed):
        executed = await executed
    return SingleResult(dict(cast("ExecutionResult", executed).formatted))


async def close_stream(results: AsyncIterator[ExecutionResult]) -> None:
    """Close a subscription stream so its source generator runs its cleanup.

    Args:
        results: A stream returned in `Stream`.
    """
    aclose = getattr(results, "aclose", None)
    if aclose is not None:
        await aclose()
