"""`cmperf estimate`: the estimate record (JSON), its tables, markdown and CSV."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..api import Estimate, OpResult, PhaseResult
from ..formulas import first
from .common import (
    bytes_text,
    csv_text,
    flop_text,
    markdown_table,
    print_heading,
    print_long_table,
    rich_table,
    time_text,
)
from .deployment import DEPLOYMENT_COLUMNS, DEPLOYMENT_TITLE, deployment_record, deployment_rows

ESTIMATE_SCHEMA = "cmperf.estimate/1"


def _f(x: Any) -> float:
    return first(x)


def _phases(e: Estimate) -> list[PhaseResult]:
    return e.phases


def op_record(r: OpResult) -> dict[str, Any]:
    op, cost = r.op, r.cost
    return {
        "name": r.name,
        "layer": r.layer,
        "time_s": _f(cost.total_s),
        "compute_s": _f(cost.compute_s),
        "memory_s": _f(cost.memory_s),
        "comm_s": _f(cost.comm_s),
        "overhead_s": _f(cost.overhead_s),
        "bound": cost.bound,
        "stream": r.stream,
        "engine": r.engine or op.engine.value,
        "role": op.engine.value,
        "family": op.family,
        "variant": op.variant,
        "kernel": op.kernel or op.name,
        "runs_per_layer": r.runs_per_layer,
        "flop": _f(op.flop),
        "weight_bytes": _f(op.weight_bytes),
        "act_bytes": _f(op.act_bytes),
        "kv_bytes": _f(op.kv_bytes),
        "comm_bytes": _f(op.comm.bytes_per_rank) if op.comm else 0.0,
        "source": cost.source,
    }


def phase_record(p: PhaseResult) -> dict[str, Any]:
    ranks = p.ranks_per_device
    out: dict[str, Any] = {
        "throughput_tokens_per_s_per_device": _f(p.throughput_tokens_per_s_per_device),
        "step_time_s": _f(p.step_time_s),
    }
    if p.tpot_s is not None:
        out["tpot_s"] = _f(p.tpot_s)
    out["batch_per_device"] = _f(p.batch_per_device)
    out["microbatches"] = p.microbatches
    out["ranks_per_device"] = ranks
    out.update({k: _f(v) for k, v in p.extra.items()})
    out["layers"] = [
        {
            "name": layer.name,
            "count": layer.count,
            "time_s": _f(layer.time_s),
            "streams": _stream_times(p, layer.name),
        }
        for layer in p.layers
    ]
    out["ops"] = [op_record(r) for r in p.ops]
    out["memory_bytes_per_device"] = _f(p.memory.total_bytes) * ranks
    out["memory_capacity_bytes_per_device"] = p.memory.capacity_bytes * ranks
    out["memory_breakdown_bytes_per_device"] = {
        k: _f(v) * ranks for k, v in p.memory.as_dict().items()
    }
    return out


def _stream_times(p: PhaseResult, layer: str) -> list[dict[str, Any]]:
    """Each stream's work on one microbatch of the layer: the sum of its op times."""
    times: dict[str, float] = {}
    for r in p.ops:
        if r.layer == layer:
            times[r.stream] = times.get(r.stream, 0.0) + _f(r.cost.total_s)
    return [{"name": name, "time_per_microbatch_s": t} for name, t in times.items()]


def estimate_record(e: Estimate) -> dict[str, Any]:
    s = e.scenario
    out: dict[str, Any] = {
        "schema": ESTIMATE_SCHEMA,
        "cmperf_version": __version__,
        "scenario": {
            "name": s.name,
            "file": s.file,
            "overrides": list(s.overrides),
            "hardware": s.cluster.name,
            "device": s.cluster.device.name,
            "model": s.model.name,
            "description": s.description,
        },
    }
    for phase in _phases(e):
        out[phase.phase] = phase_record(phase)
    if e.deployment is not None:
        out["deployment"] = deployment_record(e.deployment)
    return out


def _title(e: Estimate) -> tuple[str, str]:
    """The scenario's name, and what runs on what."""
    s = e.scenario
    return s.name, (
        f"{s.model.name} on {s.cluster.name} "
        f"({s.cluster.device.name}, {s.cluster.device.ranks_per_device} ranks per device)"
    )


_SUMMARY_COLUMNS = ("quantity", "value")
_SUMMARY_RIGHT = {"value"}


def _summary_title(p: PhaseResult) -> str:
    return f"{p.phase}: summary (per device)"


def _summary_rows(p: PhaseResult, rec: dict[str, Any]) -> list[list[str]]:
    rows = [["throughput", f"{rec['throughput_tokens_per_s_per_device']:,.0f} tokens/s"]]
    if p.tpot_s is not None:
        rows += [
            ["TPOT", time_text(rec["tpot_s"])],
            ["batch", f"{rec['batch_per_device']:g} sequences"],
            ["tokens emitted per step", f"{rec['tokens_emitted_per_step']:.3g}"],
            ["step time", time_text(rec["step_time_s"])],
        ]
    else:
        rows += [
            ["batch", f"{rec['batch_per_device']:,.0f} tokens"],
            ["batch time (TTFT of the batch)", time_text(rec["step_time_s"])],
        ]
    rows.append(["microbatches", str(p.microbatches)])
    used, cap = rec["memory_bytes_per_device"], rec["memory_capacity_bytes_per_device"]
    parts = ", ".join(
        f"{k} {bytes_text(v)}" for k, v in rec["memory_breakdown_bytes_per_device"].items()
    )
    rows.append(
        ["memory", f"{bytes_text(used)} of {bytes_text(cap)} ({100 * used / cap:.0f} %): {parts}"]
    )
    return rows


LAYER_COLUMNS = ("layer", "count", "time each", "total", "share")
_LAYER_RIGHT = set(LAYER_COLUMNS) - {"layer"}


def _layers_title(p: PhaseResult) -> str:
    return f"{p.phase}: layers"


def _layer_rows(rec: dict[str, Any]) -> list[list[str]]:
    step = rec["step_time_s"]
    rows = []
    for layer in rec["layers"]:
        total = layer["time_s"] * layer["count"]
        rows.append(
            [
                layer["name"],
                str(layer["count"]),
                time_text(layer["time_s"]),
                time_text(total),
                f"{100 * total / step:.1f} %",
            ]
        )
    return rows


OP_COLUMNS = (
    "op",
    "stream",
    "FLOP",
    "bytes",
    "sent",
    "compute",
    "memory",
    "comm",
    "fixed",
    "time",
    "bound",
    "share",
)
_OP_RIGHT = set(OP_COLUMNS) - {"op", "stream", "bound"}
_OPS_CAPTION = (
    "ops identical to one listed for an earlier layer are not repeated; "
    "--format json lists every op"
)


def _ops_title(p: PhaseResult) -> str:
    return f"{p.phase}: ops per rank, one microbatch (a layer runs each {p.microbatches}x)"


def _time_or_dash(seconds: float) -> str:
    return time_text(seconds) if seconds else "-"


def _op_rows(rec: dict[str, Any]) -> list[list[str]]:
    layer_time = {layer["name"]: layer["time_s"] for layer in rec["layers"]}
    shown: set[tuple[str, float]] = set()
    rows = []
    for op in rec["ops"]:
        key = (op["name"].rsplit(".", 1)[-1], op["time_s"])
        if key in shown:
            continue
        shown.add(key)
        per_layer = op["time_s"] * op["runs_per_layer"]
        row = op["layer"]
        share = per_layer / layer_time[row] if layer_time.get(row) else 0.0
        traffic = op["weight_bytes"] + op["act_bytes"] + op["kv_bytes"]
        rows.append(
            [
                op["name"].split(".", 1)[1],
                op["stream"],
                flop_text(op["flop"]),
                bytes_text(traffic),
                bytes_text(op["comm_bytes"]),
                _time_or_dash(op["compute_s"]),
                _time_or_dash(op["memory_s"]),
                _time_or_dash(op["comm_s"]),
                _time_or_dash(op["overhead_s"]),
                time_text(op["time_s"]),
                op["bound"],
                f"{100 * share:.0f} %",
            ]
        )
    return rows


def render_estimate(e: Estimate, console: Any, show_ops: bool = True) -> None:
    s = e.scenario
    print_heading(console, *_title(e))
    if s.overrides:
        console.print("overrides: " + ", ".join(s.overrides), markup=False)
    for p in _phases(e):
        rec = phase_record(p)
        summary = rich_table(
            _SUMMARY_COLUMNS,
            _summary_rows(p, rec),
            _SUMMARY_RIGHT,
            title=_summary_title(p),
            show_header=False,
            title_justify="left",
        )
        console.print(summary)
        layers = rich_table(
            LAYER_COLUMNS,
            _layer_rows(rec),
            _LAYER_RIGHT,
            title=_layers_title(p),
            title_justify="left",
        )
        console.print(layers)
        if show_ops:
            print_long_table(
                console, OP_COLUMNS, _op_rows(rec), _OP_RIGHT, _ops_title(p), _OPS_CAPTION
            )
    if e.deployment is not None:
        console.print(
            rich_table(
                DEPLOYMENT_COLUMNS,
                deployment_rows(e.deployment),
                {"value"},
                title=DEPLOYMENT_TITLE,
                show_header=False,
                title_justify="left",
            )
        )


def estimate_markdown(e: Estimate, show_ops: bool = True) -> str:
    """The table view as GitHub markdown: summary, layers and (unless show_ops is off) ops."""
    s = e.scenario
    out = ["## {}: {}\n".format(*_title(e))]
    if s.overrides:
        out.append("overrides: " + ", ".join(f"`{o}`" for o in s.overrides) + "\n")
    for p in _phases(e):
        rec = phase_record(p)
        out.append(f"### {_summary_title(p)}\n")
        out.append(markdown_table(_SUMMARY_COLUMNS, _summary_rows(p, rec), _SUMMARY_RIGHT))
        out.append(f"### {_layers_title(p)}\n")
        out.append(markdown_table(LAYER_COLUMNS, _layer_rows(rec), _LAYER_RIGHT))
        if show_ops:
            out.append(f"### {_ops_title(p)}\n")
            out.append(markdown_table(OP_COLUMNS, _op_rows(rec), _OP_RIGHT))
            out.append(f"{_OPS_CAPTION[0].upper()}{_OPS_CAPTION[1:]}.\n")
    if e.deployment is not None:
        out.append(f"### {DEPLOYMENT_TITLE}\n")
        out.append(markdown_table(DEPLOYMENT_COLUMNS, deployment_rows(e.deployment), set()))
    return "\n".join(out)


def estimate_csv(e: Estimate) -> str:
    """One row per op (every op, as in the JSON), with the JSON op fields as columns."""
    records = [op_record(r) for p in _phases(e) for r in p.ops]
    columns = list(records[0]) if records else ["name"]
    return csv_text(columns, [[rec[c] for c in columns] for rec in records])
