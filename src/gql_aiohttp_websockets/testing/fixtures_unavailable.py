"""Stand-ins for the fixtures when pytest-asyncio is missing: each fails, saying why.

The plugin registers this module instead of `fixtures` then, so that a test
suite that does not use the fixtures runs as before, and one that does gets
an error naming what to install rather than "fixture not found".
"""

from __future__ import annotations

from typing import NoReturn

import pytest

__all__ = ["REASON", "graphql_ws_scripted_server", "graphql_ws_server", "graphql_ws_transport"]

#: Where the plugin stores why the real fixtures are unavailable.
REASON = pytest.StashKey[str]()


def _unavailable(request: pytest.FixtureRequest) -> NoReturn:
    reason = request.config.stash.get(REASON, "pytest-asyncio is not available")
    pytest.fail(f"{request.fixturename}: {reason}", pytrace=False)


@pytest.fixture
def graphql_ws_server(request: pytest.FixtureRequest) -> NoReturn:
    """Unavailable: install ``gql-aiohttp-websockets[pytest]`` (pytest-asyncio)."""
    _unavailable(request)


@pytest.fixture
def graphql_ws_scripted_server(request: pytest.FixtureRequest) -> NoReturn:
    """Unavailable: install ``gql-aiohttp-websockets[pytest]`` (pytest-asyncio)."""
    _unavailable(request)


@pytest.fixture
def graphql_ws_transport(request: pytest.FixtureRequest) -> NoReturn:
    """Unavailable: install ``gql-aiohttp-websockets[pytest]`` (pytest-asyncio)."""
    _unavailable(request)
