"""Models beyond DeepSeek: GQA attention, dense FFNs, tensor parallelism, HF config.json specs."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import DECODE, assert_error, invoke

from cmperf.api import estimate
from cmperf.build import dense_ffn_ops, gqa_attention_ops
from cmperf.errors import InfeasibleError, SpecError
from cmperf.hf import read_hf_config
from cmperf.specs import load_scenario

HF = Path(__file__).parent / "data" / "hf"
LLAMA = "llama-3.1-405b-cloudmatrix384"
LLAMA_70B_CONFIG = str(HF / "llama-3.1-70b" / "config.json")
SMALL_LLAMA = [
    f"model={LLAMA_70B_CONFIG}",
    "decode.devices=2",
    "decode.tp=4",
    "prefill.devices=2",
    "prefill.tp=4",
]


def test_deepseek_config_json_matches_the_yaml_spec() -> None:
    """The same model read from its config.json estimates exactly as from model_specs/."""
    config = str(HF / "deepseek-v3" / "config.json")
    from_json = estimate(DECODE, [f"model={config}"]).decode
    from_yaml = estimate(DECODE, ["model=deepseek-v3"]).decode
    assert from_json.tpot_s == from_yaml.tpot_s
    assert from_json.memory.total_bytes == from_yaml.memory.total_bytes


def test_llama_config_json_estimates_without_a_model_spec_file() -> None:
    e = estimate(LLAMA, SMALL_LLAMA)
    assert e.scenario.model.name == "LlamaForCausalLM"  # no _name_or_path: its architecture
    assert e.decode.tpot_s > 0 and e.prefill.throughput_tokens_per_s_per_device > 0
    assert [layer.name for layer in e.decode.layers] == ["dense", "head"]


@pytest.mark.parametrize(
    ("folder", "attention", "experts"),
    [("qwen3-235b-a22b", "gqa", 128), ("mixtral-8x7b", "gqa", 8), ("deepseek-v3", "mla", 256)],
)
def test_hf_architectures(folder: str, attention: str, experts: int) -> None:
    spec = read_hf_config(HF / folder / "config.json")
    assert spec.attention.kind == attention
    assert spec.moe is not None and spec.moe.routed_experts == experts


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"architectures": ["GPT2LMHeadModel"]}', "unsupported architecture 'GPT2LMHeadModel'"),
        ("{not json", "malformed JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"architectures": ["LlamaForCausalLM"], "hidden_size": 8}', "num_hidden_layers"),
        (
            '{"architectures": ["LlamaForCausalLM"], "num_hidden_layers": -1}',
            "expected a non-negative whole number",
        ),
    ],
)
def test_bad_config_json(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=message):
        read_hf_config(path)
    assert_error(invoke("estimate", DECODE, "--set", f"model={path}"), message)


def test_gqa_attention_flops_and_cache() -> None:
    """2 h s_q L (2 head_dim) FLOP; the cache holds kv_heads/tp key and value heads per rank."""
    s = load_scenario(LLAMA)
    m, q = s.model, s.quantization
    ops = {op.name: op for op in gqa_attention_ops(m, q, seqs=4, tokens=4, kv_len=1000, tp=16)}
    heads, kv_heads = 128 // 16, 1  # 8 kv heads over 16 ranks: one (replicated) per rank
    assert ops["attention"].flop == pytest.approx(2 * heads * 4 * 1000 * 2 * 128)
    assert ops["attention"].kv_bytes == pytest.approx(4 * 1000 * 2 * kv_heads * 128)
    assert ops["qkv_proj"].weight_bytes == pytest.approx(16384 * (heads + 2 * kv_heads) * 128)
    assert "attn_all_reduce" in ops


def test_tensor_parallel_ffn_splits_weights_and_adds_an_all_reduce() -> None:
    s = load_scenario(LLAMA)
    one = {op.name: op for op in dense_ffn_ops(s.model, s.quantization, 8, tp=1)}
    split = {op.name: op for op in dense_ffn_ops(s.model, s.quantization, 8, tp=16)}
    assert split["ffn_up_gate"].weight_bytes == pytest.approx(one["ffn_up_gate"].weight_bytes / 16)
    assert "ffn_all_reduce" in split and "ffn_all_reduce" not in one
    sent = split["ffn_all_reduce"].comm.bytes_per_rank
    assert sent == pytest.approx(2 * 15 / 16 * 8 * 16384 * 2)


def test_a_model_that_does_not_fit_needs_tensor_parallelism() -> None:
    with pytest.raises(InfeasibleError, match="memory exceeded"):
        estimate(LLAMA, ["decode.tp=2", "prefill.tp=2"])


@pytest.mark.parametrize(
    ("sets", "key", "message"),
    [
        (["decode.ep=16"], "decode.ep", "has no experts"),
        (["decode.tp=3"], "decode.tp", "must divide"),
        (["prefill.tp=32"], "prefill.tp", "must divide"),
    ],
)
def test_bad_parallelism_for_a_dense_model(sets: list[str], key: str, message: str) -> None:
    args = [arg for s in sets for arg in ("--set", s)]
    assert_error(invoke("estimate", LLAMA, *args), key, message)


def test_mla_prefill_keeps_tp_one() -> None:
    assert_error(
        invoke("estimate", "cloudmatrix384-prefill", "--set", "prefill.tp=2"),
        "prefill.tp",
        "attention_tp",
    )


@pytest.mark.parametrize(
    ("scenario", "sets"),
    [
        ("kimi-k2-cloudmatrix384-decode", []),
        (LLAMA, []),
        (
            DECODE,
            [
                "model=qwen3-235b-a22b",
                "decode.devices=64",
                "decode.ep=128",
                "decode.redundant_experts=0",
                "decode.shared_expert_replicas=0",
                "decode.mtp.draft_tokens=0",
            ],
        ),
        (LLAMA, ["model=llama-3.1-70b", *SMALL_LLAMA[1:]]),
    ],
)
def test_shipped_models_estimate_end_to_end(scenario: str, sets: list[str]) -> None:
    e = estimate(scenario, sets)
    for phase in (e.decode, e.prefill):
        if phase is not None:
            assert phase.throughput_tokens_per_s_per_device > 0
            assert phase.memory.total_bytes <= phase.memory.capacity_bytes


def test_tensor_parallel_attention_gets_faster_per_token_with_more_ranks() -> None:
    """Splitting heads over more ranks shortens each rank's attention work."""
    small = ["decode.devices=8", "decode.batch_per_device=8"]
    slow = estimate(LLAMA, [*small, "decode.tp=8"]).decode
    fast = estimate(LLAMA, [*small, "decode.tp=16"]).decode
    assert fast.step_time_s < slow.step_time_s


def test_a_config_is_named_by_its_own_name_not_its_folder(tmp_path: Path) -> None:
    """A snapshot folder is often a commit hash: the config's _name_or_path names the model."""
    import json

    data = json.loads((HF / "llama-3.1-70b" / "config.json").read_text())
    folder = tmp_path / "0123456789abcdef0123456789abcdef01234567"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(data | {"_name_or_path": "meta/Llama-3.1-70B"}))
    from cmperf.hf import read_hf_config

    assert read_hf_config(folder / "config.json").name == "Llama-3.1-70B"
    (folder / "config.json").write_text(json.dumps(data))
    assert read_hf_config(folder / "config.json").name == "LlamaForCausalLM"
