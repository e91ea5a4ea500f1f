"""`cmperf calibrate` and `cmperf kernel`: fit reports, one kernel's time, measured rows."""

from __future__ import annotations

from typing import Any

from .common import csv_text, markdown_table, print_heading, rich_table, time_text

CALIBRATE_SCHEMA = "cmperf.calibrate/1"
KERNEL_SCHEMA = "cmperf.kernel/1"
KERNEL_CSV_SCHEMA = "cmperf.kernel-csv/1"

CALIBRATE_COLUMNS = (
    "family",
    "variant",
    "rows fit",
    "rows held out",
    "before median %",
    "before p90 %",
    "after median %",
    "after p90 %",
    "held-out median %",
    "held-out p90 %",
)
# For people: each error as "median / p90" in one cell.
CALIBRATE_TABLE_COLUMNS = (
    "family",
    "variant",
    "rows fit",
    "held out",
    "before: median / p90 %",
    "after: median / p90 %",
    "held out: median / p90 %",
)
_RIGHT = set(CALIBRATE_TABLE_COLUMNS[2:])


def _pct(x: float | None) -> str:
    return "-" if x is None or x != x else f"{x:.1f}"


def calibrate_rows(cal: Any) -> list[list[Any]]:
    rows = []
    for r in cal.reports:
        held = r.holdout or {}
        rows.append(
            [
                r.family,
                r.variant,
                r.n_fit,
                r.n_holdout,
                r.before["median_abs_pct_error"],
                r.before["p90_abs_pct_error"],
                r.after["median_abs_pct_error"],
                r.after["p90_abs_pct_error"],
                held.get("median_abs_pct_error"),
                held.get("p90_abs_pct_error"),
            ]
        )
    return rows


def _text_rows(rows: list[list[Any]]) -> list[list[str]]:
    return [
        [
            str(f),
            str(v),
            str(n_fit),
            str(n_held),
            f"{_pct(b50)} / {_pct(b90)}",
            f"{_pct(a50)} / {_pct(a90)}",
            f"{_pct(h50)} / {_pct(h90)}" if n_held else "-",
        ]
        for f, v, n_fit, n_held, b50, b90, a50, a90, h50, h90 in rows
    ]


def calibrate_record(cal: Any) -> dict:
    families = []
    for r in cal.reports:
        families.append(
            {
                "family": r.family,
                "variant": r.variant,
                "file": r.file,
                "n_fit": r.n_fit,
                "n_holdout": r.n_holdout,
                "before": r.before,
                "after": r.after,
                "holdout": r.holdout,
            }
        )
    overlay = cal.overlay()
    return {
        "schema": CALIBRATE_SCHEMA,
        "hardware": cal.hardware,
        "device": cal.device.name,
        "seed": cal.seed,
        "holdout_fraction": cal.holdout,
        "families": families,
        "parameters": overlay["kernels"],
    }


def calibrate_csv(cal: Any) -> str:
    return csv_text(CALIBRATE_COLUMNS, calibrate_rows(cal))


def calibrate_markdown(cal: Any) -> str:
    return markdown_table(CALIBRATE_TABLE_COLUMNS, _text_rows(calibrate_rows(cal)), _RIGHT)


def render_calibrate(cal: Any, console: Any, written: str | None) -> None:
    title = f"calibration of {cal.device.name} from {cal.folder}"
    if cal.holdout:
        title += f" ({cal.holdout:.0%} held out, seed {cal.seed})"
    console.print(
        rich_table(
            CALIBRATE_TABLE_COLUMNS,
            _text_rows(calibrate_rows(cal)),
            _RIGHT,
            title=title,
            title_justify="left",
            caption="absolute % error of predicted against measured latency; before = the "
            "device spec's defaults, after = fitted parameters on the fitted rows",
        )
    )
    if written:
        console.print(f"wrote {written}")


KERNEL_COLUMNS = ("term", "time")


def kernel_record(family: str, variant: str, shape: dict, t: Any, device: str) -> dict:
    return {
        "schema": KERNEL_SCHEMA,
        "family": family,
        "variant": variant,
        "device": device,
        "shape": {k: _plain(v) for k, v in shape.items()},
        "time_s": float(t.total_s),
        "compute_s": float(t.compute_s),
        "memory_s": float(t.memory_s),
        "comm_s": float(t.comm_s),
        "overhead_s": float(t.overhead_s),
        "bound": t.bound,
    }


def _plain(v: Any) -> Any:
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)


def kernel_rows(t: Any) -> list[list[Any]]:
    return [
        ["time", float(t.total_s)],
        ["compute", float(t.compute_s)],
        ["memory", float(t.memory_s)],
        ["comm", float(t.comm_s)],
        ["overhead", float(t.overhead_s)],
        ["bound", t.bound],
    ]


def kernel_csv(record: dict) -> str:
    keys = ("family", "variant", "time_s", "compute_s", "memory_s", "comm_s", "overhead_s", "bound")
    return csv_text(keys, [[record[k] for k in keys]])


def kernel_markdown(t: Any) -> str:
    rows = [[k, v if isinstance(v, str) else time_text(v)] for k, v in kernel_rows(t)]
    return markdown_table(KERNEL_COLUMNS, rows, {"time"})


def render_kernel(title: str, t: Any, console: Any) -> None:
    print_heading(console, title)
    rows = [[k, v if isinstance(v, str) else time_text(v)] for k, v in kernel_rows(t)]
    console.print(rich_table(KERNEL_COLUMNS, rows, {"time"}, simple_head=True))


ROW_COLUMNS = ("family", "variant", "row", "measured", "predicted", "error %")


def predictions_summary(rows: list[Any]) -> dict:
    import numpy as np

    from ..kernels.fit import summary

    out = summary(np.array([r.predicted_s for r in rows]), np.array([r.measured_s for r in rows]))
    return out | {"n": len(rows)}


def _groups(rows: list[Any]) -> dict[tuple[str, str], list[Any]]:
    groups: dict[tuple[str, str], list[Any]] = {}
    for r in rows:
        groups.setdefault((r.family, r.variant), []).append(r)
    return groups


def predictions_record(rows: list[Any], file: str, device: str) -> dict:
    return {
        "schema": KERNEL_CSV_SCHEMA,
        "file": file,
        "device": device,
        "rows": [
            r.columns
            | {
                "family": r.family,
                "variant": r.variant,
                "row": r.row,
                "measured_s": r.measured_s,
                "predicted_s": r.predicted_s,
            }
            for r in rows
        ],
        "summary": predictions_summary(rows),
        "groups": [
            {"family": f, "variant": v} | predictions_summary(g)
            for (f, v), g in _groups(rows).items()
        ],
    }


def _row_cells(r: Any) -> list[Any]:
    return [
        r.family,
        r.variant,
        r.row,
        r.measured_s,
        r.predicted_s,
        (r.predicted_s / r.measured_s - 1) * 100,
    ]


def predictions_csv(rows: list[Any]) -> str:
    return csv_text(ROW_COLUMNS, [_row_cells(r) for r in rows])


SUMMARY_COLUMNS = ("family", "variant", "rows", "median abs %", "p90 abs %")


def _summary_rows(rows: list[Any]) -> list[list[str]]:
    out = []
    for (f, v), g in _groups(rows).items():
        s = predictions_summary(g)
        out.append(
            [f, v, str(s["n"]), _pct(s["median_abs_pct_error"]), _pct(s["p90_abs_pct_error"])]
        )
    s = predictions_summary(rows)
    out.append(
        ["all", "", str(s["n"]), _pct(s["median_abs_pct_error"]), _pct(s["p90_abs_pct_error"])]
    )
    return out


def predictions_markdown(rows: list[Any]) -> str:
    return markdown_table(SUMMARY_COLUMNS, _summary_rows(rows), set(SUMMARY_COLUMNS[2:]))


def render_predictions(rows: list[Any], console: Any, show_rows: bool, file: str) -> None:
    if show_rows:
        cells = [
            [f, v, str(row), time_text(m), time_text(p), f"{e:+.1f}"]
            for f, v, row, m, p, e in (_row_cells(r) for r in rows)
        ]
        console.print(rich_table(ROW_COLUMNS, cells, set(ROW_COLUMNS[2:]), simple_head=True))
    console.print(
        rich_table(
            SUMMARY_COLUMNS,
            _summary_rows(rows),
            set(SUMMARY_COLUMNS[2:]),
            title=f"{file}: predicted against measured",
            title_justify="left",
        )
    )
