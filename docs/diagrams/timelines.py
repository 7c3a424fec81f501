"""Draw the timelines of docs/reconnection.rst as SVG: a reconnection and a renewal.

    python docs/diagrams/timelines.py docs/_static

writes ``reconnection-timeline.svg`` (one subscription through one lost
connection, ``reconnect=`` on) and ``renewal-timeline.svg`` (the same
subscription through a renewal: the new connection made before the old one is
let go).  Lanes (the ``async for``, the transport's events, the connections,
the server) over time, with the lifecycle events where they happen.  Plain
SVG, no dependency: the pictures are checked in, and building the docs needs
nothing.
"""

from __future__ import annotations

import sys
from html import escape
from pathlib import Path

WIDTH = 960
LEFT = 190  # where time starts
RIGHT = WIDTH - 30
FONT = "font-family='-apple-system,Segoe UI,Helvetica,Arial,sans-serif'"
BLUE, GREEN, RED, GREY, INK, AMBER = (
    "#2b6cb0",
    "#2f855a",
    "#c53030",
    "#a0aec0",
    "#1a202c",
    "#b7791f",
)


class Canvas:
    """One drawing: named lanes top to bottom, time 0 to 100 from left to right."""

    def __init__(self, lanes: dict[str, int], height: int, label: str) -> None:
        self.lanes = lanes
        self.height = height
        self.parts = [
            f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {WIDTH} {height}' "
            f"width='{WIDTH}' height='{height}' role='img' aria-label='{escape(label)}'>",
            "<defs><marker id='head' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' "
            "markerHeight='7' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' "
            f"fill='{GREY}'/></marker></defs>",
            f"<rect width='{WIDTH}' height='{height}' fill='white'/>",
        ]
        for lane, py in lanes.items():
            self.text(20, py + 4, lane, 13, INK, font_weight="600")
            self.parts.append(
                f"<line x1='{LEFT}' y1='{py}' x2='{RIGHT}' y2='{py}' stroke='#e2e8f0'/>"
            )
        self.text(self.x(100), height - 12, "time →", 11, GREY, text_anchor="end")

    @staticmethod
    def x(t: float) -> float:
        return LEFT + (RIGHT - LEFT) * t / 100

    def text(
        self, px: float, py: float, words: str, size: int = 12, color: str = INK, **extra: str
    ) -> None:
        attributes = " ".join(
            f"{name.replace('_', '-')}='{value}'" for name, value in extra.items()
        )
        self.parts.append(
            f"<text x='{px:.1f}' y='{py:.1f}' font-size='{size}' fill='{color}' {FONT} "
            f"{attributes}>{escape(words)}</text>"
        )

    def note(self, t: float, lane: str, words: str, color: str, dy: int, **extra: str) -> None:
        self.text(self.x(t), self.lanes[lane] + dy, words, 11, color, **extra)

    def dot(self, t: float, lane: str, color: str, label: str = "", above: bool = True) -> None:
        py = self.lanes[lane]
        self.parts.append(f"<circle cx='{self.x(t):.1f}' cy='{py}' r='4.5' fill='{color}'/>")
        if label:
            self.note(t, lane, label, color, -10 if above else 20, text_anchor="middle")

    def arrow(self, t1: float, lane1: str, t2: float, lane2: str, color: str) -> None:
        self.parts.append(
            f"<line x1='{self.x(t1):.1f}' y1='{self.lanes[lane1]}' x2='{self.x(t2):.1f}' "
            f"y2='{self.lanes[lane2]}' stroke='{color}' stroke-width='1.3' "
            "marker-end='url(#head)'/>"
        )

    def bar(self, t1: float, t2: float, lane: str, stroke: str, fill: str) -> None:
        py = self.lanes[lane]
        self.parts.append(
            f"<rect x='{self.x(t1):.1f}' y='{py - 7}' width='{self.x(t2) - self.x(t1):.1f}' "
            f"height='14' rx='3' fill='{fill}' stroke='{stroke}'/>"
        )

    def shade(self, t1: float, t2: float, label: str, stroke: str, fill: str, color: str) -> None:
        # Under the lanes: right after the background.
        self.parts.insert(
            3,
            f"<rect x='{self.x(t1):.1f}' y='30' width='{self.x(t2) - self.x(t1):.1f}' "
            f"height='{self.height - 70}' fill='{fill}' stroke='{stroke}' "
            "stroke-dasharray='4 3'/>",
        )
        self.text((self.x(t1) + self.x(t2)) / 2, 24, label, 12, color, text_anchor="middle")

    def results(self, times: tuple[float, ...], via: str, color: str) -> None:
        """Results from the server through ``via`` to the ``async for``."""
        for t in times:
            self.arrow(t, "server", t + 1.5, via, color)
            self.arrow(t + 1.5, via, t + 3, "your async for", color)

    def svg(self) -> str:
        return "\n".join([*self.parts, "</svg>"]) + "\n"


def reconnection() -> str:
    """One subscription through a lost connection: the gap, and nothing replayed."""
    loss, retry_at, ack, resent = 34.0, 52.0, 60.0, 63.0
    lanes = {"your async for": 70, "transport (events)": 150, "connections": 240, "server": 320}
    c = Canvas(lanes, 400, "Timeline of a lost connection replaced, its subscription carried over")
    c.shade(loss, resent, "the gap", "#feb2b2", "#fff5f5", RED)
    c.bar(2, loss, "connections", BLUE, "#ebf8ff")
    c.note(2, "connections", "the connection", BLUE, 24)
    c.bar(ack - 4, 99, "connections", GREEN, "#f0fff4")
    c.note(ack + 6, "connections", "new connection: sent again, same id and payload", GREEN, 24)
    c.text(
        c.x(loss) + 4,
        lanes["connections"] + 24,
        "✕ lost (a drop, 1001, 1012, a late pong…)",
        11,
        RED,
    )
    c.note(retry_at - 14, "connections", "waits as the policy says", GREY, -14)
    c.results((8, 16, 24, 31), "connections", BLUE)
    c.dot(33.5, "your async for", BLUE, "results received before it: all delivered")
    c.dot(loss + 1, "transport (events)", RED, "Disconnected", above=False)
    c.dot(loss + 7, "transport (events)", GREY, "Retrying")
    c.dot(retry_at, "transport (events)", GREY, "Connecting", above=False)
    c.dot(ack, "transport (events)", GREEN, "Connected")
    c.dot(resent, "transport (events)", GREEN, "Resubscribed", above=False)
    c.arrow(resent, "connections", resent + 2, "server", GREEN)
    c.note(resent, "server", "starts it over", GREEN, 22, dx="6")
    for t in (42, 50, 58):
        c.dot(t, "server", "#fed7d7")
    c.note(50, "server", "sent in the gap: not replayed", RED, 22, text_anchor="middle")
    c.results((70, 78, 86, 94), "connections", GREEN)
    c.note(83, "your async for", "the same async for goes on", GREEN, -14, text_anchor="middle")
    c.note(
        loss + 1,
        "your async for",
        "waits (an execute() in flight: ConnectionInterrupted)",
        GREY,
        22,
    )
    return c.svg()


def renewal() -> str:
    """One subscription through a renewal: both copies run until they line up."""
    start, ack, sent, switch, closed = 30.0, 40.0, 43.0, 52.0, 60.0
    lanes = {
        "your async for": 70,
        "transport (events)": 150,
        "old connection": 230,
        "new connection": 290,
        "server": 360,
    }
    c = Canvas(lanes, 440, "Timeline of a renewal: a new connection before the old one closes")
    c.shade(sent, switch, "overlap: both copies run", "#f6e05e", "#fffff0", AMBER)
    c.bar(2, closed, "old connection", BLUE, "#ebf8ff")
    c.note(2, "old connection", "delivers until the copies line up", BLUE, 24)
    c.note(closed + 1, "old connection", "closed with 1000", BLUE, 4)
    c.bar(start + 2, 99, "new connection", GREEN, "#f0fff4")
    c.note(
        start + 2,
        "new connection",
        "init_payload called again: fresh token; every subscription sent, same id",
        GREEN,
        24,
    )
    c.dot(start, "transport (events)", AMBER, "RenewalStarted")
    c.dot(closed, "transport (events)", GREEN, "Renewed", above=False)
    c.note(ack - 3, "new connection", "ack", GREEN, -12)
    c.arrow(sent, "new connection", sent + 2, "server", GREEN)
    c.results((8, 16, 24, 32, 40, 48), "old connection", BLUE)
    # The switch: the old copy sends the new copy's first result too; the
    # new copy goes on from there, the old copy is stopped.
    c.results((switch - 1.5,), "new connection", GREEN)
    c.dot(switch, "your async for", AMBER, "lined up: each event once", above=True)
    c.arrow(switch + 1.5, "old connection", switch + 3, "server", RED)
    c.note(switch + 3, "server", "old copy stopped", RED, 22)
    c.note(switch - 1, "old connection", "its repeats: dropped", RED, -14)
    c.results((62, 70, 78, 86, 94), "new connection", GREEN)
    c.note(
        80,
        "your async for",
        "the same async for goes on: no gap",
        GREEN,
        -14,
        text_anchor="middle",
    )
    return c.svg()


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/_static")
    (out / "reconnection-timeline.svg").write_text(reconnection())
    (out / "renewal-timeline.svg").write_text(renewal())
