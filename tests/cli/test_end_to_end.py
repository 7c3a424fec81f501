"""``gql-ws`` run as a user runs it: a child process against the package's own server."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import signal
from pathlib import Path

import pytest

from gql_aiohttp_websockets.testing import (
    GraphQLWebsocketServer,
    ScriptedConnection,
    ScriptedWebsocketServer,
    example_schema,
    price_at,
    scaled_timeout,
)

from .process import COMMAND, STARTUP_AND_RUN, child_environment, run_cli, running_cli

# What each subprotocol sends to stop an operation early.
STOP = {"graphql-transport-ws": "complete", "graphql-ws": "stop"}

TICKS_FOREVER = "subscription { ticks(count: 100000, delay_ms: 50) }"


async def test_a_query_prints_its_result_and_exits_0(server: GraphQLWebsocketServer) -> None:
    finished = await run_cli(server.url, "-q", "{ hello }")

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout_lines == ['{"data": {"hello": "Hello world!"}}']
    assert finished.stderr == ""


async def test_a_mutation_is_executed_once(server: GraphQLWebsocketServer) -> None:
    finished = await run_cli(
        server.url, "-q", "mutation Add($a: Int!) { addNumbers(a: $a, b: 2) }", "-V", "a:40"
    )

    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout) == {"data": {"addNumbers": 42}}
    assert len(server.connections[0].started_operations) == 1


async def test_the_document_is_read_from_stdin(server: GraphQLWebsocketServer) -> None:
    finished = await run_cli(server.url, stdin=b'query { hello(name: "stdin") }')

    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout) == {"data": {"hello": "Hello stdin!"}}


async def test_count_stops_the_subscription_and_tells_the_server(
    server: GraphQLWebsocketServer, subprotocol: str
) -> None:
    finished = await run_cli(server.url, "-q", TICKS_FOREVER, "--count", "3")

    assert finished.returncode == 0, finished.stderr
    assert [json.loads(line) for line in finished.stdout_lines] == [
        {"data": {"ticks": value}} for value in range(3)
    ]
    record = server.connections[0]
    stop = await record.wait_for_type(STOP[subprotocol], scaled_timeout(10))
    assert stop["id"] == record.started_operations[0]
    # The legacy server closes after the client's connection_terminate.
    assert await record.wait_closed(scaled_timeout(10)) == 1000


async def test_jsonl_is_one_json_object_per_line(server: GraphQLWebsocketServer) -> None:
    query = 'subscription { prices(symbol: "ACME", count: 4) { symbol price seq } }'

    finished = await run_cli(server.url, "-q", query, "--output", "jsonl")

    assert finished.returncode == 0, finished.stderr
    results = [json.loads(line) for line in finished.stdout_lines]
    assert results == [
        {"data": {"prices": {"symbol": "ACME", "price": price_at("ACME", seq), "seq": seq}}}
        for seq in range(4)
    ]


async def test_results_print_as_they_arrive(server: GraphQLWebsocketServer) -> None:
    async with running_cli(server.url, "-q", TICKS_FOREVER) as cli:
        first = await cli.read_line()
        # Printed while the subscription runs: the child has not exited.
        assert cli.process.returncode is None
        assert json.loads(first) == {"data": {"ticks": 0}}
        assert json.loads(await cli.read_line()) == {"data": {"ticks": 1}}
        assert cli.process.returncode is None
        cli.process.send_signal(signal.SIGINT)
        finished = await cli.finish()

    assert finished.returncode == 130, finished.stderr


async def test_pretty_output_shows_arrival_time_and_error_paths(
    server: GraphQLWebsocketServer,
) -> None:
    finished = await run_cli(server.url, "-q", "{ hello error }", "--output", "pretty")

    assert finished.returncode == 1, finished.stderr
    header, error = finished.stdout_lines
    assert re.fullmatch(
        r'\d\d:\d\d:\d\d\.\d{3}  #1  \{"hello": "Hello world!", "error": null\}', header
    ), header
    assert error == "  error at error: intentional error"


async def test_a_result_with_graphql_errors_exits_1(server: GraphQLWebsocketServer) -> None:
    finished = await run_cli(server.url, "-q", "{ hello error }")

    assert finished.returncode == 1, finished.stderr
    result = json.loads(finished.stdout)
    assert result["data"] == {"hello": "Hello world!", "error": None}
    assert [(error["message"], error["path"]) for error in result["errors"]] == [
        ("intentional error", ["error"])
    ]


async def test_an_error_message_from_the_server_exits_1(server: GraphQLWebsocketServer) -> None:
    finished = await run_cli(server.url, "-q", "subscription { nope }")

    assert finished.returncode == 1, finished.stderr
    assert finished.stdout == ""
    assert "Cannot query field 'nope'" in finished.stderr


async def test_a_rejected_connection_init_is_one_line_and_exits_3(subprotocol: str) -> None:
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=(subprotocol,), on_connect=lambda _payload: False
    ) as server:
        finished = await run_cli(server.url, "-q", "{ hello }")

    assert finished.returncode == 3
    assert finished.stdout == ""
    (line,) = finished.stderr_lines
    assert line.startswith("gql-ws: ")
    if subprotocol == "graphql-transport-ws":
        assert "4403 (Forbidden)" in line
    else:
        assert "connection_init rejected" in line


async def test_a_refused_upgrade_names_the_http_status() -> None:
    async with GraphQLWebsocketServer(example_schema()) as server:
        server.refuse_connections(503)
        finished = await run_cli(server.url, "-q", "{ hello }")

    assert finished.returncode == 3
    (line,) = finished.stderr_lines
    assert "websocket upgrade refused (HTTP 503)" in line


async def test_a_missing_ack_names_the_timeout() -> None:
    async def never_ack(connection: ScriptedConnection) -> None:
        await connection.expect("connection_init")

    async with ScriptedWebsocketServer(never_ack) as server:
        finished = await run_cli(server.url, "-q", "{ hello }", "--timeout", "0.5")

    assert finished.returncode == 3
    (line,) = finished.stderr_lines
    assert line == (
        "gql-ws: no connection_ack in time: "
        "the server sent no connection_ack within ack_timeout=0.5s"
    )


async def test_a_server_that_drops_the_connection_exits_3(
    server: GraphQLWebsocketServer,
) -> None:
    async with running_cli(server.url, "-q", TICKS_FOREVER) as cli:
        assert json.loads(await cli.read_line()) == {"data": {"ticks": 0}}
        server.drop_connections()
        finished = await cli.finish()

    assert finished.returncode == 3
    (line,) = finished.stderr_lines
    assert line.startswith("gql-ws: connection closed (no close frame): ")


async def test_a_server_closing_with_a_code_names_it(server: GraphQLWebsocketServer) -> None:
    async with running_cli(server.url, "-q", TICKS_FOREVER) as cli:
        await cli.read_line()
        await server.close_connections(1011, "boom")
        finished = await cli.finish()

    assert finished.returncode == 3
    (line,) = finished.stderr_lines
    assert "code 1011 (Internal Error)" in line
    assert "'boom'" in line


async def test_sigint_stops_the_subscription_cleanly_and_exits_130(
    server: GraphQLWebsocketServer, subprotocol: str
) -> None:
    async with running_cli(server.url, "-q", TICKS_FOREVER) as cli:
        await cli.read_line()
        cli.process.send_signal(signal.SIGINT)
        finished = await cli.finish()

    assert finished.returncode == 130, finished.stderr
    assert finished.stderr == ""
    record = server.connections[0]
    stop = await record.wait_for_type(STOP[subprotocol], scaled_timeout(10))
    assert stop["id"] == record.started_operations[0]
    assert await record.wait_closed(scaled_timeout(10)) == 1000


async def test_init_payload_from_the_environment(server: GraphQLWebsocketServer) -> None:
    payload = {"token": "from-the-environment"}

    finished = await run_cli(
        server.url,
        "-q",
        "{ connectionParams }",
        "--init-payload",
        "env:GQL_WS_TEST_INIT",
        env={"GQL_WS_TEST_INIT": json.dumps(payload)},
    )

    assert finished.returncode == 0, finished.stderr
    assert server.connections[0].init_payload == payload
    assert json.loads(json.loads(finished.stdout)["data"]["connectionParams"]) == payload


async def test_debug_logs_show_no_secret(server: GraphQLWebsocketServer) -> None:
    finished = await run_cli(
        server.url + "?api_key=query-secret",
        "-q",
        "{ hello }",
        "-d",
        "-H",
        "Authorization: Bearer header-secret",
        "--init-payload",
        '{"token": "payload-secret"}',
    )

    assert finished.returncode == 0, finished.stderr
    assert "connection_init (payload not logged)" in finished.stderr
    assert "handshake headers (values not logged): Authorization" in finished.stderr
    for secret in ("query-secret", "header-secret", "payload-secret"):
        assert secret not in finished.stderr
    request_headers = server.connections[0].request_headers
    assert request_headers["Authorization"] == "Bearer header-secret"


async def test_events_are_printed_on_stderr(
    server: GraphQLWebsocketServer, subprotocol: str
) -> None:
    finished = await run_cli(server.url, "-q", "{ hello }", "--events")

    assert finished.returncode == 0, finished.stderr
    events = [line.split(" event: ", 1)[1] for line in finished.stderr_lines]
    assert events == [f"connecting to {server.url}", f"connected ({subprotocol})", "closed"]


@pytest.mark.parametrize("offered", ["graphql-transport-ws", "graphql-ws"])
async def test_subprotocol_offers_only_the_one_named(offered: str) -> None:
    async with GraphQLWebsocketServer(example_schema()) as server:
        finished = await run_cli(server.url, "-q", "{ hello }", "--subprotocol", offered)

    assert finished.returncode == 0, finished.stderr
    assert server.connections[0].offered_subprotocols == [offered]


async def test_reconnect_subscribes_again_on_a_new_connection(
    server: GraphQLWebsocketServer,
) -> None:
    async with running_cli(server.url, "-q", TICKS_FOREVER, "--reconnect", "2", "--events") as cli:
        await cli.read_line()
        await server.close_connections(1012, "restarting")
        await server.wait_for_connections(2, scaled_timeout(30))
        # The subscription starts over on the new connection: ticks from 0 again.
        while json.loads(await cli.read_line()) != {"data": {"ticks": 0}}:
            pass
        cli.process.send_signal(signal.SIGINT)
        finished = await cli.finish()

    assert finished.returncode == 130
    assert "event: subscribed again (1 operation)" in finished.stderr
    assert len(server.connections[1].started_operations) == 1


async def test_renew_every_renews_without_a_gap_reading_the_token_file_again(
    tmp_path: Path,
) -> None:
    lifetime = scaled_timeout(4.0)
    async with GraphQLWebsocketServer(example_schema(), token_lifetime=lifetime) as server:
        token_file = tmp_path / "init.json"

        def rotate() -> None:
            token_file.write_text(json.dumps({"token": server.issue_token()}))

        rotate()
        async with running_cli(
            server.url,
            "-q",
            "subscription { sequence }",
            "--init-payload",
            f"@{token_file}",
            "--renew-every",
            str(lifetime / 4),
            "--events",
        ) as cli:
            numbers = [json.loads(await cli.read_line())["data"]["sequence"]]
            for renewal in range(1, 4):
                rotate()
                await server.wait_for_connections(renewal + 1, scaled_timeout(30))
                await server.connections[renewal].wait_for_type("connection_init")
            # A few more numbers after the last renewal's switch.
            while len(server.connections[-2].messages_of_type("complete")) == 0:
                numbers.append(json.loads(await cli.read_line())["data"]["sequence"])
            for _ in range(5):
                numbers.append(json.loads(await cli.read_line())["data"]["sequence"])
            cli.process.send_signal(signal.SIGINT)
            finished = await cli.finish()

    assert finished.returncode == 130
    assert finished.stderr.count("event: renewed (1 subscription moved without a gap") >= 3
    assert server.admission.expired == 0
    # Each connection was let in with the token the file held when it was made.
    tokens = [record.init_payload["token"] for record in server.connections]
    assert len(set(tokens)) == len(tokens)
    assert set(range(numbers[0], numbers[-1] + 1)) == set(numbers)


async def test_a_reader_that_leaves_ends_the_run_quietly(
    server: GraphQLWebsocketServer, subprotocol: str
) -> None:
    # `gql-ws ... | head -1`: the next result meets a closed pipe.
    command = " ".join(shlex.quote(part) for part in (*COMMAND, server.url, "-q", TICKS_FOREVER))
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        f"set -o pipefail; {command} | head -1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_environment(),
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), scaled_timeout(STARTUP_AND_RUN))

    assert process.returncode == 0, stderr.decode()
    assert stderr == b""
    assert json.loads(stdout) == {"data": {"ticks": 0}}
    record = server.connections[0]
    stop = await record.wait_for_type(STOP[subprotocol], scaled_timeout(10))
    assert stop["id"] == record.started_operations[0]
