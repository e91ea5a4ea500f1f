"""Mixture-of-experts kernels: the grouped expert GEMM and the routed-expert computation of one
MoE layer as SGLang's fused Triton MoE runs it.

A grouped GEMM multiplies the rows routed to each of `groups` experts by that expert's own
weights, in one launch. The Triton kernel sorts the routed (token, expert) pairs by expert and
pads each expert's rows to a multiple of the tile height, then launches one program per
(row block, column block): an expert with r rows costs ceil(r / t_m) ceil(n / t_n) tiles, and the
tiles of all experts run in waves over the SMs. Each tile streams its expert's k x t_n weight
strip, so every touched expert's weights are read from HBM once.

The whole routed-expert computation (`moe`) is two such grouped GEMMs (gate/up, then down), the
SiLU-and-multiply activation between them, and what the kernel does for every routing slot,
local or not (see `Moe`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..formulas import ceil, maximum, minimum
from ..formulas.kernel import overlap_time_s, waves
from .base import (
    CsvSource,
    Facts,
    Family,
    Input,
    KernelTime,
    ParamDef,
    compute_efficiency,
    core_inputs,
    fixed_cost,
    memory_efficiency,
    overlap_exponent,
)

FIXED = fixed_cost(doc="launch, prologue and epilogue of one grouped GEMM launch", start=5e-6)
COMPUTE_EFFICIENCY = compute_efficiency(
    doc="share of an SM's tensor peak a long tile sustains", start=0.5, kind="gemm"
)
K_HALF = ParamDef(
    "k_half",
    "k_half",
    "elements",
    0.0,
    1.0,
    1e5,
    start=256.0,
    doc="reduction length that adds as much time to a tile as it would take to multiply: "
    "the pipeline fill and drain a short k cannot hide",
)
MEMORY_EFFICIENCY = memory_efficiency(
    doc="share of the HBM bandwidth the kernel's loads and stores sustain", start=0.85
)
OVERLAP = overlap_exponent(
    doc="overlap of tensor work and HBM traffic: t = (t_c^p + t_m^p)^(1/p)", start=3.0
)
# SGLang's fused MoE Triton kernel (fused_moe_triton) with block-scaled FP8 weights uses
# BLOCK_SIZE_N = BLOCK_SIZE_K = 128 (the 128x128 weight-scale block) and BLOCK_SIZE_M 64 in its
# default configuration (get_default_config for block-quantized weights).
TILE_M = ParamDef(
    "tile_m",
    "t_m",
    "rows",
    64.0,
    64.0,
    64.0,
    fit=False,
    doc="rows of a tile: the Triton fused-MoE default BLOCK_SIZE_M (64)",
)
TILE_N = ParamDef(
    "tile_n",
    "t_n",
    "columns",
    128.0,
    128.0,
    128.0,
    fit=False,
    doc="columns of a tile: BLOCK_SIZE_N 128, the 128x128 FP8 weight-scale block",
)
SLOT = ParamDef(
    "slot_s",
    "t_slot",
    "s",
    0.0,
    1e-12,
    1e-6,
    start=3e-8,
    doc="time per routing slot (token x top-k) of the layer, local or masked: the program "
    "launches over the sorted, padded slots, the zero-filled output tiles of masked slots, "
    "sorting and the top-k reduction",
)
PROGRAM = ParamDef(
    "program_s",
    "t_prog",
    "s",
    0.0,
    1e-10,
    1e-5,
    start=2e-7,
    doc="SM time of one launched program of the grid, even one that exits at once: the grid "
    "covers the largest padded slot count, slots + experts (t_m - 1), not the rows routed",
)
MOE_FIXED = ParamDef(
    "moe_fixed_s",
    "t_1",
    "s",
    0.0,
    1e-7,
    1e-4,
    start=1e-5,
    doc="launches of the layer besides the two GEMMs: expert sort and block alignment, "
    "activation, activation quantization, top-k reduction",
)

GEMM_PARAMS = (FIXED, COMPUTE_EFFICIENCY, K_HALF, MEMORY_EFFICIENCY, OVERLAP, TILE_M, TILE_N)


def grouped_gemm_time(
    m: Any, n: Any, k: Any, g: Any, traffic_b: Any, v: Mapping[str, Any], ideal: bool
) -> KernelTime:
    """One grouped GEMM: m rows over g experts, n x k weights each, `traffic_b` bytes of HBM.

    t = t_0 + overlap(W t_tile, B / (BW eta_m); p), W = ceil(g ceil((m/g) / t_m) ceil(n / t_n)
    / N), t_tile = 2 t_m t_n (k + k_half) / (P_sm eta_c).
    """
    if ideal:
        compute_s = 2 * m * n * k / v["P"]
        memory_s = traffic_b / v["BW"]
        return KernelTime(overlap_time_s(compute_s, memory_s, float("inf")), compute_s, memory_s)
    tm, tn = v["tile_m"], v["tile_n"]
    rows = m / maximum(g, 1e-30)
    tiles = g * ceil(rows / tm) * ceil(n / tn)
    per_tile_s = 2 * tm * tn * (k + v["k_half"]) / (v["P_sm"] * v["compute_efficiency"])
    compute_s = waves(tiles, v["N"]) * per_tile_s
    memory_s = traffic_b / (v["BW"] * v["memory_efficiency"])
    body_s = overlap_time_s(compute_s, memory_s, v["overlap_exponent"])
    return KernelTime(v["fixed_s"] + body_s, compute_s, memory_s, 0.0, v["fixed_s"])


def _device_inputs(facts: Facts) -> dict[str, Input]:
    return core_inputs(facts)


class GroupedGemm(Family):
    """Parameters are fitted on the `moe` measurements (no grouped GEMM is measured alone):
    the estimate's grouped GEMM inherits fixed_s, compute_efficiency, k_half,
    memory_efficiency, overlap_exponent, tile_m and tile_n of the `moe` family's fit."""

    name = "grouped_gemm"
    command = "grouped-gemm"
    doc = "one grouped expert GEMM: m routed rows over `groups` experts, each with its own weights"
    engine = "matrix"
    params = GEMM_PARAMS
    shape = {
        "m": "rows: routed (token, expert) rows of all groups; may be fractional or an array",
        "n": "columns: output features of each expert",
        "k": "elements: reduction length (input features)",
        "groups": "1: experts that receive rows (each expert's weights are read once)",
        "a_bytes": "B: bytes per element of A (activations), scales included",
        "w_bytes": "B: bytes per element of the weights, scales included",
        "out_bytes": "B: bytes per element of C",
    }
    required = ("m", "n", "k", "groups")
    defaults = {"a_bytes": 2.0, "w_bytes": 2.0, "out_bytes": 2.0}
    sources = ()
    csv_columns = ()
    variant_columns = ("dtype",)

    def inputs(self, shape: Mapping[str, Any], facts: Facts) -> dict[str, Input]:
        s = dict(self.defaults) | dict(shape)
        m, n, k, g = s["m"], s["n"], s["k"], s["groups"]
        traffic = g * n * k * s["w_bytes"] + m * k * s["a_bytes"] + m * n * s["out_bytes"]
        return {
            "m": Input(m, "rows", "routed rows of all experts"),
            "n": Input(n, "columns", "output features per expert"),
            "k": Input(k, "elements", "reduction length"),
            "G": Input(g, "1", "experts with rows"),
            "B": Input(traffic, "B", "HBM traffic: each expert's weights, A and C once"),
        } | _device_inputs(facts)

    def time(self, v: Mapping[str, Any], ideal: bool = False) -> KernelTime:
        return grouped_gemm_time(v["m"], v["n"], v["k"], v["G"], v["B"], v, ideal)


class Moe(Family):
    """The routed experts of one MoE layer on one GPU, as SGLang's fused Triton MoE runs them.

    S = tokens x topk routing slots; this GPU holds E_l = E / ep experts and L = S / ep of the
    slots are its own. Routing is balanced (README), so E_t = E_l min(1, S / E) local experts
    receive rows, L / E_t each. Masked slots (a remote expert, id -1) keep their place in the
    sorted, padded slot array, so the kernel pays for every slot:

    t = t_up + t_down + (activation + masked-tile zeros + top-k sum bytes) / (BW eta_m)
        + S t_slot + grid t_prog / N + t_1,

    with t_up, t_down the grouped GEMM (`grouped_gemm_time`: m = L rows over E_t experts; gate/up
    n = 2I, k = H; down n = H, k = I) and grid = ceil((S + E_l (t_m - 1)) / t_m)
    (ceil(2I / t_n) + ceil(H / t_n)) the programs the two GEMM launches start (the grid spans
    the largest padded slot count; programs past the used rows exit at once). The GEMM
    parameters (fixed_s, compute_efficiency, k_half, memory_efficiency, overlap_exponent,
    tile_m, tile_n) fitted here are the ones the `grouped_gemm` family, and so the estimate's
    expert projections, use; slot_s, program_s and moe_fixed_s belong to this family alone.
    """

    name = "moe"
    calibrates = ("grouped_gemm",)  # its fit sets the grouped GEMMs' shared parameters
    command = "moe"
    doc = "routed experts of one MoE layer on one GPU (SGLang fused Triton MoE)"
    engine = "matrix"
    params = (*GEMM_PARAMS, SLOT, PROGRAM, MOE_FIXED)
    shape = {
        "tokens": "tokens: tokens routed (before top-k)",
        "hidden": "elements: hidden size",
        "inter": "elements: intermediate size per expert",
        "topk": "1: experts each token selects",
        "experts": "1: routed experts in all",
        "ep": "1: GPUs the experts are spread over",
        "a_bytes": "B: bytes per element of the GEMM activations, scales included",
        "w_bytes": "B: bytes per element of the weights, scales included",
        "out_bytes": "B: bytes per element of the GEMM outputs",
    }
    required = ("tokens", "hidden", "inter", "topk", "experts")
    defaults = {
        "ep": 1.0,
        "a_bytes": 1.0 + 4.0 / 128,
        "w_bytes": 1.0 + 4.0 / (128 * 128),
        "out_bytes": 2.0,
    }
    sources = (CsvSource("moe"),)
    csv_columns = (
        "dtype",
        "num_tokens",
        "hidden_size",
        "inter_size",
        "topk",
        "num_experts",
        "moe_ep_size",
    )
    variant_columns = ("dtype",)

    def shape_from_columns(self, columns: Mapping[str, Any]) -> dict[str, Any]:
        import numpy as np

        # README (moe row): latency barely changes from EP1 to EP2. The rows agree within 2 % at
        # every token count, memory-bound ones included, where touching all 256 experts' FP8
        # weights (256 x 44 MB at 32 tokens x top-8) in the measured 1.39 ms would take
        # 8.1 TB/s, beyond the 4.8 TB/s of HBM (gpu.md): the ep=1 run holds and touches the
        # experts of an ep=2 one, so its rows are read as ep=2.
        ep = np.asarray(columns["moe_ep_size"], dtype=float)
        return {
            "tokens": np.asarray(columns["num_tokens"], dtype=float),
            "hidden": np.asarray(columns["hidden_size"], dtype=float),
            "inter": np.asarray(columns["inter_size"], dtype=float),
            "topk": np.asarray(columns["topk"], dtype=float),
            "experts": np.asarray(columns["num_experts"], dtype=float),
            "ep": np.maximum(ep, 2.0),
        }

    def inputs(self, shape: Mapping[str, Any], facts: Facts) -> dict[str, Input]:
        s = dict(self.defaults) | dict(shape)
        t, h, i, topk, e, ep = (
            s[x] for x in ("tokens", "hidden", "inter", "topk", "experts", "ep")
        )
        slots = t * topk
        local = slots / ep
        e_local = e / ep
        # Balanced routing (README): every expert receives slots / experts of the slots, so
        # all are touched once slots >= experts (the EP8 latency is flat from 32 to 128 tokens).
        touched = e_local * minimum(1.0, slots / e)
        return {
            "S": Input(slots, "slots", "routing slots: tokens x top-k"),
            "L": Input(local, "rows", "slots routed to this GPU's experts"),
            "E_t": Input(touched, "1", "local experts that receive rows"),
            "E_l": Input(e_local, "1", "experts this GPU holds"),
            "H": Input(h, "elements", "hidden size"),
            "I": Input(i, "elements", "intermediate size per expert"),
            "a": Input(s["a_bytes"], "B", "bytes per element of the GEMM inputs (FP8 + scales)"),
            "w": Input(s["w_bytes"], "B", "bytes per weight element (FP8 + block scales)"),
            "o": Input(s["out_bytes"], "B", "bytes per element of the GEMM outputs (BF16)"),
        } | _device_inputs(facts)

    def time(self, v: Mapping[str, Any], ideal: bool = False) -> KernelTime:
        S, L, E, H, inter = v["S"], v["L"], v["E_t"], v["H"], v["I"]
        a, w, o = v["a"], v["w"], v["o"]
        # Each touched expert's weights once, the gathered rows of A, C of the local rows.
        up_b = E * 2 * inter * H * w + L * H * a + L * 2 * inter * o
        down_b = E * H * inter * w + L * inter * a + L * H * o
        up = grouped_gemm_time(L, 2 * inter, H, E, up_b, v, ideal)
        down = grouped_gemm_time(L, H, inter, E, down_b, v, ideal)
        # The intermediate caches have one row per slot (tokens x topk), local or not: SiLU-and-
        # multiply reads 2I and writes I (out format), the FP8 quantization of the down GEMM's
        # input reads I and writes I bytes of `a`; the top-k sum reads H per slot.
        pass_b = S * inter * (2 * o + o + o + a) + S * H * o
        if ideal:
            pass_s = pass_b / v["BW"]
            return KernelTime(
                up.total_s + down.total_s + pass_s,
                up.compute_s + down.compute_s,
                up.memory_s + down.memory_s + pass_s,
            )
        # Masked slots' tiles write zeros into both GEMM outputs.
        masked_b = (S - L) * (2 * inter + H) * o
        pass_s = (pass_b + masked_b) / (v["BW"] * v["memory_efficiency"])
        tm, tn = v["tile_m"], v["tile_n"]
        grid = ceil((S + v["E_l"] * (tm - 1)) / tm) * (ceil(2 * inter / tn) + ceil(H / tn))
        slot_s = S * v["slot_s"] + grid * v["program_s"] / v["N"]
        overhead_s = up.overhead_s + down.overhead_s + slot_s + v["moe_fixed_s"]
        return KernelTime(
            up.total_s + down.total_s + pass_s + slot_s + v["moe_fixed_s"],
            up.compute_s + down.compute_s,
            up.memory_s + down.memory_s + pass_s,
            0.0,
            overhead_s,
        )


FAMILIES = (GroupedGemm(), Moe())
