"""Op + hardware -> Cost: the work priced on the machine."""

from __future__ import annotations

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


def op_cost(op: Op, cluster: Cluster, stream: Stream) -> Cost:
    """Roofline on the rank's engine for compute ops; latency + bytes / bandwidth for comm."""
    device = cluster.device
    if op.comm is not None:
        tier = cluster.tier_for(op.comm.group_ranks)
        overhead = device.comm_overhead
        fixed = (
            overhead[_FIXED_OVERHEAD[op.comm.kind]].value
            if op.comm.kind in _FIXED_OVERHEAD
            else 0.0
        )
        comm_s = transfer_time_s(
            op.comm.bytes_per_rank,
            tier.bandwidth_bytes_per_s,
            tier.latency_s,
            op.comm.peers,
            overhead["per_peer_s"].value,
            fixed,
        )
        return Cost(0.0, 0.0, comm_s)
    engine = device.engines[op.engine.value]
    peak = engine.peak_flop_per_s.get(op.dtype)
    if peak is None:
        supported = ", ".join(d.value for d in engine.peak_flop_per_s)
        raise InfeasibleError(
            f"{device.name}: the {engine.name} engine has no {op.dtype} peak "
            f"(op {op.name}); it supports {supported}"
        )
    share = core_share(op, stream)
    compute_s = compute_time_s(op.flop, peak, device.compute_efficiency[op.kind].value, share)
    bandwidth_share = share if device.hbm_bandwidth_follows_cores.value else 1.0
    bandwidth, efficiency = device.hbm_bandwidth_bytes_per_s, device.memory_efficiency["hbm"].value
    memory_s = memory_time_s(op.bytes, bandwidth, efficiency, bandwidth_share)
    hbm_s = memory_time_s(op.bytes, bandwidth, efficiency, 1.0)
    return Cost(compute_s, memory_s, 0.0, hbm_s=hbm_s)
