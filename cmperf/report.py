"""Results -> output: rich tables for people, versioned JSON for machines."""

from __future__ import annotations

from typing import Any

from . import __version__
from .api import Estimate, OpResult, PhaseResult
from .formulas import first
from .units import Dimension, format_quantity

ESTIMATE_SCHEMA = "cmperf.estimate/1"


def _f(x: Any) -> float:
    return first(x)


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


def render_estimate(e: Estimate, console: Any, show_ops: bool = True) -> None:
    from rich.table import Table

    s = e.scenario
    console.print(
        f"[bold]{s.name}[/bold]: {s.model.name} on {s.cluster.name} "
        f"({s.cluster.device.name}, {s.cluster.device.ranks_per_device} ranks per device)"
    )
    if s.overrides:
        console.print("overrides: " + ", ".join(s.overrides))
    for p in (e.prefill, e.decode):
        if p is None:
            continue
        rec = phase_record(p)
        summary = Table(
            title=f"{p.phase}: summary (per device)", show_header=False, title_justify="left"
        )
        summary.add_column("quantity")
        summary.add_column("value", justify="right")
        summary.add_row("throughput", f"{rec['throughput_tokens_per_s_per_device']:,.0f} tokens/s")
        if p.tpot_s is not None:
            summary.add_row("TPOT", _t(rec["tpot_s"]))
            summary.add_row("batch", f"{rec['batch_per_device']:g} sequences")
            summary.add_row("tokens emitted per step", f"{rec['tokens_emitted_per_step']:.3g}")
            summary.add_row("step time", _t(rec["step_time_s"]))
        else:
            summary.add_row("batch", f"{rec['batch_per_device']:,.0f} tokens")
            summary.add_row("batch time (TTFT of the batch)", _t(rec["step_time_s"]))
        summary.add_row("microbatches", str(p.microbatches))
        used, cap = rec["memory_bytes_per_device"], rec["memory_capacity_bytes_per_device"]
        parts = ", ".join(
            f"{k} {_b(v)}" for k, v in rec["memory_breakdown_bytes_per_device"].items()
        )
        summary.add_row("memory", f"{_b(used)} of {_b(cap)} ({100 * used / cap:.0f} %): {parts}")
        console.print(summary)

        layers = Table(title=f"{p.phase}: layers", title_justify="left")
        for col in ("layer", "count", "time each", "total", "share"):
            layers.add_column(col, justify="left" if col == "layer" else "right")
        step = rec["step_time_s"]
        for layer in rec["layers"]:
            total = layer["time_s"] * layer["count"]
            layers.add_row(
                layer["name"],
                str(layer["count"]),
                _t(layer["time_s"]),
                _t(total),
                f"{100 * total / step:.1f} %",
            )
        console.print(layers)
        if show_ops:
            _render_ops(p, rec, console)


def _render_ops(p: PhaseResult, rec: dict[str, Any], console: Any) -> None:
    from rich import box
    from rich.table import Table

    layer_time = {layer["name"]: layer["time_s"] for layer in rec["layers"]}
    ops = Table(
        title=f"{p.phase}: ops per rank, one microbatch (a layer runs each {p.microbatches}x)",
        caption="ops identical to one listed for an earlier layer are not repeated; "
        "--format json lists every op",
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for col in (
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
    ):
        ops.add_column(
            col, justify="left" if col in ("op", "stream", "bound") else "right", no_wrap=True
        )
    shown: set[tuple[str, float]] = set()
    for op in rec["ops"]:
        key = (op["name"].rsplit(".", 1)[-1], op["time_s"])
        if key in shown:
            continue
        shown.add(key)
        per_layer = op["time_s"] * op["runs_per_layer"]
        share = per_layer / layer_time[op["layer"]] if layer_time.get(op["layer"]) else 0.0
        traffic = op["weight_bytes"] + op["act_bytes"] + op["kv_bytes"]
        ops.add_row(
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
        )
    console.print(ops)


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


def render_validation(outcomes: list[Any], console: Any) -> None:
    from rich.table import Table

    table = Table(
        title="cmperf validate: predictions vs the paper (arXiv 2506.12708)", title_justify="left"
    )
    for col in ("point", "source", "predicted", "published", "error", "bound", "status"):
        table.add_column(col, justify="left" if col in ("point", "source") else "right")
    for o in outcomes:
        p = o.point
        if p.kind == "ratio":
            error = f"{100 * o.error:+.1f} pt"
            bound = f"[{100 * p.low:+.0f}, {100 * p.high:+.0f}] %"
        else:
            error = f"{100 * o.error:+.1f} %"
            bound = f"±{100 * p.tolerance:.0f} %"
        table.add_row(
            p.what,
            p.source.split(":")[0],
            _show(o.predicted, p.unit),
            _show(p.published, p.unit),
            error,
            bound,
            _STATUS_STYLE[o.status].format(o.status),
        )
    console.print(table)
    passed = sum(o.ok for o in outcomes)
    gaps: dict[str, list[str]] = {}
    for o in outcomes:
        if o.status == "gap":
            gaps.setdefault(o.point.known_gap, []).append(o.point.id)
    count = sum(len(ids) for ids in gaps.values())
    console.print(f"{passed} of {len(outcomes)} points within bounds; {count} known gaps:")
    for reason, ids in gaps.items():
        console.print(f"- {', '.join(ids)}: {reason}")


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


def render_sweep(result: Any, console: Any) -> None:
    from rich import box
    from rich.table import Table

    spec = result.spec
    latency = "TPOT" if spec.phase == "decode" else "TTFT"
    unit = "sequences" if spec.phase == "decode" else "tokens"
    s = result.scenario
    console.print(
        f"[bold]{s.name}[/bold]: {spec.phase} sweep, {latency} <= {_t(spec.slo_s)}, "
        f"objective {spec.objective.replace('_', ' ')}"
    )
    top = Table(
        title=f"best {min(spec.top, len(result.ranked))} of {len(result.ranked)} "
        f"feasible configurations",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for col in (
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
    ):
        top.add_column(
            col, justify="left" if col in ("placement", "quantization") else "right", no_wrap=True
        )
    for i, p in enumerate(result.ranked[: spec.top], 1):
        ep, placement, mb, mtp, quant = _config(p)
        top.add_row(
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
        )
    console.print(top)
    frontier = Table(
        title="throughput-latency frontier (all batches, SLO not applied)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for col in (
        latency,
        "tokens/s/device",
        "batch",
        "EP",
        "placement",
        "microbatches",
        "MTP",
        "quantization",
    ):
        frontier.add_column(
            col, justify="left" if col in ("placement", "quantization") else "right"
        )
    for p in result.frontier:
        ep, placement, mb, mtp, quant = _config(p)
        marker = "" if p.latency_s <= spec.slo_s else " (over SLO)"
        frontier.add_row(
            _t(p.latency_s) + marker,
            f"{p.throughput_per_device:,.0f}",
            f"{p.batch:.4g}",
            ep,
            placement,
            mb,
            mtp,
            quant,
        )
    console.print(frontier)
    counts = ", ".join(f"{k} {v}" for k, v in result.infeasible.items())
    console.print(f"evaluated {result.evaluated} configurations; infeasible by reason: {counts}")
    if result.best is not None:
        console.print(
            "reproduce the best: cmperf estimate "
            + s.name
            + " "
            + " ".join(f"--set {x}" for x in result.best.sets if x)
        )


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

    console.print(f"[bold]{title}[/bold]: one layer in steady state, {_t(window_s)}")
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
            b.stream,
            f"mb{b.microbatch}" + ("'" if b.layer else ""),
            _t(b.start_s),
            _t(b.end_s),
            ops,
        )
    console.print(legend)


def render_op_explanation(shown: Any, console: Any, latex: bool) -> None:
    from rich.table import Table

    console.print(f"[bold]{shown.op}[/bold]")
    console.print(shown.latex if latex else shown.formula)
    table = Table(show_edge=False, title_justify="left")
    for col in ("symbol", "value", "unit", "source"):
        table.add_column(col, justify="right" if col == "value" else "left", overflow="fold")
    for name, info in shown.symbols.items():
        table.add_row(name, f"{info['value']:.6g}", info["unit"], info["source"])
    console.print(table)
    terms = ", ".join(f"{k.removesuffix('_s')} {_t(v)}" for k, v in shown.terms.items() if v)
    console.print(f"t = {_t(shown.value_s)}  ({terms})")


def render_solution(answer: Any, console: Any, latex: bool) -> None:
    from .symbolic import SOLVE_QUESTIONS

    console.print(f"[bold]{answer.question}[/bold]: {SOLVE_QUESTIONS[answer.question]}")
    console.print(answer.latex if latex else answer.equation)
    value = (
        format_quantity(answer.value, Dimension.BANDWIDTH)
        if answer.unit == "B/s"
        else f"{answer.value:.4g} {answer.unit}"
    )
    console.print(f"{answer.symbol} = {value}")
    console.print(f"check: {answer.check}")


def render_composition(parts: list[Any], console: Any) -> None:
    from rich.table import Table

    for part in parts:
        table = Table(title=f"{part.phase}: how op times compose", title_justify="left")
        for col in ("quantity", "formula", "value"):
            table.add_column(col, justify="right" if col == "value" else "left", overflow="fold")
        for quantity, formula, value, unit in part.lines:
            if value != value:  # NaN: a descriptive line
                shown = ""
            elif unit == "s":
                shown = _t(value)
            else:
                shown = f"{value:,.4g} {unit}".strip()
            table.add_row(quantity, formula, shown)
        console.print(table)
