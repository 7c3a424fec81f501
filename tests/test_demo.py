"""examples/demo.py, the README's first command, runs and tells its story."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gql_aiohttp_websockets.testing import scaled_timeout

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.py"


def test_the_demo_survives_two_drops_and_shows_two_errors() -> None:
    done = subprocess.run(
        [sys.executable, str(DEMO)],
        capture_output=True,
        text=True,
        timeout=scaled_timeout(60),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "query result: {'hello': 'Hello demo!'}" in out
    assert out.count("event: Resubscribed(count=1") == 2
    assert "UpgradeRefusedError" in out, "the refused attempt is shown"
    assert "the subscription completed" in out
    assert "caught TransportProtocolError" in out
    assert "caught TransportConnectionClosed: the server closed the websocket with code 4400" in out
    assert out.rstrip().endswith("done")
    assert done.stderr == ""
