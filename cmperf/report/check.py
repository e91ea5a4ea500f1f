"""`cmperf check`: figures of re-run baselines against the recorded ones (the JSON record is
baseline.check_record)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..units import Dimension, format_quantity
from .common import csv_text, esc, markdown_table, rich_table, time_text

CHECK_COLUMNS = ("figure", "baseline", "now", "change", "status")
_RIGHT = set(CHECK_COLUMNS) - {"figure"}
CHECK_CSV_COLUMNS = ("baseline_file", "scenario", "figure", "baseline", "now", "change", "status")


def _figure_value(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    keys = name.split(".")
    if ".requests_per_s." in f".{name}.":
        return f"{value:,.1f} requests/s"
    if any(k.endswith("_s") and not k.endswith("per_s") for k in keys):
        return time_text(value)  # tpot_s, ttft_s, cold_start_s.pool
    if name.endswith("bytes_per_device"):
        return format_quantity(value, Dimension.BYTES)
    if name.endswith("_ratio"):
        return f"{value:,.1f} : 1"
    return f"{value:,.1f} tokens/s"


def _change(change: float | None) -> str:
    return "-" if change is None else f"{100 * change:+.2f} %"


def _check_title(c: Any) -> str:
    overrides = f" --set {' --set '.join(c.baseline.overrides)}" if c.baseline.overrides else ""
    return f"{c.baseline.file}: {c.ran}{overrides}"


def _check_rows(c: Any) -> list[list[str]]:
    return [
        [
            f.name,
            _figure_value(f.name, f.baseline),
            _figure_value(f.name, f.now),
            _change(f.change),
            f.status,
        ]
        for f in c.figures
    ]


def _check_summary(checks: list[Any], rtol: float) -> str:
    figures = sum(len(c.figures) for c in checks)
    failed = [(c, f) for c in checks for f in c.failed]
    head = (
        f"{len(checks)} baseline{'s' * (len(checks) != 1)}, {figures} figures, "
        f"tolerance ±{100 * rtol:g} %: "
    )
    if not failed:
        return head + "all within tolerance"
    names = ", ".join(f"{f.name} ({Path(c.baseline.file).name})" for c, f in failed)
    return head + f"{len(failed)} moved or missing: {names}"


def render_check(checks: list[Any], rtol: float, console: Any) -> None:
    for c in checks:
        table = rich_table(
            CHECK_COLUMNS,
            _check_rows(c),
            _RIGHT,
            status=True,
            simple_head=True,
            no_wrap=True,
            title=esc(_check_title(c)),
            title_justify="left",
        )
        console.print(table)
    console.print(_check_summary(checks, rtol), markup=False)


def check_markdown(checks: list[Any], rtol: float) -> str:
    out = []
    for c in checks:
        out.append(f"### {_check_title(c)}\n")
        out.append(markdown_table(CHECK_COLUMNS, _check_rows(c), _RIGHT))
    out.append(_check_summary(checks, rtol) + "\n")
    return "\n".join(out)


def check_csv(checks: list[Any]) -> str:
    rows = [
        [c.baseline.file, c.ran, f.name, f.baseline, f.now, f.change, f.status]
        for c in checks
        for f in c.figures
    ]
    return csv_text(CHECK_CSV_COLUMNS, rows)
