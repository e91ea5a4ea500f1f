"""Ops, costs and the estimate checked against hand-derived figures and model invariants."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cmperf.api import estimate, exchange_time_s
from cmperf.build import decode_attention_ops, expert_tokens_per_rank, moe_ops
from cmperf.errors import InfeasibleError
from cmperf.formulas.comm import expected_peers
from cmperf.quant import DType, message_bytes_per_token
from cmperf.specs import load_scenario

DECODE = "cloudmatrix384-decode"
PREFILL = "cloudmatrix384-prefill"


@pytest.fixture(scope="module")
def decode_scenario():
    return load_scenario(DECODE)


def _op(ops, name):
    return next(op for op in ops if op.name == name)


def test_absorbed_mla_flops_follow_flashmla_count(decode_scenario) -> None:
    """2 h s_q s_k (576 + 512) per sequence (FlashMLA's count, gpu.md §2.2)."""
    s = decode_scenario
    ops = decode_attention_ops(s.model, s.quantization, seqs=24, tokens=48, kv_len=4096)
    attention = _op(ops, "attention")
    assert attention.flop == pytest.approx(2 * 128 * 48 * 4096 * (576 + 512))
    assert attention.kv_bytes == pytest.approx(24 * 4096 * 576 * 1)  # INT8 cache, read once


def test_attention_weights_per_layer(decode_scenario) -> None:
    """q_a + kv_a + q_b + W_UK + W_UV + o_proj = 187 M parameters, one byte each in INT8."""
    s = decode_scenario
    ops = decode_attention_ops(s.model, s.quantization, seqs=1, tokens=1, kv_len=1)
    assert sum(op.weight_bytes for op in ops) == pytest.approx(187.0e6, rel=0.01)


def test_dispatch_message_is_int8_plus_scales() -> None:
    """ref §3.1: ~7.5 KB per token per destination in INT8 instead of 14 KB in BF16."""
    assert message_bytes_per_token(7168, DType.INT8) == 7168 + 56 * 4
    assert message_bytes_per_token(7168, DType.BF16) == 14336


def test_expected_peers() -> None:
    """ref §4.4 setting: 128 tokens x top-8 reach all 7 peers at EP8, about 250 at EP256."""
    assert expected_peers(8, 128, 8) == pytest.approx(7, rel=1e-6)
    assert expected_peers(256, 128, 8) == pytest.approx(250, rel=0.01)
    assert expected_peers(320, 0, 9) == 0


def test_expert_load_on_the_busiest_die(decode_scenario) -> None:
    """EP320: 288 routed instances share 8 x 48 x 320 assignments (427 each); the 32 shared
    dies take 48 x 320 / 32 = 480 tokens each and are the busiest."""
    s = decode_scenario
    balanced = replace(s.decode.placement, expert_routing="balanced")
    assert expert_tokens_per_rank(s.model, balanced, 48) == pytest.approx(480)
    skewed = replace(balanced, expert_imbalance=1.5)
    assert expert_tokens_per_rank(s.model, skewed, 48) == pytest.approx(48 * 320 * 8 / 288 * 1.5)
    # Multinomial routing: the busiest of 288 routed dies expects 2.86 standard deviations more.
    mean = 48 * 320 * 8 / 288
    busiest = mean + 2.8647 * (mean * (1 - 1 / 288)) ** 0.5
    multinomial = replace(balanced, expert_routing="multinomial")
    assert expert_tokens_per_rank(s.model, multinomial, 48) == pytest.approx(busiest, rel=1e-4)


def test_shared_expert_is_dispatched_only_to_dedicated_dies(decode_scenario) -> None:
    s = decode_scenario
    dispatch = _op(moe_ops(s.model, s.quantization, 48, s.decode.placement), "dispatch")
    per_copy = message_bytes_per_token(7168, DType.INT8)
    assert dispatch.comm.bytes_per_rank == pytest.approx(48 * 9 * 319 / 320 * per_copy)
    prefill = load_scenario(PREFILL)
    dispatch = _op(
        moe_ops(prefill.model, prefill.quantization, 4096, prefill.prefill.placement), "dispatch"
    )
    assert dispatch.comm.bytes_per_rank == pytest.approx(4096 * 8 * 31 / 32 * per_copy)


def test_exchange_microbenchmarks_within_15_percent() -> None:
    """ref §4.4: dispatch 116 -> 152 us, combine 118 -> 149 us from EP8 to EP256."""
    s = load_scenario(DECODE)
    for kind, dtype, ep, published in (
        ("dispatch", DType.INT8, 8, 116e-6),
        ("dispatch", DType.INT8, 256, 152e-6),
        ("combine", DType.BF16, 8, 118e-6),
        ("combine", DType.BF16, 256, 149e-6),
    ):
        t = exchange_time_s(s.cluster, kind, ep, 128, 8, s.model, dtype)
        assert t == pytest.approx(published, rel=0.15), (kind, ep)


def test_serving_identities() -> None:
    d = estimate(DECODE).decode
    assert d.tpot_s == pytest.approx(d.step_time_s / 1.7)
    assert d.throughput_tokens_per_s_per_device == pytest.approx(96 / d.tpot_s)
    p = estimate(PREFILL).prefill
    assert p.throughput_tokens_per_s_per_device == pytest.approx(16384 / p.step_time_s)


def test_one_microbatch_layer_is_the_sum_of_its_ops() -> None:
    d = estimate(DECODE, ["decode.microbatches=1", "decode.mtp.draft_tokens=0"]).decode
    moe_ops_time = sum(r.cost.total_s for r in d.ops if r.layer == "moe")
    # every MoE layer after the first equals the sum; the reported mean includes the first
    layer = next(layer for layer in d.layers if layer.name == "moe")
    assert layer.time_s == pytest.approx(moe_ops_time, rel=1e-9)


def test_decode_memory_per_die() -> None:
    """48 sequences x 4,096 tokens x 576 B (INT8 cache) x 62 layers with attention = 7.0 GB per
    die; communication buffers near the 645 MB per die of ref §3.1."""
    d = estimate(DECODE).decode
    per_die = {k: v for k, v in d.memory.as_dict().items()}
    assert per_die["kv_cache"] == pytest.approx(48 * 4096 * 576 * 62)
    assert per_die["comm_buffers"] == pytest.approx(645e6, rel=0.15)
    assert 15e9 < per_die["weights"] < 25e9
    assert d.memory.total_bytes < d.memory.capacity_bytes


def test_batch_that_does_not_fit_is_refused() -> None:
    with pytest.raises(InfeasibleError, match="memory exceeded"):
        estimate(DECODE, ["decode.batch_per_device=2000"])


@pytest.mark.parametrize("key", ["decode", "prefill"])
def test_monotone_in_batch(key: str) -> None:
    field = "batch_per_device" if key == "decode" else "tokens_per_device"
    scenario = DECODE if key == "decode" else PREFILL
    values = [8, 24, 64, 96, 128] if key == "decode" else [2048, 8192, 16384, 32768]
    steps = [getattr(estimate(scenario, [f"{key}.{field}={v}"]), key).step_time_s for v in values]
    assert steps == sorted(steps)


def test_faster_hardware_is_never_slower() -> None:
    base = load_scenario(DECODE)
    device = base.cluster.device
    faster_device = replace(
        device,
        hbm_bandwidth_bytes_per_s=device.hbm_bandwidth_bytes_per_s * 1.5,
        engines={
            name: replace(
                e, peaks={r: {k: v * 1.5 for k, v in t.items()} for r, t in e.peaks.items()}
            )
            for name, e in device.engines.items()
        },
    )
    tiers = tuple(
        replace(t, bandwidth_bytes_per_s=t.bandwidth_bytes_per_s * 1.5)
        for t in base.cluster.scale_up
    )
    faster = replace(base, cluster=replace(base.cluster, device=faster_device, scale_up=tiers))
    for phase in ("decode",):
        slow = getattr(estimate(base), phase).step_time_s
        fast = getattr(estimate(faster), phase).step_time_s
        assert fast < slow


def test_batch_broadcasts_as_an_array() -> None:
    """One code path evaluates a grid of batch sizes (for sweeps) or a single one."""
    import numpy as np

    from cmperf.api import estimate_decode

    s = load_scenario(DECODE)
    batches = np.array([8.0, 24.0, 96.0, 128.0])
    grid = estimate_decode(s, replace(s.decode, batch_per_device=batches))
    for i, b in enumerate(batches):
        one = estimate(s, [f"decode.batch_per_device={b:g}"]).decode
        assert grid.tpot_s[i] == pytest.approx(one.tpot_s, rel=1e-12)
        assert grid.throughput_tokens_per_s_per_device[i] == pytest.approx(
            one.throughput_tokens_per_s_per_device, rel=1e-12
        )
