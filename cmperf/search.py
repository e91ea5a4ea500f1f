"""Sweep: the best deployment under latency SLOs.

Discrete choices that change which ops exist (EP degree and expert placement, quantization,
microbatches, MTP depth, devices per instance) are enumerated; each becomes a list of `--set`
overrides applied to the scenario, so every candidate is loaded, validated and estimated by
exactly the code `cmperf estimate --set ...` runs. The batch, which only scales numbers, is a
numpy array evaluated in one pass. Step time grows monotonically with the batch, so the largest
batch meeting the SLO is found by root-finding on the continuous relaxation (scipy's brentq on
the piecewise-linear interpolant of a coarse grid), then settled exactly on the integers around
the root. Throughput per device grows with the batch, so that batch is each candidate's best.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from .api import ASSEMBLERS, PhaseResult
from .errors import InfeasibleError, SpecError
from .quant import DType
from .specs import PHASE_KINDS, PHASES, PhaseKind, as_scenario
from .specs.reader import Reader
from .specs.scenario import QUANT_KEYS, Scenario
from .units import Dimension

OBJECTIVES = ("throughput_per_device", "throughput_per_instance", "tokens_per_tflops")
PLACEMENTS = ("local_shared", "dedicated_shared")
COARSE_POINTS = 24  # batch grid for the frontier and the continuous relaxation (at most)


@dataclass(frozen=True)
class SweepSpec:
    """The search space and constraints of one sweep (the scenario's `sweep:` block)."""

    phase: str
    devices: tuple[int, ...]
    ep: tuple[int, ...]
    placements: tuple[str, ...]
    batch_min: float
    batch_max: float
    microbatches: tuple[int, ...]
    mtp_draft_tokens: tuple[int, ...]
    mtp_acceptance: tuple[float, ...]
    quantization: tuple[tuple[tuple[str, str], ...], ...]  # each mode: (key, format) pairs
    tpot_slo_s: float | None
    ttft_slo_s: float | None
    objective: str
    top: int

    @property
    def kind(self) -> PhaseKind:
        return PHASE_KINDS[self.phase]

    @property
    def slo_s(self) -> float:
        """The latency bound of the swept phase: TPOT (decode) or batch time (prefill)."""
        return getattr(self, self.kind.slo_key + "_s")


@dataclass(frozen=True)
class Candidate:
    """One point of the discrete space: its overrides and a readable label per axis."""

    sets: tuple[str, ...]
    labels: dict[str, Any]


@dataclass(frozen=True)
class Point:
    """One evaluated configuration (candidate + batch)."""

    candidate: Candidate
    batch: float
    sets: tuple[str, ...]  # the candidate's overrides plus the batch: feed to `estimate --set`
    latency_s: float  # TPOT (decode) or batch time (prefill)
    throughput_per_device: float
    objective: float
    memory_fraction: float


@dataclass
class SweepResult:
    spec: SweepSpec
    scenario: Scenario
    ranked: list[Point]
    frontier: list[Point]
    evaluated: int = 0
    infeasible: dict[str, int] = field(
        default_factory=lambda: {"placement": 0, "memory": 0, "slo": 0}
    )
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def best(self) -> Point | None:
        return self.ranked[0] if self.ranked else None


# ---------------------------------------------------------------------------------------------
# Reading the search space


def _ints(r: Reader, key: str, default: Any, low: int = 0) -> tuple[int, ...]:
    value = r.raw(key, default)
    values = value if isinstance(value, list) else [value]
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < low for v in values):
        raise r.error(key, f"expected a whole number or a list of them (>= {low}), got {value!r}")
    return tuple(values)


def read_sweep(s: Scenario, overrides: dict[str, Any]) -> SweepSpec:
    """The scenario's `sweep:` block, with command-line SLOs and objective applied."""
    if s.sweep is not None and not isinstance(s.sweep, dict):
        raise SpecError(s.file, "sweep", f"expected a mapping of search axes, got {s.sweep!r}")
    raw = dict(s.sweep or {})
    raw.update({k: v for k, v in overrides.items() if v is not None})
    r = Reader(raw, s.file, "sweep")
    phase = r.string("phase", _default_phase(s, raw), choices=[*PHASES, "deployment"])
    if phase == "deployment":  # searched by cmperf.splits (cmperf sweep dispatches it)
        raise r.error("phase", "a deployment's split is searched by cmperf.splits.best_splits")
    base, kind = s.section(phase), PHASE_KINDS[phase]
    if base is None:
        raise r.error("phase", f"the scenario has no {phase} section to sweep")
    b = r.sub(kind.batch_key, {})
    batch_min = b.number("min", 1.0, low=0.0, high=1e9, low_open=True)
    batch_max = b.number("max", kind.batch_max, low=batch_min, high=1e9)
    b.done(["min", "max"])
    if math.ceil(batch_min) > math.floor(batch_max):
        raise b.error("max", f"the range [{batch_min:g}, {batch_max:g}] holds no whole batch")
    mtp = r.sub("mtp", {})
    drafts = _ints(mtp, "draft_tokens", getattr(base, "mtp_draft_tokens", 0))
    acceptance_raw = mtp.raw("acceptance", list(getattr(base, "mtp_acceptance", ())) or [0.0])
    acceptance_list = acceptance_raw if isinstance(acceptance_raw, list) else [acceptance_raw]
    if any(
        isinstance(a, bool) or not isinstance(a, int | float) or not 0 <= a <= 1
        for a in acceptance_list
    ):
        raise mtp.error("acceptance", f"expected per-depth probabilities, got {acceptance_raw!r}")
    if max(drafts) > len(acceptance_list):
        raise mtp.error(
            "acceptance",
            f"{max(drafts)} draft tokens need {max(drafts)} per-depth "
            f"acceptances, got {len(acceptance_list)}",
        )
    mtp.done(["draft_tokens", "acceptance"])
    if not kind.drafts and max(drafts) > 0:
        raise mtp.error("draft_tokens", f"MTP drafting does not apply to {phase}")
    placements = r.raw("placements", list(PLACEMENTS))
    placements = placements if isinstance(placements, list) else [placements]
    if not placements:
        raise r.error("placements", f"expected one or more of {', '.join(PLACEMENTS)}")
    for p in placements:
        if p not in PLACEMENTS:
            raise r.error("placements", f"expected {' or '.join(PLACEMENTS)}, got {p!r}")
    spec = SweepSpec(
        phase=phase,
        devices=_ints(r, "devices", base.devices, low=1),
        ep=_ints(r, "ep", base.placement.ep, low=1),
        placements=tuple(placements),
        batch_min=batch_min,
        batch_max=batch_max,
        microbatches=_ints(r, "microbatches", base.microbatches, low=1),
        mtp_draft_tokens=drafts,
        mtp_acceptance=tuple(float(a) for a in acceptance_list),
        quantization=_quantization_modes(r),
        tpot_slo_s=_slo(r, "tpot_slo"),
        ttft_slo_s=_slo(r, "ttft_slo"),
        objective=r.string("objective", OBJECTIVES[0], choices=list(OBJECTIVES)),
        top=r.integer("top", 10, low=1),
    )
    r.done()
    if spec.slo_s is None:
        others = [k for k in PHASE_KINDS.values() if k.name != phase and raw.get(k.slo_key)]
        if others:
            raise r.error(kind.slo_key, _other_phase_slo(s, phase, others[0]))
        hint = "; or sweep.phase: deployment for the split of" if s.deployment else ""
        raise r.error(
            kind.slo_key,
            f"a {phase} sweep needs a {kind.slo_key} (in the sweep block or {kind.slo_option})"
            + (f"{hint} a device budget (sweep.devices)" if hint else ""),
        )
    return spec


def _default_phase(s: Scenario, raw: dict[str, Any]) -> str:
    """The scenario's only phase, else the only one whose SLO is given, else decode."""
    if len(s.sections) == 1:
        return next(iter(s.sections))
    given = [name for name in s.sections if raw.get(PHASE_KINDS[name].slo_key) is not None]
    return given[0] if len(given) == 1 else "decode"


def _slo(r: Reader, key: str) -> float | None:
    value = r.raw(key, None)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return r.number(key, low=0.0, low_open=True)  # seconds, as written in JSON
    return r.quantity(key, Dimension.TIME)


def _quantization_modes(r: Reader) -> tuple[tuple[tuple[str, str], ...], ...]:
    """`{weights+activations: [int8, bf16], dispatch: [int8, bf16]}`: keys joined by + vary
    together; the groups combine as a cartesian product."""
    q = r.sub("quantization", {})
    formats = [d.value for d in DType]
    groups: list[list[tuple[tuple[str, str], ...]]] = []
    for group in q.names():
        keys = group.split("+")
        for key in keys:
            if key not in QUANT_KEYS:
                raise q.error(
                    group, f"unknown quantization key {key!r}; expected {', '.join(QUANT_KEYS)}"
                )
        values = q.raw(group)
        values = values if isinstance(values, list) else [values]
        if not values:
            raise q.error(group, "expected at least one format")
        for v in values:
            if v not in formats:
                raise q.error(group, f"expected formats from {', '.join(formats)}, got {v!r}")
        groups.append([tuple((key, v) for key in keys) for v in values])
    q.done()
    return tuple(tuple(itertools.chain(*combo)) for combo in itertools.product(*groups)) or ((),)


# ---------------------------------------------------------------------------------------------
# The discrete space


def placement_sets(s: Scenario, phase: str, ep: int, kind: str) -> tuple[str, ...] | None:
    """Overrides that place the experts on `ep` ranks, or None where the kind cannot.

    local_shared: every rank holds a shared-expert replica and computes it on its own tokens;
    routed experts get the fewest redundant replicas that spread them evenly.
    dedicated_shared: one expert per rank; the ranks beyond the routed experts are split
    between shared-expert replicas and redundant routed replicas (ref §3.1: EP320 = 256 + 32 +
    32).
    """
    routed = s.model.moe.routed_experts
    if kind == "local_shared":
        # a replica of the shared expert on every rank (none for a model without one)
        redundant, shared = (-routed) % ep, (ep if s.model.moe.shared_experts else 0)
    else:
        if ep <= routed or not s.model.moe.shared_experts:
            return None
        shared = max(1, (ep - routed) // 2)
        redundant = ep - routed - shared
    return (
        f"{phase}.ep={ep}",
        f"{phase}.redundant_experts={redundant}",
        f"{phase}.shared_expert_replicas={shared}",
    )


def candidates(s: Scenario, spec: SweepSpec) -> Iterator[Candidate | str]:
    """Every discrete combination, as a Candidate, or a string saying why it cannot be placed."""
    phase = spec.phase
    for devices, ep, kind, mb, drafts, quant in itertools.product(
        spec.devices,
        spec.ep,
        spec.placements,
        spec.microbatches,
        spec.mtp_draft_tokens,
        spec.quantization,
    ):
        ranks = devices * s.cluster.device.ranks_per_device
        if drafts and not s.model.mtp_modules:
            yield f"model {s.model.name} has no MTP module to draft {drafts} token(s) with"
            continue
        if s.model.moe is None:  # a dense model: no experts to place
            if (ep, kind) != (spec.ep[0], spec.placements[0]):
                continue
            placed: tuple[str, ...] | None = ()
        elif ranks % ep:
            yield f"ep {ep} does not divide the {ranks} ranks of {devices} devices"
            continue
        else:
            placed = placement_sets(s, phase, ep, kind)
        if placed is None:
            yield f"ep {ep}: no {kind} placement of {s.model.moe.routed_experts} routed experts"
            continue
        sets = [f"{phase}.devices={devices}", *placed, f"{phase}.microbatches={mb}"]
        if spec.kind.drafts:
            acceptance = ",".join(_exact(a) for a in spec.mtp_acceptance[:drafts]) or "0"
            sets += [f"{phase}.mtp.draft_tokens={drafts}", f"{phase}.mtp.acceptance=[{acceptance}]"]
        sets += [f"quantization.{key}={fmt}" for key, fmt in quant]
        labels = {
            "devices": devices,
            "ep": ep if s.model.moe else 1,
            "placement": kind if s.model.moe else "dense",
            "microbatches": mb,
            "mtp_draft_tokens": drafts,
            "quantization": dict(quant),
        }
        yield Candidate(tuple(sets), labels)


# ---------------------------------------------------------------------------------------------
# Evaluation


def _evaluate(s: Scenario, spec: SweepSpec, batches: Any) -> tuple[PhaseResult, Any, Any]:
    """One vectorised estimate over an array of batches: (result, latency, memory fraction)."""
    kind = spec.kind
    block = replace(s.sections[spec.phase], **{kind.batch_key: batches})
    result = ASSEMBLERS[spec.phase](s, block, False)
    latency = getattr(result, kind.latency_metric)
    return result, latency, result.memory.total_bytes / result.memory.capacity_bytes


def _objective(s: Scenario, spec: SweepSpec, result: PhaseResult, devices: int) -> Any:
    throughput = result.throughput_tokens_per_s_per_device
    if spec.objective == "throughput_per_instance":
        return throughput * devices
    if spec.objective == "tokens_per_tflops":
        device = s.cluster.device
        peak = device.engine_for("matrix").peak("matrix", s.quantization.gemm)
        return throughput / (peak * device.ranks_per_device / 1e12)
    return throughput


def batch_grid(low: float, high: float) -> Any:
    """The coarse batch grid: COARSE_POINTS geometric steps over [low, high], rounded to whole
    batches (sequences or tokens), without repeats; its ends are the range's whole ends."""
    import numpy as np

    lo, hi = math.ceil(low), math.floor(high)
    points = np.round(np.geomspace(lo, hi, COARSE_POINTS))
    return np.unique(np.clip(points, lo, hi))


# How far below the largest batch that meets the SLO the best one is looked for (integers).
BATCH_LOOKBACK = 4096


def largest_feasible_batch(
    latency: Callable[[Any], Any], slo_s: float, low: float, high: float, grid: Any, values: Any
) -> int | None:
    """The largest integer batch in [low, high] with latency(batch) <= slo, for a latency that
    grows with the batch. `values` = latency(grid) on a coarse increasing grid.

    Root of latency - slo on the piecewise-linear interpolant (brentq), then the integers
    around it evaluated exactly; a window that does not straddle the SLO is widened until it
    does, so the answer is exact whatever the interpolation error.
    """
    import numpy as np
    from scipy.optimize import brentq

    lo_int, hi_int = math.ceil(low), math.floor(high)
    if lo_int > hi_int:
        return None
    if values[0] > slo_s and latency(np.array([float(lo_int)]))[0] > slo_s:
        return None
    if values[-1] <= slo_s:
        guess = float(hi_int)
    else:
        guess = brentq(lambda b: np.interp(b, grid, values) - slo_s, grid[0], grid[-1])
    guess = min(max(guess, float(lo_int)), float(hi_int))  # memory may cap below the grid
    width = 2
    while True:
        start = max(lo_int, math.floor(guess) - width)
        stop = min(hi_int, math.floor(guess) + width)
        window = np.arange(start, stop + 1, dtype=float)
        ok = np.asarray(latency(window)) <= slo_s
        below_ok = start == lo_int or ok[0]
        above_bad = stop == hi_int or not ok[-1]
        if below_ok and above_bad:
            # monotone latency: the feasible integers form a prefix of the window
            return int(window[ok][-1]) if ok.any() else None
        guess = float(start) if not below_ok else float(stop)
        width *= 4


def _candidate_points(
    base: Scenario, spec: SweepSpec, candidate: Candidate, result: SweepResult, grid: Any
) -> tuple[list[Point], Point | None]:
    """Evaluate one candidate: its coarse `grid` of batches within memory (for the frontier)
    and its best batch under the SLO, or None."""
    import numpy as np

    try:
        s = as_scenario(base, candidate.sets)
        phase_result, latency, memory = _evaluate(s, spec, grid)
    except (SpecError, InfeasibleError) as exc:  # placement, or a format the engine lacks
        result.infeasible["placement"] += len(grid)
        result.reasons.setdefault("placement", str(exc))
        return [], None
    result.evaluated += len(grid)
    devices = candidate.labels["devices"]
    slo = spec.slo_s
    over_memory = memory > 1.0
    result.infeasible["memory"] += int(over_memory.sum())
    result.infeasible["slo"] += int(((latency > slo) & ~over_memory).sum())
    batch_key = spec.kind.batch_key

    def points_of(
        res: PhaseResult, batches: Any, lat: Any, mem: Any, keep: Any = None
    ) -> list[Point]:
        objective = np.broadcast_to(_objective(s, spec, res, devices), np.shape(batches))
        throughput = np.broadcast_to(res.throughput_tokens_per_s_per_device, np.shape(batches))
        return [
            Point(
                candidate,
                float(b),
                (*base.overrides, *candidate.sets, f"{spec.phase}.{batch_key}={_exact(b)}"),
                float(lat[i]),
                float(throughput[i]),
                float(objective[i]),
                float(mem[i]),
            )
            for i, b in enumerate(batches)
            if keep is None or i in keep
        ]

    grid_points = [
        p
        for p, over in zip(points_of(phase_result, grid, latency, memory), over_memory, strict=True)
        if not over
    ]
    # Memory grows affinely with the batch: the largest batch that fits.
    if len(grid) == 1:  # a one-batch range: it fits or it does not
        fits = spec.batch_max if memory[0] <= 1.0 else 0.0
    else:
        slope = (memory[-1] - memory[0]) / (grid[-1] - grid[0])
        fits = spec.batch_max if slope <= 0 else grid[0] + (1.0 - memory[0]) / slope
    best_batch = largest_feasible_batch(
        lambda b: _evaluate(s, spec, b)[1],
        slo,
        spec.batch_min,
        min(spec.batch_max, fits),
        grid,
        latency,
    )
    if best_batch is None:
        return grid_points, None
    # The objective is not monotone in the batch: a batch that starts a new wave of tiles
    # costs a whole wave. Every feasible integer batch up to BATCH_LOOKBACK below the largest
    # is evaluated (one array) and the best taken; ties go to the larger batch.
    start = max(math.ceil(spec.batch_min), best_batch - BATCH_LOOKBACK)
    exact = np.arange(start, best_batch + 1, dtype=float)
    res, lat, mem = _evaluate(s, spec, exact)
    result.evaluated += len(exact)
    objective = np.asarray(_objective(s, spec, res, devices), dtype=float)
    feasible = (np.asarray(lat) <= slo) & (np.asarray(mem) <= 1.0)
    best = len(exact) - 1 - int(np.argmax(np.where(feasible, objective, -np.inf)[::-1]))
    keep = np.array([best])
    return grid_points, points_of(res, exact, lat, mem, keep)[0]


def _exact(x: float) -> str:
    """A number as text that reads back to the same float (integers without a decimal point)."""
    x = float(x)
    return str(int(x)) if x.is_integer() else repr(x)


def pareto_frontier(points: list[Point]) -> list[Point]:
    """Points no other point beats on both latency (lower) and throughput per device (higher)."""
    frontier: list[Point] = []
    for p in sorted(points, key=lambda p: (p.latency_s, -p.throughput_per_device)):
        if not frontier or p.throughput_per_device > frontier[-1].throughput_per_device:
            frontier.append(p)
    return frontier


def sweep(
    scenario: str | Scenario,
    overrides: tuple[str, ...] = (),
    tpot_slo_s: float | None = None,
    ttft_slo_s: float | None = None,
    objective: str | None = None,
    top: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Search the scenario's sweep space; rank the best batch of every feasible candidate."""
    base = as_scenario(scenario, overrides)
    spec = read_sweep(
        base, {"tpot_slo": tpot_slo_s, "ttft_slo": ttft_slo_s, "objective": objective, "top": top}
    )
    _refuse_other_phase_slo(base, spec.phase, {"tpot_slo": tpot_slo_s, "ttft_slo": ttft_slo_s})
    result = SweepResult(spec, base, [], [])
    grid_points: list[Point] = []
    best: list[Point] = []
    grid = batch_grid(spec.batch_min, spec.batch_max)  # the same for every candidate
    combos = list(candidates(base, spec))
    for i, candidate in enumerate(combos):
        if isinstance(candidate, str):
            result.infeasible["placement"] += len(grid)
            result.reasons.setdefault("placement", candidate)
        else:
            points, winner = _candidate_points(base, spec, candidate, result, grid)
            grid_points += points
            if winner is not None:
                best.append(winner)
        if progress is not None:
            progress(i + 1, len(combos))
    result.ranked = sorted(best, key=lambda p: (-p.objective, p.latency_s))
    result.frontier = pareto_frontier(grid_points + best)
    return result


def _refuse_other_phase_slo(s: Scenario, phase: str, slos: dict[str, float | None]) -> None:
    """An SLO given (on the command line) for a phase the sweep does not search would be
    silently ignored."""
    for other in PHASE_KINDS.values():
        if other.name != phase and slos.get(other.slo_key) is not None:
            raise SpecError(other.slo_option, "", _other_phase_slo(s, phase, other))


def _other_phase_slo(s: Scenario, phase: str, other: PhaseKind) -> str:
    """Why an SLO of another phase does not bound this sweep, and where it would."""
    where = (
        f"no {other.name} block"
        if s.section(other.name) is None
        else f"its {other.name} block (sweep.phase: {other.name})"
    )
    return (
        f"the sweep of {s.name} searches its {phase} phase, bounded by "
        f"{PHASE_KINDS[phase].slo_option}; {other.slo_option} bounds a {other.name} sweep, "
        f"and {s.name} has {where}"
    )


def require_best(result: SweepResult) -> Point:
    if result.best is None:
        slo = result.spec.slo_s
        counts = ", ".join(
            f"{k} {v}" + (f" (e.g. {result.reasons[k]})" if result.reasons.get(k) else "")
            for k, v in result.infeasible.items()
            if v
        )
        raise InfeasibleError(
            f"no configuration meets the {result.spec.phase} SLO of "
            f"{slo * 1e3:g} ms within memory ({counts})"
        )
    return result.best


__all__ = ["SweepResult", "largest_feasible_batch", "pareto_frontier", "sweep"]
