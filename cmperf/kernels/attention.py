"""Core attention kernels: one decode step over a KV cache, one causal prefill.

Both are tiled FlashAttention-style kernels: a CTA holds a block of `block_m` query rows and
streams the keys and values in blocks of `block_n` tokens, computing S = Q K^T and O += P V.
Their time is a fixed launch cost plus the busiest SM's share of the block work, priced as the
larger (imperfectly overlapped) of its compute and its HBM traffic.
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
    fixed_cost,
    memory_efficiency,
    overlap_exponent,
)

FIXED = fixed_cost(
    doc="launches (scheduler metadata, attention, split-KV combine), pipeline fill and drain",
    start=1e-5,
)
COMPUTE_EFFICIENCY = compute_efficiency(
    doc="share of the tensor-core peak a long run of full blocks sustains",
    start=0.6,
    kind="attention",
)
MEMORY_EFFICIENCY = memory_efficiency(
    doc="share of the HBM bandwidth the KV stream sustains", start=0.8, low=0.01
)
OVERLAP = overlap_exponent(
    doc="overlap of compute and memory traffic: t = (t_c^p + t_m^p)^(1/p)", start=4.0
)
PER_SEQUENCE = ParamDef(
    "per_sequence_s",
    "t_s",
    "s",
    0.0,
    1e-8,
    1e-4,
    start=5e-6,
    doc="per sequence an SM-part serves: its first KV fetch, softmax epilogue, partial write",
)
PER_SPLIT = ParamDef(
    "per_split_s",
    "t_x",
    "s",
    0.0,
    1e-9,
    1e-5,
    start=1e-7,
    doc="per extra piece of a split sequence: the combine's serial merge of its partial",
)
WIDEN = ParamDef(
    "widen_value_s",
    "t_w",
    "s",
    0.0,
    1e-14,
    1e-9,
    start=1e-12,
    doc="per cached value, when the cache is narrower than the compute format (FP8 KV)",
)
DECODE_BLOCK_M = ParamDef(
    "block_m",
    "b_m",
    "rows",
    64.0,
    1.0,
    1024.0,
    fit=False,
    doc="query rows per CTA: FlashMLA packs q_len x heads/kv_heads rows into blocks of 64",
)
DECODE_BLOCK_N = ParamDef(
    "block_n",
    "b_n",
    "tokens",
    64.0,
    1.0,
    1024.0,
    fit=False,
    doc="KV tokens per block: FlashMLA's page and inner-loop block of 64 tokens",
)
PER_TILE = ParamDef(
    "per_tile_s",
    "t_q",
    "s",
    0.0,
    1e-8,
    1e-4,
    start=3e-6,
    doc="per query tile an SM runs: loading its Q block and storing its O block",
)
PREFILL_BLOCK_M = ParamDef(
    "block_m",
    "b_m",
    "rows",
    64.0,
    1.0,
    1024.0,
    fit=False,
    doc="query rows per CTA (64 for head dims above 256, as FlashMLA and FlashAttention-3)",
)
PREFILL_BLOCK_N = ParamDef(
    "block_n",
    "b_n",
    "tokens",
    64.0,
    1.0,
    1024.0,
    fit=False,
    doc="KV tokens per inner-loop block",
)

ACT_BYTES = 2.0  # query and output in BF16 (README: dtype bf16 for every row)
PARTIAL_BYTES = 4.0  # split-KV partial outputs and LSE are FP32 (FlashMLA's o_accum)


def _kv_bytes(kv_dtype: Any) -> Any:
    import numpy as np

    return np.array([1.0 if str(d).startswith("fp8") else 2.0 for d in kv_dtype])


def _widen_s(values: Any, v: Mapping[str, Any]) -> Any:
    """Widening a cache narrower than the compute format (FP8 KV, BF16 math): per value."""
    # 1 for a cache narrower than the compute format (FP8 under BF16), 0 for one as wide.
    narrower = minimum(1, maximum(0, (v["s_w"] - v["s_kv"]) / v["s_kv"]))
    return narrower * values * v["widen_value_s"]


def _peak_share(facts: Facts) -> Input:
    return Input(
        facts.peak_flop_per_s * facts.cores / facts.cores_total,
        "FLOP/s",
        f"matrix peak of {facts.cores} of {facts.cores_total} {facts.engine} cores",
    )


class AttentionDecode(Family):
    """One decode step: `q_len` new query tokens per sequence attend to `kv_len` cached ones.

    FLOPs (FlashMLA's count, gpu.md 2.2):  F = 2 b h q L (d_qk + d_v).
    Bytes:  B = b L h_kv e s_kv (the cache) + b q h (d_qk + d_v) 2 (Q in, O out)
            + 4 X q h (d_v + 1) 4 (FP32 partials of split sequences written and read back).

    The kernel (FlashMLA) packs the q h / h_kv query rows of each KV head into blocks of b_m
    rows: G = h_kv ceil(q h / h_kv / b_m) CTAs per SM-part, so 16 heads pay a whole 64-row block
    of tensor-core work. To fill the C SMs it splits the KV sequence: C / G SM-parts share the
    batch's b ceil(L / b_n) KV blocks evenly, X = min(C / G + b, b ceil(L / b_n)) - b extra
    pieces of split sequences are merged by a combine pass, one after another per sequence.
    The busiest SM-part runs
        W = ceil(b ceil(L / b_n) / (C / G)) blocks and serves N = ceil(b / (C / G)) sequences:
        t_c = W G (C / G) 2 b_m b_n (d_qk + d_v) / (eta_c P),
        t_m = B / (eta_m BW) + t_w b L h_kv e [FP8 cache widened to BF16],
        t = t_0 + N t_s + (X / b) t_x + (t_c^p + t_m^p)^(1/p).
    N t_s is each sequence's first KV fetch and epilogue (about 5 us, the same in both
    variants): it dominates short caches and large batches.
    """

    name = "attention_decode"
    command = "mla-decode"
    doc = "the core attention of one decode step (FlashMLA-style, split-KV)"
    engine = "matrix"
    params = (
        FIXED,
        COMPUTE_EFFICIENCY,
        MEMORY_EFFICIENCY,
        OVERLAP,
        PER_SEQUENCE,
        PER_SPLIT,
        WIDEN,
        DECODE_BLOCK_M,
        DECODE_BLOCK_N,
    )
    shape = {
        "batch": "sequences: sequences in the step",
        "heads": "heads: query heads on this GPU",
        "q_len": "tokens: query tokens per sequence per step (1; 2 with one MTP draft)",
        "kv_len": "tokens: cached tokens per sequence",
        "qk_dim": "values: query-key head dim (576 for absorbed MLA: 512 latent + 64 RoPE)",
        "v_dim": "values: value head dim (512 for absorbed MLA: the latent)",
        "kv_heads": "heads: KV heads (1 for MLA: the latent is shared by every head)",
        "kv_values": "values: values cached per token per KV head (576 for MLA: 512 + 64)",
        "kv_bytes": "B: bytes per cached value (bf16 2, fp8 1)",
    }
    required = ("batch", "heads", "kv_len")
    defaults = {
        "q_len": 1.0,
        "qk_dim": 576.0,
        "v_dim": 512.0,
        "kv_heads": 1.0,
        "kv_values": 576.0,
        "kv_bytes": 2.0,
    }
    sources = (CsvSource("mla_decode"),)
    csv_columns = ("kv_dtype", "num_heads", "batch_size", "kv_len")
    variant_columns = ("dtype", "kv_dtype")

    def shape_from_columns(self, columns: Mapping[str, Any]) -> dict[str, Any]:
        # README: absorbed MLA, latent KV cache of 512 + 64 values per token, shared by all
        # `num_heads` query heads; one query token per sequence (plain decode, no MTP).
        return {
            "batch": columns["batch_size"],
            "heads": columns["num_heads"],
            "q_len": 1.0,
            "kv_len": columns["kv_len"],
            "qk_dim": 576.0,
            "v_dim": 512.0,
            "kv_heads": 1.0,
            "kv_values": 576.0,
            "kv_bytes": _kv_bytes(columns["kv_dtype"]),
        }

    def inputs(self, shape: Mapping[str, Any], facts: Facts) -> dict[str, Input]:
        s = self.defaults | dict(shape)
        return {
            "b": Input(s["batch"], "sequences", "sequences in the step"),
            "h": Input(s["heads"], "heads", "query heads on this GPU"),
            "q": Input(s["q_len"], "tokens", "query tokens per sequence"),
            "L": Input(s["kv_len"], "tokens", "cached tokens per sequence"),
            "d_qk": Input(s["qk_dim"], "values", "query-key head dim"),
            "d_v": Input(s["v_dim"], "values", "value head dim"),
            "h_kv": Input(s["kv_heads"], "heads", "KV heads"),
            "e": Input(s["kv_values"], "values", "values cached per token per KV head"),
            "s_kv": Input(s["kv_bytes"], "B", "bytes per cached value"),
            "s_w": Input(ACT_BYTES, "B", "bytes per value of the compute format (BF16)"),
            "s_p": Input(PARTIAL_BYTES, "B", "bytes per split-KV partial value (FP32)"),
            "C": Input(facts.cores, "cores", f"{facts.engine} cores this kernel may use"),
            "P": _peak_share(facts),
            "BW": Input(facts.hbm_bytes_per_s, "B/s", "HBM bandwidth"),
        }

    def time(self, v: Mapping[str, Any], ideal: bool = False) -> KernelTime:
        b, h, q, kv_len = v["b"], v["h"], v["q"], v["L"]
        d = v["d_qk"] + v["d_v"]
        kv_bytes = b * kv_len * v["h_kv"] * v["e"] * v["s_kv"]
        io_bytes = b * q * h * d * v["s_w"]
        if ideal:
            compute_s = 2 * b * h * q * kv_len * d / v["P"]
            memory_s = (kv_bytes + io_bytes) / v["BW"]
            return KernelTime(maximum(compute_s, memory_s), compute_s, memory_s)
        bm, bn, cores = v["block_m"], v["block_n"], v["C"]
        groups = v["h_kv"] * ceil(q * h / v["h_kv"] / bm)  # CTAs per SM-part
        parts = maximum(1, cores / groups)
        # The busiest SM-part: its share of the batch's KV blocks, and the sequences it touches.
        blocks = ceil(b * ceil(kv_len / bn) / parts)
        seqs = ceil(b / parts)
        compute_s = blocks * groups * parts * 2 * bm * bn * d / (v["P"] * v["compute_efficiency"])
        # Split-KV: a sequence cut into several pieces writes each piece's FP32 partial output
        # and LSE, which the combine reads back; pieces beyond one per sequence are those cuts.
        kv_blocks = b * ceil(kv_len / bn)
        cuts = minimum(parts + b, kv_blocks) - b
        combine_bytes = 2 * 2 * cuts * q * h * (v["d_v"] + 1) * v["s_p"]
        memory_s = (kv_bytes + io_bytes + combine_bytes) / (v["BW"] * v["memory_efficiency"])
        memory_s = memory_s + _widen_s(b * kv_len * v["h_kv"] * v["e"], v)
        body_s = overlap_time_s(compute_s, memory_s, v["overlap_exponent"])
        # The combine merges a sequence's pieces one after another in one CTA.
        overhead_s = v["fixed_s"] + seqs * v["per_sequence_s"] + cuts / b * v["per_split_s"]
        return KernelTime(overhead_s + body_s, compute_s, memory_s, 0.0, overhead_s)


class AttentionPrefill(Family):
    """One causal prefill without a cached prefix: `seq_len` tokens per sequence attend to
    themselves.

    FLOPs:  F = 2 b h S (S + 1) / 2 (d_qk + d_v)  (the causal half of the S x S scores; all
            S x S of them, and every KV block for every tile, where `causal` is 0).
    Bytes:  B = b S h_kv e s_kv  (K and V)  +  b S h (d_qk + d_v) s_a  (Q in, O out).

    Each CTA holds b_m query rows of one KV head (the h / h_kv heads sharing it packed in, as
    FlashMLA and FlashAttention-3's PackGQA do) and skips the KV blocks above the diagonal:
        T = b h_kv ceil(S (h / h_kv) / b_m) tiles of K = max(1, S / (2 b_n) + 1/2) KV blocks on
    average and ceil(S / b_n) at most. Longest first, the busiest SM runs
        W = max(T K / C, ceil(S / b_n), ceil(T / C)) blocks
    (the even share, the last query tile, a whole wave of one-block tiles), so
        t_c = W C 2 b_m b_n (d_qk + d_v) / (eta_c P),
        t_m = B / (eta_m BW) + t_w b S h_kv e [FP8 cache widened to BF16],
        t = t_0 + ceil(T / C) t_q + (t_c^p + t_m^p)^(1/p),
    with t_q each tile's Q load and O store, which nothing overlaps.
    """

    name = "attention_prefill"
    command = "mla-prefill"
    doc = "the core attention of one causal prefill, no cached prefix"
    engine = "matrix"
    params = (
        FIXED,
        COMPUTE_EFFICIENCY,
        MEMORY_EFFICIENCY,
        OVERLAP,
        PER_TILE,
        WIDEN,
        PREFILL_BLOCK_M,
        PREFILL_BLOCK_N,
    )
    shape = {
        "batch": "sequences: sequences in the prefill",
        "heads": "heads: query heads on this GPU",
        "seq_len": "tokens: tokens per sequence",
        "qk_dim": "values: query-key head dim (192 for MLA non-absorbed: 128 nope + 64 RoPE)",
        "v_dim": "values: value head dim (128 for MLA non-absorbed)",
        "kv_heads": "heads: KV heads (default: heads, as MLA non-absorbed; 1 absorbed)",
        "kv_values": "values: K and V values per token per KV head (d_qk + d_v; 576 absorbed)",
        "kv_bytes": "B: bytes per K or V value (bf16 2, fp8 1)",
        "act_bytes": "B: bytes per query or output value (bf16 2)",
        "causal": "1: 1 causal (each query sees the keys up to itself), 0 full (every key)",
        "prefix_len": "tokens: cached tokens before each sequence that every query also sees "
        "(a reused context; 0 without)",
    }
    required = ("batch", "heads", "seq_len")
    defaults = {
        "causal": 1.0,
        "prefix_len": 0.0,
        "qk_dim": 192.0,
        "v_dim": 128.0,
        "kv_values": 320.0,
        "kv_bytes": 2.0,
        "act_bytes": 2.0,
    }
    sources = (CsvSource("mla_prefill"),)
    csv_columns = ("kv_dtype", "num_heads", "batch_size", "seq_len")
    variant_columns = ("dtype", "kv_dtype")

    def shape_from_columns(self, columns: Mapping[str, Any]) -> dict[str, Any]:
        # The README does not give the prefill benchmark's head dims; its data fixes them as
        # the absorbed form, like decode: one shared latent KV head of 512 + 64 values,
        # d_qk 576 and d_v 512. A one-token prefill costs exactly the decode kernel's time at
        # the same batch and heads (45 us at 256 x 128 heads, 21 us at 256 x 1 head, both
        # files), and long prefills then run at 0.6 of the BF16 peak like compute-bound decode;
        # with the non-absorbed dims (192 / 128, one KV head per head) they would sit at 0.18.
        return {
            "batch": columns["batch_size"],
            "heads": columns["num_heads"],
            "seq_len": columns["seq_len"],
            "qk_dim": 576.0,
            "v_dim": 512.0,
            "kv_heads": 1.0,
            "kv_values": 576.0,
            "kv_bytes": _kv_bytes(columns["kv_dtype"]),
            "act_bytes": ACT_BYTES,
        }

    def inputs(self, shape: Mapping[str, Any], facts: Facts) -> dict[str, Input]:
        s = self.defaults | dict(shape)
        kv_heads = s.get("kv_heads", s["heads"])
        return {
            "b": Input(s["batch"], "sequences", "sequences in the prefill"),
            "h": Input(s["heads"], "heads", "query heads on this GPU"),
            "S": Input(s["seq_len"], "tokens", "tokens per sequence"),
            "d_qk": Input(s["qk_dim"], "values", "query-key head dim"),
            "d_v": Input(s["v_dim"], "values", "value head dim"),
            "h_kv": Input(kv_heads, "heads", "KV heads"),
            "e": Input(s["kv_values"], "values", "K and V values per token per KV head"),
            "s_kv": Input(s["kv_bytes"], "B", "bytes per K or V value"),
            "s_a": Input(s["act_bytes"], "B", "bytes per query or output value"),
            "s_w": Input(ACT_BYTES, "B", "bytes per value of the compute format (BF16)"),
            "c": Input(s["causal"], "1", "1 causal, 0 full attention"),
            "S_0": Input(s["prefix_len"], "tokens", "cached prefix tokens every query sees"),
            "C": Input(facts.cores, "cores", f"{facts.engine} cores this kernel may use"),
            "P": _peak_share(facts),
            "BW": Input(facts.hbm_bytes_per_s, "B/s", "HBM bandwidth"),
        }

    def time(self, v: Mapping[str, Any], ideal: bool = False) -> KernelTime:
        b, h, seq, h_kv, causal, prefix = v["b"], v["h"], v["S"], v["h_kv"], v["c"], v["S_0"]
        d = v["d_qk"] + v["d_v"]
        kv_tokens = seq + prefix  # a cached prefix's K and V are read as well
        bytes_ = b * (kv_tokens * h_kv * v["e"] * v["s_kv"] + seq * h * d * v["s_a"])
        # keys each query sees on average: the prefix, and (S + 1) / 2 causal or S full
        keys = prefix + causal * (seq + 1) / 2 + (1 - causal) * seq
        if ideal:
            compute_s = 2 * b * h * seq * keys * d / v["P"]
            memory_s = bytes_ / v["BW"]
            return KernelTime(maximum(compute_s, memory_s), compute_s, memory_s)
        bm, bn, cores = v["block_m"], v["block_n"], v["C"]
        tiles = b * h_kv * ceil(seq * (h / h_kv) / bm)
        longest = ceil(kv_tokens / bn)  # the last query tile reads every KV block
        # causal: the prefix's blocks and those left of the diagonal
        mean = prefix / bn + maximum(1, seq / (2 * bn) + 0.5)
        # Blocks of the busiest SM: causal, the even share of all tiles' work (longest tiles
        # first), but never less than the longest tile, nor than a whole wave of one-block
        # tiles; full attention, whole waves of equally long tiles.
        blocks = (
            causal * maximum(tiles * mean / cores, longest, waves(tiles, cores))
            + (1 - causal) * waves(tiles, cores) * longest
        )
        compute_s = blocks * cores * 2 * bm * bn * d / (v["P"] * v["compute_efficiency"])
        memory_s = bytes_ / (v["BW"] * v["memory_efficiency"]) + _widen_s(
            b * kv_tokens * h_kv * v["e"], v
        )
        body_s = overlap_time_s(compute_s, memory_s, v["overlap_exponent"])
        overhead_s = v["fixed_s"] + waves(tiles, cores) * v["per_tile_s"]
        return KernelTime(overhead_s + body_s, compute_s, memory_s, 0.0, overhead_s)


FAMILIES = (AttentionDecode(), AttentionPrefill())
