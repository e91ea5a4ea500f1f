"""Model specs: the dimensions that decide the work of every operator."""

from __future__ import annotations

from dataclasses import dataclass

from .reader import Reader


@dataclass(frozen=True)
class MLA:
    """Multi-head latent attention (DeepSeek-V2/V3, Kimi-K2)."""

    heads: int
    q_lora_rank: int | None  # None: queries projected straight from the hidden state (V2-Lite)
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int
    kind: str = "mla"

    @property
    def qk_head_dim(self) -> int:
        return self.qk_nope_head_dim + self.qk_rope_head_dim

    @property
    def kv_cache_values_per_token(self) -> int:
        """Latent plus decoupled RoPE key: 512 + 64 = 576 for DeepSeek-V3 (ref §2)."""
        return self.kv_lora_rank + self.qk_rope_head_dim

    def kv_cache_values_per_rank(self, tp: int) -> int:
        """The latent is shared by all heads: every rank of a TP group caches all of it."""
        return self.kv_cache_values_per_token


@dataclass(frozen=True)
class GQA:
    """Grouped-query attention (Llama, Qwen, Mixtral): kv_heads key/value heads shared by groups
    of query heads."""

    heads: int
    kv_heads: int
    head_dim: int
    kind: str = "gqa"

    @property
    def kv_cache_values_per_token(self) -> int:
        return 2 * self.kv_heads * self.head_dim

    def kv_heads_per_rank(self, tp: int) -> int:
        """Key/value heads a rank holds under tensor parallelism (replicated when tp > kv_heads)."""
        return max(1, self.kv_heads // tp)

    def kv_cache_values_per_rank(self, tp: int) -> int:
        return 2 * self.kv_heads_per_rank(tp) * self.head_dim


@dataclass(frozen=True)
class MoE:
    routed_experts: int
    shared_experts: int
    top_k: int
    intermediate: int
    groups: int
    top_groups: int


@dataclass(frozen=True)
class ModelSpec:
    name: str
    source: str
    file: str
    hidden: int
    vocab: int
    layers: int
    dense_layers: int  # layers with a dense FFN (all of them in a dense model)
    dense_intermediate: int
    attention: MLA | GQA
    moe: MoE | None
    mtp_modules: int
    context_length: int | None = None  # longest sequence (prompt + output) it takes; None: unknown

    @property
    def moe_layers(self) -> int:
        return self.layers - self.dense_layers


def _read_attention(a: Reader) -> MLA | GQA:
    kind = a.string("kind", choices=["mla", "gqa"])
    if kind == "mla":
        attention: MLA | GQA = MLA(
            heads=a.integer("heads"),
            # absent or null: queries are projected straight from the hidden state
            q_lora_rank=a.integer("q_lora_rank") if a.data.get("q_lora_rank") is not None else None,
            kv_lora_rank=a.integer("kv_lora_rank"),
            qk_nope_head_dim=a.integer("qk_nope_head_dim"),
            qk_rope_head_dim=a.integer("qk_rope_head_dim"),
            v_head_dim=a.integer("v_head_dim"),
        )
        a.raw("q_lora_rank", None)
    else:
        attention = GQA(
            heads=a.integer("heads"), kv_heads=a.integer("kv_heads"), head_dim=a.integer("head_dim")
        )
        if attention.heads % attention.kv_heads:
            raise a.error(
                "kv_heads",
                f"{attention.kv_heads} key/value heads do not divide the "
                f"{attention.heads} query heads",
            )
    a.done()
    return attention


def _read_moe(m: Reader) -> MoE:
    moe = MoE(
        routed_experts=m.integer("routed_experts"),
        shared_experts=m.integer("shared_experts", 0, low=0),
        top_k=m.integer("top_k"),
        intermediate=m.integer("intermediate"),
        groups=m.integer("groups", 1),
        top_groups=m.integer("top_groups", 1),
    )
    if moe.top_k > moe.routed_experts:
        raise m.error("top_k", f"top_k {moe.top_k} exceeds routed_experts {moe.routed_experts}")
    m.done()
    return moe


def read_model(r: Reader, name: str) -> ModelSpec:
    attention = _read_attention(r.sub("attention"))
    moe = _read_moe(r.sub("moe")) if r.has("moe") else None
    r.raw("moe", None)
    layers = r.integer("layers")
    dense_layers = r.integer("dense_layers", 0 if moe else layers, low=0, high=layers)
    if moe is None and dense_layers != layers:
        raise r.error("dense_layers", f"a model without moe has only dense layers ({layers})")
    mtp = r.integer("mtp_modules", 0, low=0)
    if mtp and attention.kind != "mla":
        raise r.error("mtp_modules", "MTP modules are modelled for DeepSeek-V3-style (MLA) models")
    return ModelSpec(
        name=name,
        source=r.string("source"),
        file=r.file,
        hidden=r.integer("hidden"),
        vocab=r.integer("vocab"),
        layers=layers,
        dense_layers=dense_layers,
        dense_intermediate=(
            r.integer("dense_intermediate")
            if dense_layers
            else r.integer("dense_intermediate", 0, low=0)
        ),
        attention=attention,
        moe=moe,
        mtp_modules=mtp,
        context_length=_optional_integer(r, "context_length"),
    )


def _optional_integer(r: Reader, key: str) -> int | None:
    """A whole number where the key is given, None where it is absent or null."""
    return r.integer(key) if r.raw(key, None) is not None else None
