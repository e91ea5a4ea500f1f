"""`cmperf sweep`: the ranked configurations and the throughput-latency frontier."""

from __future__ import annotations

import shlex
from typing import Any

from .. import __version__
from ..specs import PHASE_KINDS
from .common import csv_text, markdown_table, print_heading, rich_table, time_text

SWEEP_SCHEMA = "cmperf.sweep/1"
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
    kind = PHASE_KINDS[spec.phase]
    latency_key, batch_key = kind.latency_key, kind.batch_key
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


def frontier_csv(result: Any) -> str:
    rows = []
    for p in result.frontier:
        labels = p.candidate.labels
        quant = " ".join(f"{k}={v}" for k, v in labels["quantization"].items())
        rows.append(
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
    return csv_text([PHASE_KINDS[result.spec.phase].latency_key, *FRONTIER_COLUMNS[1:]], rows)


_QUANT_SHORT = {
    "weights": "w",
    "activations": "a",
    "kv_cache": "kv",
    "dispatch": "disp",
    "combine": "comb",
    "attention": "attn",
    "head": "head",
}
# The columns of _config, and the columns of the tables shown left-aligned.
_CONFIG_COLUMNS = ("EP", "placement", "microbatches", "MTP", "quantization")
_LEFT_SWEEP_COLUMNS = ("placement", "quantization")


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


def scenario_argument(s: Any) -> str:
    """How a command names the scenario: by name where that finds its file, else by path."""
    import os
    from pathlib import Path

    from ..specs import resolve

    try:
        if resolve("scenario", s.name).resolve() == Path(s.file).resolve():
            return s.name
    except LookupError:
        pass
    path = os.path.relpath(s.file)
    return s.file if path.startswith("..") else path


def _sweep_views(result: Any) -> dict[str, Any]:
    """Header, ranked and frontier tables (title, columns, rows) and footer of a sweep."""
    spec = result.spec
    latency, unit = PHASE_KINDS[spec.phase].latency_label, PHASE_KINDS[spec.phase].batch_unit
    s = result.scenario
    ranked_rows = [
        [
            str(i),
            f"{p.throughput_per_device:,.0f}",
            time_text(p.latency_s),
            f"{p.batch:g}",
            *_config(p),
            f"{100 * p.memory_fraction:.0f} %",
        ]
        for i, p in enumerate(result.ranked[: spec.top], 1)
    ]
    frontier_rows = [
        [
            time_text(p.latency_s) + ("" if p.latency_s <= spec.slo_s else " (over SLO)"),
            f"{p.throughput_per_device:,.0f}",
            f"{p.batch:.4g}",
            *_config(p),
        ]
        for p in result.frontier
    ]
    counts = ", ".join(f"{k} {v}" for k, v in result.infeasible.items())
    footer = [f"evaluated {result.evaluated} configurations; infeasible by reason: {counts}"]
    if result.best is not None:
        footer.append(
            "reproduce the best: cmperf estimate "
            + shlex.quote(scenario_argument(s))
            + " "
            + " ".join(f"--set {shlex.quote(x)}" for x in result.best.sets if x)
        )
    return {
        "name": s.name,
        "header": f"{spec.phase} sweep, {latency} <= {time_text(spec.slo_s)}, "
        f"objective {spec.objective.replace('_', ' ')}",
        "ranked": (
            f"best {min(spec.top, len(result.ranked))} of {len(result.ranked)} "
            "feasible configurations",
            ("#", "tokens/s/device", latency, f"{unit}/device", *_CONFIG_COLUMNS, "HBM used"),
            ranked_rows,
        ),
        "frontier": (
            "throughput-latency frontier (all batches, SLO not applied)",
            (latency, "tokens/s/device", "batch", *_CONFIG_COLUMNS),
            frontier_rows,
        ),
        "footer": footer,
    }


def _right(columns: tuple[str, ...]) -> set[str]:
    return set(columns) - set(_LEFT_SWEEP_COLUMNS)


def render_sweep(result: Any, console: Any) -> None:
    views = _sweep_views(result)
    print_heading(console, views["name"], views["header"])
    for key, no_wrap in (("ranked", True), ("frontier", False)):
        title, columns, rows = views[key]
        table = rich_table(
            columns,
            rows,
            _right(columns),
            simple_head=True,
            no_wrap=no_wrap,
            title=title,
            title_justify="left",
        )
        console.print(table)
    for line in views["footer"]:
        # Never wrapped: the reproduce line must survive copy and paste whole.
        console.print(line, markup=False, soft_wrap=True)


def sweep_markdown(result: Any) -> str:
    """The ranked configurations and the frontier as GitHub markdown tables."""
    views = _sweep_views(result)
    out = [f"## {views['name']}: {views['header']}\n"]
    for key in ("ranked", "frontier"):
        title, columns, rows = views[key]
        out += [f"### {title}\n", markdown_table(columns, rows, _right(columns))]
    evaluated, *reproduce = views["footer"]
    out.append(evaluated + "\n")
    for line in reproduce:
        label, command = line.split(": ", 1)
        out.append(f"{label}:\n\n```bash\n{command}\n```\n")
    return "\n".join(out)
