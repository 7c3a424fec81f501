"""Logs that are safe to turn on: secrets never reach a log record or an error message."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from gql_aiohttp_websockets import (
    AIOHTTPWebsocketsTransport,
    TransportConnectionClosed,
    TransportConnectionFailed,
)
from gql_aiohttp_websockets.testing import (
    GraphQLWebsocketServer,
    ScriptedWebsocketServer,
    example_schema,
    scaled_timeout,
)
from tests.helpers import basic_auth, collect, doc, within
from tests.transport.conftest import MakeTransport

SECRET = "s3cr3t-t0ken-9f2b"


class Everything(logging.Handler):
    """Keeps every record of every logger, formatted, arguments included."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + repr(record.exc_info[1])
        self.lines.append(f"{record.name}: {text}")


@pytest.fixture
def captured() -> Any:
    handler = Everything()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)


def secret_free(texts: list[str]) -> None:
    leaking = [text for text in texts if SECRET in text]
    assert not leaking, f"the secret leaked into: {leaking[:3]}"


async def test_all_records_come_from_one_namespace(
    captured: Everything, transport: AIOHTTPWebsocketsTransport
) -> None:
    # The receive loop reads the log level once, when it starts: capture first.
    await within(transport.execute(doc("{ hello }")))
    ours = [line for line in captured.lines if line.startswith("gql_aiohttp_websockets")]
    assert ours, "debug logging shows the frames"
    assert any(">>> " in line for line in ours)
    assert any("<<< " in line for line in ours)


async def test_long_frames_are_cut_in_the_log(
    captured: Everything, transport: AIOHTTPWebsocketsTransport
) -> None:
    long_text = "y" * 50_000
    result = await within(
        transport.execute(doc("query Q($v: String!) { echo(input: $v) }"), {"v": long_text})
    )
    assert result.data == {"echo": long_text}
    ours = [line for line in captured.lines if line.startswith("gql_aiohttp_websockets")]
    assert max(len(line) for line in ours) < 400


async def test_secrets_stay_out_of_logs_and_errors(
    subprotocol: str, make_transport: MakeTransport, captured: Everything
) -> None:
    errors: list[str] = []
    async with GraphQLWebsocketServer(example_schema(), subprotocols=(subprotocol,)) as server:
        transport = make_transport(
            server.url,
            init_payload={"authToken": SECRET},
            headers={"Cookie": f"session={SECRET}"},
            auth=basic_auth("user", SECRET),
        )
        await within(transport.connect())
        assert server.connections[0].init_payload == {"authToken": SECRET}
        data = await collect(transport.subscribe(doc("subscription { countdown(from: 2) }")))
        assert len(data) == 3
        await within(transport.close())

    async def reject(conn: Any) -> None:
        await conn.receive_json()
        await conn.close(4403, "Forbidden")

    async with ScriptedWebsocketServer(reject, subprotocols=(subprotocol,)) as server:
        transport = make_transport(
            server.url.replace("ws://", f"ws://user:{SECRET}@") + f"?token={SECRET}",
            init_payload={"authToken": SECRET},
            headers={"Cookie": f"session={SECRET}"},
        )
        with pytest.raises(TransportConnectionClosed) as rejected:
            await within(transport.connect())
        errors.append(str(rejected.value))
        errors.append(repr(rejected.value))

    transport = make_transport(
        f"ws://user:{SECRET}@127.0.0.1:9/graphql?token={SECRET}",
        init_payload={"authToken": SECRET},
        connect_timeout=scaled_timeout(5),
    )
    with pytest.raises(TransportConnectionFailed) as unreachable:
        await within(transport.connect())
    errors.append(str(unreachable.value))
    secret_free(captured.lines)
    secret_free(errors)
