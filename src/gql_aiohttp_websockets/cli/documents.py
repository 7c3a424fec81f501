"""The GraphQL document: parsed once, and which of its operations runs, and how.

A subscription is subscribed to; a query or a mutation is executed once.
The operation's type is read from graphql-core's parse of the document, with
``-o`` choosing among several operations as the server will.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import DocumentNode, GraphQLSyntaxError, OperationDefinitionNode, OperationType, parse

from .inputs import UsageError

__all__ = ["Operation", "choose_operation"]


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
