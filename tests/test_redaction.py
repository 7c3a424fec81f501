"""What log lines and messages show of URLs, frames and the connection_init payload."""

from __future__ import annotations

import pytest

from gql_aiohttp_websockets.protocols.wording import ELIDE_AT
from gql_aiohttp_websockets.redaction import INIT_NOT_LOGGED, frame_for_log, safe_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("wss://user:secret@example.com/graphql?token=t#frag", "wss://example.com/graphql"),
        ("ws://127.0.0.1:8080/graphql", "ws://127.0.0.1:8080/graphql"),
        ("ws://127.0.0.1/graphql?x=1", "ws://127.0.0.1/graphql"),
        # yarl refuses these; they are cut by hand.
        ("ws://user:pw@127.0.0.1:99999/graphql?token=t", "ws://127.0.0.1:99999/graphql"),
        ("ws://a@127.0.0.1:99999#frag", "ws://127.0.0.1:99999"),
    ],
)
def test_urls_lose_their_credentials_query_and_fragment(url: str, shown: str) -> None:
    assert safe_url(url) == shown


def test_a_secret_frame_is_never_shown() -> None:
    frame = '{"type":"connection_init","payload":{"token":"secret"}}'
    assert frame_for_log(frame, secret=True) == INIT_NOT_LOGGED
    assert "secret" not in INIT_NOT_LOGGED


def test_other_frames_are_shown_cut_to_a_bound() -> None:
    assert frame_for_log('{"type":"ping"}') == '{"type":"ping"}'
    long = '{"id":"1","type":"next","payload":"' + "x" * 10_000 + '"}'
    shown = frame_for_log(long)
    assert len(shown) <= ELIDE_AT
    assert shown.startswith('{"id":"1"')
    assert shown.endswith('"}')
