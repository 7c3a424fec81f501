"""The interface every subprotocol handler implements.

A handler is sans-I/O: it knows one subprotocol's messages and the rules of
its conversation, and nothing about sockets, tasks or clocks.  The transport
hands it intentions (start an operation, stop it, ping) and gets back the text
frames to send; it hands it each received text frame and gets back one typed
event (``server_messages.py``), or an error when the frame is malformed or comes out of
turn (``conversation.py``).  Every difference between the subprotocols lives
in a handler, so the transport never looks at a subprotocol name.
"""

from __future__ import annotations

import functools
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from gql.transport.exceptions import TransportProtocolError
from graphql import ExecutionResult

from .conversation import ACCEPTS, OUT_OF_TURN, Phase
from .payloads import ReusedPayload
from .results import (
    JsonDeserializer,
    JsonSerializer,
    execution_result,
    json_decoder,
    result_problem,
)
from .server_messages import Complete, Event, Ignored, Next, describe
from .wording import a_kind, a_message, elide, json_kind, quote

__all__ = ["ProtocolHandler"]

#: How many issued ids a handler remembers (a connection's running operations).
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


class ProtocolHandler(ABC):
    """One GraphQL-over-websocket subprotocol, with no I/O.

    Subclasses set :attr:`subprotocol` and implement the frame builders and
    ``_receive_message``.  Frame builders return the text of one frame to
    send, or ``None`` when the subprotocol has no such message.  A subclass
    that sets :attr:`result_type` also gets :meth:`route` and
    :meth:`routed_result`, the receive loop's lazy path for results; one that
    overrides :meth:`receive` as a whole does not (its ``route()`` returns
    ``None``), unless it overrides them too.

    :meth:`receive` also keeps the conversation's rules (see
    :attr:`phase`): before ``connection_ack`` only ping, pong, keep-alive
    and connection-level messages may arrive, and only one ack.

    Args:
        json_serialize: Turns a message (a ``dict``) into text.
        json_deserialize: Turns received text into Python values.
        agreed: Whether the server's handshake answer named this
            subprotocol; ``False`` when it named none and the subprotocol was
            assumed.  Every protocol error then says so, since a server that
            agreed to nothing may speak another subprotocol.
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
    #: The close code the client sends after the server broke the protocol;
    #: an int, as ``protocols/`` does not depend on the package's ``CloseCode``.
    protocol_error_close_code: ClassVar[int] = 1002  # CloseCode.PROTOCOL_ERROR

    #: The ``type`` of a result message, for the fast path of ``receive()``.
    result_type: ClassVar[str] = ""
    #: The ``type`` of the server's ``complete``, for the same fast path.
    complete_type: ClassVar[str] = ""
    #: Message types the subprotocol does not define that known servers send
    #: with no result in them (``docs/protocols.rst`` lists who sends which):
    #: received, they become :class:`~.server_messages.Ignored`; any other unknown type
    #: is an error.
    ignored_types: ClassVar[frozenset[str]] = frozenset()

    __slots__ = (
        "_accepts",
        "_agreed",
        "_decode_json",
        "_dumps",
        "_envelope",
        "_highest_id",
        "_id_first_tail",
        "_ids",
        "_payload_texts",
        "_phase",
        "_routable",
        "_type_first_head",
    )

    def __init__(
        self,
        *,
        json_serialize: JsonSerializer = json.dumps,
        json_deserialize: JsonDeserializer = json.loads,
        agreed: bool = True,
    ) -> None:
        self._agreed = agreed
        self._dumps = json_serialize
        self._decode_json = json_decoder(json_deserialize)
        self._phase = Phase.AWAITING_ACK
        self._accepts = ACCEPTS[Phase.AWAITING_ACK]
        # The ids this handler issued, as sent -> as int.  Only those: an id
        # the server makes up must not become one the fast paths trust.
        self._ids: dict[str, int] = {}
        # The highest id issued: past the cache, an id up to it still reads
        # as issued (see _issued_id).
        self._highest_id = 0
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

    @property
    def agreed(self) -> bool:
        """Whether the server agreed to this subprotocol, rather than naming none."""
        return self._agreed

    @property
    def phase(self) -> Phase:
        """Where the conversation is, awaiting the ack or acknowledged."""
        return self._phase

    def receive(self, text: str) -> Event:
        """Turn one received text frame into one event.

        Raises:
            TransportProtocolError: The frame is not a valid message of this
                subprotocol, or not one the conversation allows now (a
                result before ``connection_ack``, a second ack); the message
                names the problem and quotes the frame, elided.
        """
        event = self._parse(text)
        phase = self._accepts.get(type(event))
        if phase is None:
            raise TransportProtocolError(
                OUT_OF_TURN[self._phase].format(event=describe(event)) + self._unagreed_note()
            )
        if phase is not self._phase:
            self._phase = phase
            self._accepts = ACCEPTS[phase]
        return event

    def _parse(self, text: str) -> Event:
        message = self._decode(text)
        kind = message.get("type")
        if kind == self.result_type:
            event = self._well_formed_result(message)
            if event is not None:
                return event
        elif kind == self.complete_type and kind:
            # An id this handler issued needs no further checks.
            raw_id = message.get("id")
            op_id = self._issued_id(raw_id) if type(raw_id) is str else None
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
            op_id = self._issued_id(raw_id)
            if op_id is None:
                return None
        # Without the envelope's closing brace; anything else after the
        # payload makes routed_result() take the full checks.
        if text.endswith("}"):
            return op_id, text[start:-1]
        body = text.rstrip(_JSON_SPACE)
        if not body.endswith("}"):
            # Cut short: receive() names the problem, quoting the frame as it came.
            return None
        return op_id, text[start : len(body) - 1]

    def routed_result(self, op_id: int, payload_text: str) -> ExecutionResult:
        """Decode a payload :meth:`route` split off.

        Returns the same result as :meth:`receive` would have for the whole
        frame, and raises the same error when the payload is not a valid
        GraphQL result.

        Raises:
            TransportProtocolError: The frame is not valid JSON, or its payload
                is not a GraphQL result object.
        """
        try:
            result = execution_result(self._decode_json(payload_text))
        except Exception:
            result = None
        if result is not None:
            return result
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
        if op_id > self._highest_id:
            self._highest_id = op_id
        return raw

    def _issued_id(self, raw_id: str) -> int | None:
        # The id as int when this handler issued it: from the cache, else (an
        # id the cache let go of, with thousands running) read from its
        # digits, as issued ids are 1, 2, 3, ... written plainly.
        op_id = self._ids.get(raw_id)
        if op_id is not None:
            return op_id
        if raw_id.isascii() and raw_id.isdigit() and raw_id[0] != "0" and len(raw_id) <= 18:
            number = int(raw_id)
            if number <= self._highest_id:
                return number
        return None

    def _well_formed_result(self, message: dict[str, Any]) -> Next | None:
        # The hot path: a result for an id seen before, with the usual shapes.
        # Anything unusual returns None and goes through the full checks.
        raw_id = message.get("id")
        if type(raw_id) is not str:
            return None
        op_id = self._issued_id(raw_id)
        if op_id is None:
            return None
        result = execution_result(message.get("payload"))
        return None if result is None else Next(op_id, result)

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
        try:
            message = self._decode_json(text)
        except Exception as exc:
            raise self._malformed(text, "it is not valid JSON") from exc
        if type(message) is not dict:
            raise self._malformed(
                text, f"it is a JSON {json_kind(message)} where an object is expected"
            )
        return message

    def _malformed(self, text: str, problem: str) -> TransportProtocolError:
        return TransportProtocolError(
            f"the server sent a message that is not valid {self.subprotocol}: {problem}; "
            f"received {elide(repr(text))}{self._unagreed_note()}"
        )

    def _unagreed_note(self) -> str:
        # The likely cause of the error, when there is one to name.
        if self._agreed:
            return ""
        return (
            f"; the server never agreed to {self.subprotocol!r}: its handshake answer "
            "named no subprotocol, and it may speak another one"
        )

    def _unknown_type(self, text: str, message: dict[str, Any]) -> Ignored:
        """Return :class:`Ignored` for a listed type; raise for any other.

        Raises:
            TransportProtocolError: The type is not a string, or not one of
                :attr:`ignored_types`.
        """
        kind = message.get("type")
        if type(kind) is not str:
            raise self._malformed(text, "it has no string 'type'")
        if kind in self.ignored_types:
            return Ignored(kind)
        raise self._malformed(text, f"unknown message type {self._quote(kind)}")

    @staticmethod
    def _quote(value: object) -> str:
        return quote(value)

    def _op_id(self, text: str, message: dict[str, Any]) -> int:
        raw = message.get("id")
        if type(raw) is not str:
            if raw is None:
                raise self._malformed(text, f"{a_message(message['type'])} has no 'id'")
            raise self._malformed(
                text,
                f"the 'id' of {a_message(message['type'])} is {a_kind(json_kind(raw))}, "
                "not a string",
            )
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise self._malformed(
                text,
                f"id {self._quote(raw)} is not one this client issues (decimal numbers)",
            )
        return int(raw)

    def _result(self, text: str, message: dict[str, Any]) -> ExecutionResult:
        payload = message.get("payload")
        result = execution_result(payload)
        if result is None:
            raise self._malformed(text, result_problem(payload, a_message(message["type"])))
        return result
