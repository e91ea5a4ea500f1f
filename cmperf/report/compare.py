"""`cmperf compare`: deployments side by side, per phase (table, JSON, CSV, markdown)."""

from __future__ import annotations

from typing import Any

from ..specs import PHASE_KINDS
from .common import bytes_text, csv_text, esc, markdown_table, rich_table, time_text

COMPARE_SCHEMA = "cmperf.compare/1"
COMPARE_CSV_COLUMNS = (
    "phase",
    "column",
    "scenario",
    "overrides",
    "throughput_tokens_per_s_per_device",
    "tokens_per_s_per_tflops",
    "peak_format",
    "tokens_per_s_per_tb_s_hbm",
    "latency_s",
    "memory_bytes_per_device",
    "bound",
    "throughput_change",
)


def _figure_record(f: Any) -> dict[str, Any]:
    return {
        "throughput_tokens_per_s_per_device": f.throughput_tokens_per_s,
        "tokens_per_s_per_tflops": f.per_tflops,
        "peak_flop_per_s_per_device": f.peak_flop_per_s,
        "peak_format": f.peak_format,
        "tokens_per_s_per_tb_s_hbm": f.per_tb_s_hbm,
        "hbm_bytes_per_s_per_device": f.hbm_bytes_per_s,
        "latency_s": f.latency_s,
        "memory_bytes_per_device": f.memory_bytes,
        "memory_capacity_bytes_per_device": f.memory_capacity_bytes,
        "bound": f.bound,
    }


def compare_record(c: Any) -> dict[str, Any]:
    return {
        "schema": COMPARE_SCHEMA,
        "columns": [
            {
                "label": col.label,
                "scenario": col.scenario.name,
                "overrides": list(col.scenario.overrides),
            }
            for col in c.columns
        ],
        "phases": {
            phase: [
                None
                if f is None
                else _figure_record(f)
                | {"throughput_change": c.change(phase, "throughput_tokens_per_s", i)}
                for i, f in enumerate(row)
            ]
            for phase, row in c.phases.items()
        },
        "deployment": None
        if c.deployment is None
        else [
            None if d is None else d | {"requests_change": c.deployment_change("requests_per_s", i)}
            for i, d in enumerate(c.deployment)
        ],
    }


def _change_text(change: float | None) -> str:
    return "" if change is None else f" ({100 * change:+.1f} %)"


def _rows(c: Any, phase: str) -> list[list[str]]:
    row = c.phases[phase]
    latency = PHASE_KINDS[phase].step_label

    def cells(metric: str, show: Any) -> list[str]:
        return [
            "-" if f is None else show(f) + _change_text(c.change(phase, metric, i))
            for i, f in enumerate(row)
        ]

    return [
        [
            "tokens/s per device",
            *cells("throughput_tokens_per_s", lambda f: f"{f.throughput_tokens_per_s:,.0f}"),
        ],
        [
            "tokens/s per TFLOPS",
            *cells("per_tflops", lambda f: f"{f.per_tflops:.2f} ({f.peak_format})"),
        ],
        ["tokens/s per TB/s HBM", *cells("per_tb_s_hbm", lambda f: f"{f.per_tb_s_hbm:,.0f}")],
        [latency, *cells("latency_s", lambda f: time_text(f.latency_s))],
        [
            "memory per device",
            *cells(
                "memory_bytes",
                lambda f: f"{bytes_text(f.memory_bytes)} of {bytes_text(f.memory_capacity_bytes)}",
            ),
        ],
        ["bound", *["-" if f is None else f.bound for f in row]],
    ]


def _headers(c: Any) -> list[str]:
    return ["", *[col.label for col in c.columns]]


def _deployment_rows(c: Any) -> list[list[str]]:
    from ..compare import DEPLOYMENT_METRICS

    show = {
        "time": time_text,
        "rate": lambda v: f"{v:,.1f}",
        "ratio": lambda v: f"{v:.1f} : 1",
    }
    rows = [
        [
            label,
            *[
                "-" if d is None else show[kind](d[key]) + _change_text(c.deployment_change(key, i))
                for i, d in enumerate(c.deployment)
            ],
        ]
        for key, (label, kind) in DEPLOYMENT_METRICS.items()
    ]
    rows.insert(3, ["bound", *["-" if d is None else d["bound"] for d in c.deployment]])
    rows.append(["devices", *["-" if d is None else f"{d['devices']:,}" for d in c.deployment]])
    return rows


_DEPLOYMENT_TITLE = "deployment (change against the first column with one)"


def render_compare(c: Any, console: Any) -> None:
    headers = _headers(c)
    for phase in c.phases:
        console.print(
            rich_table(
                [esc(h) for h in headers],
                _rows(c, phase),
                set(headers[1:]),
                title=f"{phase}: per device (change against the first column with {phase})",
                title_justify="left",
            )
        )
    if c.deployment is not None:
        console.print(
            rich_table(
                [esc(h) for h in headers],
                _deployment_rows(c),
                set(headers[1:]),
                title=_DEPLOYMENT_TITLE,
                title_justify="left",
            )
        )


def compare_markdown(c: Any) -> str:
    parts = []
    headers = _headers(c)
    for phase in c.phases:
        parts.append(f"### {phase}\n\n{markdown_table(headers, _rows(c, phase), set(headers[1:]))}")
    if c.deployment is not None:
        table = markdown_table(headers, _deployment_rows(c), set(headers[1:]))
        parts.append(f"### {_DEPLOYMENT_TITLE}\n\n{table}")
    return "\n\n".join(parts) + "\n"


def compare_csv(c: Any) -> str:
    """One row per column and phase: the JSON record's figures under the same names."""
    record = compare_record(c)
    figures = COMPARE_CSV_COLUMNS[4:]  # after phase, column, scenario, overrides
    rows = [
        [phase, col["label"], col["scenario"], col["overrides"], *(f[key] for key in figures)]
        for phase, entries in record["phases"].items()
        for col, f in zip(record["columns"], entries, strict=True)
        if f is not None
    ]
    return csv_text(COMPARE_CSV_COLUMNS, rows)
