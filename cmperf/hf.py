"""Hugging Face `config.json` files as model specs (`model: path/to/config.json`).

Supported architectures: DeepSeek-V3/V2 (MLA + MoE), Qwen3-MoE and Mixtral (GQA + MoE), Qwen2,
Qwen3, Llama and Mistral (GQA, dense). Anything else is refused with the list.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import SpecError
from .specs.model import GQA, MLA, ModelSpec, MoE

SUPPORTED = {
    "DeepseekV3ForCausalLM": "deepseek",
    "DeepseekV2ForCausalLM": "deepseek",
    "Qwen3MoeForCausalLM": "qwen3_moe",
    "MixtralForCausalLM": "mixtral",
    "Qwen2ForCausalLM": "dense",
    "Qwen3ForCausalLM": "dense",
    "LlamaForCausalLM": "dense",
    "MistralForCausalLM": "dense",
}


class _Config:
    """Typed access to config.json keys; errors name the file and the key."""

    def __init__(self, data: Any, file: str) -> None:
        if not isinstance(data, dict):
            raise SpecError(file, "", "expected a JSON object (a Hugging Face config.json)")
        self.data, self.file = data, file

    def int(self, key: str, default: Any = ...) -> int:
        value = self.data.get(key, default)
        if value is ...:
            raise SpecError(self.file, key, "missing required key")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SpecError(self.file, key, f"expected a non-negative whole number, got {value!r}")
        return value


def read_hf_config(path: Path) -> ModelSpec:
    file = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(file, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(file, "", f"cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise SpecError(
            file, "", f"malformed JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    c = _Config(data, file)
    architectures = data.get("architectures") or []
    if isinstance(architectures, str):
        architectures = [architectures]
    arch = architectures[0] if isinstance(architectures, list) and architectures else None
    family = SUPPORTED.get(arch) if isinstance(arch, str) else None
    if family is None:
        raise SpecError(
            file,
            "architectures",
            f"unsupported architecture {arch!r}; cmperf reads {', '.join(sorted(SUPPORTED))}",
        )
    # The config's own name; else its architecture: a snapshot folder is often a commit hash.
    name = str(data.get("_name_or_path") or arch).rstrip("/")
    name = name.rsplit("/", 1)[-1] or path.stem
    layers = c.int("num_hidden_layers")
    heads = c.int("num_attention_heads")
    hidden = c.int("hidden_size")
    common = {
        "name": name,
        "source": f"Hugging Face config {file} ({arch})",
        "file": file,
        "hidden": hidden,
        "vocab": c.int("vocab_size"),
        "layers": layers,
        "context_length": (
            c.int("max_position_embeddings")
            if data.get("max_position_embeddings") is not None
            else None
        ),
    }
    if family == "deepseek":
        q_lora = data.get("q_lora_rank")
        attention: MLA | GQA = MLA(
            heads=heads,
            q_lora_rank=c.int("q_lora_rank") if q_lora is not None else None,
            kv_lora_rank=c.int("kv_lora_rank"),
            qk_nope_head_dim=c.int("qk_nope_head_dim"),
            qk_rope_head_dim=c.int("qk_rope_head_dim"),
            v_head_dim=c.int("v_head_dim"),
        )
        moe = MoE(
            routed_experts=c.int("n_routed_experts"),
            shared_experts=c.int("n_shared_experts", 0),
            top_k=c.int("num_experts_per_tok"),
            intermediate=c.int("moe_intermediate_size"),
            groups=c.int("n_group", 1),
            top_groups=c.int("topk_group", 1),
        )
        dense_layers = min(layers, c.int("first_k_dense_replace", 0))
        return ModelSpec(
            **common,
            dense_layers=dense_layers,
            dense_intermediate=c.int("intermediate_size"),
            attention=attention,
            moe=moe,
            mtp_modules=c.int("num_nextn_predict_layers", 0),
        )
    kv_heads = c.int("num_key_value_heads", heads)
    if kv_heads == 0 or heads % kv_heads:
        raise SpecError(
            file,
            "num_key_value_heads",
            f"{kv_heads} key/value heads do not divide the {heads} attention heads "
            "(num_attention_heads)",
        )
    head_dim = c.int("head_dim") if data.get("head_dim") is not None else hidden // heads
    attention = GQA(heads=heads, kv_heads=kv_heads, head_dim=head_dim)
    if family == "dense":
        return ModelSpec(
            **common,
            dense_layers=layers,
            dense_intermediate=c.int("intermediate_size"),
            attention=attention,
            moe=None,
            mtp_modules=0,
        )
    if family == "qwen3_moe":
        sparse_step = c.int("decoder_sparse_step", 1)
        dense_only = data.get("mlp_only_layers") or []
        if sparse_step != 1 or dense_only:
            raise SpecError(
                file,
                "decoder_sparse_step",
                "only models with an MoE FFN in every "
                "layer (decoder_sparse_step 1, no mlp_only_layers) are supported",
            )
        moe = MoE(
            c.int("num_experts"),
            0,
            c.int("num_experts_per_tok"),
            c.int("moe_intermediate_size"),
            1,
            1,
        )
    else:  # mixtral
        moe = MoE(
            c.int("num_local_experts"),
            0,
            c.int("num_experts_per_tok"),
            c.int("intermediate_size"),
            1,
            1,
        )
    if moe.top_k > moe.routed_experts:
        raise SpecError(
            file,
            "num_experts_per_tok",
            f"top-k {moe.top_k} exceeds the {moe.routed_experts} experts",
        )
    return ModelSpec(
        **common, dense_layers=0, dense_intermediate=0, attention=attention, moe=moe, mtp_modules=0
    )
