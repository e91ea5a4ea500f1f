"""`cmperf explain --timeline`: one layer's steady-state schedule as a text Gantt chart, JSON,
CSV and markdown."""

from __future__ import annotations

from typing import Any

from .common import markdown_table, print_heading, rich_table, time_text

TIMELINE_COLUMNS = ("title", "stream", "microbatch", "layer", "start_s", "end_s", "ops")
_LEGEND_COLUMNS = ("stream", "microbatch", "start", "end", "ops")
_LEGEND_RIGHT = {"start", "end"}
_LEGEND_NOTE = "' = the next layer's"

_MB_FILL = ("█", "▒", "▓", "░")  # readable without colour too
_MB_STYLES = (
    "bold white on blue",
    "bold black on green",
    "bold white on magenta",
    "bold black on yellow",
)


def _mb_label(microbatch: int, layer: int) -> str:
    """mb0, mb1, ...; a ' marks a task of the next layer."""
    return f"mb{microbatch}" + ("'" if layer else "")


def timeline_records(title: str, window_s: float, bars: list[Any]) -> dict[str, Any]:
    """One layer's steady-state schedule: the window and every task in it (layer 1: the next)."""
    return {
        "title": title,
        "window_s": window_s,
        "tasks": [
            {
                "stream": b.stream,
                "microbatch": b.microbatch,
                "layer": b.layer,
                "start_s": b.start_s,
                "end_s": b.end_s,
                "ops": [op.name for op, _ in b.task.ops],
            }
            for b in sorted(bars, key=lambda b: (b.stream, b.start_s))
        ],
    }


def timeline_rows(record: dict[str, Any]) -> list[list[Any]]:
    return [
        [record["title"], *(t[c] for c in TIMELINE_COLUMNS[1:-1]), " ".join(t["ops"])]
        for t in record["tasks"]
    ]


def _legend_rows(record: dict[str, Any]) -> list[list[str]]:
    return [
        [
            t["stream"],
            _mb_label(t["microbatch"], t["layer"]),
            time_text(t["start_s"]),
            time_text(t["end_s"]),
            ", ".join(t["ops"]),
        ]
        for t in record["tasks"]
    ]


def _heading(window_s: float) -> str:
    return f"one layer in steady state, {time_text(window_s)}"


def render_timeline(
    title: str, window_s: float, bars: list[Any], console: Any, width: int = 100
) -> None:
    """A text Gantt chart: one row per stream, one coloured span per task and microbatch."""
    from rich.text import Text

    print_heading(console, title, _heading(window_s))
    streams = list(dict.fromkeys(b.stream for b in bars))
    scale = width / window_s
    for stream in streams:
        row = Text("·" * width, style="dim")
        for b in (b for b in bars if b.stream == stream):
            lo, hi = int(b.start_s * scale), max(int(b.start_s * scale) + 1, int(b.end_s * scale))
            fill = _MB_FILL[b.microbatch % len(_MB_FILL)]
            cell = (_mb_label(b.microbatch, b.layer) + fill * (hi - lo))[: hi - lo]
            row = row[:lo] + Text(cell, style=_MB_STYLES[b.microbatch % len(_MB_STYLES)]) + row[hi:]
        console.print(Text(f"{stream:>10} ") + row)
    ticks = 5
    axis = "".join(f"{time_text(window_s * i / ticks):<{width // ticks}}" for i in range(ticks))
    console.print(" " * 11 + axis + time_text(window_s))
    legend = rich_table(
        _LEGEND_COLUMNS,
        _legend_rows(timeline_records(title, window_s, bars)),
        _LEGEND_RIGHT,
        title=f"tasks ({_LEGEND_NOTE})",
        title_justify="left",
        show_edge=False,
    )
    console.print(legend)


def timeline_markdown(record: dict[str, Any]) -> str:
    return (
        f"### {record['title']}: {_heading(record['window_s'])}\n\n"
        + markdown_table(_LEGEND_COLUMNS, _legend_rows(record), _LEGEND_RIGHT)
        + f"\n({_LEGEND_NOTE})\n"
    )
