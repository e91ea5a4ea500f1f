"""Op records: what work an operator does and on which engine. No hardware numbers here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .quant import DType


class Engine(StrEnum):
    CUBE = "cube"  # matrix engine (AI Cube cores, tensor cores)
    VECTOR = "vector"  # elementwise / reduction engine (AI Vector cores, CUDA cores)
    LINK = "link"  # interconnect, driven by DMA or by the vector cores


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
) -> Op:
    """C[m, n] = A[m, k] B[k, n]: 2mkn FLOP, weights k x n read once, activations in and out.

    `repeat` batches independent weight matrices (per-head absorbed projections).
    """
    return Op(
        name=name,
        path=path,
        engine=Engine.CUBE,
        kind="gemm",
        dtype=compute,
        flop=2.0 * m * k * n * repeat,
        weight_bytes=float(k * n * repeat) * weights.bytes,
        act_bytes=m * repeat * (k * acts.bytes + n * out_bytes_per_value),
    )


def elementwise(
    name: str,
    path: str,
    elements: Any,
    flop_per_element: float,
    bytes_per_element: float,
    dtype: DType = DType.BF16,
) -> Op:
    """Vector-engine work: norms, RoPE, activations, quantization, sampling."""
    return Op(
        name=name,
        path=path,
        engine=Engine.VECTOR,
        kind="vector",
        dtype=dtype,
        flop=elements * flop_per_element,
        act_bytes=elements * bytes_per_element,
    )


def communication(
    name: str, kind: CommKind, bytes_per_rank: Any, peers: Any, group_ranks: int
) -> Op:
    return Op(
        name=name,
        path="comm",
        engine=Engine.LINK,
        kind="comm",
        dtype=DType.BF16,
        comm=Comm(kind, bytes_per_rank, peers, group_ranks),
    )
