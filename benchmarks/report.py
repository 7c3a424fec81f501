"""Turning raw samples into medians, paired ratios, and the printed tables.

A sample is one runner process: ``{"repeat", "workload", "subprotocol",
"client", "ok", "metrics", "error", "seconds"}``.  Medians are over repeats.  Ratios are
*paired*: within each repeat the client's value is divided by the reference
client's value from the same repeat (they ran back to back), and the table shows
the median of those per-repeat ratios, which cancels drift that a ratio of
medians would not.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FLOOR",
    "GQL",
    "ROWS",
    "Row",
    "format_cpu_share",
    "format_sink",
    "format_subprotocol_table",
    "format_tables",
    "headline",
    "summarize",
    "summarize_subprotocols",
]

GQL = "gql-aiohttp"
FLOOR = "raw-aiohttp"
SINK = "sink"
TRANSPORT_WS = "graphql-transport-ws"
LEGACY = "graphql-ws"
Sample = dict[str, Any]


@dataclass(frozen=True)
class Row:
    """One line of the tables: a metric of a workload."""

    label: str
    workload: str
    metric: str
    unit: str
    higher_is_better: bool
    #: Whether a ratio to the floor means anything (the floor keeps no state per operation).
    floor_ratio: bool = True


ROWS = (
    Row("1 small msgs, bare transport", "small", "msgs_per_s", "msg/s", True),
    Row("1 small msgs, via gql.Client", "small-client", "msgs_per_s", "msg/s", True),
    Row("2 ~10 KB msgs, bare transport", "large", "msgs_per_s", "msg/s", True),
    Row("3 fan-in, msgs/s", "fanin", "msgs_per_s", "msg/s", True),
    Row("3 fan-in, peak RSS growth", "fanin", "peak_growth_mb", "MB", False),
    Row("4 sequential execute, p50", "exec-seq", "p50_us", "µs", False),
    Row("4 sequential execute, p99", "exec-seq", "p99_us", "µs", False),
    Row("4 batch of 200 executes", "exec-batch", "batch_ms", "ms", False),
    Row("5 connect+init+result+close", "connect", "median_ms", "ms", False),
    Row("6 CPU per msg, small (1)", "small", "cpu_us_per_msg", "µs", False),
    Row("6 CPU per msg, small, Client", "small-client", "cpu_us_per_msg", "µs", False),
    Row("6 CPU per msg, ~10 KB (2)", "large", "cpu_us_per_msg", "µs", False),
    Row("7 idle subs, open all (package)", "idle-package", "open_ms", "ms", False),
    Row(
        "7 idle subs, memory (package)",
        "idle-package",
        "kb_per_subscription",
        "KB/sub",
        False,
        False,
    ),
    Row("7 idle subs, open all (Node)", "idle-node", "open_ms", "ms", False),
    Row("7 idle subs, memory (Node)", "idle-node", "kb_per_subscription", "KB/sub", False, False),
)

#: The metric shown in progress lines, by workload.
headline = {
    "small": ("msgs_per_s", "msg/s"),
    "small-client": ("msgs_per_s", "msg/s"),
    "large": ("msgs_per_s", "msg/s"),
    "fanin": ("msgs_per_s", "msg/s"),
    "exec-seq": ("p50_us", "µs p50"),
    "exec-batch": ("batch_ms", "ms/batch"),
    "connect": ("median_ms", "ms"),
    "idle-package": ("open_ms", "ms to open"),
    "idle-node": ("open_ms", "ms to open"),
}


def _values(
    samples: list[Sample],
    workload: str,
    client: str,
    metric: str,
    subprotocol: str | None = None,
) -> dict[int, float]:
    """Return the metric by repeat for one workload and client (successful samples)."""
    values: dict[int, float] = {}
    for sample in samples:
        if subprotocol is not None and sample.get("subprotocol", TRANSPORT_WS) != subprotocol:
            continue
        if sample["ok"] and sample["workload"] == workload and sample["client"] == client:
            value = sample["metrics"].get(metric)
            if isinstance(value, int | float) and not isinstance(value, bool):
                values[sample["repeat"]] = float(value)
    return values


def summarize(samples: list[Sample], clients: list[str]) -> dict[str, Any]:
    """Compute medians, spreads and paired ratios for every row and client."""
    medians: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    spreads: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    ratios: dict[str, dict[str, dict[str, dict[str, float]]]] = {
        GQL: defaultdict(lambda: defaultdict(dict)),
        FLOOR: defaultdict(lambda: defaultdict(dict)),
    }
    metrics = {(row.workload, row.metric) for row in ROWS}
    for workload, metric in sorted(metrics):
        references = {ref: _values(samples, workload, ref, metric) for ref in ratios}
        for client in clients:
            values = _values(samples, workload, client, metric)
            if not values:
                continue
            median = statistics.median(values.values())
            medians[workload][client][metric] = median
            if len(values) > 1 and median:
                spread = (max(values.values()) - min(values.values())) / 2 / abs(median)
                spreads[workload][client][metric] = spread
            for ref, ref_values in references.items():
                paired = [
                    value / ref_values[repeat]
                    for repeat, value in values.items()
                    if ref_values.get(repeat)
                ]
                if paired:
                    ratios[ref][workload][client][metric] = statistics.median(paired)
    return {
        "medians": _plain(medians),
        "spreads": _plain(spreads),
        "ratios_to_gql_aiohttp": _plain(ratios[GQL]),
        "ratios_to_raw_aiohttp": _plain(ratios[FLOOR]),
    }


def summarize_subprotocols(samples: list[Sample], clients: list[str]) -> dict[str, Any]:
    """Compare the legacy subprotocol with graphql-transport-ws, client by client.

    Returns:
        ``{workload: {client: {metric: ratio}}}``, each the median of per-repeat
        ratios legacy / graphql-transport-ws (the two ran in the same repeat);
        empty unless both subprotocols were measured.
    """
    ratios: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for row in ROWS:
        for client in clients:
            modern = _values(samples, row.workload, client, row.metric, TRANSPORT_WS)
            legacy = _values(samples, row.workload, client, row.metric, LEGACY)
            paired = [
                value / modern[repeat] for repeat, value in legacy.items() if modern.get(repeat)
            ]
            if paired:
                ratios[row.workload][client][row.metric] = statistics.median(paired)
    return _plain(ratios)


def _plain(nested: Any) -> Any:
    if isinstance(nested, dict):
        return {key: _plain(value) for key, value in nested.items()}
    return nested


def format_value(value: float, unit: str) -> str:
    """Format a measurement compactly: ``131.2k``, ``227``, ``11.9``, ``0.94``."""
    if unit == "msg/s":
        if value >= 1e6:
            return f"{value / 1e6:.2f}M"
        return f"{value / 1e3:.1f}k"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _lookup(table: dict[str, Any], row: Row, client: str) -> float | None:
    value = table.get(row.workload, {}).get(client, {}).get(row.metric)
    return value if isinstance(value, float) else None


def _table(
    title: str, clients: list[str], cells: dict[tuple[str, str], str], note: str = ""
) -> list[str]:
    label_width = max(len(row.label) for row in ROWS)
    width = max(12, *(len(client) + 1 for client in clients))
    lines = [title + (f"  ({note})" if note else "")]
    header = f"{'workload':<{label_width}}  {'unit':<8}" + "".join(
        f"{client:>{width}}" for client in clients
    )
    lines += [header, "-" * len(header)]
    for row in ROWS:
        if not any((row.label, client) in cells for client in clients):
            continue
        arrow = "↑" if row.higher_is_better else "↓"
        line = f"{row.label:<{label_width}}  {row.unit:<6}{arrow} " + "".join(
            f"{cells.get((row.label, client), '-'):>{width}}" for client in clients
        )
        lines.append(line)
    return lines


def format_tables(summary: dict[str, Any], clients: list[str], repeats: int) -> list[str]:
    """Render the medians table and the two ratio tables."""
    medians, spreads = summary["medians"], summary["spreads"]
    cells: dict[tuple[str, str], str] = {}
    for row in ROWS:
        for client in clients:
            value = _lookup(medians, row, client)
            if value is None:
                continue
            text = format_value(value, row.unit)
            spread = _lookup(spreads, row, client)
            if spread is not None:
                text += f" ±{spread * 100:.0f}%"
            cells[(row.label, client)] = text
    lines = _table(
        f"Medians over {repeats} repeat(s)",
        clients,
        cells,
        "±: half the min-max range, % of the median; ↑/↓: higher/lower is better",
    )
    for key, reference in (
        ("ratios_to_gql_aiohttp", GQL),
        ("ratios_to_raw_aiohttp", FLOOR),
    ):
        ratio_cells = {
            (row.label, client): f"{value:.2f}x"
            for row in ROWS
            for client in clients
            if (row.floor_ratio or reference != FLOOR)
            and (value := _lookup(summary[key], row, client)) is not None
        }
        title = f"Ratios to {reference}"
        note = "median of per-repeat ratios, value / reference: >1 is better on ↑ rows, <1 on ↓"
        lines += ["", *_table(title, clients, ratio_cells, note)]
    return lines


def format_subprotocol_table(ratios: dict[str, Any], clients: list[str]) -> list[str]:
    """Render the legacy / graphql-transport-ws ratios."""
    cells = {
        (row.label, client): f"{value:.2f}x"
        for row in ROWS
        for client in clients
        if (value := _lookup(ratios, row, client)) is not None
    }
    note = "median of per-repeat ratios: >1 is better on ↑ rows, <1 on ↓; 1.00x: no difference"
    return _table(f"{LEGACY} / {TRANSPORT_WS}, each client", clients, cells, note)


def format_sink(samples: list[Sample], summary: dict[str, Any]) -> list[str]:
    """Describe the server's capacity: the raw sink's rate and the fastest client's share."""
    lines = []
    for workload, label in (("small", "small"), ("large", "~10 KB"), ("fanin", "fan-in")):
        rates = _values(samples, workload, SINK, "msgs_per_s")
        if not rates:
            continue
        rate = statistics.median(rates.values())
        mb = statistics.median(_values(samples, workload, SINK, "mb_per_s").values())
        fastest = max(
            (
                client_metrics.get("msgs_per_s", 0.0)
                for client, client_metrics in summary["medians"].get(workload, {}).items()
                if client != SINK
            ),
            default=0.0,
        )
        share = f"; fastest client reaches {fastest / rate:.0%} of it" if fastest else ""
        lines.append(
            f"server send rate, {label} msgs (raw socket sink, no parsing): "
            f"{format_value(rate, 'msg/s')} msg/s, {mb:.0f} MB/s{share}"
        )
        if fastest > rate / 2:
            lines.append("  WARNING: a client gets close to the server's rate; it may be the limit")
    return lines


def format_cpu_share(samples: list[Sample]) -> list[str]:
    """Say how much of the wall time the client processes got the CPU while streaming.

    A single-threaded client streaming from a local server should be busy close to
    100% of the time; much less means other load took the cores, and throughput
    figures are then noisier than the CPU-per-message ones.
    """
    shares = [
        sample["metrics"]["cpu_s"] / sample["metrics"]["wall_s"]
        for sample in samples
        if sample["ok"]
        and sample["client"] != SINK
        and sample["metrics"].get("wall_s")
        and "cpu_s" in sample["metrics"]
    ]
    if not shares:
        return []
    median = statistics.median(shares)
    line = (
        f"client CPU share while streaming (cpu/wall): median {median:.0%}, min {min(shares):.0%}"
    )
    if median < 0.8:
        line += (
            " -- other load competes for the cores: msg/s figures are noisy, "
            "CPU per msg (6) is steadier"
        )
    return [line]
