"""Plot files (matplotlib, an optional extra: pip install 'cmperf[plot]')."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import CmperfError
from .specs import PHASE_KINDS


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise CmperfError(
            "plotting needs matplotlib: pip install 'cmperf[plot]' (or pip install matplotlib)"
        ) from None
    return plt


def _save(plt: Any, fig: Any, path: Path) -> None:
    try:
        fig.savefig(path)
    except OSError as exc:
        raise CmperfError(f"--plot: cannot write {path}: {exc.strerror}") from None
    finally:
        plt.close(fig)


def plot_sweep(result: Any, path: Path) -> None:
    """Throughput per device against latency: every evaluated point within memory, the
    frontier, the ranked configurations and the SLO."""
    plt = _pyplot()
    spec = result.spec
    latency = PHASE_KINDS[spec.phase].latency_label
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    front = result.frontier
    ax.plot(
        [p.latency_s * 1e3 for p in front],
        [p.throughput_per_device for p in front],
        "-o",
        color="tab:blue",
        markersize=3,
        label="frontier (best at each latency)",
    )
    ranked = result.ranked[: spec.top]
    ax.scatter(
        [p.latency_s * 1e3 for p in ranked],
        [p.throughput_per_device for p in ranked],
        color="tab:orange",
        zorder=3,
        label=f"top {len(ranked)} under the SLO",
    )
    if result.best is not None:
        b = result.best
        labels = b.candidate.labels
        ax.scatter(
            [b.latency_s * 1e3],
            [b.throughput_per_device],
            marker="*",
            s=220,
            color="tab:red",
            zorder=4,
            label=f"best: {b.throughput_per_device:,.0f} tokens/s, batch {b.batch:g}, "
            f"EP{labels['ep']}, {labels['microbatches']} microbatches, "
            f"MTP {labels['mtp_draft_tokens']}",
        )
    ax.axvline(spec.slo_s * 1e3, color="tab:red", linestyle="--", label=f"{latency} SLO")
    ax.set_xlabel(f"{latency} (ms)")
    ax.set_ylabel("tokens/s per device")
    ax.set_title(f"{result.scenario.name}: {spec.phase} throughput against {latency}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    _save(plt, fig, path)


def plot_timeline(title: str, window_s: float, bars: list[Any], path: Path) -> None:
    """Gantt chart of one steady-state layer: rows are streams, bars tasks per microbatch."""
    plt = _pyplot()
    streams = list(dict.fromkeys(b.stream for b in bars))
    colours = ("tab:blue", "tab:green", "tab:purple", "tab:olive")
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.8 * len(streams)), dpi=120)
    for row, stream in enumerate(streams):
        for b in (b for b in bars if b.stream == stream):
            start_us, width_us = b.start_s * 1e6, (b.end_s - b.start_s) * 1e6
            ax.broken_barh(
                [(start_us, width_us)],
                (row - 0.35, 0.7),
                facecolors=colours[b.microbatch % len(colours)],
                edgecolor="black",
                alpha=0.55 if b.layer else 0.9,
            )
            label = f"mb{b.microbatch}" + ("'" if b.layer else "")
            if width_us > window_s * 1e6 / 30:
                ax.text(start_us + width_us / 2, row, label, ha="center", va="center", fontsize=8)
    ax.set_yticks(range(len(streams)), streams)
    ax.set_xlim(0, window_s * 1e6)
    ax.set_xlabel("time within the layer (us)")
    ax.set_title(
        f"{title}: one layer in steady state ({window_s * 1e6:.0f} us); "
        "' marks the next layer's tasks",
        fontsize=9,
    )
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    _save(plt, fig, path)


def plot_compare(comparison: Any, path: Path) -> None:
    """Bars per phase: throughput per device and per TFLOPS of each compared column."""
    plt = _pyplot()
    phases = list(comparison.phases)
    fig, axes = plt.subplots(
        len(phases), 2, figsize=(11, 3.2 * len(phases)), dpi=120, squeeze=False
    )
    labels = [c.label for c in comparison.columns]
    for row, phase in zip(axes, phases, strict=True):
        figures = comparison.phases[phase]
        for ax, metric, title in (
            (row[0], "throughput_tokens_per_s", "tokens/s per device"),
            (row[1], "per_tflops", "tokens/s per TFLOPS"),
        ):
            values = [0.0 if f is None else getattr(f, metric) for f in figures]
            ax.barh(range(len(labels)), values, color="tab:blue")
            ax.set_yticks(range(len(labels)), labels, fontsize=7)
            ax.invert_yaxis()
            ax.set_title(f"{phase}: {title}", fontsize=9)
            ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    _save(plt, fig, path)
