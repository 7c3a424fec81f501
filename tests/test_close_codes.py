"""classify_close_code and the close-code exception."""

from __future__ import annotations

import pytest
from gql.transport.exceptions import TransportClosed

from gql_aiohttp_websockets import (
    CloseCode,
    TransportConnectionClosed,
    classify_close_code,
)
from tests.gql_compat import CLOSED_BY_SERVER


@pytest.mark.parametrize(
    ("code", "meaning", "retryable"),
    [
        (1000, "Normal Closure", True),
        (1001, "Going Away", True),
        (1006, "Abnormal Closure", True),
        (1009, "Message Too Big", False),
        (1011, "Internal Error", True),
        (4400, "Bad Request", False),
        (4401, "Unauthorized", False),
        (4403, "Forbidden", True),
        (4406, "Subprotocol Not Acceptable", False),
        (4408, "Connection Initialisation Timeout", True),
        (4409, "Subscriber Already Exists", False),
        (4429, "Too Many Initialisation Requests", False),
        (4500, "Internal Server Error", False),
        (4504, "Connection Acknowledgement Timeout", True),
        (4999, "Application Error", False),
        (3000, "Unknown", False),
        (None, "Connection Lost", True),
    ],
)
def test_classification(code: int | None, meaning: str, retryable: bool) -> None:
    info = classify_close_code(code)
    assert (info.code, info.meaning, info.retryable) == (code, meaning, retryable)


def test_the_exception_is_what_gql_users_catch() -> None:
    error = TransportConnectionClosed.from_close(
        4409, "Subscriber for 1 already exists", context=""
    )
    assert isinstance(error, CLOSED_BY_SERVER)
    assert isinstance(error, ConnectionResetError)
    assert error.code == 4409
    assert error.reason == "Subscriber for 1 already exists"
    assert error.retryable is False
    assert "4409 (Subscriber Already Exists)" in str(error)
    try:
        from gql.transport.exceptions import TransportConnectionFailed as GqlFailed
    except ImportError:  # gql 3.5: not a TransportClosed, as gql 3.x's own class
        assert not isinstance(error, TransportClosed)
    else:
        assert isinstance(error, GqlFailed)


def test_every_named_code_is_classified_under_its_name() -> None:
    for code in CloseCode:
        info = classify_close_code(code)
        assert info.code == code
        assert info.meaning == code.meaning == code.name.replace("_", " ").title()


def test_close_codes_compare_as_the_integers_on_the_wire() -> None:
    assert CloseCode.NORMAL_CLOSURE == 1000
    assert CloseCode(4499) is CloseCode.TERMINATED
    assert CloseCode.BAD_RESPONSE.meaning == "Bad Response"
