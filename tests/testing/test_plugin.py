"""The pytest plugin, tested as users meet it: throwaway test suites run by pytester.

The tests here are plain functions: each inner run has event loops of its own.
"""

from __future__ import annotations

import pytest

# Hypothesis' plugin costs about a second on each inner run, and is not used there.
INI = """
[pytest]
addopts = -p no:hypothesispytest -p no:cacheprovider
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""
INI_WITHOUT_ASYNCIO = """
[pytest]
addopts = -p no:hypothesispytest -p no:cacheprovider
filterwarnings = error
"""

# Runs around every inner test, outside the plugin's fixtures (autouse fixtures
# are set up first, so torn down last): nothing may be left running after them.
LEAK_CHECK_CONFTEST = """
import asyncio

import pytest


@pytest.fixture(autouse=True)
async def no_task_left():
    yield
    current = asyncio.current_task()
    left = [task for task in asyncio.all_tasks() if task is not current]
    assert not left, f"tasks left running: {left!r}"
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A throwaway project using the plugin, with a leak check on every test."""
    pytester.makeini(INI)
    pytester.makeconftest(LEAK_CHECK_CONFTEST)
    return pytester


def test_each_fixture_works_end_to_end(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_usage="""
        import asyncio

        import pytest
        from gql import Client, gql

        from gql_aiohttp_websockets import TransportConnectionClosed
        from gql_aiohttp_websockets.lifecycle import State
        from gql_aiohttp_websockets.testing import (
            GraphQLServerFactory,
            ScriptedConnection,
            ScriptedServerFactory,
            TransportFactory,
            example_schema,
            scaled_timeout,
        )


        async def test_query_and_subscription_through_client(
            graphql_ws_server: GraphQLServerFactory, graphql_ws_transport: TransportFactory
        ) -> None:
            server = await graphql_ws_server(example_schema())
            transport = graphql_ws_transport(server, init_payload={"user": "ada"})

            async def run():
                async with Client(transport=transport) as session:
                    hello = await session.execute(gql("{ hello }"))
                    query = gql("subscription { countdown(from: 2, delay_ms: 0) }")
                    counted = [item["countdown"] async for item in session.subscribe(query)]
                    return hello, counted

            hello, counted = await asyncio.wait_for(run(), scaled_timeout(10))
            assert hello == {"hello": "Hello world!"}
            assert counted == [2, 1, 0]
            assert server.connections[0].init_payload == {"user": "ada"}


        async def test_server_options_reach_the_server(
            graphql_ws_server: GraphQLServerFactory, graphql_ws_transport: TransportFactory
        ) -> None:
            server = await graphql_ws_server(
                example_schema(), on_connect=lambda payload: False, path="/ws"
            )
            assert server.url.endswith("/ws")
            transport = graphql_ws_transport(server)
            with pytest.raises(TransportConnectionClosed) as caught:
                await asyncio.wait_for(transport.connect(), scaled_timeout(10))
            assert caught.value.code == 4403
            assert await server.connections[0].wait_closed() == 4403


        async def test_scripted_server_and_a_url(
            graphql_ws_scripted_server: ScriptedServerFactory,
            graphql_ws_transport: TransportFactory,
        ) -> None:
            async def script(conn: ScriptedConnection) -> None:
                await conn.accept_init()
                subscribe = await conn.expect("subscribe")
                await conn.send_json(
                    {"type": "next", "id": subscribe["id"], "payload": {"data": {"n": 1}}}
                )
                await conn.send_json({"type": "complete", "id": subscribe["id"]})

            server = await graphql_ws_scripted_server(script, subprotocols=["graphql-transport-ws"])
            transport = graphql_ws_transport(server.url)

            async def run():
                async with Client(transport=transport) as session:
                    return [item async for item in session.subscribe(gql("subscription { n }"))]

            assert await asyncio.wait_for(run(), scaled_timeout(10)) == [{"n": 1}]


        async def test_a_transport_left_open_is_closed_at_teardown(
            graphql_ws_server: GraphQLServerFactory, graphql_ws_transport: TransportFactory
        ) -> None:
            server = await graphql_ws_server(example_schema())
            transport = graphql_ws_transport(server)
            await asyncio.wait_for(transport.connect(), scaled_timeout(10))
            assert transport.state is State.OPEN
        """
    )
    suite.runpytest().assert_outcomes(passed=4)


def test_the_fixtures_work_in_strict_mode(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI.replace("asyncio_mode = auto", "asyncio_mode = strict"))
    pytester.makepyfile(
        test_strict="""
        import asyncio

        import pytest
        import pytest_asyncio
        from gql import Client, gql

        from gql_aiohttp_websockets.testing import example_schema, scaled_timeout


        @pytest_asyncio.fixture
        async def server(graphql_ws_server):
            return await graphql_ws_server(example_schema())


        @pytest.mark.asyncio
        async def test_hello(server, graphql_ws_transport):
            async with Client(transport=graphql_ws_transport(server)) as session:
                result = await asyncio.wait_for(
                    session.execute(gql("{ hello }")), scaled_timeout(10)
                )
            assert result == {"hello": "Hello world!"}
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_wrong_result_fails_the_test(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_wrong="""
        import asyncio

        from gql import Client, gql

        from gql_aiohttp_websockets.testing import example_schema, scaled_timeout


        async def test_expects_the_wrong_greeting(graphql_ws_server, graphql_ws_transport):
            server = await graphql_ws_server(example_schema())
            async with Client(transport=graphql_ws_transport(server)) as session:
                result = await asyncio.wait_for(
                    session.execute(gql("{ hello }")), scaled_timeout(10)
                )
                assert result == {"hello": "Goodbye world!"}
        """
    )
    result = suite.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*AssertionError*Hello world!*Goodbye world!*"])


def test_a_failing_script_errors_the_test_with_its_exception(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_script="""
        import asyncio

        from gql_aiohttp_websockets.testing import scaled_timeout


        async def test_script_raises(graphql_ws_scripted_server, graphql_ws_transport):
            async def script(conn):
                await conn.accept_init()
                raise RuntimeError("the script exploded")

            server = await graphql_ws_scripted_server(script)
            transport = graphql_ws_transport(server)
            await asyncio.wait_for(transport.connect(), scaled_timeout(10))
            assert await server.connections[0].wait_closed() == 1011
        """
    )
    result = suite.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_script_raises*", "*RuntimeError: the script exploded"]
    )


def test_transports_close_before_servers_whatever_the_fixture_order(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(
        test_order="""
        import asyncio

        import pytest

        from gql_aiohttp_websockets.lifecycle import State
        from gql_aiohttp_websockets.testing import (
            ScriptedConnection,
            example_schema,
            scaled_timeout,
        )

        created = {}


        @pytest.fixture
        async def check_after_teardown():
            # Requested first, so torn down after the plugin's fixtures.
            created.clear()
            yield
            for transport in created["transports"]:
                assert transport.state is State.CLOSED
            for server in created["servers"]:
                record = server.connections[0]
                # The client said goodbye to a server still running: not 1001 from it.
                assert (record.closed_by, record.close_code) == ("client", 1000)
                with pytest.raises(OSError):
                    await asyncio.open_connection("127.0.0.1", server.port)


        async def keep_open(conn: ScriptedConnection) -> None:
            await conn.accept_init()
            await conn.wait_closed()


        async def connect_all(transports):
            for transport in transports:
                await asyncio.wait_for(transport.connect(), scaled_timeout(10))


        async def test_transport_requested_first(
            check_after_teardown, graphql_ws_transport, graphql_ws_server,
            graphql_ws_scripted_server,
        ):
            first = await graphql_ws_server(example_schema())
            second = await graphql_ws_scripted_server(keep_open)
            transports = [graphql_ws_transport(first), graphql_ws_transport(second)]
            await connect_all(transports)
            created.update(servers=[first, second], transports=transports)


        async def test_transport_requested_last(
            check_after_teardown, graphql_ws_server, graphql_ws_transport
        ):
            server = await graphql_ws_server(example_schema())
            transport = graphql_ws_transport(server)
            await connect_all([transport])
            later = await graphql_ws_server(example_schema())
            later_transport = graphql_ws_transport(later)
            await connect_all([later_transport])
            created.update(servers=[server, later], transports=[transport, later_transport])
        """
    )
    suite.runpytest().assert_outcomes(passed=2)


def test_a_factory_used_from_another_event_loop_says_so(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_loops="""
        import pytest

        from gql_aiohttp_websockets.testing import example_schema


        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop(graphql_ws_server):
            with pytest.raises(RuntimeError, match="event loop of the fixtures"):
                await graphql_ws_server(example_schema())
        """
    )
    suite.runpytest().assert_outcomes(passed=1)


BLOCK_PYTEST_ASYNCIO = """
import sys

# As if pytest-asyncio were not installed: importing it fails from now on.
sys.modules["pytest_asyncio"] = None
# Forget fixtures already imported in this process (pytester runs in-process).
sys.modules.pop("gql_aiohttp_websockets.testing.fixtures", None)
"""

USES_EACH_FIXTURE = """
def test_unrelated():
    assert True


def test_server(graphql_ws_server):
    pass


def test_scripted_server(graphql_ws_scripted_server):
    pass


def test_transport(graphql_ws_transport):
    pass
"""


def test_without_pytest_asyncio_the_fixtures_name_the_extra(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI_WITHOUT_ASYNCIO)
    pytester.makepyfile(block_pytest_asyncio=BLOCK_PYTEST_ASYNCIO, test_suite=USES_EACH_FIXTURE)
    pytester.syspathinsert()
    # pytest-asyncio's own plugin would load before the block: keep it out too.
    result = pytester.runpytest("-p", "block_pytest_asyncio", "-p", "no:asyncio")
    result.assert_outcomes(passed=1, errors=3)
    for fixture in ("graphql_ws_server", "graphql_ws_scripted_server", "graphql_ws_transport"):
        result.stdout.fnmatch_lines(
            [
                f"*{fixture}: the gql_aiohttp_websockets fixtures need pytest-asyncio, "
                "which is not installed: pip install 'gql-aiohttp-websockets[[]pytest[]]'"
            ]
        )


def test_with_pytest_asyncio_disabled_the_fixtures_say_so(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI_WITHOUT_ASYNCIO)
    pytester.makepyfile(test_suite=USES_EACH_FIXTURE)
    result = pytester.runpytest("-p", "no:asyncio")
    result.assert_outcomes(passed=1, errors=3)
    result.stdout.fnmatch_lines(
        ["*graphql_ws_server: *pytest-asyncio, whose plugin is disabled*[[]pytest[]]*"]
    )
