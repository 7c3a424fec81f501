"""The package's root: what gql users pass to the transport and catch from it."""

from __future__ import annotations

import pytest

import gql_aiohttp_websockets
from gql_aiohttp_websockets import exceptions, lifecycle, protocols

INTERNALS = [
    "ApolloHandler",
    "GraphQLTransportWSHandler",
    "ProtocolHandler",
    "get_protocol",
    "register_protocol",
    "registered_protocols",
    "State",
]


def test_every_listed_name_is_there() -> None:
    for name in gql_aiohttp_websockets.__all__:
        assert getattr(gql_aiohttp_websockets, name) is not None, name


def test_every_exception_class_is_exported() -> None:
    classes = [name for name in exceptions.__all__ if isinstance(getattr(exceptions, name), type)]
    assert set(classes) <= set(gql_aiohttp_websockets.__all__)
    assert "CertificateVerificationFailed" in classes


@pytest.mark.parametrize("name", INTERNALS)
def test_internals_live_in_their_modules(name: str) -> None:
    assert not hasattr(gql_aiohttp_websockets, name)
    assert name not in gql_aiohttp_websockets.__all__
    home = lifecycle if name == "State" else protocols
    assert name in home.__all__
