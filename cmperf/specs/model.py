"""Model specs: the dimensions that decide the work of every operator."""

from __future__ import annotations

from dataclasses import dataclass

from .reader import Reader


@dataclass(frozen=True)
class MLA:
    """Multi-head latent attention (DeepSeek-V2/V3)."""

    heads: int
    q_lora_rank: int
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int

    @property
    def qk_head_dim(self) -> int:
        return self.qk_nope_head_dim + self.qk_rope_head_dim

    @property
    def kv_cache_values_per_token(self) -> int:
        """Latent plus decoupled RoPE key: 512 + 64 = 576 for DeepSeek-V3 (ref §2)."""
        return self.kv_lora_rank + self.qk_rope_head_dim


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
    dense_layers: int
    dense_intermediate: int
    attention: MLA
    moe: MoE
    mtp_modules: int

    @property
    def moe_layers(self) -> int:
        return self.layers - self.dense_layers


def read_model(r: Reader, name: str) -> ModelSpec:
    a = r.sub("attention")
    kind = a.string("kind", choices=["mla"])
    del kind
    mla = MLA(
        heads=a.integer("heads"),
        q_lora_rank=a.integer("q_lora_rank"),
        kv_lora_rank=a.integer("kv_lora_rank"),
        qk_nope_head_dim=a.integer("qk_nope_head_dim"),
        qk_rope_head_dim=a.integer("qk_rope_head_dim"),
        v_head_dim=a.integer("v_head_dim"),
    )
    a.done()
    m = r.sub("moe")
    moe = MoE(
        routed_experts=m.integer("routed_experts"),
        shared_experts=m.integer("shared_experts", low=0),
        top_k=m.integer("top_k"),
        intermediate=m.integer("intermediate"),
        groups=m.integer("groups", 1),
        top_groups=m.integer("top_groups", 1),
    )
    if moe.top_k > moe.routed_experts:
        raise m.error("top_k", f"top_k {moe.top_k} exceeds routed_experts {moe.routed_experts}")
    m.done()
    layers = r.integer("layers")
    spec = ModelSpec(
        name=name,
        source=r.string("source"),
        file=r.file,
        hidden=r.integer("hidden"),
        vocab=r.integer("vocab"),
        layers=layers,
        dense_layers=r.integer("dense_layers", 0, low=0, high=layers),
        dense_intermediate=r.integer("dense_intermediate"),
        attention=mla,
        moe=moe,
        mtp_modules=r.integer("mtp_modules", 0, low=0),
    )
    return spec
