"""``gql-ws`` given bad usage or input: exit status 2 and a message naming what is wrong.

Each fails before any connection is tried, so the URL points at a loopback
port that nothing listens on.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gql_aiohttp_websockets.cli import main
from gql_aiohttp_websockets.testing import scaled_timeout

from .process import child_environment, run_cli_blocking

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

    completed = subprocess.run(
        [script, "--help"],
        capture_output=True,
        text=True,
        env=child_environment(),
        timeout=scaled_timeout(30),
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("usage: gql-ws")
