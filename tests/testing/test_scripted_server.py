"""ScriptedWebsocketServer: scripts drive the server end of each connection."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from gql_aiohttp_websockets.testing import (
    ScriptedConnection,
    ScriptedWebsocketServer,
    WebsocketClosed,
    scaled_timeout,
)

from .conftest import LEGACY, TRANSPORT_WS, Connect


async def test_script_answers_init_and_sends_anything(connect: Connect) -> None:
    async def script(conn: ScriptedConnection) -> None:
        assert await conn.accept_init({"server": "scripted"}) == {"token": "t"}
        await conn.send_json({"type": "next", "id": "not-started", "payload": {}})
        await conn.send_text("garbage {")
        await conn.send_bytes(b"\x00\x01")

    async with ScriptedWebsocketServer(script) as server:
        client = await connect(server.url, (TRANSPORT_WS,))
        assert client.subprotocol == TRANSPORT_WS
        assert await client.init({"token": "t"}) == {
            "type": "connection_ack",
            "payload": {"server": "scripted"},
        }
        assert await client.receive() == {"type": "next", "id": "not-started", "payload": {}}
        text = await client.ws.receive(timeout=scaled_timeout(5))
        assert text.data == "garbage {"
        binary = await client.ws.receive(timeout=scaled_timeout(5))
        assert (binary.type, binary.data) == (aiohttp.WSMsgType.BINARY, b"\x00\x01")
        record = server.connections[0]
        assert record.init_payload == {"token": "t"}
        assert record.sent == [
            {"type": "connection_ack", "payload": {"server": "scripted"}},
            {"type": "next", "id": "not-started", "payload": {}},
        ]


async def test_script_reads_text_json_and_binary_frames(connect: Connect) -> None:
    got: list[object] = []

    async def script(conn: ScriptedConnection) -> None:
        got.append(await conn.receive_json())
        got.append(await conn.receive_text())
        got.append(await conn.receive_frame())
        await conn.send_json({"type": "done"})

    async with ScriptedWebsocketServer(script) as server:
        client = await connect(server.url, (LEGACY,))
        await client.send({"type": "start"})
        await client.send_text("plain")
        await client.ws.send_bytes(b"raw")
        assert await client.receive() == {"type": "done"}
    assert got == [{"type": "start"}, "plain", b"raw"]
    assert server.connections[0].frames == ['{"type": "start"}', "plain", b"raw"]


@pytest.mark.parametrize(("code", "reason"), [(4400, "bad"), (1011, ""), (4999, "x" * 200)])
async def test_close_sends_code_and_reason(connect: Connect, code: int, reason: str) -> None:
    async def script(conn: ScriptedConnection) -> None:
        await conn.close(code, reason)

    async with ScriptedWebsocketServer(script) as server:
        client = await connect(server.url)
        received_code, received_reason = await client.receive_close()
        assert received_code == code
        assert received_reason == reason[:123]
        record = server.connections[0]
        assert await record.wait_closed(scaled_timeout(5)) == code
        assert record.closed_by == "server"


async def test_drop_cuts_the_connection_without_close_frame(connect: Connect) -> None:
    async def script(conn: ScriptedConnection) -> None:
        await conn.accept_init()
        await conn.drop()

    async with ScriptedWebsocketServer(script) as server:
        client = await connect(server.url)
        await client.init()
        frame = await client.ws.receive(timeout=scaled_timeout(5))
        assert frame.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
        assert client.ws.close_code == 1006
        assert server.connections[0].close_code == 1006


async def test_returning_script_leaves_the_socket_open_and_recording(connect: Connect) -> None:
    async def script(conn: ScriptedConnection) -> None:
        await conn.expect("connection_init")  # and never ack

    async with ScriptedWebsocketServer(script) as server:
        client = await connect(server.url)
        await client.send({"type": "connection_init"})
        await client.send({"type": "ping"})
        record = server.connections[0]
        assert await record.wait_for_type("ping", scaled_timeout(5)) == {"type": "ping"}
        assert not record.closed
        await client.ws.close(code=4321, message=b"client gave up")
        assert await record.wait_closed(scaled_timeout(5)) == 4321
        assert (record.closed_by, record.close_reason) == ("client", "client gave up")


async def test_script_waits_for_the_client_to_close(connect: Connect) -> None:
    codes: list[int | None] = []

    async def script(conn: ScriptedConnection) -> None:
        codes.append(await conn.wait_closed(scaled_timeout(5)))

    async with ScriptedWebsocketServer(script) as server:
        client = await connect(server.url)
        await server.wait_for_connections(1, scaled_timeout(5))
        await client.ws.close()
    assert codes == [1000]


async def test_script_exception_closes_1011_and_is_raised_on_close(connect: Connect) -> None:
    async def script(conn: ScriptedConnection) -> None:
        await conn.expect("subscribe")

    server = await ScriptedWebsocketServer(script).start()
    client = await connect(server.url)
    await client.send({"type": "connection_init"})
    assert await client.receive_close() == (1011, "script raised AssertionError")
    with pytest.raises(AssertionError, match="expected a 'subscribe' message"):
        await server.close()
    assert len(server.handler_errors) == 1


async def test_receive_timeout_is_a_handler_error(connect: Connect) -> None:
    async def script(conn: ScriptedConnection) -> None:
        await conn.receive_json(timeout=0.01)

    server = await ScriptedWebsocketServer(script).start()
    client = await connect(server.url)
    assert (await client.receive_close())[0] == 1011
    with pytest.raises(TimeoutError, match="sent nothing"):
        await server.close()


async def test_client_closing_under_a_waiting_script_is_not_an_error(connect: Connect) -> None:
    reached: list[str] = []

    async def script(conn: ScriptedConnection) -> None:
        try:
            await conn.receive_json()
        except WebsocketClosed as closed:
            reached.append(f"closed {closed.code}")
            raise
        with pytest.raises(WebsocketClosed):
            await conn.send_json({"type": "too late"})

    async with ScriptedWebsocketServer(script) as server:
        client = await connect(server.url)
        await server.wait_for_connections(1, scaled_timeout(5))
        await client.ws.close(code=1000)
        await server.connections[0].wait_closed(scaled_timeout(5))
    assert reached == ["closed 1000"]
    assert server.handler_errors == []


async def test_send_after_close_raises_websocket_closed(connect: Connect) -> None:
    outcome: list[str] = []

    async def script(conn: ScriptedConnection) -> None:
        await conn.close(4000, "done")
        try:
            await conn.send_json({"type": "after"})
        except WebsocketClosed as closed:
            outcome.append(str(closed))

    async with ScriptedWebsocketServer(script) as server:
        client = await connect(server.url)
        assert (await client.receive_close())[0] == 4000
        await server.connections[0].wait_closed(scaled_timeout(5))
    assert outcome == ["websocket closed with code 4000 (done)"]


async def test_no_subprotocol_is_left_to_the_script(connect: Connect) -> None:
    seen: list[str | None] = []

    async def script(conn: ScriptedConnection) -> None:
        seen.append(conn.subprotocol)
        await conn.close(4406, "Subprotocol not acceptable")

    async with ScriptedWebsocketServer(script, subprotocols=()) as server:
        client = await connect(server.url, (TRANSPORT_WS, LEGACY))
        assert client.subprotocol is None
        assert await client.receive_close() == (4406, "Subprotocol not acceptable")
    assert seen == [None]


async def test_scripts_still_running_at_close_are_cancelled(connect: Connect) -> None:
    never = asyncio.Event()
    cancelled: list[bool] = []

    async def script(conn: ScriptedConnection) -> None:
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async with ScriptedWebsocketServer(script) as server:
        client = await connect(server.url)
        await server.wait_for_connections(1, scaled_timeout(5))
    assert (await client.receive_close())[0] == 1001
    assert cancelled == [True]
    assert server.handler_errors == []


async def test_one_script_per_connection(connect: Connect) -> None:
    async def script(conn: ScriptedConnection) -> None:
        message = await conn.receive_json()
        await conn.send_json({"echo": message, "protocol": conn.subprotocol})

    async with ScriptedWebsocketServer(script) as server:
        first = await connect(server.url, (TRANSPORT_WS,))
        second = await connect(server.url, (LEGACY,))
        await second.send(2)
        await first.send(1)
        assert await first.receive() == {"echo": 1, "protocol": TRANSPORT_WS}
        assert await second.receive() == {"echo": 2, "protocol": LEGACY}
        assert [record.received for record in server.connections] == [[1], [2]]
