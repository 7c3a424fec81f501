"""The pytest plugin: fixtures for testing code that uses GraphQL subscriptions.

pytest loads it through the ``gql_aiohttp_websockets`` entry point of the
``pytest11`` group; nothing needs to be configured.  It provides three
fixtures (see `gql_aiohttp_websockets.testing.fixtures`):

- ``graphql_ws_server``: ``server = await graphql_ws_server(schema, **options)``;
- ``graphql_ws_scripted_server``: ``server = await graphql_ws_scripted_server(handler, **options)``;
- ``graphql_ws_transport``: ``transport = graphql_ws_transport(server, **kwargs)``.

They run on pytest-asyncio's event loops; this plugin has none of its own.
Without pytest-asyncio (installed by the ``pytest`` extra), or with its plugin
disabled, the fixtures are stand-ins that fail with a message saying what is
missing, and the rest of the pytest run is unaffected.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from . import fixtures_unavailable

__all__ = ["FIXTURES_PLUGIN_NAME", "pytest_configure"]

#: The name the fixtures (or their stand-ins) are registered under.
FIXTURES_PLUGIN_NAME = "gql_aiohttp_websockets.fixtures"

_EXTRA = "pip install 'gql-aiohttp-websockets[pytest]'"


def pytest_configure(config: pytest.Config) -> None:
    """Register the fixtures, or their stand-ins when pytest-asyncio is missing.

    Args:
        config: The pytest configuration.
    """
    if config.pluginmanager.has_plugin(FIXTURES_PLUGIN_NAME):
        return
    fixtures, missing = _load_fixtures(config)
    if fixtures is None:
        config.stash[fixtures_unavailable.REASON] = missing
        config.pluginmanager.register(fixtures_unavailable, FIXTURES_PLUGIN_NAME)
    else:
        config.pluginmanager.register(fixtures, FIXTURES_PLUGIN_NAME)


def _load_fixtures(config: pytest.Config) -> tuple[ModuleType | None, str]:
    # Imported here, not at the top: pytest-asyncio is an optional dependency.
    try:
        import pytest_asyncio.plugin as asyncio_plugin

        from . import fixtures
    except ImportError as error:
        if error.name is None or not error.name.startswith("pytest_asyncio"):
            raise
        return None, (
            "the gql_aiohttp_websockets fixtures need pytest-asyncio, which is not "
            f"installed: {_EXTRA}"
        )
    if not config.pluginmanager.is_registered(asyncio_plugin):
        return None, (
            "the gql_aiohttp_websockets fixtures run on pytest-asyncio, whose plugin is "
            "disabled (-p no:asyncio?): enable it, and make sure it is installed: "
            f"{_EXTRA}"
        )
    return fixtures, ""
