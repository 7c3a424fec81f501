"""The interface every subprotocol handler implements, and the events it emits.

A handler is sans-I/O: it knows one subprotocol's messages and nothing about
sockets, tasks or clocks.  The transport hands it intentions (start an
operation, stop it, ping) and gets back the text frames to send; it hands it
each received text frame and gets back one typed event.  Every difference
between the subprotocols lives in a handler, so the transport never looks at a
subprotocol name.
"""

from __future__ import annotations

import functools
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from json.scanner import make_scanner
from typing import Any, ClassVar, TypeAlias

from gql.transport.exceptions import TransportProtocolError
from graphql import ExecutionResult

from ..request_payload import ReusedPayload

__all__ = [
    "Ack",
    "Complete",
    "ConnectionRejected",
    "Event",
    "JsonDeserializer",
    "JsonSerializer",
    "KeepAlive",
    "Next",
    "OperationError",
    "Ping",
    "Pong",
    "ProtocolHandler",
    "ServerNotice",
    "elide",
]

JsonSerializer: TypeAlias = Callable[[Any], str]
JsonDeserializer: TypeAlias = Callable[[str], Any]

#: How many checked ids a handler remembers (a connection's running operations).
_ID_CACHE_SIZE = 4096
#: How many encoded payloads of repeated requests a handler keeps.
_PAYLOAD_CACHE_SIZE = 256

#: JSON's whitespace, which is narrower than the regular expression ``\\s``.
_JSON_SPACE = " \t\n\r"
_WS = "[ \t\n\r]*"


@functools.cache
def _envelope_pattern(result_type: str) -> re.Pattern[str]:
    # A result frame whose id and type come first (in either order) and whose
    # payload comes last, up to the payload's first character: the layout of
    # every server seen (graphql-ws, subscriptions-transport-ws, Python ones).
    kind = f'"type"{_WS}:{_WS}"{re.escape(result_type)}"'
    op_id = f'"id"{_WS}:{_WS}"([0-9]{{1,18}})"'
    return re.compile(
        f"\\{{{_WS}(?:{op_id}{_WS},{_WS}{kind}|{kind}{_WS},{_WS}{op_id})"
        f'{_WS},{_WS}"payload"{_WS}:{_WS}'
    )


#: Longest piece of a received frame quoted in an error message or a log line.
ELIDE_AT = 200
#: Longest quote of one value of a frame (its type, its id) in an error message.
_QUOTED_VALUE_LIMIT = 60


def elide(text: str, limit: int = ELIDE_AT) -> str:
    """Cut ``text`` to at most ``limit`` characters for messages and logs.

    Args:
        text: The text to shorten.
        limit: The largest length kept; longer text keeps its head and tail.
            A limit shorter than the marker (about 20 characters) keeps
            only the marker.

    Returns:
        ``text`` itself when short enough, else its head and tail around a
        marker saying how much was left out.
    """
    if len(text) <= limit:
        return text
    # Size the marker for the largest count it can show, so head + marker + tail
    # never exceeds the limit.
    marker_length = len("...< chars>...") + len(str(len(text)))
    keep = max((limit - marker_length) // 2, 0)
    return f"{text[:keep]}...<{len(text) - 2 * keep} chars>...{text[len(text) - keep :]}"


@dataclass(frozen=True, slots=True)
class Ack:
    """``connection_ack``: the server accepted ``connection_init``."""

    payload: Any = None


# Not frozen: one is built per received result, and a frozen dataclass's
# __init__ costs three times as much.
@dataclass(slots=True)
class Next:
    """One result (``next``, or ``data`` in the legacy protocol) for an operation."""

    op_id: int
    result: ExecutionResult


@dataclass(frozen=True, slots=True)
class OperationError:
    """``error``: the operation failed as a whole; no result or ``complete`` follows."""

    op_id: int
    errors: list[Any]


@dataclass(frozen=True, slots=True)
class Complete:
    """``complete``: the server finished the operation."""

    op_id: int


@dataclass(frozen=True, slots=True)
class Ping:
    """``ping`` from the server; answer it with a ``pong``."""

    payload: Any = None


@dataclass(frozen=True, slots=True)
class Pong:
    """``pong`` from the server."""

    payload: Any = None


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """``ka``: the legacy protocol's server keep-alive."""


@dataclass(frozen=True, slots=True)
class ConnectionRejected:
    """``connection_error``: the server refused the connection (legacy protocol)."""

    payload: Any = None


@dataclass(frozen=True, slots=True)
class ServerNotice:
    """A connection-level complaint that names no operation.

    The legacy reference server answers a message it does not understand with
    an ``error`` that has no ``id``; it does not end the connection.
    """

    payload: Any = None


Event: TypeAlias = (
    Ack
    | Next
    | OperationError
    | Complete
    | Ping
    | Pong
    | KeepAlive
    | ConnectionRejected
    | ServerNotice
)


class ProtocolHandler(ABC):
    """One GraphQL-over-websocket subprotocol, with no I/O.

    Subclasses set :attr:`subprotocol` and implement the frame builders and
    :meth:`receive`.  Frame builders return the text of one frame to send, or
    ``None`` when the subprotocol has no such message.  A subclass that sets
    :attr:`result_type` and implements ``_receive_message`` also gets
    :meth:`route` and :meth:`routed_result`, the receive loop's lazy path for
    results; one that overrides :meth:`receive` as a whole does not (its
    ``route()`` returns ``None``), unless it overrides them too.

    Args:
        json_serialize: Turns a message (a ``dict``) into text.
        json_deserialize: Turns received text into Python values.
    """

    #: The Sec-WebSocket-Protocol value this handler speaks.
    subprotocol: ClassVar[str]
    #: Whether the subprotocol has ``ping``/``pong`` messages.
    supports_ping: ClassVar[bool] = False
    #: Whether to assume this subprotocol when it was offered and the server's
    #: handshake answer names none (old servers that ignore the header).
    assumed_when_unnegotiated: ClassVar[bool] = False
    #: Whether the server answers the client's stop with ``complete``; where
    #: it does not, a stopped operation is complete as soon as the stop is sent.
    stop_is_answered: ClassVar[bool] = True
    #: The close code the client sends after the server broke the protocol.
    protocol_error_close_code: ClassVar[int] = 1002

    #: The ``type`` of a result message, for the fast path of ``receive()``.
    result_type: ClassVar[str] = ""
    #: The ``type`` of the server's ``complete``, for the same fast path.
    complete_type: ClassVar[str] = ""

    __slots__ = (
        "_dumps",
        "_envelope",
        "_id_first_tail",
        "_ids",
        "_loads",
        "_payload_texts",
        "_routable",
        "_scan",
        "_type_first_head",
    )

    def __init__(
        self,
        *,
        json_serialize: JsonSerializer = json.dumps,
        json_deserialize: JsonDeserializer = json.loads,
    ) -> None:
        self._dumps = json_serialize
        self._loads = json_deserialize
        # With the default decoder, call its C scanner directly: json.loads adds
        # two regex matches and two Python frames around it, 40% of its cost on
        # a small frame.  Anything the scanner does not accept whole goes
        # through json.loads, which gives the precise error.
        self._scan: Callable[[str, int], tuple[Any, int]] | None = None
        if json_deserialize is json.loads:
            # typeshed types make_scanner's argument as a scanner, not a decoder.
            decoder: Any = json.JSONDecoder()
            self._scan = make_scanner(decoder)
        # Ids already checked on this connection, as received -> as int.
        self._ids: dict[str, int] = {}
        # id(payload) -> (payload, its JSON), for payloads build_payload reuses.
        self._payload_texts: dict[int, tuple[ReusedPayload, str]] = {}
        # route() must agree with receive(): a receive() of the subclass's own
        # may read results differently.
        self._routable = bool(self.result_type) and type(self).receive is ProtocolHandler.receive
        self._id_first_tail = f'","type":"{self.result_type}","payload":'
        self._type_first_head = f'{{"type":"{self.result_type}","id":"'
        self._envelope: Callable[[str], re.Match[str] | None] = _envelope_pattern(
            self.result_type
        ).match

    def receive(self, text: str) -> Event:
        """Turn one received text frame into one event.

        Raises:
            TransportProtocolError: The frame is not a valid message of this
                subprotocol; the message names the problem and quotes the
                frame, elided.
        """
        message = self._decode(text)
        kind = message.get("type")
        if kind == self.result_type:
            event = self._well_formed_result(message)
            if event is not None:
                return event
        elif kind == self.complete_type and kind:
            # An id this handler issued needs no further checks.
            raw_id = message.get("id")
            op_id = self._ids.get(raw_id) if type(raw_id) is str else None
            if op_id is not None:
                return Complete(op_id)
        return self._receive_message(text, message)

    def route(self, text: str) -> tuple[int, str] | None:
        """Split a result frame into its operation id and its undecoded payload.

        Only the envelope is read: a ``next`` (or legacy ``data``) message
        whose ``id`` and ``type`` come first and whose ``payload`` comes last,
        for an id this handler issued.  The payload is decoded later, by
        :meth:`routed_result`, when the operation's consumer takes it: a
        result waiting in a queue stays compact text that the garbage
        collector does not track, and the results of an operation nobody
        listens to any more are never decoded.

        Returns:
            ``(op_id, payload_text)``, or ``None`` for any other frame: pass
            those to :meth:`receive`.
        """
        if not self._routable:
            return None
        # The two compact layouts, id first (graphql-ws) or type first, with
        # string methods; other spacing goes through the regular expression.
        raw_id = None
        if text.startswith('{"id":"'):
            close = text.find('"', 7)
            tail = self._id_first_tail
            if text.startswith(tail, close):
                raw_id = text[7:close]
                start = close + len(tail)
        else:
            head = self._type_first_head
            if text.startswith(head):
                close = text.find('"', len(head))
                if text.startswith('","payload":', close):
                    raw_id = text[len(head) : close]
                    start = close + 12
        if raw_id is None:
            match = self._envelope(text)
            if match is None:
                return None
            raw_id = match[1] or match[2]
            start = match.end()
        op_id = self._ids.get(raw_id)
        if op_id is None:
            return None
        # Without the envelope's closing brace; anything else after the
        # payload makes routed_result() take the full checks.
        if text.endswith("}"):
            return op_id, text[start:-1]
        body = text.rstrip(_JSON_SPACE)
        return op_id, text[start : len(body) - 1 if body.endswith("}") else len(text)]

    def routed_result(self, op_id: int, payload_text: str) -> ExecutionResult:
        """Decode a payload :meth:`route` split off.

        Returns the same result as :meth:`receive` would have for the whole
        frame, and raises the same error when the payload is not a valid
        GraphQL result.

        Raises:
            TransportProtocolError: The frame is not valid JSON, or its payload
                is not a GraphQL result object.
        """
        payload: Any = None
        scan = self._scan
        try:
            if scan is None:
                payload = self._loads(payload_text)
            else:
                payload, end = scan(payload_text, 0)
                if end != len(payload_text):
                    payload = None
        except Exception:
            pass
        if type(payload) is dict:
            data = payload.get("data")
            errors = payload.get("errors")
            if errors is None:
                if type(data) is dict:
                    return ExecutionResult(data, None, payload.get("extensions"))
            elif type(errors) is list and (data is None or type(data) is dict):
                return ExecutionResult(data, errors, payload.get("extensions"))
        return self._routed_result_slowly(op_id, payload_text)

    def _routed_result_slowly(self, op_id: int, payload_text: str) -> ExecutionResult:
        # Spacing, an unusual result, or something wrong: the full checks of
        # receive(), on the frame put together again (compact), which also
        # name any problem.
        frame = f'{{"id":"{op_id}","type":"{self.result_type}","payload":{payload_text}}}'
        event = self.receive(frame)
        if type(event) is not Next:
            raise self._malformed(frame, "it repeats its 'type' or 'id' with different values")
        return event.result

    def _receive_message(self, text: str, message: dict[str, Any]) -> Event:
        """Turn one decoded message into an event, validating everything.

        Subclasses implement this, or override :meth:`receive` as a whole.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement _receive_message")

    def _wire_id(self, op_id: int) -> str:
        """Return ``op_id`` as sent on the wire, remembering it for the hot path."""
        raw = str(op_id)
        ids = self._ids
        if len(ids) >= _ID_CACHE_SIZE:
            ids.clear()
        ids[raw] = op_id
        return raw

    def _well_formed_result(self, message: dict[str, Any]) -> Next | None:
        # The hot path: a result for an id seen before, with the usual shapes.
        # Anything unusual returns None and goes through the full checks.
        raw_id = message.get("id")
        if type(raw_id) is not str:
            return None
        op_id = self._ids.get(raw_id)
        payload = message.get("payload")
        if op_id is None or type(payload) is not dict:
            return None
        result = self._well_formed_payload(payload)
        return None if result is None else Next(op_id, result)

    @staticmethod
    def _well_formed_payload(payload: dict[str, Any]) -> ExecutionResult | None:
        data = payload.get("data")
        errors = payload.get("errors")
        if errors is None:
            if type(data) is not dict:
                return None
        elif type(errors) is not list or (data is not None and type(data) is not dict):
            return None
        return ExecutionResult(data, errors, payload.get("extensions"))

    def _operation_frame(self, kind: str, op_id: int, payload: Mapping[str, Any]) -> str:
        """Build the message of type ``kind`` starting ``op_id`` with ``payload``."""
        raw_id = self._wire_id(op_id)
        if type(payload) is ReusedPayload:
            # The same query again (no variables): its payload's JSON is kept.
            texts = self._payload_texts
            entry = texts.get(id(payload))
            if entry is None or entry[0] is not payload:
                if len(texts) >= _PAYLOAD_CACHE_SIZE:
                    texts.clear()
                entry = (payload, self._dumps(payload))
                texts[id(payload)] = entry
            return f'{{"id":"{raw_id}","type":"{kind}","payload":{entry[1]}}}'
        return self._dumps({"id": raw_id, "type": kind, "payload": payload})

    def connection_init(self, payload: Mapping[str, Any] | None) -> str:
        """Build ``connection_init`` with the given payload."""
        return self._dumps({"type": "connection_init", "payload": payload})

    @abstractmethod
    def start(self, op_id: int, payload: Mapping[str, Any]) -> str:
        """Build the message that starts operation ``op_id``.

        Args:
            op_id: The operation id, unique among the connection's running
                operations.
            payload: ``{"query": ..., "variables"?: ..., "operationName"?: ...,
                "extensions"?: ...}``.
        """

    @abstractmethod
    def stop(self, op_id: int) -> str:
        """Build the message telling the server the client stopped listening to ``op_id``."""

    def ping(self, payload: Any = None) -> str | None:
        """Build a ``ping``; ``None`` when the subprotocol has none."""
        return None

    def pong(self, payload: Any = None) -> str | None:
        """Build a ``pong``; ``None`` when the subprotocol has none."""
        return None

    def terminate(self) -> str | None:
        """Build the message sent before a normal close; ``None`` when there is none."""
        return None

    # Helpers shared by the concrete handlers.

    def _decode(self, text: str) -> dict[str, Any]:
        scan = self._scan
        if scan is not None:
            try:
                value, end = scan(text, 0)
            except (StopIteration, ValueError, RecursionError):
                pass
            else:
                if end == len(text) and type(value) is dict:
                    return value
        try:
            message = self._loads(text)
        except Exception as exc:
            raise self._malformed(text, "it is not valid JSON") from exc
        if type(message) is not dict:
            raise self._malformed(
                text, f"it is a JSON {_json_kind(message)} where an object is expected"
            )
        return message

    def _malformed(self, text: str, problem: str) -> TransportProtocolError:
        return TransportProtocolError(
            f"the server sent a message that is not valid {self.subprotocol}: {problem}; "
            f"received {elide(repr(text))}"
        )

    @staticmethod
    def _quote(value: object) -> str:
        # A type or id echoed in a message is bounded like the frame itself: a
        # 1 MB "type" must not make a 1 MB exception message.
        return elide(repr(value), _QUOTED_VALUE_LIMIT)

    def _op_id(self, text: str, message: dict[str, Any]) -> int:
        raw = message.get("id")
        if type(raw) is not str:
            if raw is None:
                raise self._malformed(text, f"{_a_message(message['type'])} has no 'id'")
            raise self._malformed(
                text,
                f"the 'id' of {_a_message(message['type'])} is {_a(_json_kind(raw))}, not a string",
            )
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise self._malformed(
                text,
                f"id {self._quote(raw)} is not one this client issues (decimal numbers)",
            )
        op_id = int(raw)
        self._wire_id(op_id)
        return op_id

    def _result(self, text: str, message: dict[str, Any]) -> ExecutionResult:
        payload = message.get("payload")
        if type(payload) is not dict:
            raise self._malformed(
                text,
                f"the payload of {_a_message(message['type'])} is {_a(_json_kind(payload))}, "
                "not a GraphQL result object",
            )
        errors = payload.get("errors")
        if "data" not in payload and errors is None:
            raise self._malformed(
                text,
                f"the payload of {_a_message(message['type'])} has neither 'data' nor 'errors'",
            )
        if errors is not None and type(errors) is not list:
            raise self._malformed(text, "'errors' in a result is not a list")
        data = payload.get("data")
        if data is not None and type(data) is not dict:
            raise self._malformed(text, "'data' in a result is not an object")
        return ExecutionResult(data, errors, payload.get("extensions"))


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _a_message(kind: str) -> str:
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind!r} message"


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
