"""Communication kernels on the scale-up link: MoE dispatch and combine, NCCL collectives.

Every kernel here is the cost model of `cmperf.formulas.comm.transfer_time_s`,

    t = fixed + latency + peers x per_peer + bytes / bandwidth,

with the link tier's latency and bandwidth, and the terms measured kernels add on top of it.
Each added term vanishes at its neutral default, so that a device without calibration keeps
exactly the link model above.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..formulas import ceil, minimum
from ..formulas.comm import expected_peers, remote_fraction
from ..formulas.kernel import overlap_time_s
from .base import CsvSource, Facts, Family, Input, KernelTime, ParamDef

INF = float("inf")

# FP8 block quantisation of DeepEP's dispatch: one float32 scale per 128 values of the hidden
# vector (DeepEP README; gpu.md §2.3 "FP8 dispatch, BF16 combine").
FP8_SCALE_BLOCK = 128
FP32_BYTES = 4
BF16_BYTES = 2
# nccl.csv's dtype column (README): bytes per element of each number format.
DTYPE_BYTES = {"bf16": 2, "fp16": 2, "fp32": 4, "int8": 1, "fp8": 1}
# DeepEP normal kernels: SMs given to the kernel when the caller does not say
# (deep_ep.Buffer.num_sms = 20).
DEFAULT_NORMAL_SMS = 20
H200_SMS = 132  # gpu.md §1: 132 SMs


def low_latency_sms(experts: Any, device_sms: Any = H200_SMS) -> Any:
    """SMs of a DeepEP low-latency kernel: one warp group per expert, experts spread over at
    most the device's SMs (deep_ep internode_ll.cu: num_warp_groups = ceil(E / SMs),
    num_sms = ceil(E / num_warp_groups))."""
    return ceil(experts / ceil(experts / device_sms))


def ranks_per_token(ep: Any, topk: Any, experts: Any) -> Any:
    """Expected distinct ranks a token's `topk` distinct experts (drawn uniformly from
    `experts`, `experts / ep` per rank) live on:  G (1 - C(E - E/G, k) / C(E, k)).

    DeepEP's normal kernels send a token once per destination rank, not once per expert.
    """
    import numpy as np

    ep, topk, experts = (np.asarray(x, dtype=float) for x in (ep, topk, experts))
    k_max = int(np.max(topk))
    miss = np.ones(np.broadcast(ep, topk, experts).shape)
    for i in range(k_max):  # product over the k draws, each missing the rank's E/G experts
        term = (experts - experts / ep - i) / np.maximum(experts - i, 1.0)
        miss = miss * np.where(i < topk, term, 1.0)
    out = ep * (1 - miss)
    return float(out) if out.ndim == 0 else out


FIXED_DOC = "kernel cost independent of the message: launch, count exchange, barrier"
PER_PEER = ParamDef(
    "per_peer_s",
    "t_peer",
    "s",
    0.0,
    1e-9,
    2e-5,
    start=5e-7,
    doc="address set-up and completion flag per remote rank reached",
    device_default="comm_overhead.per_peer_s",
)
BANDWIDTH_EFFICIENCY = ParamDef(
    "bandwidth_efficiency",
    "eta_l",
    "1",
    1.0,
    0.05,
    1.0,
    start=0.6,
    doc="share of the link bandwidth a long transfer sustains",
)
PER_TOKEN = ParamDef(
    "per_token_s",
    "t_tok",
    "s",
    0.0,
    1e-10,
    2e-5,
    start=5e-7,
    doc="serial cost of one token on one SM: quantise, pack, issue its copies, signal",
)
BANDWIDTH_PER_SM = ParamDef(
    "bandwidth_per_sm",
    "BW_sm",
    "B/s",
    INF,
    1e8,
    1e12,
    start=2e10,
    doc="bytes per second one SM's warps copy to remote ranks (loads, stores, flags)",
)
FILL_TOKENS = ParamDef(
    "fill_tokens",
    "T_fill",
    "tokens",
    0.0,
    1e-2,
    1e4,
    start=1.0,
    doc="tokens of an SM's pipeline fill (first chunk in flight before the first completes)",
)
EXCHANGE_OVERLAP = ParamDef(
    "overlap_exponent",
    "p",
    "1",
    INF,
    1.0,
    64.0,
    start=4.0,
    doc="overlap of the SM-bound and the link-bound time: t = (t_sm^p + t_link^p)^(1/p)",
)


class _Exchange(Family):
    """MoE token exchange over the expert-parallel group (DeepEP dispatch or combine).

        t = fixed + L + peers x t_peer + (t_link^p + t_sm^p)^(1/p)
        t_link = bytes / (BW x eta_l)
        t_sm   = ceil(T / SMs) x t_tok + (bytes / SMs + T_fill x b) / BW_sm

    The link term is the bytes each rank sends to other ranks over its link. The SM term is
    the kernel's own work: DeepEP's kernels copy with warps, each SM walking its share of the
    tokens one after the other (a token costs its packing and signalling, its bytes the SM's
    copy rate), so a kernel given few SMs (normal kernels: `sms`; low-latency kernels: one
    warp group per expert, `low_latency_sms`) cannot drive the link. T_fill tokens of
    pipeline fill per SM are the part of a chunk that is always paid.
    """

    engine = "link"
    kind: str  # dispatch or combine
    shape = {
        "tokens": "tokens: tokens per rank",
        "hidden": "elements: hidden size",
        "topk": "1: destinations per token (routed experts)",
        "experts": "1: experts in the group",
        "ep": "ranks: ranks in the expert-parallel group",
        "bytes_per_token": "B: message bytes of one token copy",
        "bytes_sent": "B: bytes each rank sends to other ranks",
        "peers": "ranks: expected distinct remote ranks reached",
        "sms": "SMs: SMs the kernel runs on",
    }
    required = ("tokens", "hidden", "topk", "ep")
    defaults = {"experts": 256.0, "sms": float(DEFAULT_NORMAL_SMS)}
    csv_columns = ("ep", "node_num", "hidden_size", "num_token", "num_topk", "num_experts")
    variant_columns = ()
    dtype_column = None

    def __init__(self) -> None:
        fixed = ParamDef(
            "fixed_s",
            "t_0",
            "s",
            0.0,
            1e-7,
            1e-3,
            start=1e-5,
            doc=FIXED_DOC,
            device_default=f"comm_overhead.{self.kind}_s",
        )
        self.params = (
            fixed,
            PER_PEER,
            BANDWIDTH_EFFICIENCY,
            PER_TOKEN,
            BANDWIDTH_PER_SM,
            FILL_TOKENS,
            EXCHANGE_OVERLAP,
        )
        self.sources = (
            CsvSource("deepep_low_latency", f"{self.kind}_s", variant="low_latency"),
            CsvSource(  # its SM counts are absent from deepep_low_latency.csv
                "deepep_normal",
                f"{self.kind}_s",
                variant="normal",
                columns=(f"{self.kind}_sms",),
            ),
        )

    def message_bytes_per_token(self, hidden: Any) -> Any:
        raise NotImplementedError

    def shape_from_columns(self, columns: Mapping[str, Any]) -> dict[str, Any]:
        tokens, hidden = columns["num_token"], columns["hidden_size"]
        topk, experts, ep = columns["num_topk"], columns["num_experts"], columns["ep"]
        per_token = self.message_bytes_per_token(hidden)
        sms_column = f"{self.kind}_sms"
        if sms_column in columns:
            # Normal kernels (deepep_normal.csv): the SMs the benchmark gave the kernel, and one
            # copy per distinct destination rank (the token is forwarded to its experts there).
            sms = columns[sms_column]
            copies = ranks_per_token(ep, topk, experts)
        else:
            # Low-latency kernels: their grid is set by the experts, and each token goes to
            # each of its top-k experts' receive buffers (one copy per expert).
            sms = low_latency_sms(experts)
            copies = topk
        return {
            "tokens": tokens,
            "hidden": hidden,
            "topk": topk,
            "experts": experts,
            "ep": ep,
            "bytes_per_token": per_token,
            # remote copies only: the rank's own share stays in its memory (README: 1 node)
            "bytes_sent": tokens * copies * remote_fraction(ep) * per_token,
            "peers": expected_peers(ep, tokens, topk),
            "sms": sms,
        }

    def inputs(self, shape: Mapping[str, Any], facts: Facts) -> dict[str, Input]:
        tokens, topk, ep = shape["tokens"], shape["topk"], shape["ep"]
        per_token = shape.get("bytes_per_token", self.message_bytes_per_token(shape["hidden"]))
        sent = shape.get("bytes_sent", tokens * topk * remote_fraction(ep) * per_token)
        return {
            "B": Input(sent, "B", "bytes each rank sends to other ranks"),
            "b": Input(per_token, "B", "bytes of one token copy"),
            "T": Input(tokens, "tokens", "tokens per rank"),
            "N_peer": Input(
                shape.get("peers", expected_peers(ep, tokens, topk)),
                "ranks",
                "expected distinct remote ranks reached",
            ),
            # A stream that owns cores gives the exchange those (its share of the pool the
            # compute kernels use); otherwise the kernel's own launch configuration.
            "SMs": Input(
                facts.cores or shape.get("sms", DEFAULT_NORMAL_SMS),
                "SMs",
                "cores the kernel runs on",
            ),
            "BW": Input(facts.link_bytes_per_s, "B/s", f"{facts.link} bandwidth per direction"),
            "L": Input(facts.link_latency_s, "s", f"{facts.link} latency"),
        }

    def time(self, v: Mapping[str, Any], ideal: bool = False) -> KernelTime:
        if ideal:
            comm_s = v["B"] / v["BW"]
            return KernelTime(v["L"] + comm_s, 0.0, 0.0, comm_s, v["L"])
        link_s = v["B"] / (v["BW"] * v["bandwidth_efficiency"])
        sm_s = (
            ceil(v["T"] / v["SMs"]) * v["per_token_s"]
            + (v["B"] / v["SMs"] + v["fill_tokens"] * v["b"]) / v["bandwidth_per_sm"]
        )
        comm_s = overlap_time_s(link_s, sm_s, v["overlap_exponent"])
        overhead_s = v["fixed_s"] + v["L"] + v["N_peer"] * v["per_peer_s"]
        return KernelTime(overhead_s + comm_s, 0.0, 0.0, comm_s, overhead_s)


class Dispatch(_Exchange):
    name = "dispatch"
    command = "dispatch"
    doc = "MoE dispatch: each token's FP8 hidden vector to its experts' ranks (DeepEP)"
    kind = "dispatch"

    def message_bytes_per_token(self, hidden: Any) -> Any:
        # FP8 values and one FP32 scale per 128 (gpu.md §2.3: FP8 dispatch)
        return hidden + hidden / FP8_SCALE_BLOCK * FP32_BYTES


class Combine(_Exchange):
    name = "combine"
    command = "combine"
    doc = "MoE combine: each expert output back to its token's rank in BF16 (DeepEP)"
    kind = "combine"

    def message_bytes_per_token(self, hidden: Any) -> Any:
        return BF16_BYTES * hidden  # gpu.md §2.3: BF16 combine


COLL_FIXED = ParamDef(
    "fixed_s",
    "t_0",
    "s",
    0.0,
    1e-7,
    1e-3,
    start=5e-6,
    doc="launch and set-up of the collective, independent of size and ranks",
)
STEP_LATENCY = ParamDef(
    "step_latency_s",
    "t_step",
    "s",
    0.0,
    1e-9,
    1e-4,
    start=5e-7,
    doc="latency of one ring step (the hand-off of a chunk to the next rank), Simple protocol",
)
LL_STEP_LATENCY = ParamDef(
    "ll_step_latency_s",
    "t_step_LL",
    "s",
    0.0,
    1e-9,
    1e-4,
    start=2e-7,
    doc="latency of one ring step in NCCL's LL protocol (flag in every 8-byte word, no fence)",
)
LL_EFFICIENCY = ParamDef(
    "ll_bandwidth_efficiency",
    "eta_LL",
    "1",
    1.0,
    0.01,
    1.0,
    start=0.15,
    doc="share of the link bandwidth the LL protocol sustains (half its bytes are flags)",
)
LOCAL_COPY = ParamDef(
    "local_copy_ratio",
    "k_local",
    "1",
    0.0,
    1e-3,
    4.0,
    start=0.3,
    doc="time of the rank's own piece (SIZE / ranks) copied by the kernel's SMs between its "
    "buffers, in units of the time to send it",
)
SIMPLE_FIXED = ParamDef(
    "simple_fixed_s",
    "t_0,Simple",
    "s",
    0.0,
    1e-9,
    1e-4,
    start=3e-6,
    doc="extra set-up of the Simple protocol over LL (fences, larger chunks to fill)",
)
MID_FIXED = ParamDef(
    "ll128_fixed_s",
    "t_0,LL128",
    "s",
    0.0,
    1e-9,
    1e-4,
    start=1e-6,
    doc="extra set-up of the LL128 protocol over LL",
)
MID_STEP_LATENCY = ParamDef(
    "ll128_step_latency_s",
    "t_step_LL128",
    "s",
    0.0,
    1e-9,
    1e-4,
    start=3e-7,
    doc="latency of one ring step in NCCL's LL128 protocol (flag per 128-byte line)",
)
MID_EFFICIENCY = ParamDef(
    "ll128_bandwidth_efficiency",
    "eta_LL128",
    "1",
    1.0,
    0.01,
    1.0,
    start=0.4,
    doc="share of the link bandwidth the LL128 protocol sustains",
)


class _Collective(Family):
    """One NCCL collective across `ranks` GPUs (ring algorithm).

        t = fixed + L + min over protocols P of (steps x t_step,P + bytes / (BW x eta_P))

    NCCL runs each collective with one of three protocols, picking the fastest for the size:
    Simple (full bandwidth, a fence and flag per chunk: the largest step latency), LL128
    (flag per 128-byte line) and LL (flag per 8-byte word: the lowest latency, half the
    bandwidth). `bytes` is what each rank sends over the ring; `steps` the ring's hand-offs.
    """

    engine = "link"
    op_name: str  # nccl.csv op_name
    shape = {
        "ranks": "ranks: GPUs in the collective",
        "message_bytes": "B: nccl-tests SIZE in bytes (README: meaning per operation)",
        "bytes_sent": "B: bytes each rank sends",
        "steps": "1: ring steps",
    }
    required = ("ranks", "message_bytes")
    csv_columns = ("dtype", "num_gpus", "message_elements")
    variant_columns = ()
    dtype_column = None
    params = (
        COLL_FIXED,
        BANDWIDTH_EFFICIENCY,
        LOCAL_COPY,
        SIMPLE_FIXED,
        STEP_LATENCY,
        MID_FIXED,
        MID_STEP_LATENCY,
        MID_EFFICIENCY,
        LL_STEP_LATENCY,
        LL_EFFICIENCY,
    )

    def __init__(self) -> None:
        self.sources = (CsvSource("nccl", "latency_s", where={"op_name": self.op_name}),)

    def sent_fraction(self, ranks: Any) -> Any:
        """Bytes each rank sends per byte of nccl-tests' SIZE (ring algorithm)."""
        return (ranks - 1) / ranks  # all-gather, reduce-scatter, all-to-all

    def ring_steps(self, ranks: Any) -> Any:
        return ranks - 1

    def shape_from_columns(self, columns: Mapping[str, Any]) -> dict[str, Any]:
        import numpy as np

        ranks = columns["num_gpus"]
        element = np.array([DTYPE_BYTES[d] for d in columns["dtype"]], dtype=float)
        message = columns["message_elements"] * element
        return {
            "ranks": ranks,
            "message_bytes": message,
            "bytes_sent": message * self.sent_fraction(ranks),
            "steps": self.ring_steps(ranks),
        }

    def inputs(self, shape: Mapping[str, Any], facts: Facts) -> dict[str, Input]:
        ranks = shape["ranks"]
        sent = shape.get("bytes_sent", shape["message_bytes"] * self.sent_fraction(ranks))
        return {
            "B": Input(sent, "B", "bytes each rank sends"),
            "S_own": Input(
                shape["message_bytes"] / ranks, "B", "the rank's own piece of SIZE (SIZE / ranks)"
            ),
            "n": Input(shape.get("steps", self.ring_steps(ranks)), "1", "ring steps"),
            "BW": Input(facts.link_bytes_per_s, "B/s", f"{facts.link} bandwidth per direction"),
            "L": Input(facts.link_latency_s, "s", f"{facts.link} latency"),
        }

    def time(self, v: Mapping[str, Any], ideal: bool = False) -> KernelTime:
        if ideal:
            comm_s = v["B"] / v["BW"]
            return KernelTime(v["L"] + comm_s, 0.0, 0.0, comm_s, v["L"])
        moved = v["B"] + v["local_copy_ratio"] * v["S_own"]
        simple = (
            v["simple_fixed_s"]
            + v["n"] * v["step_latency_s"]
            + moved / (v["BW"] * v["bandwidth_efficiency"])
        )
        ll128 = (
            v["ll128_fixed_s"]
            + v["n"] * v["ll128_step_latency_s"]
            + moved / (v["BW"] * v["ll128_bandwidth_efficiency"])
        )
        ll = v["n"] * v["ll_step_latency_s"] + moved / (v["BW"] * v["ll_bandwidth_efficiency"])
        comm_s = minimum(simple, ll128, ll)
        overhead_s = v["fixed_s"] + v["L"]
        return KernelTime(overhead_s + comm_s, 0.0, 0.0, comm_s, overhead_s)


class AllReduce(_Collective):
    name = "all_reduce"
    command = "all-reduce"
    doc = "NCCL all-reduce: every rank ends with the sum of all ranks' buffers"
    op_name = "all_reduce"

    def sent_fraction(self, ranks: Any) -> Any:
        # ring: reduce-scatter then all-gather, each (n-1)/n of the buffer
        return 2 * (ranks - 1) / ranks

    def ring_steps(self, ranks: Any) -> Any:
        return 2 * (ranks - 1)


class AllGather(_Collective):
    name = "all_gather"
    command = "all-gather"
    doc = "NCCL all-gather: every rank ends with all ranks' pieces (SIZE: the gathered output)"
    op_name = "all_gather"


class ReduceScatter(_Collective):
    name = "reduce_scatter"
    command = "reduce-scatter"
    doc = "NCCL reduce-scatter: each rank ends with its piece of the sum (SIZE: the input)"
    op_name = "reduce_scatter"


class AllToAll(_Collective):
    name = "all_to_all"
    command = "all-to-all"
    doc = "NCCL all-to-all: each rank sends a piece of its buffer to every rank (SIZE: the buffer)"
    op_name = "alltoall"


FAMILIES = (Dispatch(), Combine(), AllReduce(), AllGather(), ReduceScatter(), AllToAll())
