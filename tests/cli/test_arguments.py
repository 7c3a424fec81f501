"""The parser of ``gql-ws``: no network, no event loop."""

from __future__ import annotations

import pytest

from gql_aiohttp_websockets.cli.arguments import DEFAULT_RECONNECT_ATTEMPTS, parse_arguments

URL = "wss://example.com/graphql"


def test_defaults() -> None:
    arguments = parse_arguments([URL])

    assert arguments.url == URL
    assert (arguments.query, arguments.file, arguments.operation_name) == (None, None, None)
    assert (arguments.variables, arguments.headers) == ([], [])
    assert (arguments.init_payload, arguments.subprotocol, arguments.output) == (None, None, None)
    assert (arguments.count, arguments.timeout, arguments.reconnect) == (None, None, None)
    assert (arguments.events, arguments.debug) == (False, False)


def test_repeatable_options_keep_their_order() -> None:
    arguments = parse_arguments([URL, "-V", "a:1", "-V", "b:2", "-H", "X-A: 1", "-H", "X-B: 2"])

    assert arguments.variables == ["a:1", "b:2"]
    assert arguments.headers == ["X-A: 1", "X-B: 2"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([URL, "--reconnect"], DEFAULT_RECONNECT_ATTEMPTS),
        ([URL, "--reconnect", "3"], 3),
        ([URL, "--reconnect=0"], 0),
        ([URL, "--reconnect", "--events"], DEFAULT_RECONNECT_ATTEMPTS),
    ],
)
def test_reconnect_attempts(argv: list[str], expected: int) -> None:
    assert parse_arguments(argv).reconnect == expected


def test_renew_every_seconds() -> None:
    assert parse_arguments([URL]).renew_every is None
    assert parse_arguments([URL, "--renew-every", "240"]).renew_every == 240.0


@pytest.mark.parametrize(
    "argv",
    [
        [],
        [URL, "-q", "{ a }", "-f", "doc.graphql"],
        [URL, "--count", "0"],
        [URL, "--count", "two"],
        [URL, "--timeout", "0"],
        [URL, "--timeout", "-1"],
        [URL, "--timeout", "nan"],
        [URL, "--ping-interval", "soon"],
        [URL, "--reconnect", "-1"],
        [URL, "--renew-every", "0"],
        [URL, "--renew-every", "soon"],
        [URL, "--subprotocol", "graphql-sse"],
        [URL, "--output", "yaml"],
    ],
)
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_arguments(argv)

    assert exited.value.code == 2
    assert "gql-ws: error:" in capsys.readouterr().err


def test_help_lists_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_arguments(["--help"])

    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "usage: gql-ws" in out
    for line in ("0   every result", "1   a result", "2   bad usage", "3   the connection"):
        assert line in out
