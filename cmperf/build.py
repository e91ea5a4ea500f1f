"""Model + parallelism + phase -> the ops of each layer, per rank and per microbatch.

Token counts may be numpy arrays (a sweep broadcasts batch sizes); structural choices (EP,
quantization, TP) are plain integers and enumerations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .formulas import maximum
from .formulas.comm import expected_peers, remote_fraction
from .formulas.routing import busiest_rank_copies
from .ops import CommKind, Engine, Op, communication, elementwise, gemm, vector_op
from .quant import DType, message_bytes_per_token
from .specs.model import ModelSpec
from .specs.scenario import Placement, Quantization

# Vector-engine work per element (FLOP, bytes read + written), counted from the kernels' maths.
RMSNORM = (4.0, 4.0)  # square, sum, scale, weight; read and write BF16
ROPE = (6.0, 4.0)  # two multiplies and an add per rotated pair, sin/cos from a table
SWIGLU = (6.0, 6.0)  # silu(gate) * up per output: reads two BF16 values, writes one
TOPK_ROUTING = (10.0, 4.0)  # sigmoid, group top-k, normalise over the router logits (FP32)
SAMPLING = (5.0, 4.0)  # softmax / top-p over FP32 logits
BF16 = DType.BF16
MLA_PROLOG = "mla_prolog"  # the fused kernel of MLA's norms, projections, RoPE and cache write
LOW_LATENCY, NORMAL = "low_latency", "normal"  # MoE exchange kernels: decode's and prefill's


@dataclass(frozen=True)
class Layer:
    """The ops of one layer kind for one microbatch on one rank, and how many such layers."""

    kind: str  # dense | moe | mtp
    count: int
    ops: tuple[Op, ...]


def _mla_prolog(model: ModelSpec, q: Quantization, tokens: Any, kernel: str = "") -> list[Op]:
    """RMSNorm, fused q/kv down-projection, latent norms (sequence- or data-parallel tokens).
    Without a query LoRA (DeepSeek-V2-Lite) only the KV latent is projected down here.
    `kernel` names the fused kernel they run in (decode's MLAProlog), if any."""
    a, h = model.attention, model.hidden
    q_rank = a.q_lora_rank or 0
    return [
        elementwise("attn_norm", "attention", tokens * h, *RMSNORM, kernel=kernel),
        gemm(
            "qkv_a_proj",
            "attention",
            tokens,
            h,
            q_rank + a.kv_cache_values_per_token,
            q.weights,
            q.activations,
            q.gemm,
            kernel=kernel,
        ),
        elementwise(
            "latent_norms",
            "attention",
            tokens * (q_rank + a.kv_lora_rank),
            *RMSNORM,
            kernel=kernel,
        ),
    ]


def _q_up(
    model: ModelSpec, q: Quantization, tokens: Any, heads: int, acts: DType, kernel: str = ""
) -> Op:
    """Queries for `heads` heads: up from the query latent, or straight from the hidden state."""
    a = model.attention
    width = a.q_lora_rank or model.hidden
    name = "q_b_proj" if a.q_lora_rank else "q_proj"
    return gemm(
        name,
        "attention",
        tokens,
        width,
        heads * a.qk_head_dim,
        q.weights,
        acts,
        q.gemm,
        kernel=kernel,
    )


def all_reduce(name: str, model: ModelSpec, tokens: Any, tp: int) -> Op:
    """Ring all-reduce of the BF16 hidden state over a TP group: each rank sends
    2 (t - 1) / t of it, in 2 (t - 1) steps."""
    buffer = tokens * model.hidden * BF16.bytes
    sent = 2 * (tp - 1) / tp * buffer
    return communication(
        name, CommKind.ALL_REDUCE, sent, 2 * (tp - 1), tp, message_bytes=buffer, steps=2 * (tp - 1)
    )


def core_attention(q: Quantization, family: str, shape: dict[str, Any], **work: Any) -> Op:
    """Core attention (scores and values) on the matrix engine, in the attention format;
    `family` (attention_decode or attention_prefill) prices it from `shape`."""
    return Op(
        "attention",
        "attention",
        engine=Engine.MATRIX,
        kind="attention",
        dtype=q.attention,
        family=family,
        shape=shape | {"variant": f"{q.attention.value}/{q.kv_cache.value}"},
        **work,
    )


def kv_cache_write(
    model: ModelSpec, q: Quantization, tokens: Any, tp: int = 1, kernel: str = ""
) -> Op:
    """Each new token's cache entry on this rank: MLA's latent and RoPE key (576 values for
    DeepSeek-V3), or the key and value heads a GQA rank holds."""
    values = model.attention.kv_cache_values_per_rank(tp)
    return vector_op(
        "kv_cache_write", "attention", kernel=kernel, kv_bytes=tokens * values * q.kv_cache.bytes
    )


def _o_proj(
    model: ModelSpec, q: Quantization, tokens: Any, acts: DType, heads: int | None = None
) -> Op:
    """Output projection, heads x v_head_dim -> hidden."""
    a = model.attention
    width = (heads or a.heads) * a.v_head_dim
    return gemm("o_proj", "attention", tokens, width, model.hidden, q.weights, acts, q.gemm)


def decode_attention_ops(
    model: ModelSpec, q: Quantization, seqs: Any, tokens: Any, kv_len: Any, tp: int = 1
) -> list[Op]:
    """Attention of a decode step on one rank: MLA or GQA, heads split over `tp` ranks."""
    if model.attention.kind == "gqa":
        return gqa_attention_ops(model, q, seqs, tokens, kv_len, tp)
    return mla_decode_ops(model, q, seqs, tokens, kv_len, tp)


def mla_decode_ops(
    model: ModelSpec, q: Quantization, seqs: Any, tokens: Any, kv_len: Any, tp: int = 1
) -> list[Op]:
    """MLA in decode, weight-absorbed (DeepSeek-V3; MLAProlog + fused attention, ref §3.1).

    Each rank runs MLA for its own sequences (data parallel, tp = 1) or for heads/tp heads of
    its group's sequences. With MTP each sequence brings 1 + d query tokens that share one pass
    over its KV cache.
    """
    a = model.attention
    heads = a.heads // tp
    latent = a.kv_cache_values_per_token
    # MLAProlog: RMSNorm, q/kv projections, RoPE and the cache write are one kernel
    # (ref §3.1; ascend-operators §4: npu_mla_prolog_v2).
    ops = _mla_prolog(model, q, tokens, MLA_PROLOG)
    ops += [
        _q_up(model, q, tokens, heads, q.activations, kernel=MLA_PROLOG),
        gemm(
            "q_absorb",
            "attention",
            tokens,
            a.qk_nope_head_dim,
            a.kv_lora_rank,
            q.weights,
            q.activations,
            q.gemm,
            repeat=heads,
            kernel=MLA_PROLOG,
        ),
        elementwise(
            "rope",
            "attention",
            tokens * (heads + 1) * a.qk_rope_head_dim,
            *ROPE,
            kernel=MLA_PROLOG,
        ),
        kv_cache_write(model, q, tokens, kernel=MLA_PROLOG),
        core_attention(
            q,
            "attention_decode",
            {
                "batch": seqs,
                "heads": heads,
                "q_len": tokens / seqs,
                "kv_len": kv_len,
                "qk_dim": latent,
                "v_dim": a.kv_lora_rank,
                "kv_heads": 1,
                "kv_values": latent,
                "kv_bytes": q.kv_cache.bytes,
            },
            # FlashMLA's count: 2 h s_q s_k (576 + 512)  (ref gpu.md §2.2)
            flop=2.0 * heads * tokens * kv_len * (latent + a.kv_lora_rank),
            kv_bytes=seqs * kv_len * latent * q.kv_cache.bytes,
            act_bytes=tokens * heads * (latent + a.kv_lora_rank) * BF16.bytes,
        ),
        gemm(
            "v_up",
            "attention",
            tokens,
            a.kv_lora_rank,
            a.v_head_dim,
            q.weights,
            q.activations,
            q.gemm,
            repeat=heads,
        ),
        _o_proj(model, q, tokens, q.activations, heads),
    ]
    if tp > 1:
        ops.append(all_reduce("attn_all_reduce", model, tokens, tp))
    return ops


def gqa_attention_ops(
    model: ModelSpec,
    q: Quantization,
    seqs: Any,
    tokens: Any,
    kv_len: Any,
    tp: int = 1,
    causal_len: int | None = None,
    prefix_len: int = 0,
) -> list[Op]:
    """Grouped-query attention on one rank with heads/tp query and kv_heads/tp key/value heads:
    fused QKV projection, RoPE, cache write, attention, output projection, and the all-reduce
    of tensor parallelism. Decode attends over `kv_len` cached tokens; prefill (`causal_len` =
    the prompt length S) over its `prefix_len` cached tokens (read from the KV cache) and
    (S + 1) / 2 new ones on average."""
    a, h = model.attention, model.hidden
    heads, kv_heads, hd = a.heads // tp, a.kv_heads_per_rank(tp), a.head_dim
    cached = kv_len if causal_len is None else prefix_len  # keys read from the KV cache
    keys = kv_len if causal_len is None else prefix_len + (causal_len + 1) / 2
    cache_bytes = seqs * cached * 2 * kv_heads * hd * q.kv_cache.bytes
    ops = [
        elementwise("attn_norm", "attention", tokens * h, *RMSNORM),
        gemm(
            "qkv_proj",
            "attention",
            tokens,
            h,
            (heads + 2 * kv_heads) * hd,
            q.weights,
            q.activations,
            q.gemm,
        ),
        elementwise("rope", "attention", tokens * (heads + kv_heads) * hd, *ROPE),
        kv_cache_write(model, q, tokens, tp),
        core_attention(
            q,
            "attention_decode" if causal_len is None else "attention_prefill",
            _gqa_shape(seqs, heads, kv_heads, hd, tokens, kv_len, causal_len, q, prefix_len),
            # QK^T and PV: 2 FLOP per multiply-add over head_dim each
            flop=2.0 * heads * tokens * keys * 2 * hd,
            kv_bytes=cache_bytes,
            act_bytes=tokens * (2 * heads + 2 * kv_heads) * hd * BF16.bytes,
        ),
        gemm("o_proj", "attention", tokens, heads * hd, h, q.weights, q.activations, q.gemm),
    ]
    if tp > 1:
        ops.append(all_reduce("attn_all_reduce", model, tokens, tp))
    return ops


def _gqa_shape(
    seqs: Any,
    heads: int,
    kv_heads: int,
    head_dim: int,
    tokens: Any,
    kv_len: Any,
    causal_len: int | None,
    q: Quantization,
    prefix_len: int = 0,
) -> dict[str, Any]:
    """The attention kernel's shape for GQA: K and V of head_dim each per key/value head."""
    dims = {"heads": heads, "qk_dim": head_dim, "v_dim": head_dim, "kv_heads": kv_heads}
    if causal_len is None:
        return dims | {
            "batch": seqs,
            "q_len": tokens / seqs,
            "kv_len": kv_len,
            "kv_values": 2 * head_dim,
            "kv_bytes": q.kv_cache.bytes,
        }
    return dims | {
        "batch": seqs,
        "seq_len": causal_len,
        "kv_bytes": BF16.bytes,
        "prefix_len": prefix_len,
    }


def prefill_attention_ops(
    model: ModelSpec, q: Quantization, tokens: Any, seq_len: int, tp: int, prefix_len: int = 0
) -> list[Op]:
    """Attention of a prefill on one rank. GQA: heads split over a TP group of `tp` ranks that
    all process the group's `tokens`. MLA: SP-TP-SP over `tp` ranks (mla_prefill_ops).
    `prefix_len` cached tokens before each prompt's `seq_len` new ones are attended to, not
    computed (a reused context)."""
    if model.attention.kind == "gqa":
        return gqa_attention_ops(
            model, q, tokens / seq_len, tokens, 0, tp, causal_len=seq_len, prefix_len=prefix_len
        )
    return mla_prefill_ops(model, q, tokens, seq_len, tp, prefix_len)


def mla_prefill_ops(
    model: ModelSpec, q: Quantization, tokens: Any, seq_len: int, tp: int, prefix_len: int = 0
) -> list[Op]:
    """MLA in prefill, staged hybrid parallelism SP-TP-SP (ref §3.2).

    Down-projections and o_proj run on the rank's own tokens; an all-gather of the latents
    lets each rank run the up-projections and naive (non-absorbed) causal attention for its
    heads/tp heads over all tokens of the group; an all-to-all returns the outputs.
    """
    a = model.attention
    latent = a.kv_cache_values_per_token
    heads = a.heads // tp
    group_tokens = tokens * tp
    act = q.activations
    ops = _mla_prolog(model, q, tokens)
    ops.append(kv_cache_write(model, q, tokens))
    if tp > 1:
        # Latents travel quantized: they feed W8A8 up-projections. Without a query LoRA the
        # queries are projected from the hidden state, which travels instead.
        piece = tokens * ((a.q_lora_rank or model.hidden) + latent) * act.bytes
        ops.append(
            communication(
                "attn_all_gather",
                CommKind.ALL_GATHER,
                piece * (tp - 1),
                tp - 1,
                tp,
                message_bytes=piece * tp,  # the gathered output of all ranks
                steps=tp - 1,
            )
        )
    ops += [
        _q_up(model, q, group_tokens, heads, act),
        gemm(
            "kv_b_proj",
            "attention",
            # keys and values of the new tokens and of their cached prefix (from its latents)
            group_tokens * (1 + prefix_len / seq_len),
            a.kv_lora_rank,
            heads * (a.qk_nope_head_dim + a.v_head_dim),
            q.weights,
            act,
            q.gemm,
        ),
        elementwise("rope", "attention", group_tokens * (heads + 1) * a.qk_rope_head_dim, *ROPE),
        core_attention(
            q,
            "attention_prefill",
            {
                "batch": group_tokens / seq_len,
                "heads": heads,
                "seq_len": seq_len,
                "qk_dim": a.qk_head_dim,
                "v_dim": a.v_head_dim,
                "kv_heads": heads,
                "kv_bytes": BF16.bytes,
                "prefix_len": prefix_len,
            },
            # causal: each query sees its prefix and (S + 1) / 2 new keys on average; QK^T over
            # 192, PV over 128
            flop=2.0
            * heads
            * group_tokens
            * (prefix_len + (seq_len + 1) / 2)
            * (a.qk_head_dim + a.v_head_dim),
            act_bytes=group_tokens * heads * (2 * a.qk_head_dim + 2 * a.v_head_dim) * BF16.bytes,
        ),
    ]
    if tp > 1:
        returned = tokens * (tp - 1) * heads * a.v_head_dim * act.bytes
        ops.append(
            communication(
                "attn_all_to_all",
                CommKind.ALL_TO_ALL,
                returned,
                tp - 1,
                tp,
                message_bytes=returned * tp / (tp - 1),  # each rank's whole send buffer
                steps=tp - 1,
            )
        )
    ops.append(_o_proj(model, q, tokens, act))
    return ops


def expert_tokens_per_rank(model: ModelSpec, p: Placement, tokens: Any) -> Any:
    """Token-expert pairs the busiest rank computes, each rank sending `tokens` tokens.

    Routed experts (with redundant replicas, EPLB) share top_k x tokens x ep assignments:
    exactly evenly (`expert_routing: balanced`), or drawn afresh each step, the busiest rank
    carrying the expected maximum (`multinomial`, formulas.routing); `expert_imbalance` scales
    the routed load of the busiest rank. The shared expert is either replicated on every rank
    (computed locally on the rank's own tokens) or held by dedicated ranks that every token is
    also dispatched to (ref §3.1: 32 shared-expert dies at EP320), each replica taking its
    equal share of them.
    """
    moe = model.moe
    instances = moe.routed_experts + p.redundant_experts
    local = _shared_local(model, p)
    routed_per_rank = instances // p.ep if local else (instances + p.shared_expert_replicas) // p.ep
    copies = tokens * p.ep * moe.top_k
    if p.expert_routing == "multinomial":
        routed = busiest_rank_copies(copies, instances // routed_per_rank)
    else:
        routed = copies * routed_per_rank / instances
    routed = routed * p.expert_imbalance
    if local:
        return routed + tokens * moe.shared_experts
    if not moe.shared_experts:
        return routed
    per_shared_replica = tokens * p.ep * moe.shared_experts / p.shared_expert_replicas
    return maximum(routed, routed_per_rank * per_shared_replica)


def experts_per_rank(model: ModelSpec, p: Placement) -> int:
    instances = model.moe.routed_experts + p.redundant_experts
    if _shared_local(model, p):
        return instances // p.ep + model.moe.shared_experts
    return (instances + p.shared_expert_replicas) // p.ep


def _shared_local(model: ModelSpec, p: Placement) -> bool:
    return model.moe.shared_experts > 0 and p.shared_expert_replicas == p.ep


def moe_exchange(
    kind: CommKind,
    model: ModelSpec,
    tokens: Any,
    destinations: int,
    ep: int,
    dtype: DType,
    exchange: str = LOW_LATENCY,
    domain_ranks: int | None = None,
) -> Op:
    """MoE dispatch or combine on one rank: each of `tokens` tokens goes to `destinations`
    expert ranks (top-k, plus a dedicated shared-expert rank) as one message each; copies for
    the rank itself stay local. `exchange` is the kernel: low_latency (decode) or normal.

    A normal (prefill) exchange whose group spans several scale-up domains of `domain_ranks`
    ranks is hierarchical, as DeepEP routes it: a token crosses the scale-out network once per
    remote domain its experts are in (to the rank of the same index there), and is forwarded
    inside that domain over the scale-up links, which overlaps the slower scale-out transfer;
    the op prices the scale-out part. Low-latency kernels send every copy directly."""
    per_token = message_bytes_per_token(model.hidden, dtype)
    shape = {
        "tokens": tokens,
        "hidden": model.hidden,
        "topk": destinations,
        "experts": model.moe.routed_experts,
        "ep": ep,
        "bytes_per_token": per_token,
        "variant": exchange,
    }
    if exchange == NORMAL and domain_ranks and ep > domain_ranks:
        domains = ep // domain_ranks
        copies = tokens * expected_peers(domains, 1, destinations)  # remote domains per token
        peers = expected_peers(domains, tokens, destinations)
    else:
        copies = tokens * destinations * remote_fraction(ep)
        peers = expected_peers(ep, tokens, destinations)
    return communication(kind.value, kind, copies * per_token, peers, ep, **shape)


def moe_ops(
    model: ModelSpec,
    q: Quantization,
    tokens: Any,
    p: Placement,
    exchange: str = LOW_LATENCY,
    domain_ranks: int | None = None,
) -> list[Op]:
    """Gate, dispatch, routed + shared experts as grouped GEMMs, combine (per microbatch).

    Decode's fused exchange kernels (FusedDispatch / FusedCombine, ref §3.1) sort and gather
    token copies inside themselves. Prefill's normal kernels do not: each die routes twice
    (ascend-operators §4), and each routing step moves every token copy through HBM."""
    moe, h = model.moe, model.hidden
    destinations = moe.top_k + (0 if _shared_local(model, p) else moe.shared_experts)
    load = expert_tokens_per_rank(model, p, tokens)
    n_experts = experts_per_rank(model, p)
    routed_twice = exchange == NORMAL and p.ep > 1
    ops = [
        elementwise("moe_norm", "moe", tokens * h, *RMSNORM),
        gemm("gate", "moe", tokens, h, moe.routed_experts, BF16, BF16, BF16, 4.0),
        elementwise("routing", "moe", tokens * moe.routed_experts, *TOPK_ROUTING),
    ]
    if routed_twice:
        ops += _routing_steps_out(model, q, tokens, destinations)
    if p.ep > 1:
        ops.append(
            moe_exchange(
                CommKind.DISPATCH,
                model,
                tokens,
                destinations,
                p.ep,
                q.dispatch,
                exchange,
                domain_ranks,
            )
        )
    if routed_twice:
        # second routing: the received copies sorted by local expert
        received = load - (tokens * moe.shared_experts if _shared_local(model, p) else 0)
        ops.append(
            vector_op(
                "re_routing",
                "route",
                act_bytes=2 * received * message_bytes_per_token(h, q.dispatch),
            )
        )
    ops += [
        _grouped(
            gemm(
                "experts_up_gate",
                "moe",
                load,
                h,
                2 * moe.intermediate,
                q.weights,
                q.activations,
                q.gemm,
            ),
            n_experts,
        ),
        elementwise("experts_swiglu", "moe", load * moe.intermediate, *SWIGLU),
        _grouped(
            gemm(
                "experts_down", "moe", load, moe.intermediate, h, q.weights, q.activations, q.gemm
            ),
            n_experts,
        ),
    ]
    if routed_twice:
        # first finalize: the expert outputs put back in the order they arrived (index_select)
        ops.append(vector_op("index_select", "route", act_bytes=2 * load * h * q.combine.bytes))
    if p.ep > 1:
        ops.append(
            moe_exchange(
                CommKind.COMBINE,
                model,
                tokens,
                destinations,
                p.ep,
                q.combine,
                exchange,
                domain_ranks,
            )
        )
    if routed_twice:
        # second finalize: each token's returned copies (and its shared expert's output)
        # weighted and summed into one hidden state
        reads = destinations + (moe.shared_experts if _shared_local(model, p) else 0)
        ops.append(
            vector_op(
                "finalize_routing",
                "route",
                flop=2 * tokens * reads * h,
                act_bytes=tokens * (reads + 1) * h * q.combine.bytes,
            )
        )
    return ops


def _routing_steps_out(
    model: ModelSpec, q: Quantization, tokens: Any, destinations: int
) -> list[Op]:
    """First routing (npu_moe_init_routing_v2): each token read once in BF16 and written as
    `destinations` copies sorted by expert, quantized to the dispatch format."""
    h = model.hidden
    copy_bytes = message_bytes_per_token(h, q.dispatch)
    return [
        vector_op(
            "init_routing",
            "route",
            act_bytes=tokens * h * BF16.bytes + tokens * destinations * copy_bytes,
        )
    ]


def _grouped(op: Op, n_experts: int) -> Op:
    """A grouped GEMM over the rank's experts: it reads the weights of every one of them, and
    its `m` rows (token-expert pairs) are spread over `groups` experts."""
    return replace(
        op,
        weight_bytes=op.weight_bytes * n_experts,
        family="grouped_gemm",
        shape=dict(op.shape) | {"groups": n_experts},
    )


def dense_ffn_ops(model: ModelSpec, q: Quantization, tokens: Any, tp: int = 1) -> list[Op]:
    """A dense SwiGLU FFN: data parallel on each rank, or its columns split over `tp` ranks
    (up/gate by columns, down by rows, then an all-reduce)."""
    h, inter = model.hidden, model.dense_intermediate // tp
    ops = [
        elementwise("ffn_norm", "ffn", tokens * h, *RMSNORM),
        gemm("ffn_up_gate", "ffn", tokens, h, 2 * inter, q.weights, q.activations, q.gemm),
        elementwise("ffn_swiglu", "ffn", tokens * inter, *SWIGLU),
        gemm("ffn_down", "ffn", tokens, inter, h, q.weights, q.activations, q.gemm),
    ]
    if tp > 1:
        ops.append(all_reduce("ffn_all_reduce", model, tokens, tp))
    return ops


def embedding_op(model: ModelSpec, q: Quantization, tokens: Any) -> Op:
    """Embedding lookup: one row of the table read and written per token entering the model."""
    return vector_op("embedding", "head", act_bytes=tokens * model.hidden * q.head.bytes * 2)


def head_ops(model: ModelSpec, q: Quantization, tokens: Any, tp: int = 1) -> list[Op]:
    """Final norm, LM head and sampling for the tokens that leave the model (all of them in
    decode, the last of each prompt in prefill); the vocabulary split over `tp` ranks."""
    h, v = model.hidden, model.vocab // tp
    return [
        elementwise("final_norm", "head", tokens * h, *RMSNORM),
        gemm("lm_head", "head", tokens, h, v, q.head, BF16, q.head, 4.0),
        elementwise("sampling", "head", tokens * v, *SAMPLING, dtype=BF16),
    ]


def mtp_pre_ops(model: ModelSpec, q: Quantization, tokens: Any) -> list[Op]:
    """MTP module input: normed embedding and hidden state concatenated, projected 2h -> h."""
    h = model.hidden
    return [
        vector_op("mtp_embedding", "attention", act_bytes=tokens * h * q.head.bytes * 2),
        elementwise("mtp_norms", "attention", tokens * 2 * h, *RMSNORM),
        gemm("eh_proj", "attention", tokens, 2 * h, h, q.weights, q.activations, q.gemm),
    ]
