"""Draw the reconnection timeline of docs/reconnection.rst as SVG.

    python docs/diagrams/reconnection_timeline.py > docs/_static/reconnection-timeline.svg

One subscription through one lost connection, ``reconnect=`` on: four lanes
(the ``async for``, the transport, the connections, the server) over time,
with the lifecycle events where they happen and the gap shaded.  Plain SVG,
no dependency: the picture is checked in, and building the docs needs nothing.
"""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT = 960, 400
LEFT = 190  # where time starts
RIGHT = WIDTH - 30
LANES = {
    "your async for": 70,
    "transport (events)": 150,
    "connections": 240,
    "server": 320,
}
# Time in arbitrary units, 0 to 100, mapped onto LEFT..RIGHT.
LOSS, RETRY_AT, ACK, RESENT = 34.0, 52.0, 60.0, 63.0

FONT = "font-family='-apple-system,Segoe UI,Helvetica,Arial,sans-serif'"
BLUE, GREEN, RED, GREY, INK = "#2b6cb0", "#2f855a", "#c53030", "#a0aec0", "#1a202c"


def x(t: float) -> float:
    return LEFT + (RIGHT - LEFT) * t / 100


def text(px: float, py: float, words: str, size: int = 12, color: str = INK, **extra: str) -> str:
    attributes = " ".join(f"{name.replace('_', '-')}='{value}'" for name, value in extra.items())
    return (
        f"<text x='{px:.1f}' y='{py:.1f}' font-size='{size}' fill='{color}' {FONT} "
        f"{attributes}>{escape(words)}</text>"
    )


def dot(t: float, lane: str, color: str, label: str = "", above: bool = True) -> list[str]:
    py = LANES[lane]
    parts = [f"<circle cx='{x(t):.1f}' cy='{py}' r='4.5' fill='{color}'/>"]
    if label:
        parts.append(
            text(x(t), py + (-10 if above else 20), label, 11, color, text_anchor="middle")
        )
    return parts


def arrow(t1: float, lane1: str, t2: float, lane2: str, color: str) -> str:
    return (
        f"<line x1='{x(t1):.1f}' y1='{LANES[lane1]}' x2='{x(t2):.1f}' y2='{LANES[lane2]}' "
        f"stroke='{color}' stroke-width='1.3' marker-end='url(#head)'/>"
    )


def draw() -> str:
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {WIDTH} {HEIGHT}' "
        f"width='{WIDTH}' height='{HEIGHT}' role='img' "
        "aria-label='Timeline of a lost connection replaced, its subscription carried over'>",
        "<defs><marker id='head' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' "
        "markerHeight='7' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' "
        f"fill='{GREY}'/></marker></defs>",
        f"<rect width='{WIDTH}' height='{HEIGHT}' fill='white'/>",
        # The gap.
        f"<rect x='{x(LOSS):.1f}' y='30' width='{x(RESENT) - x(LOSS):.1f}' height='{HEIGHT - 70}' "
        "fill='#fff5f5' stroke='#feb2b2' stroke-dasharray='4 3'/>",
        text((x(LOSS) + x(RESENT)) / 2, 24, "the gap", 12, RED, text_anchor="middle"),
        text(x(100), HEIGHT - 12, "time →", 11, GREY, text_anchor="end"),
    ]
    for lane, py in LANES.items():
        parts.append(text(20, py + 4, lane, 13, INK, font_weight="600"))
        parts.append(f"<line x1='{LEFT}' y1='{py}' x2='{RIGHT}' y2='{py}' stroke='#e2e8f0'/>")
    # Connection 1, then connection 2, on the connections lane.
    cy = LANES["connections"]
    parts += [
        f"<rect x='{x(2):.1f}' y='{cy - 7}' width='{x(LOSS) - x(2):.1f}' height='14' rx='3' "
        f"fill='#ebf8ff' stroke='{BLUE}'/>",
        text(x(2), cy + 24, "the connection", 11, BLUE),
        f"<rect x='{x(ACK - 4):.1f}' y='{cy - 7}' width='{x(99) - x(ACK - 4):.1f}' height='14' "
        f"rx='3' fill='#f0fff4' stroke='{GREEN}'/>",
        text(
            x(ACK + 6),
            cy + 24,
            "new connection: sent again, same id and payload",
            11,
            GREEN,
        ),
        text(x(LOSS) + 4, cy + 24, "✕ lost (a drop, 1001, 1012, a late pong…)", 11, RED),
        text(x(RETRY_AT - 14), cy - 14, "waits as the policy says", 11, GREY),
    ]
    # Results before the loss: server -> connection -> async for.
    for t in (8, 16, 24, 31):
        parts.append(arrow(t, "server", t + 1.5, "connections", BLUE))
        parts.append(arrow(t + 1.5, "connections", t + 3, "your async for", BLUE))
    parts += dot(33.5, "your async for", BLUE, "results received before it: all delivered")
    # The events.
    parts += dot(LOSS + 1, "transport (events)", RED, "Disconnected", above=False)
    parts += dot(LOSS + 7, "transport (events)", GREY, "Retrying", above=True)
    parts += dot(RETRY_AT, "transport (events)", GREY, "Connecting", above=False)
    parts += dot(ACK, "transport (events)", GREEN, "Connected", above=True)
    parts += dot(RESENT, "transport (events)", GREEN, "Resubscribed", above=False)
    parts.append(arrow(RESENT, "connections", RESENT + 2, "server", GREEN))
    parts.append(text(x(RESENT) + 6, LANES["server"] + 22, "starts it over", 11, GREEN))
    # What the server would have sent in the gap: not replayed.
    for t in (42, 50, 58):
        parts += dot(t, "server", "#fed7d7")
    parts.append(
        text(
            x(50),
            LANES["server"] + 22,
            "sent in the gap: not replayed",
            11,
            RED,
            text_anchor="middle",
        )
    )
    # Results after.
    for t in (70, 78, 86, 94):
        parts.append(arrow(t, "server", t + 1.5, "connections", GREEN))
        parts.append(arrow(t + 1.5, "connections", t + 3, "your async for", GREEN))
    parts.append(
        text(
            x(83),
            LANES["your async for"] - 14,
            "the same async for goes on",
            11,
            GREEN,
            text_anchor="middle",
        )
    )
    parts.append(
        text(
            x(LOSS + 1),
            LANES["your async for"] + 22,
            "waits (an execute() in flight: ConnectionInterrupted)",
            11,
            GREY,
        )
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    print(draw(), end="")
