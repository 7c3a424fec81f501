"""Turning what gql hands a transport into a subscribe/start payload.

gql 4 calls ``execute(request)`` with a ``GraphQLRequest``; gql 3.5 calls
``execute(document, variable_values=..., operation_name=...)``.  Both land here.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from graphql import DocumentNode, Source, parse, print_ast

from .protocols.payloads import ReusedPayload

__all__ = ["ReusedPayload", "build_payload", "query_text"]

_CACHE_SIZE = 256
# Keyed by id(); the document is kept in the value so that the id cannot be
# reused by another object while the entry lives.  graphql-core documents are
# immutable by convention, and hashing one walks the whole tree, so a
# WeakKeyDictionary would cost more than printing.
_printed: OrderedDict[int, tuple[DocumentNode, str]] = OrderedDict()


# (id(document), operation name) -> (document, payload); the document is kept
# for the same reason as in _printed.
_reused: OrderedDict[tuple[int, str | None], tuple[DocumentNode, ReusedPayload]] = OrderedDict()


def query_text(document: DocumentNode) -> str:
    """Return the query text of ``document``, printing each document only once."""
    key = id(document)
    entry = _printed.get(key)
    if entry is not None and entry[0] is document:
        return entry[1]
    text = print_ast(document)
    _printed[key] = (document, text)
    if len(_printed) > _CACHE_SIZE:
        _printed.popitem(last=False)
    return text


def build_payload(
    request: Any,
    variable_values: dict[str, Any] | None = None,
    operation_name: str | None = None,
    extensions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the operation payload (``query``, ``variables``, ``operationName``, ``extensions``).

    Args:
        request: A gql ``GraphQLRequest`` (gql 4 or 3.5), a graphql-core
            ``DocumentNode``, or query text.
        variable_values: Variables; override those of ``request``.
        operation_name: The operation to run; overrides that of ``request``.
        extensions: Protocol extensions; override those of ``request``.

    Returns:
        The payload dict, with empty optional fields left out as gql does; for
        a request without variables or extensions, the same
        :class:`ReusedPayload` each time.

    Raises:
        TypeError: ``request`` is none of the accepted kinds.
    """
    if isinstance(request, DocumentNode):
        document = request
    elif isinstance(request, str):
        document = parse(Source(request, "GraphQL request"))
    else:
        candidate = getattr(request, "document", None)
        if not isinstance(candidate, DocumentNode):
            raise TypeError(
                "expected a gql GraphQLRequest, a graphql DocumentNode or query text, "
                f"got {type(request).__name__}"
            )
        document = candidate
        if variable_values is None:
            variable_values = getattr(request, "variable_values", None)
        if operation_name is None:
            operation_name = getattr(request, "operation_name", None)
        if extensions is None:
            extensions = getattr(request, "extensions", None)
    if not variable_values and not extensions:
        return _reused_payload(document, operation_name or None)
    payload: dict[str, Any] = {"query": query_text(document)}
    if operation_name:
        payload["operationName"] = operation_name
    if variable_values:
        payload["variables"] = variable_values
    if extensions:
        payload["extensions"] = extensions
    return payload


def _reused_payload(document: DocumentNode, operation_name: str | None) -> ReusedPayload:
    key = (id(document), operation_name)
    entry = _reused.get(key)
    if entry is not None and entry[0] is document:
        return entry[1]
    payload = ReusedPayload(query=query_text(document))
    if operation_name:
        payload["operationName"] = operation_name
    _reused[key] = (document, payload)
    if len(_reused) > _CACHE_SIZE:
        _reused.popitem(last=False)
    return payload
