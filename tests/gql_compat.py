"""Calling gql.Client the way the installed gql version expects, without deprecation warnings."""

from __future__ import annotations

from typing import Any

import gql
from gql.transport import exceptions as gql_exceptions

GQL_MAJOR = int(gql.__version__.split(".")[0])


def request(
    text: str,
    variable_values: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Return ``(request, kwargs)`` for ``session.execute(request, **kwargs)``.

    gql 4 wants variables on the ``GraphQLRequest`` returned by ``gql()``; gql 3.5
    wants them as keyword arguments next to the document.
    """
    document = gql.gql(text)
    if GQL_MAJOR >= 4:
        if variable_values is not None:
            document.variable_values = variable_values
        if operation_name is not None:
            document.operation_name = operation_name
        return document, {}
    kwargs: dict[str, Any] = {}
    if variable_values is not None:
        kwargs["variable_values"] = variable_values
    if operation_name is not None:
        kwargs["operation_name"] = operation_name
    return document, kwargs


#: What gql's own transport raises for a websocket the server closed, and so
#: what its users catch: gql 4's TransportConnectionFailed, gql 3.x's
#: ConnectionResetError.
CLOSED_BY_SERVER: type[Exception] = (
    gql_exceptions.TransportConnectionFailed if GQL_MAJOR >= 4 else ConnectionResetError
)
