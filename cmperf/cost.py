"""Op + hardware -> Cost: the work priced on the machine."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InfeasibleError
from .formulas import first, maximum
from .formulas.comm import transfer_time_s
from .formulas.roofline import compute_time_s, memory_time_s
from .ops import CommKind, Engine, Op
from .specs.hardware import Cluster
from .specs.scenario import Stream

_FIXED_OVERHEAD = {CommKind.DISPATCH: "dispatch_s", CommKind.COMBINE: "combine_s"}


@dataclass(frozen=True)
class Cost:
    compute_s: Any
    memory_s: Any
    comm_s: Any
    source: str = "analytic"
    # Time the op occupies the rank's HBM at its full bandwidth: streams overlap their work,
    # but together they cannot move more bytes than the memory system delivers.
    hbm_s: Any = 0.0

    @property
    def total_s(self) -> Any:
        return maximum(self.compute_s, self.memory_s) + self.comm_s

    @property
    def bound(self) -> str:
        """compute, memory or comm: whichever term sets the time (first element of an array)."""
        terms = {"compute": self.compute_s, "memory": self.memory_s, "comm": self.comm_s}
        return max(terms, key=lambda k: first(terms[k]))

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.compute_s + other.compute_s,
            self.memory_s + other.memory_s,
            self.comm_s + other.comm_s,
            self.source,
            self.hbm_s + other.hbm_s,
        )

    def scale(self, factor: Any) -> Cost:
        return Cost(
            self.compute_s * factor,
            self.memory_s * factor,
            self.comm_s * factor,
            self.source,
            self.hbm_s * factor,
        )


def core_share(op: Op, stream: Stream) -> float:
    return stream.cube_share if op.engine == Engine.CUBE else stream.vector_share


@dataclass(frozen=True)
class Param:
    """One input of an op's cost formula: its value, unit and where it comes from."""

    value: Any
    unit: str  # FLOP, FLOP/s, B, B/s, s or 1
    source: Callable[[], str]  # built only when asked for (explain), not on every estimate


def cost_params(op: Op, cluster: Cluster, stream: Stream) -> dict[str, Param]:
    """The named inputs of the op's cost formula (see `cost_from`)."""
    device = cluster.device
    dfile = device.file
    if op.comm is not None:
        tier = cluster.tier_for(op.comm.group_ranks)
        overhead = device.comm_overhead
        tier_key = f"scale_up.{tier.name}" if tier.name != "scale_out" else "scale_out"
        fixed_key = _FIXED_OVERHEAD.get(op.comm.kind)
        return {
            "B": Param(op.comm.bytes_per_rank, "B", lambda: f"bytes each rank sends ({op.name})"),
            "BW": Param(
                tier.bandwidth_bytes_per_s,
                "B/s",
                lambda: f"{_shown(cluster.file)}: {tier_key}.bandwidth ({tier.source})",
            ),
            "t_lat": Param(
                tier.latency_s,
                "s",
                lambda: f"{_shown(cluster.file)}: {tier_key}.latency ({tier.source})",
            ),
            "n_peers": Param(
                op.comm.peers,
                "1",
                lambda: (
                    f"expected distinct remote ranks in a group of "
                    f"{op.comm.group_ranks} ({op.name})"
                ),
            ),
            "t_peer": Param(
                overhead["per_peer_s"].value,
                "s",
                lambda: (
                    f"{_shown(dfile)}: comm_overhead.per_peer_s ({overhead['per_peer_s'].source})"
                ),
            ),
            "t_fixed": Param(
                overhead[fixed_key].value if fixed_key else 0.0,
                "s",
                (
                    lambda: (
                        f"{_shown(dfile)}: comm_overhead.{fixed_key} ({overhead[fixed_key].source})"
                    )
                )
                if fixed_key
                else (lambda: f"none for {op.comm.kind.value}"),
            ),
        }
    engine = device.engines[op.engine.value]
    peak = engine.peak_flop_per_s.get(op.dtype)
    if peak is None:
        supported = ", ".join(d.value for d in engine.peak_flop_per_s)
        raise InfeasibleError(
            f"{device.name}: the {engine.name} engine has no {op.dtype} peak "
            f"(op {op.name}); it supports {supported}"
        )
    share = core_share(op, stream)
    follows = device.hbm_bandwidth_follows_cores
    compute_eff = device.compute_efficiency[op.kind]
    memory_eff = device.memory_efficiency["hbm"]
    cores = f"{op.engine.value} cores of stream {stream.name!r} / {engine.cores}"
    return {
        "F": Param(op.flop, "FLOP", lambda: f"arithmetic of {op.name} (cmperf/build.py)"),
        "P": Param(
            peak, "FLOP/s", lambda: f"{_shown(dfile)}: engines.{engine.name}.peak.{op.dtype.value}"
        ),
        "eta_c": Param(
            compute_eff.value,
            "1",
            lambda: f"{_shown(dfile)}: efficiency.compute.{op.kind} ({compute_eff.source})",
        ),
        "s_c": Param(share, "1", lambda: f"share of the rank's {cores}"),
        "B": Param(
            op.bytes,
            "B",
            lambda: f"weights + activations + KV cache moved by {op.name} (cmperf/build.py)",
        ),
        "BW": Param(
            device.hbm_bandwidth_bytes_per_s, "B/s", lambda: f"{_shown(dfile)}: hbm.bandwidth"
        ),
        "eta_m": Param(
            memory_eff.value,
            "1",
            lambda: f"{_shown(dfile)}: efficiency.memory.hbm ({memory_eff.source})",
        ),
        "s_m": Param(
            share if follows.value else 1.0,
            "1",
            lambda: (
                f"{_shown(dfile)}: efficiency.hbm_bandwidth_follows_cores = "
                f"{bool(follows.value)} ({follows.source})"
            ),
        ),
    }


@functools.lru_cache(maxsize=64)
def _shown(path: str) -> str:
    """A spec file as users know it: relative to the working directory where it is below it."""
    from pathlib import Path

    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


def cost_from(is_comm: bool, v: Mapping[str, Any]) -> Cost:
    """An op's cost from its named inputs, which may be floats, arrays or sympy symbols."""
    if is_comm:
        comm_s = transfer_time_s(
            v["B"], v["BW"], v["t_lat"], v["n_peers"], v["t_peer"], v["t_fixed"]
        )
        return Cost(0.0, 0.0, comm_s)
    compute_s = compute_time_s(v["F"], v["P"], v["eta_c"], v["s_c"])
    memory_s = memory_time_s(v["B"], v["BW"], v["eta_m"], v["s_m"])
    hbm_s = memory_time_s(v["B"], v["BW"], v["eta_m"], 1.0)
    return Cost(compute_s, memory_s, 0.0, hbm_s=hbm_s)


def op_cost(op: Op, cluster: Cluster, stream: Stream) -> Cost:
    """Roofline on the rank's engine for compute ops; latency + bytes / bandwidth for comm."""
    params = cost_params(op, cluster, stream)
    return cost_from(op.comm is not None, {name: p.value for name, p in params.items()})
