"""Results -> output: rich tables for people; versioned JSON, CSV and GitHub markdown for
machines and documents.

Each view builds its rows once (`*_rows` functions) and renders them as a rich table, a
markdown table or CSV, so the formats cannot drift apart.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from . import __version__
from .api import Estimate, OpResult, PhaseResult
from .formulas import first
from .units import Dimension, format_quantity

ESTIMATE_SCHEMA = "cmperf.estimate/1"


def _f(x: Any) -> float:
    return first(x)


# ---------------------------------------------------------------------------------------------
# Plain formats: CSV and GitHub markdown


def csv_cell(value: Any) -> str:
    """A value as CSV text: floats exactly (shortest round-trip repr), lists space-separated."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return " ".join(csv_cell(v) for v in value)
    if isinstance(value, dict):
        import json

        return json.dumps(value, sort_keys=True)
    return str(value)


def csv_text(columns: list[str] | tuple[str, ...], rows: list[list[Any]]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()


def _esc(value: Any) -> str:
    """Text from specs, baselines or the command line, shown literally by rich (not as markup)."""
    from rich.markup import escape

    return escape(str(value))


def _md_cell(value: Any) -> str:
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(text.split()) or " "


def markdown_table(
    columns: list[str] | tuple[str, ...],
    rows: list[list[Any]],
    right: tuple[str, ...] | set[str] = (),
) -> str:
    """A GitHub-flavoured markdown table; `right` names the right-aligned columns."""
    lines = [
        "| " + " | ".join(_md_cell(c) for c in columns) + " |",
        "| " + " | ".join("---:" if c in right else "---" for c in columns) + " |",
    ]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def op_record(r: OpResult) -> dict[str, Any]:
    op, cost = r.op, r.cost
    return {
        "name": r.name,
        "layer": r.layer,
        "time_s": _f(cost.total_s),
        "compute_s": _f(cost.compute_s),
        "memory_s": _f(cost.memory_s),
        "comm_s": _f(cost.comm_s),
        "bound": cost.bound,
        "stream": r.stream,
        "engine": op.engine.value,
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
        {"name": layer.name, "count": layer.count, "time_s": _f(layer.time_s)} for layer in p.layers
    ]
    out["ops"] = [op_record(r) for r in p.ops]
    out["memory_bytes_per_device"] = _f(p.memory.total_bytes) * ranks
    out["memory_capacity_bytes_per_device"] = p.memory.capacity_bytes * ranks
    out["memory_breakdown_bytes_per_device"] = {
        k: _f(v) * ranks for k, v in p.memory.as_dict().items()
    }
    return out


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
    for phase in (e.prefill, e.decode):
        if phase is not None:
            out[phase.phase] = phase_record(phase)
    return out


def _t(seconds: float) -> str:
    return format_quantity(seconds, Dimension.TIME)


def _b(n: float) -> str:
    return format_quantity(n, Dimension.BYTES) if n else "-"


def _flop(n: float) -> str:
    return format_quantity(n, Dimension.FLOP) if n else "-"


def _title(e: Estimate) -> tuple[str, str]:
    """The scenario's name, and what runs on what."""
    s = e.scenario
    return s.name, (
        f"{s.model.name} on {s.cluster.name} "
        f"({s.cluster.device.name}, {s.cluster.device.ranks_per_device} ranks per device)"
    )


def _summary_rows(p: PhaseResult, rec: dict[str, Any]) -> list[list[str]]:
    rows = [["throughput", f"{rec['throughput_tokens_per_s_per_device']:,.0f} tokens/s"]]
    if p.tpot_s is not None:
        rows += [
            ["TPOT", _t(rec["tpot_s"])],
            ["batch", f"{rec['batch_per_device']:g} sequences"],
            ["tokens emitted per step", f"{rec['tokens_emitted_per_step']:.3g}"],
            ["step time", _t(rec["step_time_s"])],
        ]
    else:
        rows += [
            ["batch", f"{rec['batch_per_device']:,.0f} tokens"],
            ["batch time (TTFT of the batch)", _t(rec["step_time_s"])],
        ]
    rows.append(["microbatches", str(p.microbatches)])
    used, cap = rec["memory_bytes_per_device"], rec["memory_capacity_bytes_per_device"]
    parts = ", ".join(f"{k} {_b(v)}" for k, v in rec["memory_breakdown_bytes_per_device"].items())
    rows.append(["memory", f"{_b(used)} of {_b(cap)} ({100 * used / cap:.0f} %): {parts}"])
    return rows


LAYER_COLUMNS = ("layer", "count", "time each", "total", "share")


def _layer_rows(rec: dict[str, Any]) -> list[list[str]]:
    step = rec["step_time_s"]
    rows = []
    for layer in rec["layers"]:
        total = layer["time_s"] * layer["count"]
        rows.append(
            [
                layer["name"],
                str(layer["count"]),
                _t(layer["time_s"]),
                _t(total),
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
    "time",
    "bound",
    "share",
)
_OPS_CAPTION = (
    "ops identical to one listed for an earlier layer are not repeated; "
    "--format json lists every op"
)


def _ops_title(p: PhaseResult) -> str:
    return f"{p.phase}: ops per rank, one microbatch (a layer runs each {p.microbatches}x)"


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
        share = per_layer / layer_time[op["layer"]] if layer_time.get(op["layer"]) else 0.0
        traffic = op["weight_bytes"] + op["act_bytes"] + op["kv_bytes"]
        rows.append(
            [
                op["name"].split(".", 1)[1],
                op["stream"],
                _flop(op["flop"]),
                _b(traffic),
                _b(op["comm_bytes"]),
                _t(op["compute_s"]) if op["compute_s"] else "-",
                _t(op["memory_s"]) if op["memory_s"] else "-",
                _t(op["comm_s"]) if op["comm_s"] else "-",
                _t(op["time_s"]),
                op["bound"],
                f"{100 * share:.0f} %",
            ]
        )
    return rows


def render_estimate(e: Estimate, console: Any, show_ops: bool = True) -> None:
    from rich.table import Table

    s = e.scenario
    name, rest = _title(e)
    console.print(f"[bold]{_esc(name)}[/bold]: {_esc(rest)}")
    if s.overrides:
        console.print("overrides: " + ", ".join(s.overrides), markup=False)
    for p in (e.prefill, e.decode):
        if p is None:
            continue
        rec = phase_record(p)
        summary = Table(
            title=f"{p.phase}: summary (per device)", show_header=False, title_justify="left"
        )
        summary.add_column("quantity")
        summary.add_column("value", justify="right")
        for row in _summary_rows(p, rec):
            summary.add_row(*map(_esc, row))
        console.print(summary)

        layers = Table(title=f"{p.phase}: layers", title_justify="left")
        for col in LAYER_COLUMNS:
            layers.add_column(col, justify="left" if col == "layer" else "right")
        for row in _layer_rows(rec):
            layers.add_row(*map(_esc, row))
        console.print(layers)
        if show_ops:
            _render_ops(p, rec, console)


def _render_ops(p: PhaseResult, rec: dict[str, Any], console: Any) -> None:
    from rich import box
    from rich.table import Table

    ops = Table(
        title=_ops_title(p),
        caption=_OPS_CAPTION,
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for col in OP_COLUMNS:
        ops.add_column(
            col, justify="left" if col in ("op", "stream", "bound") else "right", no_wrap=True
        )
    for row in _op_rows(rec):
        ops.add_row(*map(_esc, row))
    console.print(ops)


def estimate_markdown(e: Estimate, show_ops: bool = True) -> str:
    """The table view as GitHub markdown: summary, layers and (unless show_ops is off) ops."""
    s = e.scenario
    out = ["## {}: {}\n".format(*_title(e))]
    if s.overrides:
        out.append("overrides: " + ", ".join(f"`{o}`" for o in s.overrides) + "\n")
    for p in (e.prefill, e.decode):
        if p is None:
            continue
        rec = phase_record(p)
        out.append(f"### {p.phase}: summary (per device)\n")
        out.append(markdown_table(("quantity", "value"), _summary_rows(p, rec), {"value"}))
        out.append(f"### {p.phase}: layers\n")
        out.append(markdown_table(LAYER_COLUMNS, _layer_rows(rec), set(LAYER_COLUMNS) - {"layer"}))
        if show_ops:
            out.append(f"### {_ops_title(p)}\n")
            right = set(OP_COLUMNS) - {"op", "stream", "bound"}
            out.append(markdown_table(OP_COLUMNS, _op_rows(rec), right))
            out.append(f"{_OPS_CAPTION[0].upper()}{_OPS_CAPTION[1:]}.\n")
    return "\n".join(out)


def estimate_csv(e: Estimate) -> str:
    """One row per op (every op, as in the JSON), with the JSON op fields as columns."""
    records = [op_record(r) for p in (e.prefill, e.decode) if p is not None for r in p.ops]
    columns = list(records[0]) if records else ["name"]
    return csv_text(columns, [[rec[c] for c in columns] for rec in records])


VALIDATION_SCHEMA = "cmperf.validate/1"


def _show(value: float, unit: str) -> str:
    if unit == "s":
        return _t(value)
    if abs(value) < 1:
        return f"{100 * value:+.1f} %"
    return f"{value:,.0f}"


def validation_record(outcomes: list[Any]) -> dict[str, Any]:
    return {
        "schema": VALIDATION_SCHEMA,
        "points": [
            {
                "id": o.point.id,
                "what": o.point.what,
                "source": o.point.source,
                "kind": o.point.kind,
                "predicted": o.predicted,
                "published": o.point.published,
                "error": o.error,
                "tolerance": o.point.tolerance,
                "range": None if o.point.low is None else [o.point.low, o.point.high],
                "ok": o.ok,
                "status": o.status,
                "known_gap": o.point.known_gap,
            }
            for o in outcomes
        ],
        "passed": sum(o.ok for o in outcomes),
        "failed": sum(not o.ok for o in outcomes),
    }


VALIDATION_TITLE = "cmperf validate: predictions vs the paper (arXiv 2506.12708)"
VALIDATION_COLUMNS = ("point", "source", "predicted", "published", "error", "bound", "status")


def _validation_rows(outcomes: list[Any]) -> list[list[str]]:
    rows = []
    for o in outcomes:
        p = o.point
        if p.kind == "ratio":
            error = f"{100 * o.error:+.1f} pt"
            bound = f"[{100 * p.low:+.0f}, {100 * p.high:+.0f}] %"
        else:
            error = f"{100 * o.error:+.1f} %"
            bound = f"±{100 * p.tolerance:.0f} %"
        rows.append(
            [
                p.what,
                p.source.split(":")[0],
                _show(o.predicted, p.unit),
                _show(p.published, p.unit),
                error,
                bound,
                o.status,
            ]
        )
    return rows


def _validation_summary(outcomes: list[Any]) -> list[str]:
    passed = sum(o.ok for o in outcomes)
    gaps: dict[str, list[str]] = {}
    for o in outcomes:
        if o.status == "gap":
            gaps.setdefault(o.point.known_gap, []).append(o.point.id)
    count = sum(len(ids) for ids in gaps.values())
    lines = [f"{passed} of {len(outcomes)} points within bounds; {count} known gaps:"]
    lines += [f"- {', '.join(ids)}: {reason}" for reason, ids in gaps.items()]
    return lines


def render_validation(outcomes: list[Any], console: Any) -> None:
    from rich.table import Table

    table = Table(title=VALIDATION_TITLE, title_justify="left")
    for col in VALIDATION_COLUMNS:
        table.add_column(col, justify="left" if col in ("point", "source") else "right")
    for row in _validation_rows(outcomes):
        table.add_row(*map(_esc, row[:-1]), _STATUS_STYLE[row[-1]].format(row[-1]))
    console.print(table)
    for line in _validation_summary(outcomes):
        console.print(line, markup=False)


def validation_markdown(outcomes: list[Any]) -> str:
    table = markdown_table(
        VALIDATION_COLUMNS,
        _validation_rows(outcomes),
        set(VALIDATION_COLUMNS) - {"point", "source"},
    )
    return f"## {VALIDATION_TITLE}\n\n{table}\n" + "\n".join(_validation_summary(outcomes)) + "\n"


VALIDATION_CSV_COLUMNS = (
    "id",
    "what",
    "source",
    "kind",
    "predicted",
    "published",
    "error",
    "tolerance",
    "low",
    "high",
    "ok",
    "status",
    "known_gap",
)


def validation_csv(outcomes: list[Any]) -> str:
    """One row per point, the fields of the JSON (the range split into low and high)."""
    rows = []
    for point in validation_record(outcomes)["points"]:
        low, high = point["range"] or (None, None)
        point = {**point, "low": low, "high": high}
        rows.append([point[c] for c in VALIDATION_CSV_COLUMNS])
    return csv_text(VALIDATION_CSV_COLUMNS, rows)


_STATUS_STYLE = {
    "ok": "[green]{}[/green]",
    "gap": "[yellow]{}[/yellow]",
    "FAIL": "[bold red]{}[/bold red]",
    "UNEXPECTED PASS": "[bold red]{}[/bold red]",
}


SWEEP_SCHEMA = "cmperf.sweep/1"


def _point_record(p: Any, latency_key: str, batch_key: str) -> dict[str, Any]:
    labels = dict(p.candidate.labels)
    return {
        latency_key: p.latency_s,
        "throughput_tokens_per_s_per_device": p.throughput_per_device,
        batch_key: p.batch,
        "objective": p.objective,
        "memory_fraction": p.memory_fraction,
        **labels,
        "set": list(p.sets),
    }


def sweep_record(result: Any, estimate_of: Any) -> dict[str, Any]:
    """JSON of a sweep; `estimate_of(point)` gives the estimate record of a ranked point."""
    spec = result.spec
    latency_key = "tpot_s" if spec.phase == "decode" else "ttft_s"
    batch_key = "batch_per_device" if spec.phase == "decode" else "tokens_per_device"
    s = result.scenario

    def ranked(p: Any) -> dict[str, Any]:
        return {**_point_record(p, latency_key, batch_key), "result": estimate_of(p)}

    return {
        "schema": SWEEP_SCHEMA,
        "cmperf_version": __version__,
        "scenario": {"name": s.name, "file": s.file, "overrides": list(s.overrides)},
        "phase": spec.phase,
        "slo": {latency_key: spec.slo_s},
        "objective": spec.objective,
        "best": ranked(result.best) if result.best else None,
        "top": [ranked(p) for p in result.ranked[: spec.top]],
        "frontier": [_point_record(p, latency_key, batch_key) for p in result.frontier],
        "evaluated": result.evaluated,
        "infeasible": dict(result.infeasible),
        "infeasible_examples": dict(result.reasons),
    }


FRONTIER_COLUMNS = (
    "latency_s",
    "throughput_tokens_per_s_per_device",
    "batch",
    "ep",
    "placement",
    "microbatches",
    "mtp_draft_tokens",
    "quantization",
    "set",
)


def frontier_csv(result: Any) -> str:
    import csv
    import io

    out = io.StringIO()
    latency = "tpot_s" if result.spec.phase == "decode" else "ttft_s"
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([latency, *FRONTIER_COLUMNS[1:]])
    for p in result.frontier:
        labels = p.candidate.labels
        quant = " ".join(f"{k}={v}" for k, v in labels["quantization"].items())
        writer.writerow(
            [
                f"{p.latency_s:.9g}",
                f"{p.throughput_per_device:.9g}",
                f"{p.batch:g}",
                labels["ep"],
                labels["placement"],
                labels["microbatches"],
                labels["mtp_draft_tokens"],
                quant,
                " ".join(p.sets),
            ]
        )
    return out.getvalue()


_QUANT_SHORT = {
    "weights": "w",
    "activations": "a",
    "kv_cache": "kv",
    "dispatch": "disp",
    "combine": "comb",
    "attention": "attn",
    "head": "head",
}


def _config(p: Any) -> list[str]:
    labels = p.candidate.labels
    quant = " ".join(f"{_QUANT_SHORT[k]}:{v}" for k, v in labels["quantization"].items())
    quant = quant or "as scenario"
    return [
        f"EP{labels['ep']}",
        labels["placement"].replace("_", " "),
        str(labels["microbatches"]),
        str(labels["mtp_draft_tokens"]),
        quant,
    ]


def _sweep_views(result: Any) -> dict[str, Any]:
    """Header, ranked and frontier tables (title, columns, rows) and footer of a sweep."""
    spec = result.spec
    latency = "TPOT" if spec.phase == "decode" else "TTFT"
    unit = "sequences" if spec.phase == "decode" else "tokens"
    s = result.scenario
    ranked_rows = []
    for i, p in enumerate(result.ranked[: spec.top], 1):
        ep, placement, mb, mtp, quant = _config(p)
        ranked_rows.append(
            [
                str(i),
                f"{p.throughput_per_device:,.0f}",
                _t(p.latency_s),
                f"{p.batch:g}",
                ep,
                placement,
                mb,
                mtp,
                quant,
                f"{100 * p.memory_fraction:.0f} %",
            ]
        )
    frontier_rows = []
    for p in result.frontier:
        ep, placement, mb, mtp, quant = _config(p)
        marker = "" if p.latency_s <= spec.slo_s else " (over SLO)"
        frontier_rows.append(
            [
                _t(p.latency_s) + marker,
                f"{p.throughput_per_device:,.0f}",
                f"{p.batch:.4g}",
                ep,
                placement,
                mb,
                mtp,
                quant,
            ]
        )
    counts = ", ".join(f"{k} {v}" for k, v in result.infeasible.items())
    footer = [f"evaluated {result.evaluated} configurations; infeasible by reason: {counts}"]
    if result.best is not None:
        footer.append(
            "reproduce the best: cmperf estimate "
            + s.name
            + " "
            + " ".join(f"--set {x}" for x in result.best.sets if x)
        )
    return {
        "name": s.name,
        "header": f"{spec.phase} sweep, {latency} <= {_t(spec.slo_s)}, "
        f"objective {spec.objective.replace('_', ' ')}",
        "ranked": (
            f"best {min(spec.top, len(result.ranked))} of {len(result.ranked)} "
            "feasible configurations",
            (
                "#",
                "tokens/s/device",
                latency,
                f"{unit}/device",
                "EP",
                "placement",
                "microbatches",
                "MTP",
                "quantization",
                "HBM used",
            ),
            ranked_rows,
        ),
        "frontier": (
            "throughput-latency frontier (all batches, SLO not applied)",
            (
                latency,
                "tokens/s/device",
                "batch",
                "EP",
                "placement",
                "microbatches",
                "MTP",
                "quantization",
            ),
            frontier_rows,
        ),
        "footer": footer,
    }


_LEFT_SWEEP_COLUMNS = ("placement", "quantization")


def render_sweep(result: Any, console: Any) -> None:
    from rich import box
    from rich.table import Table

    views = _sweep_views(result)
    console.print(f"[bold]{_esc(views['name'])}[/bold]: {_esc(views['header'])}")
    for key, no_wrap in (("ranked", True), ("frontier", False)):
        title, columns, rows = views[key]
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
        for col in columns:
            table.add_column(
                col, justify="left" if col in _LEFT_SWEEP_COLUMNS else "right", no_wrap=no_wrap
            )
        for row in rows:
            table.add_row(*map(_esc, row))
        console.print(table)
    for line in views["footer"]:
        console.print(line, markup=False)


def sweep_markdown(result: Any) -> str:
    """The ranked configurations and the frontier as GitHub markdown tables."""
    views = _sweep_views(result)
    out = [f"## {views['name']}: {views['header']}\n"]
    for key in ("ranked", "frontier"):
        title, columns, rows = views[key]
        right = set(columns) - set(_LEFT_SWEEP_COLUMNS)
        out += [f"### {title}\n", markdown_table(columns, rows, right)]
    evaluated, *reproduce = views["footer"]
    out.append(evaluated + "\n")
    for line in reproduce:
        label, command = line.split(": ", 1)
        out.append(f"{label}:\n\n```bash\n{command}\n```\n")
    return "\n".join(out)


_MB_FILL = ("█", "▒", "▓", "░")  # readable without colour too
_MB_STYLES = (
    "bold white on blue",
    "bold black on green",
    "bold white on magenta",
    "bold black on yellow",
)


def render_timeline(
    title: str, window_s: float, bars: list[Any], console: Any, width: int = 100
) -> None:
    """A text Gantt chart: one row per stream, one coloured span per task and microbatch."""
    from rich.table import Table
    from rich.text import Text

    console.print(f"[bold]{_esc(title)}[/bold]: one layer in steady state, {_t(window_s)}")
    streams = list(dict.fromkeys(b.stream for b in bars))
    scale = width / window_s
    for stream in streams:
        row = Text("·" * width, style="dim")
        for b in (b for b in bars if b.stream == stream):
            lo, hi = int(b.start_s * scale), max(int(b.start_s * scale) + 1, int(b.end_s * scale))
            label = f"mb{b.microbatch}" + ("'" if b.layer else "")
            fill = _MB_FILL[b.microbatch % len(_MB_FILL)]
            cell = (label + fill * (hi - lo))[: hi - lo]
            row = row[:lo] + Text(cell, style=_MB_STYLES[b.microbatch % len(_MB_STYLES)]) + row[hi:]
        console.print(Text(f"{stream:>10} ") + row)
    ticks = 5
    axis = "".join(f"{_t(window_s * i / ticks):<{width // ticks}}" for i in range(ticks))
    console.print(" " * 11 + axis + _t(window_s))
    legend = Table(title="tasks (' = the next layer's)", title_justify="left", show_edge=False)
    for col in ("stream", "microbatch", "start", "end", "ops"):
        legend.add_column(col, justify="right" if col in ("start", "end") else "left")
    for b in sorted(bars, key=lambda b: (b.stream, b.start_s)):
        ops = ", ".join(op.name for op, _ in b.task.ops)
        legend.add_row(
            _esc(b.stream),
            f"mb{b.microbatch}" + ("'" if b.layer else ""),
            _t(b.start_s),
            _t(b.end_s),
            _esc(ops),
        )
    console.print(legend)


def render_op_explanation(shown: Any, console: Any, latex: bool) -> None:
    from rich.table import Table

    console.print(f"[bold]{_esc(shown.op)}[/bold]")
    console.print(shown.latex if latex else shown.formula, markup=False)
    table = Table(show_edge=False, title_justify="left")
    for col in ("symbol", "value", "unit", "source"):
        table.add_column(col, justify="right" if col == "value" else "left", overflow="fold")
    for name, info in shown.symbols.items():
        table.add_row(*map(_esc, (name, f"{info['value']:.6g}", info["unit"], info["source"])))
    console.print(table)
    terms = ", ".join(f"{k.removesuffix('_s')} {_t(v)}" for k, v in shown.terms.items() if v)
    console.print(f"t = {_t(shown.value_s)}  ({terms})")


def render_solution(answer: Any, console: Any, latex: bool) -> None:
    from .symbolic import SOLVE_QUESTIONS

    console.print(f"[bold]{answer.question}[/bold]: {_esc(SOLVE_QUESTIONS[answer.question])}")
    console.print(answer.latex if latex else answer.equation, markup=False)
    console.print(f"{answer.symbol} = {_solution_value(answer)}", markup=False)
    console.print(f"check: {answer.check}", markup=False)


def render_composition(parts: list[Any], console: Any) -> None:
    from rich.table import Table

    for part in parts:
        table = Table(title=f"{part.phase}: how op times compose", title_justify="left")
        for col in ("quantity", "formula", "value"):
            table.add_column(col, justify="right" if col == "value" else "left", overflow="fold")
        for quantity, formula, value, unit in part.lines:
            table.add_row(*map(_esc, (quantity, formula, _composition_value(value, unit))))
        console.print(table)


# ---------------------------------------------------------------------------------------------
# explain: records, CSV and markdown


def op_explanation_record(shown: Any) -> dict[str, Any]:
    return {
        "op": shown.op,
        "formula": shown.formula,
        "latex": shown.latex,
        "symbols": shown.symbols,
        "value_s": shown.value_s,
        "terms": shown.terms,
    }


EXPLAIN_SYMBOL_COLUMNS = ("symbol", "value", "unit", "source")


def op_explanation_csv(shown: Any) -> str:
    """One row per symbol; a last row `t` holds the op's time and its formula as the source."""
    rows = [[n, info["value"], info["unit"], info["source"]] for n, info in shown.symbols.items()]
    rows.append(["t", shown.value_s, "s", shown.formula])
    return csv_text(EXPLAIN_SYMBOL_COLUMNS, rows)


def op_explanation_markdown(shown: Any, latex: bool) -> str:
    formula = f"$$\n{shown.latex}\n$$" if latex else f"```\n{shown.formula}\n```"
    rows = [
        [f"`{n}`", f"{info['value']:.6g}", info["unit"], info["source"]]
        for n, info in shown.symbols.items()
    ]
    terms = ", ".join(f"{k.removesuffix('_s')} {_t(v)}" for k, v in shown.terms.items() if v)
    return (
        f"## {shown.op}\n\n{formula}\n\n"
        + markdown_table(EXPLAIN_SYMBOL_COLUMNS, rows, {"value"})
        + f"\nt = {_t(shown.value_s)} ({terms})\n"
    )


def _solution_value(answer: Any) -> str:
    if answer.unit == "B/s":
        return format_quantity(answer.value, Dimension.BANDWIDTH)
    return f"{answer.value:.4g} {answer.unit}"


def solution_record(answer: Any) -> dict[str, Any]:
    return dict(answer.__dict__)


def solution_csv(answer: Any) -> str:
    record = solution_record(answer)
    return csv_text(list(record), [list(record.values())])


def solution_markdown(answer: Any, latex: bool) -> str:
    from .symbolic import SOLVE_QUESTIONS

    equation = f"$$\n{answer.latex}\n$$" if latex else f"```\n{answer.equation}\n```"
    return (
        f"## {answer.question}\n\n{SOLVE_QUESTIONS[answer.question]}\n\n{equation}\n\n"
        f"**{answer.symbol} = {_solution_value(answer)}**\n\ncheck: {answer.check}\n"
    )


COMPOSITION_COLUMNS = ("phase", "quantity", "formula", "value", "unit")


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def composition_record(parts: list[Any]) -> list[dict[str, Any]]:
    """JSON of the composition; a descriptive line (no value) has value null."""
    return [
        {
            "phase": c.phase,
            "lines": [
                {"quantity": q, "formula": f, "value": _finite_or_none(v), "unit": u}
                for q, f, v, u in c.lines
            ],
        }
        for c in parts
    ]


def composition_csv(parts: list[Any]) -> str:
    rows = [[c.phase, q, f, _finite_or_none(v), u] for c in parts for q, f, v, u in c.lines]
    return csv_text(COMPOSITION_COLUMNS, rows)


def _composition_value(value: float, unit: str) -> str:
    if value != value:  # NaN: a descriptive line
        return ""
    if unit == "s":
        return _t(value)
    return f"{value:,.4g} {unit}".strip()


def composition_markdown(parts: list[Any]) -> str:
    out = []
    for part in parts:
        rows = [
            [q, f if v != v else f"`{f}`", _composition_value(v, u)]  # NaN: a descriptive line
            for q, f, v, u in part.lines
        ]
        out.append(f"### {part.phase}: how op times compose\n")
        out.append(markdown_table(("quantity", "formula", "value"), rows, {"value"}))
    return "\n".join(out)


TIMELINE_COLUMNS = ("title", "stream", "microbatch", "layer", "start_s", "end_s", "ops")


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


def timeline_markdown(record: dict[str, Any]) -> str:
    rows = [
        [
            t["stream"],
            f"mb{t['microbatch']}" + ("'" if t["layer"] else ""),
            _t(t["start_s"]),
            _t(t["end_s"]),
            ", ".join(t["ops"]),
        ]
        for t in record["tasks"]
    ]
    return (
        f"### {record['title']}: one layer in steady state, {_t(record['window_s'])}\n\n"
        + markdown_table(("stream", "microbatch", "start", "end", "ops"), rows, {"start", "end"})
        + "\n(' = the next layer's)\n"
    )


# ---------------------------------------------------------------------------------------------
# check: regression against baselines

CHECK_COLUMNS = ("figure", "baseline", "now", "change", "status")
_CHECK_STYLE = {
    "ok": "[green]{}[/green]",
    "new": "[yellow]{}[/yellow]",
    "moved": "[bold red]{}[/bold red]",
    "missing": "[bold red]{}[/bold red]",
}


def _figure_value(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    if name.endswith("_s"):
        return _t(value)
    if name.endswith("bytes_per_device"):
        return format_quantity(value, Dimension.BYTES)
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
    from rich import box
    from rich.table import Table

    for c in checks:
        table = Table(title=_esc(_check_title(c)), title_justify="left", box=box.SIMPLE_HEAD)
        for col in CHECK_COLUMNS:
            table.add_column(col, justify="left" if col == "figure" else "right", no_wrap=True)
        for row in _check_rows(c):
            table.add_row(*map(_esc, row[:-1]), _CHECK_STYLE[row[-1]].format(row[-1]))
        console.print(table)
    console.print(_check_summary(checks, rtol), markup=False)


def check_markdown(checks: list[Any], rtol: float) -> str:
    out = []
    for c in checks:
        out.append(f"### {_check_title(c)}\n")
        out.append(markdown_table(CHECK_COLUMNS, _check_rows(c), set(CHECK_COLUMNS) - {"figure"}))
    out.append(_check_summary(checks, rtol) + "\n")
    return "\n".join(out)


CHECK_CSV_COLUMNS = ("baseline_file", "scenario", "figure", "baseline", "now", "change", "status")


def check_csv(checks: list[Any]) -> str:
    rows = [
        [c.baseline.file, c.ran, f.name, f.baseline, f.now, f.change, f.status]
        for c in checks
        for f in c.figures
    ]
    return csv_text(CHECK_CSV_COLUMNS, rows)
