"""aiohttp's errors and non-text messages, translated to gql's exceptions at one boundary."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import WSMessage, WSMsgType
from gql.transport.exceptions import TransportProtocolError
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from gql_aiohttp_websockets.aiohttp_errors import (
    HANDSHAKE_ERRORS,
    SEND_ERRORS,
    frame_error,
    handshake_error,
    receive_timeout_error,
    send_error,
)
from gql_aiohttp_websockets.exceptions import TransportConnectionClosed, TransportConnectionFailed

URL_WITH_SECRETS = "wss://user:pw@127.0.0.1/graphql?token=secret"


def message(kind: WSMsgType, data: object, extra: object = None) -> WSMessage:
    return WSMessage(kind, data, extra)  # type: ignore[arg-type]


def test_a_close_frame_keeps_its_code_and_reason() -> None:
    error = frame_error(message(WSMsgType.CLOSE, 4401, "who"), "while testing", 10, None)
    assert isinstance(error, TransportConnectionClosed)
    assert (error.code, error.reason, error.retryable) == (4401, "who", False)
    assert str(error) == (
        "the server closed the websocket with code 4401 (Unauthorized), reason 'who' while testing"
    )


@pytest.mark.parametrize("kind", [WSMsgType.CLOSED, WSMsgType.CLOSING])
def test_an_end_without_a_close_frame_is_a_lost_connection(kind: WSMsgType) -> None:
    error = frame_error(message(kind, None), "while testing", 10, None)
    assert isinstance(error, TransportConnectionClosed)
    assert error.code is None
    assert "lost without a close frame while testing" in str(error)


def test_a_binary_frame_is_a_protocol_error() -> None:
    error = frame_error(message(WSMsgType.BINARY, b"\x00\x01"), "while testing", 10, None)
    assert isinstance(error, TransportProtocolError)
    assert "binary frame (2 bytes) while testing" in str(error)


def test_a_message_over_the_limit_names_the_limit() -> None:
    too_big = aiohttp.WebSocketError(aiohttp.WSCloseCode.MESSAGE_TOO_BIG, "too big")
    error = frame_error(message(WSMsgType.ERROR, too_big), "while testing", 1024, None)
    assert isinstance(error, TransportConnectionClosed)
    assert error.code == 1009
    assert "larger than max_msg_size=1024 bytes" in str(error)


def test_an_invalid_frame_is_a_protocol_error() -> None:
    invalid = aiohttp.WebSocketError(aiohttp.WSCloseCode.PROTOCOL_ERROR, "bad opcode")
    error = frame_error(message(WSMsgType.ERROR, invalid), "while testing", 10, None)
    assert isinstance(error, TransportProtocolError)
    assert "invalid websocket frame while testing: bad opcode" in str(error)


def test_a_missed_heartbeat_names_the_heartbeat() -> None:
    timeout = aiohttp.ServerTimeoutError("no pong")
    error = frame_error(message(WSMsgType.ERROR, timeout), "while testing", 10, 2.5)
    assert isinstance(error, TransportConnectionClosed)
    assert "heartbeat=2.5s" in str(error)


def test_a_refused_upgrade_names_the_status_and_no_secret() -> None:
    info = aiohttp.RequestInfo(
        URL(URL_WITH_SECRETS), "GET", CIMultiDictProxy(CIMultiDict()), URL(URL_WITH_SECRETS)
    )
    refused = aiohttp.WSServerHandshakeError(info, (), status=403, message="Forbidden")
    assert isinstance(refused, HANDSHAKE_ERRORS)
    error = handshake_error(refused, URL_WITH_SECRETS)
    assert isinstance(error, TransportConnectionFailed)
    assert str(error) == (
        "the server at wss://127.0.0.1/graphql refused the websocket upgrade: HTTP 403 Forbidden"
    )


def test_an_unreachable_server_names_the_error() -> None:
    error = handshake_error(ConnectionRefusedError(111, "refused"), URL_WITH_SECRETS)
    assert isinstance(error, TransportConnectionFailed)
    assert str(error).startswith("could not open a websocket to wss://127.0.0.1/graphql: ")
    assert "ConnectionRefusedError" in str(error)
    assert "secret" not in str(error)


def test_a_failed_send_names_why_the_connection_ended() -> None:
    cause = TransportConnectionClosed("the server went away", code=1001)
    broken = ConnectionResetError("reset")
    assert isinstance(broken, SEND_ERRORS)
    error = send_error(broken, cause)
    assert str(error) == "could not send to the server: the connection closed: the server went away"
    assert error.__cause__ is cause
    plain = send_error(broken, None)
    assert str(plain) == "could not send to the server: reset"
    assert plain.__cause__ is broken


def test_a_silent_server_is_a_lost_connection() -> None:
    error = receive_timeout_error(7)
    assert isinstance(error, TransportConnectionClosed)
    assert str(error) == "no message arrived from the server within receive_timeout=7s"
