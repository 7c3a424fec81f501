"""Fixtures for the interoperability tests: the Node.js reference servers.

Each server is a ``node`` subprocess started once per session, in its own
process group, on a loopback port the OS picks (its ``listening`` line names
it), and stopped by its PID when the session ends.  npm graphql-ws and
subscriptions-transport-ws speak one subprotocol each; Mercurius speaks both
on one endpoint.

Without ``node`` or ``tests/interop/node_modules`` the tests are skipped with
the reason; with ``GQL_AIOHTTP_WS_REQUIRE_INTEROP=1`` (set by CI, which runs
``npm ci`` here) they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator

import pytest

from gql_aiohttp_websockets.testing.timeouts import scaled_timeout

from ._support import KEEPALIVE_INTERVAL, LEGACY_WS, TRANSPORT_WS, NodeServer, unavailable_reason

REQUIRE_ENV = "GQL_AIOHTTP_WS_REQUIRE_INTEROP"

GRAPHQL_WS = "graphql-ws"
SUBSCRIPTIONS_TRANSPORT_WS = "subscriptions-transport-ws"
SERVER_NAMES = (GRAPHQL_WS, SUBSCRIPTIONS_TRANSPORT_WS)
MERCURIUS = "mercurius"
MERCURIUS_SCRIPT = "mercurius_server.cjs"


@pytest.fixture(scope="session")
def interop_available() -> None:
    """Skip, or fail when interop is required, if the servers cannot run here."""
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get(REQUIRE_ENV, "").strip() == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1 requires the interop tests to run)")
    pytest.skip(reason)


def _run(
    name: str, script: str, subprotocol: str, env: dict[str, str] | None = None
) -> Iterator[NodeServer]:
    server = NodeServer(name, script, subprotocol, env)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        code = server.process.returncode if server.process is not None else None
        if code not in (0, None):
            sys.stderr.write(
                f"\nthe {name} server exited with {code}; its last lines:\n{server.output_tail()}\n"
            )


def _interval_ms() -> str:
    return str(max(1, round(scaled_timeout(KEEPALIVE_INTERVAL) * 1000)))


@pytest.fixture(scope="session")
def graphql_ws_server(interop_available: None) -> Iterator[NodeServer]:
    """npm graphql-ws (subprotocol graphql-transport-ws) with the library defaults."""
    yield from _run(GRAPHQL_WS, "graphql_ws_server.cjs", TRANSPORT_WS)


@pytest.fixture(scope="session")
def subscriptions_transport_ws_server(interop_available: None) -> Iterator[NodeServer]:
    """npm subscriptions-transport-ws (legacy subprotocol graphql-ws), library defaults."""
    yield from _run(SUBSCRIPTIONS_TRANSPORT_WS, "subscriptions_transport_ws_server.cjs", LEGACY_WS)


@pytest.fixture(scope="session")
def graphql_ws_keepalive_server(interop_available: None) -> Iterator[NodeServer]:
    """graphql-ws sending protocol ``ping`` messages and websocket PING frames every ~150 ms."""
    interval = _interval_ms()
    yield from _run(
        f"{GRAPHQL_WS}-keepalive",
        "graphql_ws_server.cjs",
        TRANSPORT_WS,
        {"INTEROP_GQL_PING_MS": interval, "INTEROP_WS_PING_MS": interval},
    )


@pytest.fixture(scope="session")
def subscriptions_transport_ws_keepalive_server(
    interop_available: None,
) -> Iterator[NodeServer]:
    """subscriptions-transport-ws sending ``ka`` every ~150 ms."""
    yield from _run(
        f"{SUBSCRIPTIONS_TRANSPORT_WS}-keepalive",
        "subscriptions_transport_ws_server.cjs",
        LEGACY_WS,
        {"INTEROP_KEEPALIVE_MS": _interval_ms()},
    )


_SERVER_FIXTURES = {
    GRAPHQL_WS: "graphql_ws_server",
    SUBSCRIPTIONS_TRANSPORT_WS: "subscriptions_transport_ws_server",
}
_KEEPALIVE_SERVER_FIXTURES = {
    GRAPHQL_WS: "graphql_ws_keepalive_server",
    SUBSCRIPTIONS_TRANSPORT_WS: "subscriptions_transport_ws_keepalive_server",
}


@pytest.fixture(params=SERVER_NAMES)
def server(request: pytest.FixtureRequest) -> NodeServer:
    """Each reference server in turn (ids ``[graphql-ws]``, ``[subscriptions-transport-ws]``)."""
    started: NodeServer = request.getfixturevalue(_SERVER_FIXTURES[request.param])
    return started


@pytest.fixture(params=SERVER_NAMES)
def keepalive_server(request: pytest.FixtureRequest) -> NodeServer:
    """Each reference server in turn, with its keep-alive knobs at ~150 ms."""
    started: NodeServer = request.getfixturevalue(_KEEPALIVE_SERVER_FIXTURES[request.param])
    return started


# -- server processes of one test's own, which it may stop and start again -------------

_SCRIPTS = {
    GRAPHQL_WS: ("graphql_ws_server.cjs", TRANSPORT_WS),
    SUBSCRIPTIONS_TRANSPORT_WS: ("subscriptions_transport_ws_server.cjs", LEGACY_WS),
}

#: ``start_own_server(env=None)``: a new server process, started with these extra
#: environment variables.
OwnServerStarter = Callable[..., NodeServer]


@pytest.fixture(params=SERVER_NAMES)
def start_own_server(
    request: pytest.FixtureRequest, interop_available: None
) -> Iterator[OwnServerStarter]:
    """Each reference server in turn, as processes of the test's own.

    For tests that stop a server (:meth:`NodeServer.stop`) and start it again
    (``server.start(server.port)``), which the shared servers must not see.
    Every process started is stopped after the test.
    """
    name = request.param
    script, subprotocol = _SCRIPTS[name]
    with contextlib.ExitStack() as stack:

        def start(env: dict[str, str] | None = None) -> NodeServer:
            return _start_own(stack, name, script, subprotocol, env)

        yield start


def _start_own(
    stack: contextlib.ExitStack,
    name: str,
    script: str,
    subprotocol: str,
    env: dict[str, str] | None,
) -> NodeServer:
    run = contextlib.contextmanager(_run)
    started: NodeServer = stack.enter_context(run(f"{name}-own", script, subprotocol, env))
    return started


# -- Mercurius: both subprotocols on one endpoint ----------------------------------------


@pytest.fixture(scope="session")
def mercurius_server(interop_available: None) -> Iterator[NodeServer]:
    """Mercurius (``fullWsTransport``) sending its keep-alives every ~150 ms.

    It speaks both subprotocols: the tests name theirs (``subprotocols=[...]``);
    :attr:`NodeServer.subprotocol` is only the default offer.
    """
    yield from _run(
        MERCURIUS, MERCURIUS_SCRIPT, TRANSPORT_WS, {"INTEROP_KEEPALIVE_MS": _interval_ms()}
    )


@pytest.fixture(params=[TRANSPORT_WS, LEGACY_WS])
def mercurius_subprotocol(request: pytest.FixtureRequest) -> str:
    """Each subprotocol Mercurius speaks, in turn (test ids ``[graphql-transport-ws]``,
    ``[graphql-ws]``).
    """
    subprotocol: str = request.param
    return subprotocol


#: ``start_own_mercurius_server(subprotocol, env=None)``: a new Mercurius process whose
#: transports offer ``subprotocol`` by default, started with these extra environment
#: variables.
OwnMercuriusStarter = Callable[..., NodeServer]


@pytest.fixture
def start_own_mercurius_server(interop_available: None) -> Iterator[OwnMercuriusStarter]:
    """Mercurius processes of the test's own, as :func:`start_own_server` starts them.

    Every process started is stopped after the test.
    """
    with contextlib.ExitStack() as stack:

        def start(subprotocol: str, env: dict[str, str] | None = None) -> NodeServer:
            return _start_own(stack, MERCURIUS, MERCURIUS_SCRIPT, subprotocol, env)

        yield start
