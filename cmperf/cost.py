"""Op + hardware -> Cost: the work priced on the machine."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InfeasibleError
from .formulas import largest_term, maximum
from .kernels import Facts, families
from .ops import Op
from .specs.hardware import Cluster, Device, Engine, Tier
from .specs.kernel_params import kernel_params
from .specs.reader import shown_path as _shown
from .specs.scenario import Stream


@dataclass(frozen=True)
class Cost:
    """An op's time and its terms. `total_s` comes from its kernel family's formula (which may
    overlap compute and memory imperfectly); the terms say why."""

    compute_s: Any
    memory_s: Any
    comm_s: Any
    source: str = "analytic"
    # Time the op occupies the rank's HBM at its full bandwidth: streams overlap their work,
    # but together they cannot move more bytes than the memory system delivers.
    hbm_s: Any = 0.0
    overhead_s: Any = 0.0  # fixed cost of the kernel launch (0 for an op fused into another)
    time_s: Any = None  # None: the roofline max(compute, memory) + comm + overhead

    @property
    def total_s(self) -> Any:
        if self.time_s is not None:
            return self.time_s
        return maximum(self.compute_s, self.memory_s) + self.comm_s + self.overhead_s

    @property
    def bound(self) -> str:
        """compute, memory, comm or overhead: the largest term (first element of an array)."""
        return largest_term(
            compute=self.compute_s, memory=self.memory_s, comm=self.comm_s, overhead=self.overhead_s
        )

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.compute_s + other.compute_s,
            self.memory_s + other.memory_s,
            self.comm_s + other.comm_s,
            self.source,
            self.hbm_s + other.hbm_s,
            self.overhead_s + other.overhead_s,
            self.total_s + other.total_s,
        )

    def scale(self, factor: Any) -> Cost:
        return Cost(
            self.compute_s * factor,
            self.memory_s * factor,
            self.comm_s * factor,
            self.source,
            self.hbm_s * factor,
            self.overhead_s * factor,
            self.total_s * factor,
        )


def core_share(op: Op, device: Device, stream: Stream) -> tuple[Engine, float]:
    """The engine that runs the op and the share of its cores the op's stream owns."""
    engine = device.engine_for(op.engine.value)
    return engine, stream.share(engine.name)


@dataclass(frozen=True)
class Param:
    """One input of an op's cost formula: its value, unit and where it comes from."""

    value: Any
    unit: str  # FLOP, FLOP/s, B, B/s, s or 1
    source: Callable[[], str]  # built only when asked for (explain), not on every estimate


def facts_for(op: Op, cluster: Cluster, stream: Stream, under_load: bool = True) -> Facts:
    """What the device gives the op's kernel: its engine's cores (the stream's share of them,
    in whole cores), the peak in the op's number format at the engine's clock under load
    (`under_load`; False: the datasheet clock), HBM, and the link tier it crosses."""
    device = cluster.device
    if op.comm is not None:
        # An exchange runs on the cores its stream owns (DeepEP on SMs, FusedDispatch on AI
        # Vector cores); a communication-only stream that claims none drives DMA engines, and
        # 0 leaves the kernel's own launch configuration.
        engine = device.engine_for("vector")
        claims = dict(stream.shares)
        only_comm = set(stream.paths) <= {"comm"}
        share = claims.get(engine.name, 0.0) if claims or only_comm else 1.0
        cores = math.floor(engine.cores * share + 1e-9)
        return link_facts(cluster, cluster.tier_for(op.comm.group_ranks), cores)
    engine, share = core_share(op, device, stream)
    peak = engine.peak(op.engine.value, op.dtype)
    if peak is None:
        supported = ", ".join(d.value for d in engine.peaks.get(op.engine.value, {}))
        raise InfeasibleError(
            f"{device.name}: the {engine.name} engine has no {op.engine.value} {op.dtype} "
            f"peak (op {op.name}); it supports {supported}"
        )
    cores = max(1, math.floor(engine.cores * share + 1e-9))
    follows = device.hbm_bandwidth_follows_cores.value
    hbm = device.hbm_bandwidth_bytes_per_s * (share if follows else 1.0)
    clock = engine.clock if under_load else 1.0
    return Facts(device.name, engine.name, cores, engine.cores, peak * clock, hbm)


def link_facts(cluster: Cluster, tier: Tier, cores: int = 0) -> Facts:
    """What an exchange kernel crossing `tier` of the cluster is given (and the compute cores
    it runs on, where its stream owns some)."""
    device = cluster.device
    return Facts(
        device.name,
        "link",
        cores,
        device.engine_for("vector").cores,
        0.0,
        device.hbm_bandwidth_bytes_per_s,
        tier.bandwidth_bytes_per_s,
        tier.latency_s,
        f"{cluster.name} {tier.name}",
        tier.exchange_efficiency.value if tier.exchange_efficiency else 0.0,
    )


def cost_params(
    op: Op, cluster: Cluster, stream: Stream, first_of_kernel: bool = True
) -> dict[str, Param]:
    """The named inputs of the op's cost formula (see `cost_from`): the kernel family's
    inputs (shape, peaks, bandwidths) and its parameters on this device, each with its source.
    An op fused into a kernel that an earlier op started pays no fixed launch cost."""
    device = cluster.device
    family = families()[op.family]
    facts = facts_for(op, cluster, stream)
    spec_keys = _fact_sources(op, cluster, facts)
    out: dict[str, Param] = {}
    for name, i in family.inputs(op.shape, facts).items():
        key = spec_keys.get((i.unit, i.value)) if isinstance(i.value, float) else None
        source = _text(f"{key} ({i.doc})") if key else _input_source(i.doc, op, facts, stream)
        out[name] = Param(i.value, i.unit, source)
    resolved = kernel_params(device, family.name, op.variant)
    for p in family.params:
        value, where = resolved[p.name]
        if p.name == FIXED and not first_of_kernel:
            out[p.name] = Param(0.0, p.unit, _text(f"launch counted with kernel {op.kernel}"))
        elif p.name == LINK_SHARE and facts.link_exchange_efficiency and op.family in EXCHANGES:
            tier = cluster.tier_for(op.comm.group_ranks)
            key = f"scale_up.{tier.name}" if tier.name != "scale_out" else "scale_out"
            stated = tier.exchange_efficiency
            text = f"{_shown(cluster.file)}: {key}.exchange_efficiency ({stated.source})"
            out[p.name] = Param(stated.value, p.unit, _text(text))
        else:
            out[p.name] = Param(value, p.unit, _text(where))
    return out


def _fact_sources(op: Op, cluster: Cluster, facts: Facts) -> dict[tuple[str, float], str]:
    """The spec key each figure the device gives a kernel comes from, by (unit, value)."""
    device = cluster.device
    dfile = _shown(device.file)
    out = {("B/s", device.hbm_bandwidth_bytes_per_s): f"{dfile}: hbm.bandwidth"}
    if facts.hbm_bytes_per_s != device.hbm_bandwidth_bytes_per_s:
        share = facts.hbm_bytes_per_s / device.hbm_bandwidth_bytes_per_s
        out[("B/s", facts.hbm_bytes_per_s)] = f"{dfile}: hbm.bandwidth × {share:.3g} (stream)"
    if op.comm is not None:
        tier = cluster.tier_for(op.comm.group_ranks)
        key = f"scale_up.{tier.name}" if tier.name != "scale_out" else "scale_out"
        cfile = _shown(cluster.file)
        out[("B/s", tier.bandwidth_bytes_per_s)] = f"{cfile}: {key}.bandwidth ({tier.source})"
        out[("s", tier.latency_s)] = f"{cfile}: {key}.latency ({tier.source})"
    else:
        role = op.engine.value
        peak = f"{dfile}: engines.{facts.engine}.peak.{role}.{op.dtype.value}"
        note = ""
        clock = device.engines[facts.engine].clock_under_load
        if clock is not None and facts.peak_flop_per_s != device.engines[facts.engine].peak(
            role, op.dtype
        ):
            # The peak at the engine's sustained clock (estimates, not --ideal).
            peak += f" × {clock.value:g}"
            note = f" (× engines.{facts.engine}.clock_under_load: {clock.source})"
        whole, cores, total = facts.peak_flop_per_s, facts.cores, facts.cores_total
        # The share a stream owns, or one core: the peak scaled by whole cores.
        out[("FLOP/s", whole * cores / total)] = f"{peak} × {cores} / {total} cores{note}"
        out[("FLOP/s", whole / total)] = f"{peak} / {total} cores (one core){note}"
        out[("FLOP/s", whole)] = peak + note
    return out


FIXED = "fixed_s"  # every family's fixed cost per kernel launch
LINK_SHARE = "bandwidth_efficiency"  # an exchange kernel's share of its link's bandwidth
EXCHANGES = ("dispatch", "combine")  # the token exchanges a tier's exchange_efficiency covers


def _text(text: str) -> Callable[[], str]:
    return lambda: text


def _input_source(doc: str, op: Op, facts: Facts, stream: Stream) -> Callable:
    def source() -> str:
        if facts.engine == "link":
            return f"{doc} ({op.name}; link {facts.link})"
        cores = f"{facts.cores} of {facts.cores_total} {facts.engine} cores"
        return f"{doc} ({op.name}; stream {stream.name!r}: {cores})"

    return source


def cost_from(family: str, v: Mapping[str, Any], ideal: bool = False, hbm_share: Any = 1.0) -> Cost:
    """An op's cost from its named inputs, which may be floats, arrays or sympy symbols."""
    t = families()[family].time(v, ideal)
    return Cost(
        t.compute_s,
        t.memory_s,
        t.comm_s,
        "ideal" if ideal else "kernel model",
        hbm_s=t.memory_s * hbm_share,
        overhead_s=t.overhead_s,
        time_s=t.total_s,
    )


def op_cost(
    op: Op, cluster: Cluster, stream: Stream, first_of_kernel: bool = True, ideal: bool = False
) -> Cost:
    """The op's kernel priced on the rank: its family's formula at the device's parameters.

    Its memory time is at the share of the HBM bandwidth its facts give it (the whole unless
    bandwidth follows the stream's cores); `hbm_s` converts it to time at the full bandwidth."""
    facts = facts_for(op, cluster, stream, under_load=not ideal)
    share = facts.hbm_bytes_per_s / cluster.device.hbm_bandwidth_bytes_per_s
    return cost_from(op.family, cost_values(op, cluster, facts, first_of_kernel), ideal, share)


def cost_values(
    op: Op, cluster: Cluster, facts: Facts, first_of_kernel: bool = True
) -> dict[str, Any]:
    """The values of `cost_params` without their sources (what every estimate evaluates)."""
    family = families()[op.family]
    values = {name: i.value for name, i in family.inputs(op.shape, facts).items()}
    for name, (value, _) in kernel_params(cluster.device, family.name, op.variant).items():
        values[name] = value
    if not first_of_kernel and FIXED in values:
        values[FIXED] = 0.0
    if facts.link_exchange_efficiency and op.family in EXCHANGES:
        values[LINK_SHARE] = facts.link_exchange_efficiency  # measured on this tier
    return values
