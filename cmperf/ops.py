"""Op records: what work an operator does and on which engine. No hardware numbers here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from .quant import DType


class Engine(StrEnum):
    """The kind of work an op is: the device spec says which of its engines runs it."""

    MATRIX = "matrix"  # matrix units (Ascend AI Cube cores, GPU tensor cores)
    VECTOR = "vector"  # elementwise / reduction units (Ascend AI Vector cores, CUDA cores)
    LINK = "link"  # interconnect, driven by DMA or by compute cores


class CommKind(StrEnum):
    DISPATCH = "dispatch"  # MoE: tokens to the ranks of their experts
    COMBINE = "combine"  # MoE: expert outputs back, weighted sum
    ALL_GATHER = "all_gather"
    ALL_TO_ALL = "all_to_all"
    ALL_REDUCE = "all_reduce"


@dataclass(frozen=True)
class Comm:
    kind: CommKind
    bytes_per_rank: Any  # bytes each rank sends to other ranks
    peers: Any  # distinct remote ranks each rank exchanges with
    group_ranks: int  # ranks in the communicating group (decides the tier crossed)


@dataclass(frozen=True)
class Op:
    """One operator of one microbatch on one rank.

    `kind` selects the efficiency that applies (gemm, attention, vector); traffic is split by
    what it is so a report can say why an op is memory-bound.
    """

    name: str
    path: str  # attention | moe | ffn | comm | head: which stream runs it
    engine: Engine
    kind: str
    dtype: DType
    flop: Any = 0.0
    weight_bytes: Any = 0.0
    act_bytes: Any = 0.0
    kv_bytes: Any = 0.0
    comm: Comm | None = None
    # The kernel that runs it: its family (cmperf.kernels), the shape that family prices,
    # and the fused kernel it belongs to. Ops of one fused kernel (a norm, projections and
    # RoPE in one MLA prologue) share one launch: its fixed cost is counted once.
    family: str = "elementwise"
    shape: Mapping[str, Any] = field(default_factory=dict)
    kernel: str = ""  # fused kernel name; "" is a kernel of its own

    @property
    def variant(self) -> str:
        """The family's parameter set this op uses: its number format, or the kernel named in
        its shape (DeepEP's normal or low-latency exchange)."""
        return str(self.shape.get("variant", self.dtype.value))

    @property
    def bytes(self) -> Any:
        return self.weight_bytes + self.act_bytes + self.kv_bytes


def gemm(
    name: str,
    path: str,
    m: Any,
    k: int,
    n: int,
    weights: DType,
    acts: DType,
    compute: DType,
    out_bytes_per_value: float = 2.0,
    repeat: int = 1,
    kernel: str = "",
) -> Op:
    """C[m, n] = A[m, k] B[k, n]: 2mkn FLOP, weights k x n read once, activations in and out.

    `repeat` batches independent weight matrices (per-head absorbed projections) in one launch.
    """
    return Op(
        name=name,
        path=path,
        engine=Engine.MATRIX,
        kind="gemm",
        dtype=compute,
        flop=2.0 * m * k * n * repeat,
        weight_bytes=float(k * n * repeat) * weights.bytes,
        act_bytes=m * repeat * (k * acts.bytes + n * out_bytes_per_value),
        family="gemm",
        shape={
            "m": m,
            "n": n,
            "k": k,
            "groups": repeat,
            "a_bytes": acts.bytes,
            "w_bytes": weights.bytes,
            "out_bytes": out_bytes_per_value,
        },
        kernel=kernel,
    )


def elementwise(
    name: str,
    path: str,
    elements: Any,
    flop_per_element: float,
    bytes_per_element: float,
    dtype: DType = DType.BF16,
    kernel: str = "",
) -> Op:
    """Vector-engine work: norms, RoPE, activations, quantization, sampling."""
    return vector_op(
        name,
        path,
        flop=elements * flop_per_element,
        act_bytes=elements * bytes_per_element,
        dtype=dtype,
        kernel=kernel,
    )


def vector_op(name: str, path: str, dtype: DType = DType.BF16, kernel: str = "", **work: Any) -> Op:
    """An elementwise kernel given its work (flop, act_bytes, kv_bytes)."""
    op = Op(
        name=name,
        path=path,
        engine=Engine.VECTOR,
        kind="vector",
        dtype=dtype,
        kernel=kernel,
        **work,
    )
    return replace(op, shape={"flop": op.flop, "bytes": op.bytes})


def communication(
    name: str,
    kind: CommKind,
    bytes_per_rank: Any,
    peers: Any,
    group_ranks: int,
    **shape: Any,
) -> Op:
    """An exchange among `group_ranks` ranks; `shape` adds what its family prices beyond the
    bytes and peers (tokens, hidden size, top-k for dispatch and combine)."""
    return Op(
        name=name,
        path="comm",
        engine=Engine.LINK,
        kind="comm",
        dtype=DType.BF16,
        comm=Comm(kind, bytes_per_rank, peers, group_ranks),
        family=COMM_FAMILIES[kind],
        shape={"bytes_sent": bytes_per_rank, "peers": peers, "ranks": group_ranks} | shape,
    )


COMM_FAMILIES = {
    CommKind.DISPATCH: "dispatch",
    CommKind.COMBINE: "combine",
    CommKind.ALL_GATHER: "all_gather",
    CommKind.ALL_TO_ALL: "all_to_all",
    CommKind.ALL_REDUCE: "all_reduce",
}
