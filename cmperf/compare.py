"""`cmperf compare`: the paper's comparison table (ref §4.1, §4.2) for any set of deployments.

A column is a scenario with its overrides: several scenarios, or one scenario under several
`--vs` override sets, or both. For each phase the columns share, each column gets the figures
the paper compares accelerators by: throughput per device, per TFLOPS of the precision its
linear layers compute in (the dense peak of that format, as ref §4.1 divides), per TB/s of HBM,
the latency (TPOT in decode, the batch time in prefill), memory per device, what bounds the
step, and the change of each figure against the first column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .api import PhaseResult, estimate
from .specs import PHASE_KINDS, PHASES, as_scenario
from .specs.scenario import Scenario

BOUNDS = ("compute", "memory", "comm", "overhead")


@dataclass(frozen=True)
class Column:
    label: str  # what the column is called: the scenario's name, and its --vs overrides
    scenario: Scenario


@dataclass(frozen=True)
class Figures:
    """One phase of one column, per device."""

    throughput_tokens_per_s: float
    per_tflops: float  # tokens/s per TFLOP/s of dense peak in the linear layers' format
    per_tb_s_hbm: float  # tokens/s per TB/s of HBM bandwidth
    latency_s: float  # TPOT (decode) or batch time (prefill)
    memory_bytes: float
    memory_capacity_bytes: float
    bound: str  # compute, memory, comm or overhead: what most of the step's op time is
    peak_flop_per_s: float
    peak_format: str
    hbm_bytes_per_s: float


METRICS = (
    ("throughput_tokens_per_s", "tokens/s per device"),
    ("per_tflops", "tokens/s per TFLOPS"),
    ("per_tb_s_hbm", "tokens/s per TB/s of HBM"),
    ("latency_s", "latency"),
    ("memory_bytes", "memory per device"),
)


def columns(
    scenarios: list[str], variants: list[list[str]] | None = None, common: list[str] = ()
) -> list[Column]:
    """The scenarios as given, then the first scenario under each variant's overrides;
    `common` overrides apply to every column first."""
    out = []
    for name in scenarios:
        s = as_scenario(name, tuple(common))
        out.append(Column(s.name, s))
    for sets in variants or []:
        s = as_scenario(scenarios[0], (*common, *sets))
        out.append(Column(f"{s.name} {' '.join(sets)}", s))
    return out


def _bound(p: PhaseResult) -> str:
    """The term that holds most of the step's op time (each op counted by its own bound)."""
    time_by_bound = dict.fromkeys(BOUNDS, 0.0)
    for r in p.ops:
        time_by_bound[r.cost.bound] = (
            time_by_bound.get(r.cost.bound, 0.0) + float(r.cost.total_s) * r.runs_per_layer
        )
    return max(time_by_bound, key=time_by_bound.get)


def figures(s: Scenario, p: PhaseResult) -> Figures:
    device = s.cluster.device
    fmt = s.quantization.gemm
    engine = device.engine_for("matrix")
    peak = (engine.peak("matrix", fmt) or 0.0) * device.ranks_per_device
    hbm = device.hbm_bandwidth_bytes_per_s * device.ranks_per_device
    throughput = float(p.throughput_tokens_per_s_per_device)
    latency = getattr(p, PHASE_KINDS[p.phase].latency_metric)
    return Figures(
        throughput_tokens_per_s=throughput,
        per_tflops=throughput / (peak / 1e12) if peak else float("nan"),
        per_tb_s_hbm=throughput / (hbm / 1e12),
        latency_s=float(latency),
        memory_bytes=float(p.memory.total_bytes) * p.ranks_per_device,
        memory_capacity_bytes=p.memory.capacity_bytes * p.ranks_per_device,
        bound=_bound(p),
        peak_flop_per_s=peak,
        peak_format=fmt.value,
        hbm_bytes_per_s=hbm,
    )


# A deployment's figures compared (scenarios with a deployment block): name -> (label, kind).
DEPLOYMENT_METRICS = {
    "ttft_s": ("TTFT (unloaded)", "time"),
    "tpot_s": ("TPOT", "time"),
    "requests_per_s": ("requests/s (slower pool)", "rate"),
    "throughput_tokens_per_s_per_device": ("generated tokens/s per device", "rate"),
    "prefill_to_decode_ratio": ("balanced prefill : decode", "ratio"),
}


def deployment_figures(r: Any) -> dict[str, Any]:
    bound = min(r.requests_per_s, key=r.requests_per_s.get)
    return {
        "ttft_s": r.ttft_s,
        "tpot_s": r.tpot_s,
        "requests_per_s": r.requests_per_s[bound],
        "bound": bound,
        "throughput_tokens_per_s_per_device": r.throughput_tokens_per_s_per_device,
        "prefill_to_decode_ratio": r.prefill_to_decode_ratio,
        "devices": sum(r.devices.values()),
    }


@dataclass(frozen=True)
class Comparison:
    columns: list[Column]
    phases: dict[str, list[Figures | None]]  # phase -> one entry per column (None: no such phase)
    # Each column's deployment figures (deployment_figures), where any column has a deployment.
    deployment: list[dict[str, Any] | None] | None = None

    def deployment_change(self, metric: str, i: int) -> float | None:
        """Relative change of column i's deployment figure against the first deployment's."""
        rows = self.deployment or []
        ref = next((j for j, d in enumerate(rows) if d is not None), None)
        if ref is None or ref == i or rows[i] is None or not rows[ref][metric]:
            return None
        return rows[i][metric] / rows[ref][metric] - 1.0

    def reference(self, phase: str) -> int | None:
        """The column changes are measured against: the first that has the phase."""
        return next((i for i, f in enumerate(self.phases[phase]) if f is not None), None)

    def change(self, phase: str, metric: str, i: int) -> float | None:
        """Relative change of column i's metric against the reference column's."""
        row, ref = self.phases[phase], self.reference(phase)
        if ref is None or ref == i or row[i] is None:
            return None
        base = getattr(row[ref], metric)
        return getattr(row[i], metric) / base - 1.0 if base else None


def compare(cols: list[Column]) -> Comparison:
    estimates = [estimate(c.scenario) for c in cols]
    phases: dict[str, list[Figures | None]] = {}
    for phase in PHASES:
        results = [e.phase(phase) for e in estimates]
        if any(r is not None for r in results):
            phases[phase] = [
                None if r is None else figures(c.scenario, r)
                for c, r in zip(cols, results, strict=True)
            ]
    pools = [e.deployment for e in estimates]
    deployment = None
    if any(r is not None for r in pools):
        deployment = [None if r is None else deployment_figures(r) for r in pools]
    return Comparison(cols, phases, deployment)
