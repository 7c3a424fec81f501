"""Charts of a benchmark run: one SVG per subprotocol, from the run's JSON.

    python benchmarks/charts.py RESULTS.json OUTDIR

For each row of the tables (``report.ROWS``), a panel of horizontal bars:
one bar per client (ours, gql's transport, the floors), the median of the
run, its value written beside it, and whether more or less is better.  Plain
SVG with no dependency, written as ``bench-<subprotocol>.svg``; ``run.py
--charts DIR`` writes them at the end of a run, and ``docs/benchmarks.rst``
shows the ones of its latest full run.
"""

from __future__ import annotations

import json
import sys
from html import escape
from pathlib import Path
from typing import Any

from report import ROWS, Row, format_value

__all__ = ["chart", "write_charts"]

COLORS = {
    "ours": "#2b6cb0",
    "ours-orjson": "#4299e1",
    "ours-reconnect": "#63b3ed",
    "gql-aiohttp": "#c05621",
    "gql-websockets": "#dd6b20",
    "raw-aiohttp": "#718096",
    "raw-aiohttp-dispatch": "#a0aec0",
}
LABELS = {
    "ours": "ours",
    "gql-aiohttp": "gql's AIOHTTPWebsocketsTransport",
    "gql-websockets": "gql's WebsocketsTransport",
    "raw-aiohttp": "floor: bare aiohttp",
    "raw-aiohttp-dispatch": "floor: aiohttp + dispatch",
}
FONT = "font-family='-apple-system,Segoe UI,Helvetica,Arial,sans-serif'"
WIDTH = 760
LABEL_W = 230  # the row's name, left of the bars
BAR_H, GAP, PANEL_GAP = 11, 2, 16


def _text(x: float, y: float, words: str, size: int = 11, **extra: str) -> str:
    attributes = " ".join(f"{name.replace('_', '-')}='{value}'" for name, value in extra.items())
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' {FONT} {attributes}>"
        f"{escape(words)}</text>"
    )


def _panel(
    row: Row, medians: dict[str, Any], clients: list[str], top: float
) -> tuple[list[str], float]:
    values = {
        client: medians.get(row.workload, {}).get(client, {}).get(row.metric) for client in clients
    }
    shown = [(client, value) for client, value in values.items() if isinstance(value, float)]
    if not shown:
        return [], top
    widest = max(value for _, value in shown) or 1.0
    span = WIDTH - LABEL_W - 90
    better = "more is better" if row.higher_is_better else "less is better"
    parts = [
        _text(8, top + 10, row.label, 12, font_weight="600"),
        _text(8, top + 24, f"{row.unit}, {better}", 10, fill="#718096"),
    ]
    y = top
    for client, value in shown:
        width = max(span * value / widest, 1.0)
        color = COLORS.get(client, "#4a5568")
        parts.append(
            f"<rect x='{LABEL_W}' y='{y:.1f}' width='{width:.1f}' height='{BAR_H}' rx='2' "
            f"fill='{color}'><title>{escape(client)}: {value:.4g} {escape(row.unit)}</title></rect>"
        )
        parts.append(_text(LABEL_W + width + 4, y + BAR_H - 2, format_value(value, row.unit), 10))
        y += BAR_H + GAP
    return parts, max(y, top + 28) + PANEL_GAP


def chart(summary: dict[str, Any], clients: list[str], title: str) -> str:
    """Return the SVG of one subprotocol's medians (``summary[subprotocol]`` of the JSON)."""
    medians = summary["medians"]
    body: list[str] = []
    top = 56.0
    for row in ROWS:
        parts, top = _panel(row, medians, clients, top)
        body += parts
    legend_y = 30
    legend: list[str] = [_text(8, 18, title, 14, font_weight="700")]
    x = 8.0
    for client in clients:
        name = LABELS.get(client, client)
        legend.append(
            f"<rect x='{x:.1f}' y='{legend_y}' width='10' height='10' rx='2' "
            f"fill='{COLORS.get(client, '#4a5568')}'/>"
        )
        legend.append(_text(x + 14, legend_y + 9, name, 11))
        x += 24 + 6.2 * len(name)
    height = int(top + 8)
    return (
        "\n".join(
            [
                f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {WIDTH} {height}' "
                f"width='{WIDTH}' height='{height}' role='img' aria-label='{escape(title)}'>",
                f"<rect width='{WIDTH}' height='{height}' fill='white'/>",
                *legend,
                *body,
                "</svg>",
            ]
        )
        + "\n"
    )


def write_charts(results: dict[str, Any], outdir: Path) -> list[Path]:
    """Write one chart per subprotocol of ``results`` (a run's JSON) into ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    clients = [client for client in results["clients"] if client != "sink"]
    mode = f"{results['mode']} run, {results['repeats']} repeat(s), medians"
    written = []
    for subprotocol, summary in results["summary"].items():
        path = outdir / f"bench-{subprotocol}.svg"
        path.write_text(chart(summary, clients, f"{subprotocol} ({mode})"), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    """``charts.py RESULTS.json OUTDIR``."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    results = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    for path in write_charts(results, Path(argv[1])):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
