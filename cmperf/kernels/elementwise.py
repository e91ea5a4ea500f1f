"""Elementwise and reduction kernels on the vector units: norms, RoPE, activations, sampling.

No measured kernels of this family ship; its parameters are the device's stated efficiencies
and a launch cost, and the formula is the general one of `compute_memory_kernel`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..formulas.kernel import overlap_time_s
from .base import (
    Facts,
    Family,
    Input,
    KernelTime,
    compute_efficiency,
    fixed_cost,
    memory_efficiency,
    overlap_exponent,
)

FIXED = fixed_cost(doc="launch, pipeline fill and drain, per kernel", start=1e-6)
COMPUTE_EFFICIENCY = compute_efficiency(
    doc="share of the engine's peak a long kernel sustains", start=0.7, kind="vector"
)
MEMORY_EFFICIENCY = memory_efficiency(
    doc="share of the HBM bandwidth a long kernel sustains", start=0.8
)
OVERLAP = overlap_exponent(
    doc="overlap of compute and memory traffic: t = (t_c^p + t_m^p)^(1/p)", start=4.0
)


class Elementwise(Family):
    name = "elementwise"
    command = "elementwise"
    doc = "one elementwise or reduction pass over a tensor (norm, RoPE, activation, sampling)"
    engine = "vector"
    params = (FIXED, COMPUTE_EFFICIENCY, MEMORY_EFFICIENCY, OVERLAP)
    shape = {
        "flop": "FLOP: arithmetic of the pass",
        "bytes": "B: bytes read and written",
    }
    required = ("flop", "bytes")
    variant_columns = ()

    def inputs(self, shape: Mapping[str, Any], facts: Facts) -> dict[str, Input]:
        return {
            "F": Input(shape["flop"], "FLOP", "arithmetic of the kernel"),
            "B": Input(shape["bytes"], "B", "bytes the kernel moves through HBM"),
            "P": Input(
                facts.peak_flop_per_s * facts.cores / facts.cores_total,
                "FLOP/s",
                f"peak of {facts.cores} of {facts.cores_total} {facts.engine} cores",
            ),
            "BW": Input(facts.hbm_bytes_per_s, "B/s", "HBM bandwidth"),
        }

    def time(self, v: Mapping[str, Any], ideal: bool = False) -> KernelTime:
        if ideal:
            compute_s, memory_s = v["F"] / v["P"], v["B"] / v["BW"]
            return KernelTime(
                overlap_time_s(compute_s, memory_s, float("inf")), compute_s, memory_s
            )
        compute_s = v["F"] / (v["P"] * v["compute_efficiency"])
        memory_s = v["B"] / (v["BW"] * v["memory_efficiency"])
        body_s = overlap_time_s(compute_s, memory_s, v["overlap_exponent"])
        return KernelTime(v["fixed_s"] + body_s, compute_s, memory_s, 0.0, v["fixed_s"])


FAMILIES = (Elementwise(),)
