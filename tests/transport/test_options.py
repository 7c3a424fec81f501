"""Constructor options: what the server (or a proxy) sees, and what the user gets.

Every case runs against a real server on 127.0.0.1: the package's own servers,
or the two small ones below (an HTTP forward proxy, and a websocket peer that
acks and then never says anything again, not even PONG or a close answer).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import json
import ssl
import struct
import warnings
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
import trustme
from multidict import CIMultiDict
from yarl import URL

from gql_aiohttp_websockets import (
    AIOHTTPWebsocketsTransport,
    Overflow,
    TransportConnectionClosed,
    TransportConnectionFailed,
)
from gql_aiohttp_websockets.lifecycle import State
from gql_aiohttp_websockets.testing import (
    GraphQLWebsocketServer,
    ScriptedConnection,
    ScriptedWebsocketServer,
    example_schema,
    scaled_timeout,
)
from tests.gql_compat import CLOSED_BY_SERVER
from tests.helpers import basic_auth, collect, doc, within
from tests.raw_server import RawServer
from tests.stream_server import StreamServer
from tests.transport.conftest import MakeTransport

HELLO = doc("{ hello }")
HELLO_DATA = {"hello": "Hello world!"}
TICKS = doc("subscription { ticks(count: 3) }")
TICKS_DATA = [{"ticks": n} for n in range(3)]
START_TYPE = {"graphql-transport-ws": "subscribe", "graphql-ws": "start"}
NEXT_TYPE = {"graphql-transport-ws": "next", "graphql-ws": "data"}


def assert_nothing_open(transport: AIOHTTPWebsocketsTransport) -> None:
    assert transport.state is State.CLOSED
    assert transport.websocket is None
    assert transport.session is None


def header_values(headers: Any, name: str) -> list[str]:
    """Every value of header ``name`` (case-insensitive), repeated ones included."""
    return [value for key, value in headers.items() if key.lower() == name.lower()]


# ---------------------------------------------------------------- small servers

_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _accept_key(request_head: str) -> str:
    key = ""
    for line in request_head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "sec-websocket-key":
            key = value.strip()
    return base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()


async def _read_client_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read one (masked) client frame; return its opcode and unmasked payload."""
    first, second = await reader.readexactly(2)
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", await reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", await reader.readexactly(8))
    mask = await reader.readexactly(4) if second & 0x80 else b"\0\0\0\0"
    masked = await reader.readexactly(length)
    return first & 0x0F, bytes(byte ^ mask[i % 4] for i, byte in enumerate(masked))


def _server_text_frame(text: str) -> bytes:
    payload = text.encode()
    assert len(payload) < 126
    return bytes([0x81, len(payload)]) + payload


class AckThenSilentServer(StreamServer):
    """Answers the upgrade, acks ``connection_init``, then reads and answers nothing.

    aiohttp-based servers answer PING and close frames by themselves; this one
    does not, which is what heartbeat and close-timeout cases need.
    """

    def __init__(self, subprotocol: str = "graphql-transport-ws") -> None:
        super().__init__()
        self.subprotocol = subprotocol
        self.first_frames: list[tuple[int, bytes]] = []
        self.opcodes_after_ack: list[int] = []
        #: Loop times at which the client's close frame, and then its EOF, arrived.
        self.close_frame_at: float | None = None
        self.eof_at: float | None = None
        self.ended = asyncio.Event()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            answer = (
                "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {_accept_key(head)}\r\n"
                f"Sec-WebSocket-Protocol: {self.subprotocol}\r\n\r\n"
            )
            writer.write(answer.encode())
            self.first_frames.append(await _read_client_frame(reader))
            writer.write(_server_text_frame('{"type":"connection_ack"}'))
            await writer.drain()
            loop = asyncio.get_running_loop()
            while True:  # swallow: no PONG, no close answer, no results
                opcode, _ = await _read_client_frame(reader)
                self.opcodes_after_ack.append(opcode)
                if opcode == 0x8 and self.close_frame_at is None:
                    self.close_frame_at = loop.time()
        except (asyncio.IncompleteReadError, ConnectionError):
            self.eof_at = asyncio.get_running_loop().time()
        finally:
            self.ended.set()
            writer.close()


_HOP_BY_HOP = {"proxy-authorization", "proxy-connection", "x-proxy-token"}


class ForwardProxy(StreamServer):
    """An HTTP forward proxy on 127.0.0.1: absolute-form requests and CONNECT tunnels.

    It records every request head it receives (``heads``), strips the
    proxy-only headers before forwarding an absolute-form request (as real
    proxies do), and relays bytes both ways.
    """

    def __init__(self) -> None:
        super().__init__()
        self.heads: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def head_headers(self, index: int) -> list[tuple[str, str]]:
        lines = self.heads[index].split("\r\n")[1:]
        pairs = [line.partition(":") for line in lines if line]
        return [(name.strip(), value.strip()) for name, _, value in pairs]

    def request_line(self, index: int) -> str:
        return self.heads[index].split("\r\n", 1)[0]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            self.heads.append(head)
            method, target, version = head.split("\r\n", 1)[0].split(" ")
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                up_reader, up_writer = await asyncio.open_connection(host, int(port))
                self.keep(up_writer)
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                url = URL(target)
                assert url.is_absolute(), f"a proxy gets absolute-form targets, not {target!r}"
                assert url.host is not None
                up_reader, up_writer = await asyncio.open_connection(url.host, url.port)
                self.keep(up_writer)
                kept = [
                    line
                    for line in head.split("\r\n")[1:]
                    if line and line.partition(":")[0].strip().lower() not in _HOP_BY_HOP
                ]
                forwarded = [f"{method} {url.raw_path_qs} {version}", *kept]
                up_writer.write(("\r\n".join(forwarded) + "\r\n\r\n").encode("latin-1"))
            await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    @staticmethod
    async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(65536):
                sink.write(chunk)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            sink.close()


# ------------------------------------------------------------------ TLS material

#: A server context, a client context trusting it, and the server certificate (DER).
TLS = tuple[ssl.SSLContext, ssl.SSLContext, bytes]


@pytest.fixture(scope="module")
def tls() -> TLS:
    """A server context, a client context trusting it, and the server cert's DER."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca.configure_trust(client_ctx)
    der = ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
    return server_ctx, client_ctx, der


@pytest.fixture
async def tls_server(tls: TLS, subprotocol: str) -> AsyncIterator[GraphQLWebsocketServer]:
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=(subprotocol,), ssl=tls[0]
    ) as running:
        yield running


# ------------------------------------------------------------ signature/defaults

SEED_DEFAULTS: dict[str, Any] = {
    "subprotocols": None,
    "heartbeat": None,
    "auth": None,
    "origin": None,
    "params": None,
    "headers": None,
    "proxy": None,
    "proxy_auth": None,
    "proxy_headers": None,
    "ssl": None,
    "websocket_close_timeout": 10.0,
    "receive_timeout": None,
    "ssl_close_timeout": 10,
    "connect_timeout": 10,
    "close_timeout": 10,
    "ack_timeout": 10,
    "keep_alive_timeout": None,
    "init_payload": {},
    "ping_interval": None,
    "pong_timeout": None,
    "answer_pings": True,
    "client_session_args": None,
    "connect_args": {},
}
OUR_DEFAULTS: dict[str, Any] = {
    "session": None,
    "json_serialize": json.dumps,
    "json_deserialize": json.loads,
    "max_msg_size": 4 * 1024 * 1024,
    "reconnect": False,
    "on_event": None,
    "max_queued_results": 10_000,
    "on_queue_full": Overflow.FAIL,
    "max_operations_per_connection": None,
    "renew_every": None,
    "tracer_provider": None,
    "meter_provider": None,
    "send_traceparent": False,
    "trace_document": False,
}


def test_signature_has_every_seed_keyword_with_its_default() -> None:
    parameters = inspect.signature(AIOHTTPWebsocketsTransport).parameters
    url = parameters["url"]
    assert url.default is inspect.Parameter.empty
    assert url.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    expected = {**SEED_DEFAULTS, **OUR_DEFAULTS}
    assert set(parameters) == {"url", *expected}
    for name, default in expected.items():
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert parameters[name].default == default, name
        assert type(parameters[name].default) is type(default), name


def test_default_attribute_values() -> None:
    first = AIOHTTPWebsocketsTransport("ws://127.0.0.1:1/graphql")
    second = AIOHTTPWebsocketsTransport("ws://127.0.0.1:1/graphql")
    assert first.url == "ws://127.0.0.1:1/graphql"
    assert first.headers == {}
    assert first.ssl is None
    assert first.init_payload == {}
    assert first.connect_args == {}
    assert first.max_msg_size == 4 * 1024 * 1024
    first.init_payload["token"] = "x"
    first.connect_args["compress"] = 15
    assert second.init_payload == {}
    assert second.connect_args == {}


def test_attributes_keep_their_constructor_values() -> None:
    headers = {"X-One": "1"}
    context = ssl.create_default_context()
    payload = {"token": "secret"}
    connect_args = {"compress": 0}
    transport = AIOHTTPWebsocketsTransport(
        url=URL("ws://127.0.0.1:1/graphql"),
        headers=headers,
        ssl=context,
        init_payload=payload,
        connect_args=connect_args,
    )
    assert transport.url == "ws://127.0.0.1:1/graphql"
    assert transport.headers is headers
    assert transport.ssl is context
    assert transport.init_payload is payload
    assert transport.connect_args is connect_args
    assert AIOHTTPWebsocketsTransport("ws://h/x", ssl=False).ssl is False


# ------------------------------------------------------------ handshake request


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Token": "abc", "X-Multi": "a"},
        [("X-Token", "abc"), ("X-Multi", "a"), ("X-Multi", "b")],
        CIMultiDict([("x-token", "abc"), ("x-multi", "a"), ("x-multi", "b")]),
    ],
    ids=["dict", "list", "cimultidict"],
)
async def test_headers_reach_the_server(
    make_transport: MakeTransport, server: GraphQLWebsocketServer, headers: Any
) -> None:
    transport = make_transport(server.url, headers=headers)
    await within(transport.connect())
    assert (await within(transport.execute(HELLO))).data == HELLO_DATA
    seen = server.connections[0].request_headers
    assert header_values(seen, "X-Token") == ["abc"]
    expected_multi = ["a"] if isinstance(headers, dict) else ["a", "b"]
    assert header_values(seen, "X-Multi") == expected_multi


async def test_origin_auth_and_params_reach_the_server(
    make_transport: MakeTransport, server: GraphQLWebsocketServer
) -> None:
    transport = make_transport(
        server.url,
        origin="https://app.example",
        auth=basic_auth("alice", "s3cret"),
        params={"tenant": "t1", "v": "2"},
    )
    await within(transport.connect())
    assert (await within(transport.execute(HELLO))).data == HELLO_DATA
    record = server.connections[0]
    assert header_values(record.request_headers, "Origin") == ["https://app.example"]
    expected_auth = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert header_values(record.request_headers, "Authorization") == [expected_auth]
    assert dict(record.query) == {"tenant": "t1", "v": "2"}
    assert record.path == "/graphql"


async def test_client_session_args_headers_reach_the_server(
    make_transport: MakeTransport, server: GraphQLWebsocketServer
) -> None:
    transport = make_transport(
        server.url,
        client_session_args={"headers": {"X-Session": "s"}},
        headers={"X-Request": "r"},
    )
    await within(transport.connect())
    seen = server.connections[0].request_headers
    assert header_values(seen, "X-Session") == ["s"]
    assert header_values(seen, "X-Request") == ["r"]


async def test_connect_args_override_headers(
    make_transport: MakeTransport, server: GraphQLWebsocketServer
) -> None:
    transport = make_transport(
        server.url,
        headers={"X-From-Headers": "h"},
        connect_args={"headers": {"X-From-Connect-Args": "c"}},
    )
    await within(transport.connect())
    assert (await within(transport.execute(HELLO))).data == HELLO_DATA
    seen = server.connections[0].request_headers
    assert header_values(seen, "X-From-Connect-Args") == ["c"]
    assert header_values(seen, "X-From-Headers") == []


async def test_url_accepts_a_yarl_url(
    make_transport: MakeTransport, server: GraphQLWebsocketServer
) -> None:
    url = URL(server.url).with_query({"from": "yarl"})
    transport = make_transport(url)  # type: ignore[arg-type]
    assert transport.url == str(url)
    await within(transport.connect())
    assert (await within(transport.execute(HELLO))).data == HELLO_DATA
    assert dict(server.connections[0].query) == {"from": "yarl"}


async def test_response_headers_name_the_subprotocol_and_outlive_the_connection(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    async with GraphQLWebsocketServer(
        example_schema(), subprotocols=(subprotocol,), response_headers={"X-Server": "test"}
    ) as server:
        transport = make_transport(server.url)
        await within(transport.connect())
        assert transport.response_headers["Sec-WebSocket-Protocol"] == subprotocol
        assert transport.response_headers["X-Server"] == "test"
        await within(transport.close())
        assert transport.response_headers["Sec-WebSocket-Protocol"] == subprotocol
        assert transport.response_headers["X-Server"] == "test"


# --------------------------------------------------------------------- session=


async def test_a_user_session_is_used_kept_open_and_reusable(
    make_transport: MakeTransport, server: GraphQLWebsocketServer
) -> None:
    async with aiohttp.ClientSession(headers={"X-Owner": "user"}) as session:
        transport = make_transport(server.url, session=session)
        for round_number in (1, 2):
            await within(transport.connect())
            assert transport.session is session
            assert (await within(transport.execute(HELLO))).data == HELLO_DATA
            await within(transport.close())
            assert transport.session is None
            assert not session.closed, (
                f"the transport closed the user's session (round {round_number})"
            )
        assert [header_values(c.request_headers, "X-Owner") for c in server.connections] == [
            ["user"],
            ["user"],
        ]
        async with session.get(server.url.replace("ws://", "http://")) as response:
            assert response.status == 400  # still usable for plain HTTP too
    assert session.closed


# -------------------------------------------------------------------------- ssl


async def test_tls_with_a_trusting_context(
    make_transport: MakeTransport,
    tls_server: GraphQLWebsocketServer,
    tls: TLS,
) -> None:
    assert tls_server.url.startswith("wss://")
    transport = make_transport(tls_server.url, ssl=tls[1])
    await within(transport.connect())
    assert (await within(transport.execute(HELLO))).data == HELLO_DATA
    assert await collect(transport.subscribe(TICKS)) == TICKS_DATA


async def test_tls_default_verification_rejects_an_unknown_ca(
    make_transport: MakeTransport, tls: TLS
) -> None:
    async with GraphQLWebsocketServer(example_schema(), ssl=tls[0]) as server:
        transport = make_transport(server.url)
        with pytest.raises(TransportConnectionFailed, match="certificate verification") as raised:
            await within(transport.connect())
        assert "CERTIFICATE_VERIFY_FAILED" in str(raised.value)
        assert_nothing_open(transport)
        assert server.connections == []


@pytest.mark.parametrize("mode", ["false", "fingerprint"])
async def test_tls_without_ca_verification(
    make_transport: MakeTransport, tls: TLS, mode: str
) -> None:
    option: Any = False if mode == "false" else aiohttp.Fingerprint(hashlib.sha256(tls[2]).digest())
    async with GraphQLWebsocketServer(example_schema(), ssl=tls[0]) as server:
        transport = make_transport(server.url, ssl=option)
        await within(transport.connect())
        assert (await within(transport.execute(HELLO))).data == HELLO_DATA
        await within(transport.close())
        assert_nothing_open(transport)


async def test_tls_a_wrong_fingerprint_fails(make_transport: MakeTransport, tls: TLS) -> None:
    async with GraphQLWebsocketServer(example_schema(), ssl=tls[0]) as server:
        wrong = aiohttp.Fingerprint(hashlib.sha256(b"not the certificate").digest())
        transport = make_transport(server.url, ssl=wrong)
        with pytest.raises(TransportConnectionFailed, match="could not open a websocket"):
            await within(transport.connect())
        assert_nothing_open(transport)


async def test_ssl_close_timeout_closes_a_tls_connection(
    make_transport: MakeTransport, tls: TLS
) -> None:
    async with GraphQLWebsocketServer(example_schema(), ssl=tls[0]) as server:
        transport = make_transport(server.url, ssl=tls[1], ssl_close_timeout=0.5)
        assert transport.ssl_close_timeout == 0.5
        await within(transport.connect())
        session = transport.session
        assert session is not None
        assert (await within(transport.execute(HELLO))).data == HELLO_DATA
        await within(transport.close(), 5)
        assert_nothing_open(transport)
        assert session.closed
        assert await server.connections[0].wait_closed(scaled_timeout(5)) == 1000


# ------------------------------------------------------------------------ proxy


async def test_ws_through_a_proxy_with_proxy_auth(
    make_transport: MakeTransport, server: GraphQLWebsocketServer
) -> None:
    async with ForwardProxy().running() as proxy:
        transport = make_transport(
            server.url,
            proxy=proxy.url,
            proxy_auth=basic_auth("puser", "ppass"),
            headers={"X-Origin-Server": "yes"},
        )
        await within(transport.connect())
        assert (await within(transport.execute(HELLO))).data == HELLO_DATA
        assert await collect(transport.subscribe(TICKS)) == TICKS_DATA
        # aiohttp sends a ws:// request to the proxy in absolute form, scheme kept.
        assert proxy.request_line(0) == f"GET {server.url} HTTP/1.1"
        at_proxy = proxy.head_headers(0)
        expected_auth = "Basic " + base64.b64encode(b"puser:ppass").decode()
        assert header_values(dict(at_proxy), "Proxy-Authorization") == [expected_auth]
        at_server = server.connections[0].request_headers
        assert header_values(at_server, "Proxy-Authorization") == []
        assert header_values(at_server, "X-Origin-Server") == ["yes"]


async def test_wss_through_a_proxy_tunnel_with_proxy_auth_and_headers(
    make_transport: MakeTransport,
    tls_server: GraphQLWebsocketServer,
    tls: TLS,
) -> None:
    async with ForwardProxy().running() as proxy:
        transport = make_transport(
            tls_server.url,
            ssl=tls[1],
            proxy=URL(proxy.url),
            proxy_auth=basic_auth("puser", "ppass"),
            proxy_headers={"X-Proxy-Token": "pt"},
        )
        await within(transport.connect())
        assert (await within(transport.execute(HELLO))).data == HELLO_DATA
        assert await collect(transport.subscribe(TICKS)) == TICKS_DATA
        assert proxy.request_line(0) == f"CONNECT 127.0.0.1:{tls_server.port} HTTP/1.1"
        at_proxy = dict(proxy.head_headers(0))
        expected_auth = "Basic " + base64.b64encode(b"puser:ppass").decode()
        assert header_values(at_proxy, "Proxy-Authorization") == [expected_auth]
        assert header_values(at_proxy, "X-Proxy-Token") == ["pt"]
        at_server = tls_server.connections[0].request_headers
        assert header_values(at_server, "Proxy-Authorization") == []
        assert header_values(at_server, "X-Proxy-Token") == []


async def test_auth_options_raise_no_aiohttp_deprecation_warning(
    make_transport: MakeTransport, tls: TLS
) -> None:
    # auth= and proxy_auth= are this transport's documented options: a user passing
    # them must not get aiohttp's advice about ws_connect parameters they never used
    # (aiohttp 3.14 deprecates those), whatever the warning filters of the test run.
    async with (
        GraphQLWebsocketServer(example_schema(), ssl=tls[0]) as server,
        ForwardProxy().running() as proxy,
    ):
        transport = make_transport(
            server.url,
            ssl=tls[1],
            auth=basic_auth("alice", "s3cret"),
            proxy=proxy.url,
            proxy_auth=basic_auth("puser", "ppass"),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            await within(transport.connect())
        assert (await within(transport.execute(HELLO))).data == HELLO_DATA
        assert header_values(dict(proxy.head_headers(0)), "Proxy-Authorization") == [
            "Basic " + base64.b64encode(b"puser:ppass").decode()
        ]
        assert header_values(server.connections[0].request_headers, "Authorization") == [
            "Basic " + base64.b64encode(b"alice:s3cret").decode()
        ]


# --------------------------------------------------------------------- timeouts


async def test_connect_timeout_bounds_an_unanswered_handshake(
    make_transport: MakeTransport,
) -> None:
    async with RawServer(answer_handshake=False).running() as server:
        transport = make_transport(server.url, connect_timeout=0.3)
        with pytest.raises(asyncio.TimeoutError):
            await within(transport.connect(), 5)
        assert server.requests[0].startswith("GET /graphql HTTP/1.1")
        assert_nothing_open(transport)


async def test_receive_timeout_fails_a_silent_connection(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    async def ack_then_silent(conn: ScriptedConnection) -> None:
        await conn.accept_init()
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(ack_then_silent, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url, receive_timeout=0.3)
        await within(transport.connect())
        results = transport.subscribe(TICKS)
        with pytest.raises(CLOSED_BY_SERVER, match=r"receive_timeout=0\.3"):
            await collect(results, 5)
        await within(transport.wait_closed(), 5)
        assert_nothing_open(transport)
        assert transport.listeners == {}
        await server.connections[0].wait_closed(scaled_timeout(5))
        assert server.connections[0].messages_of_type(START_TYPE[subprotocol])


@pytest.mark.parametrize(
    "timeouts",
    [{"websocket_close_timeout": 0.3}, {"close_timeout": 0.3}],
    ids=["websocket_close_timeout", "close_timeout"],
)
async def test_close_returns_when_the_server_never_answers_the_close(
    make_transport: MakeTransport, timeouts: dict[str, float]
) -> None:
    async with AckThenSilentServer().running() as server:
        transport = make_transport(server.url, **timeouts)
        await within(transport.connect())
        # Both defaults are 10 s: returning within 5 s shows the option was used.
        await within(transport.close(), 5)
        assert_nothing_open(transport)
        assert 0x8 in server.opcodes_after_ack, "the transport sent no close frame"


async def test_websocket_close_timeout_is_how_long_the_close_answer_is_awaited(
    make_transport: MakeTransport,
) -> None:
    async with AckThenSilentServer().running() as server:
        transport = make_transport(server.url, websocket_close_timeout=0.5)
        await within(transport.connect())
        await within(transport.close(), 5)
        await within(server.ended.wait(), 5)
        assert server.close_frame_at is not None
        assert server.eof_at is not None
        # After its close frame the client keeps the connection open for the server's
        # close frame, up to websocket_close_timeout, and only then drops it.
        assert server.eof_at - server.close_frame_at >= 0.4


# ---------------------------------------------------------------- max_msg_size


async def test_a_message_over_max_msg_size_fails_after_earlier_results(
    make_transport: MakeTransport, subprotocol: str
) -> None:
    async def big_second_result(conn: ScriptedConnection) -> None:
        await conn.accept_init()
        start = await conn.expect(START_TYPE[subprotocol])
        small = {"type": NEXT_TYPE[subprotocol], "id": start["id"], "payload": {"data": {"n": 1}}}
        big = {**small, "payload": {"data": {"n": "x" * 2048}}}
        await conn.send_json(small)
        await conn.send_json(big)
        await conn.wait_closed(scaled_timeout(10))

    async with ScriptedWebsocketServer(big_second_result, subprotocols=(subprotocol,)) as server:
        transport = make_transport(server.url, max_msg_size=1024)
        await within(transport.connect())
        seen: list[Any] = []

        async def consume() -> None:
            async for result in transport.subscribe(doc("subscription { n }")):
                seen.append(result.data)

        with pytest.raises(TransportConnectionClosed, match="max_msg_size=1024") as raised:
            await within(consume(), 5)
        assert seen == [{"n": 1}]
        assert raised.value.code == 1009
        assert isinstance(raised.value, CLOSED_BY_SERVER)
        await within(transport.wait_closed(), 5)
        assert_nothing_open(transport)
        assert await server.connections[0].wait_closed(scaled_timeout(5)) == 1009


# -------------------------------------------------------------------- heartbeat


async def test_heartbeat_without_pong_fails_a_running_subscription(
    make_transport: MakeTransport,
) -> None:
    async with AckThenSilentServer().running() as server:
        transport = make_transport(server.url, heartbeat=0.2)
        await within(transport.connect())
        opcode, init = server.first_frames[0]
        assert opcode == 0x1
        assert json.loads(init)["type"] == "connection_init"
        with pytest.raises(CLOSED_BY_SERVER):
            await collect(transport.subscribe(TICKS), 5)
        await within(transport.wait_closed(), 5)
        assert_nothing_open(transport)
        assert 0x9 in server.opcodes_after_ack, "no PING frame was sent"


async def test_heartbeat_keeps_a_slow_stream_alive(make_transport: MakeTransport) -> None:
    async with GraphQLWebsocketServer(example_schema()) as server:
        transport = make_transport(server.url, heartbeat=0.2)
        await within(transport.connect())
        # Each gap (0.35 s) outlasts a heartbeat period, so PINGs go out and get PONGs.
        data = await collect(
            transport.subscribe(doc("subscription { ticks(count: 3, delay_ms: 350) }"))
        )
        assert data == TICKS_DATA
        assert transport.state is State.OPEN


# -------------------------------------------------------------------- json codec


async def test_orjson_serializer_and_deserializer_are_used(
    make_transport: MakeTransport, server: GraphQLWebsocketServer, subprotocol: str
) -> None:
    serialized: list[Any] = []
    deserialized: list[Any] = []

    def dumps(message: Any) -> str:
        serialized.append(message)
        return orjson.dumps(message).decode()

    def loads(text: str | bytes) -> Any:
        value = orjson.loads(text)
        deserialized.append(value)
        return value

    transport = make_transport(
        server.url, json_serialize=dumps, json_deserialize=loads, init_payload={"k": "é"}
    )
    await within(transport.connect())
    assert (await within(transport.execute(HELLO))).data == HELLO_DATA
    assert (await within(transport.execute(HELLO))).data == HELLO_DATA
    assert await collect(transport.subscribe(TICKS, {"unused": 1})) == TICKS_DATA
    received = server.connections[0].received
    assert [message["type"] for message in received] == [
        "connection_init",
        START_TYPE[subprotocol],
        START_TYPE[subprotocol],
        START_TYPE[subprotocol],
    ]
    # Whole messages, except the payload of a request without variables: it is
    # encoded once, its text kept for the next time.
    assert serialized == [received[0], received[1]["payload"], received[3]]
    assert received[2]["payload"] == received[1]["payload"]
    assert server.connections[0].init_payload == {"k": "é"}
    # Whole frames for the envelope, and each result's payload on its own
    # (decoded when its consumer takes it).
    received_types = [message["type"] for message in deserialized if "type" in message]
    assert received_types[0] == "connection_ack"
    payloads = [message for message in deserialized if "type" not in message]
    assert [payload["data"] for payload in payloads] == [HELLO_DATA, HELLO_DATA, *TICKS_DATA]


@pytest.mark.parametrize("seconds", [0, -1.0])
def test_renew_every_must_be_positive(seconds: float) -> None:
    with pytest.raises(ValueError, match="renew_every must be None or a number of seconds > 0"):
        AIOHTTPWebsocketsTransport(url="ws://127.0.0.1:9/graphql", renew_every=seconds)
