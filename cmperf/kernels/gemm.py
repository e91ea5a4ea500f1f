"""Dense GEMM on the tensor cores: C[m, n] = A[m, k] B[k, n], one launch (or `groups` GEMMs of
the same shape batched into one launch, such as per-head absorbed projections).

A Hopper GEMM cuts C into output tiles; each SM computes one tile at a time, streaming k-long
strips of A and B through shared memory into the wgmma pipeline. So the kernel runs in waves of
`cores` tiles, and a partial last wave costs a whole one:

    t = t_0 + Q / (BW eta_m) + min over tiles (t_m x t_n) and split-K s of
        [t_split (s > 1) + overlap(W T_tile, (B + 8 m n (s - 1) G) / (BW eta_m); p)]
    W = ceil(ceil(m / t_m) ceil(n / t_n) G s / N)
    T_tile = 2 t_m t_n (k / s) / (P_sm eta_c eta_tile saturating(k / s, k_half))

Each tile runs at one SM's share of the peak (P_sm = peak / all SMs), less a pipeline fill and
drain that a short reduction cannot hide (`saturating`), and a 64-row tile (one consumer
warpgroup) at `eta_tile` of a 128-row one. The library picks the fastest of a few tile shapes
and may split the reduction (split-K) when m x n gives too few tiles to fill the SMs; the
partial sums cost an FP32 round trip and a fixed reduction step. HBM traffic B (A and B read
once, C written once) overlaps the tensor work imperfectly (exponent p). The FP8 linear layers
quantize their BF16 activations first, a memory-bound pass moving Q bytes, which the measured
latencies include. `ideal` is the roofline: max(F / P, (B + Q) / BW), no tiles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ..formulas import minimum
from ..formulas.kernel import overlap_time_s, saturating, tiles_2d, waves
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

FIXED = fixed_cost(
    doc="launch, prologue and epilogue of the kernel (and of its quantization pass), per call",
    start=3e-6,
)
COMPUTE_EFFICIENCY = compute_efficiency(
    doc="share of an SM's tensor peak a long tile sustains (clock under load, issue slots)",
    start=0.7,
    kind="gemm",
)
K_HALF = ParamDef(
    "k_half",
    "k_half",
    "elements",
    0.0,
    1.0,
    1e5,
    start=256.0,
    doc="reduction length at which a tile runs at half its rate: the pipeline fill and drain "
    "(TMA loads in flight, epilogue store) that a short k cannot hide",
)
SMALL_TILE_EFFICIENCY = ParamDef(
    "small_tile_efficiency",
    "eta_64",
    "1",
    1.0,
    0.05,
    1.0,
    start=0.8,
    doc="rate of a 64-row tile relative to a 128-row one: one consumer warpgroup cannot hide "
    "its own loads and epilogue as two ping-ponging ones do",
)
MEMORY_EFFICIENCY = memory_efficiency(
    doc="share of the HBM bandwidth the kernel's loads and stores sustain", start=0.85
)
SPLIT_FIXED = ParamDef(
    "split_fixed_s",
    "t_s",
    "s",
    0.0,
    1e-8,
    1e-4,
    start=2e-6,
    doc="extra cost of a split-K launch: the reduction of the partial sums (a second pass) and "
    "its synchronisation",
)
OVERLAP = overlap_exponent(
    doc="overlap of tensor work and HBM traffic: t = (t_c^p + t_m^p)^(1/p)", start=3.0
)
# Tile shapes: Hopper wgmma instructions are 64 rows deep (m64nNk16), so a warpgroup tile is 64
# or 128 rows (one or two consumer warpgroups); CUTLASS 3 sm90 kernels and cuBLAS use 64x128,
# 128x128 and 128x256 output tiles, DeepGEMM BLOCK_M 64/128 with BLOCK_N up to 256.
TILE_M_SMALL = ParamDef(
    "tile_m_small",
    "t_m1",
    "rows",
    64.0,
    64.0,
    64.0,
    fit=False,
    doc="rows of the short tile: one wgmma m64 warpgroup (CUTLASS sm90 64xN, DeepGEMM BLOCK_M 64)",
)
TILE_M = ParamDef(
    "tile_m",
    "t_m",
    "rows",
    128.0,
    128.0,
    128.0,
    fit=False,
    doc="rows of the standard tile: two m64 consumer warpgroups (CUTLASS/cuBLAS 128x128, 128x256)",
)
TILE_N = ParamDef(
    "tile_n",
    "t_n",
    "columns",
    128.0,
    128.0,
    128.0,
    fit=False,
    doc="columns of the standard tile (CUTLASS/cuBLAS 64x128 and 128x128, DeepGEMM BLOCK_N 128)",
)
TILE_N_NARROW = ParamDef(
    "tile_n_narrow",
    "t_n0",
    "columns",
    64.0,
    64.0,
    64.0,
    fit=False,
    doc="columns of the narrow tile for skinny GEMMs (CUTLASS sm90 64x64, DeepGEMM BLOCK_N 64)",
)
TILE_N_WIDE = ParamDef(
    "tile_n_wide",
    "t_n2",
    "columns",
    256.0,
    256.0,
    256.0,
    fit=False,
    doc="columns of the wide tile: wgmma's largest N, 256 (CUTLASS/cuBLAS 128x256)",
)
# Split-K factors a library may choose (cuBLAS heuristics and CUTLASS split-K/stream-K cut the
# reduction in 2 to 16 parts when m x n leaves SMs idle); the partial sums go through an FP32
# workspace, written and read once more.
SPLIT_K = (1.0, 2.0, 4.0, 8.0, 16.0)
PARTIAL_BYTES = 4.0  # FP32 partial sums of split-K


class Gemm(Family):
    name = "gemm"
    command = "gemm"
    doc = "one dense GEMM C[m,n] = A[m,k] B[k,n] on the tensor cores (cuBLAS, CUTLASS, DeepGEMM)"
    engine = "matrix"
    params = (
        FIXED,
        SPLIT_FIXED,
        COMPUTE_EFFICIENCY,
        SMALL_TILE_EFFICIENCY,
        K_HALF,
        MEMORY_EFFICIENCY,
        OVERLAP,
        TILE_M_SMALL,
        TILE_M,
        TILE_N_NARROW,
        TILE_N,
        TILE_N_WIDE,
    )
    shape: ClassVar[Mapping[str, str]] = {
        "m": "rows: rows of A and C (tokens); may be fractional or an array",
        "n": "columns: columns of B and C (output features)",
        "k": "elements: reduction length (input features)",
        "a_bytes": "B: bytes per element of A (activations), scales included",
        "w_bytes": "B: bytes per element of B (weights), scales included",
        "out_bytes": "B: bytes per element of C",
        "groups": "1: independent GEMMs of this shape in one launch",
        "quant_bytes": "B: bytes per element of A moved by an activation-quantization pass run "
        "before the GEMM (0: A arrives in its format)",
    }
    required = ("m", "n", "k")
    defaults: ClassVar[Mapping[str, float]] = {
        "a_bytes": 2.0,
        "w_bytes": 2.0,
        "out_bytes": 2.0,
        "groups": 1.0,
        "quant_bytes": 0.0,
    }
    sources = (CsvSource("gemm"),)
    csv_columns = ("dtype", "m", "n", "k")
    variant_columns = ("dtype",)
    dtype_column = "dtype"

    def shape_from_columns(self, columns: Mapping[str, Any]) -> dict[str, Any]:
        import numpy as np

        dtype = np.asarray(columns["dtype"])
        fp8 = dtype != "bf16"
        block = dtype == "fp8_block"
        # README: bf16 is torch linear (BF16 in, BF16 out); fp8 per-tensor scaled and fp8_block
        # DeepGEMM take FP8 operands and write BF16. Block scales: one FP32 per 1x128 group of A
        # and per 128x128 block of B.
        a_bytes = np.where(fp8, 1.0, 2.0) + np.where(block, 4.0 / 128, 0.0)
        w_bytes = np.where(fp8, 1.0, 2.0) + np.where(block, 4.0 / (128 * 128), 0.0)
        # The FP8 benchmarks time SGLang's linear layer, which quantizes the BF16 activations
        # before the GEMM: per-token-group (1x128) quantization reads A in BF16 and writes FP8
        # plus its scales (2 + 1 + 4/128 B per element); dynamic per-tensor quantization first
        # reads A once more for its absolute maximum (2 + 2 + 1). The measured latency of
        # A-dominated shapes (small n, large m k) grows by these bytes per element of A.
        quant = np.where(block, 3.0 + 4.0 / 128, np.where(fp8, 5.0, 0.0))
        return {
            "m": np.asarray(columns["m"], dtype=float),
            "n": np.asarray(columns["n"], dtype=float),
            "k": np.asarray(columns["k"], dtype=float),
            "a_bytes": a_bytes,
            "w_bytes": w_bytes,
            "out_bytes": np.full(dtype.shape, 2.0),
            "groups": 1.0,
            "quant_bytes": quant,
        }

    def inputs(self, shape: Mapping[str, Any], facts: Facts) -> dict[str, Input]:
        s = dict(self.defaults) | dict(shape)
        m, n, k, g = s["m"], s["n"], s["k"], s["groups"]
        return {
            "m": Input(m, "rows", "rows of A and C"),
            "n": Input(n, "columns", "columns of B and C"),
            "k": Input(k, "elements", "reduction length"),
            "G": Input(g, "1", "GEMMs of this shape in the launch"),
            "F": Input(2 * m * n * k * g, "FLOP", "multiply-adds of all groups, 2 FLOP each"),
            "B": Input(
                (m * k * s["a_bytes"] + k * n * s["w_bytes"] + m * n * s["out_bytes"]) * g,
                "B",
                "HBM traffic: A, B read once, C written once",
            ),
            "Q": Input(m * k * s["quant_bytes"] * g, "B", "HBM traffic of the quantization pass"),
            "s_p": Input(PARTIAL_BYTES, "B", "bytes per split-K partial sum (FP32)"),
            **core_inputs(facts),
        }

    def time(self, v: Mapping[str, Any], ideal: bool = False) -> KernelTime:
        """The module's equation: quantization pass, then the fastest tiling of waves of tiles
        overlapped with the HBM traffic. `compute_s` is the fastest tiling's tensor time (with
        its split-K reduction step) as if memory were free."""
        if ideal:
            compute_s = v["F"] / v["P"]
            memory_s = (v["B"] + v["Q"]) / v["BW"]
            return KernelTime(
                overlap_time_s(compute_s, memory_s, float("inf")), compute_s, memory_s
            )
        m, n, k, g = v["m"], v["n"], v["k"], v["G"]
        rate = v["P_sm"] * v["compute_efficiency"]
        bandwidth = v["BW"] * v["memory_efficiency"]
        small = v["small_tile_efficiency"]
        shapes = (
            (v["tile_m_small"], v["tile_n_narrow"], small),
            (v["tile_m_small"], v["tile_n"], small),
            (v["tile_m"], v["tile_n"], 1.0),
            (v["tile_m"], v["tile_n_wide"], 1.0),
        )
        quant_s = v["Q"] / bandwidth
        memory_s = v["B"] / bandwidth + quant_s
        if any(type(x).__module__ == "numpy" for x in v.values()):
            # Arrays (a sweep, a calibration): every candidate at once along a trailing axis.
            body_s, compute_s = _fastest_numeric(v, shapes, rate, bandwidth)
            return KernelTime(
                v["fixed_s"] + quant_s + body_s, compute_s, memory_s, 0.0, v["fixed_s"]
            )
        candidates = []
        computes = []
        for tm, tn, eta in shapes:
            tiles = tiles_2d(m, n, tm, tn) * g
            for split in SPLIT_K:
                chunk = k / split  # reduction length of one tile
                per_tile_s = 2 * tm * tn * chunk / (rate * eta * saturating(chunk, v["k_half"]))
                compute_s = waves(tiles * split, v["N"]) * per_tile_s
                partial_b = 2 * v["s_p"] * m * n * (split - 1) * g
                traffic_s = (v["B"] + partial_b) / bandwidth
                split_s = v["split_fixed_s"] * minimum(split - 1.0, 1.0)
                candidates.append(
                    split_s + overlap_time_s(compute_s, traffic_s, v["overlap_exponent"])
                )
                computes.append(split_s + compute_s)
        body_s = _fastest(candidates)
        return KernelTime(
            v["fixed_s"] + quant_s + body_s,
            _fastest(computes),
            memory_s,
            0.0,
            v["fixed_s"],
        )


def _fastest_numeric(
    v: Mapping[str, Any], shapes: tuple, rate: Any, bandwidth: Any
) -> tuple[Any, Any]:
    """The same candidates as `Gemm.time`'s loop, evaluated at once on numbers: tile shapes
    and split factors along a trailing axis, the fastest taken over it (what a sweep runs)."""
    import numpy as np

    def last(x: Any) -> Any:
        return np.expand_dims(np.asarray(x, dtype=float), -1)

    m, n, k, g, n_cores = (last(v[key]) for key in ("m", "n", "k", "G", "N"))
    tm = np.repeat([float(s[0]) for s in shapes], len(SPLIT_K))
    tn = np.repeat([float(s[1]) for s in shapes], len(SPLIT_K))
    eta = np.repeat([float(s[2]) for s in shapes], len(SPLIT_K))
    split = np.tile(SPLIT_K, len(shapes))
    tiles = np.ceil(m / tm) * np.ceil(n / tn) * g
    chunk = k / split
    per_tile_s = 2 * tm * tn * chunk / (rate * eta * saturating(chunk, v["k_half"]))
    compute_s = np.ceil(tiles * split / n_cores) * per_tile_s
    partial_b = 2 * v["s_p"] * m * n * (split - 1) * g
    memory_s = (last(v["B"]) + partial_b) / bandwidth
    split_s = v["split_fixed_s"] * np.minimum(split - 1.0, 1.0)
    body_s = split_s + overlap_time_s(compute_s, memory_s, v["overlap_exponent"])
    best_s, best_compute_s = body_s.min(axis=-1), (split_s + compute_s).min(axis=-1)
    if np.ndim(best_s) == 0:
        return float(best_s), float(best_compute_s)
    return best_s, best_compute_s


def _fastest(candidates: list[Any]) -> Any:
    """The library's pick: the fastest candidate. Symbolic candidates are kept as an unevaluated
    Min, which sympy would otherwise spend seconds comparing pairwise."""
    if any(type(c).__module__.startswith("sympy") for c in candidates):
        import sympy

        return sympy.Min(*candidates, evaluate=False)
    return minimum(*candidates)


FAMILIES = (Gemm(),)
