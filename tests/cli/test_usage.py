"""``gql-ws`` given bad usage or input: exit status 2 and a message naming what is wrong.

Each fails before any connection is tried, so the URL points at a loopback
port that nothing listens on; the last one fails where a connection would start.
"""

from __future__ import annotations

import importlib.metadata
import io
import shutil
import sys
from pathlib import Path

import pytest

from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport
from gql_aiohttp_websockets.cli import main
from gql_aiohttp_websockets.cli.arguments import parse_arguments
from gql_aiohttp_websockets.cli.inputs import build_invocation
from gql_aiohttp_websockets.cli.run import run

from .process import run_cli_blocking

NOWHERE = "ws://127.0.0.1:9/graphql"


def test_a_variable_that_is_not_json_is_named_and_exits_2() -> None:
    finished = run_cli_blocking(NOWHERE, "-q", "{ hello }", "-V", "symbol:ACME")

    assert finished.returncode == 2
    assert finished.stdout == ""
    (line,) = finished.stderr_lines
    assert line.startswith("gql-ws: error: variable 'symbol': the value 'ACME' is not JSON")
    assert "-V 'symbol:\"ACME\"'" in line


def test_an_http_url_gets_the_websocket_one_suggested() -> None:
    finished = run_cli_blocking("http://127.0.0.1:9/graphql?token=secret", "-q", "{ hello }")

    assert finished.returncode == 2
    assert finished.stderr_lines == [
        "gql-ws: error: expected a ws:// or wss:// URL (did you mean ws://127.0.0.1:9/graphql?)"
    ]


def test_an_invalid_url_is_not_echoed_with_its_secrets() -> None:
    finished = run_cli_blocking("ws://user:pass-secret@127.0.0.1:99999/?token=query-secret")

    assert finished.returncode == 2
    assert "not valid" in finished.stderr
    assert "ws://127.0.0.1:99999/" in finished.stderr
    assert "secret" not in finished.stderr


def test_credentials_in_the_url_and_an_authorization_header_exit_2() -> None:
    finished = run_cli_blocking(
        "ws://user:pw@127.0.0.1:9/graphql", "-q", "{ hello }", "-H", "Authorization: Bearer x"
    )

    assert finished.returncode == 2
    assert finished.stderr_lines == [
        "gql-ws: error: the URL carries credentials and -H gives an Authorization header: keep one"
    ]


def test_a_header_value_with_a_line_break_exits_2() -> None:
    finished = run_cli_blocking(NOWHERE, "-q", "{ hello }", "-H", "X-A: b\r\nX-B: c")

    assert finished.returncode == 2
    assert finished.stderr_lines == [
        "gql-ws: error: -H: the value of 'X-A' has a line break or a NUL in it"
    ]


def test_ctrl_c_while_the_document_is_read_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class InterruptedStdin(io.StringIO):
        def read(self, size: int | None = -1) -> str:
            raise KeyboardInterrupt

    monkeypatch.setattr(sys, "stdin", InterruptedStdin())

    assert main([NOWHERE]) == 130
    assert capsys.readouterr().err == ""


def test_a_document_that_does_not_parse_exits_2() -> None:
    finished = run_cli_blocking(NOWHERE, "-q", "subscription { ticks(")

    assert finished.returncode == 2
    assert "gql-ws: error: the GraphQL document does not parse at line 1" in finished.stderr


def test_a_missing_init_payload_variable_is_named_and_exits_2() -> None:
    finished = run_cli_blocking(
        NOWHERE, "-q", "{ hello }", "--init-payload", "env:GQL_WS_TEST_UNSET_TOKEN"
    )

    assert finished.returncode == 2
    assert finished.stderr_lines == [
        "gql-ws: error: --init-payload: the environment variable GQL_WS_TEST_UNSET_TOKEN is not set"
    ]


def test_an_unknown_option_exits_2() -> None:
    finished = run_cli_blocking(NOWHERE, "--no-such-option")

    assert finished.returncode == 2
    assert "gql-ws: error: unrecognized arguments: --no-such-option" in finished.stderr


def test_main_returns_2_for_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([NOWHERE, "-q", "{ hello }", "-V", "limit"]) == 2
    assert "-V expects NAME:JSON, got 'limit'" in capsys.readouterr().err


def test_the_console_script_is_installed_and_runs_main() -> None:
    (entry_point,) = (
        entry
        for entry in importlib.metadata.entry_points(group="console_scripts")
        if entry.name == "gql-ws"
    )
    assert entry_point.load() is main
    script = shutil.which("gql-ws", path=str(Path(sys.executable).parent))
    assert script is not None, "gql-ws is not installed beside the interpreter"

    finished = run_cli_blocking("--help", command=[script])

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.startswith("usage: gql-ws")


async def test_an_unexpected_error_is_one_line_and_exits_3(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def connect(self: AIOHTTPWebsocketsTransport) -> None:
        raise RuntimeError("something\nno rule names")

    monkeypatch.setattr(AIOHTTPWebsocketsTransport, "connect", connect)
    arguments = parse_arguments([NOWHERE, "-q", "{ hello }"])
    invocation = build_invocation(arguments, stdin=io.StringIO(), stdout_is_terminal=False)
    stdout, stderr = io.StringIO(), io.StringIO()

    assert await run(invocation, stdout, stderr) == 3
    assert stdout.getvalue() == ""
    assert stderr.getvalue() == "gql-ws: unexpected error: RuntimeError: something no rule names\n"
