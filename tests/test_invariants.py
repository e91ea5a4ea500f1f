"""Model invariants, checked with hypothesis on the real model (not on toy numbers).

The model relies on these:
1. More bandwidth or more FLOP/s never makes anything slower (every cost is a max or sum of
   terms each falling with the rate).
2. A larger batch (or longer context) never lowers the step time (every term grows with it).
3. Throughput per device = batch per device / TPOT, and TPOT = step time / tokens per step.
4. With one microbatch and no overlap, a layer lasts the sum of its op times.
5. Overlap never makes a layer shorter than its busiest stream's work (tests/test_schedule.py
   checks the list schedule itself).
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from support import DECODE, PREFILL

from cmperf.api import estimate_decode, estimate_prefill
from cmperf.specs import load_scenario

BASE = {name: load_scenario(name) for name in (DECODE, PREFILL)}


def _scaled(s, hbm: float, peak: float, link: float):
    device = s.cluster.device
    engines = {
        name: replace(
            e,
            peaks={r: {k: v * peak for k, v in t.items()} for r, t in e.peaks.items()},
        )
        for name, e in device.engines.items()
    }
    device = replace(
        device, hbm_bandwidth_bytes_per_s=device.hbm_bandwidth_bytes_per_s * hbm, engines=engines
    )
    tiers = tuple(
        replace(t, bandwidth_bytes_per_s=t.bandwidth_bytes_per_s * link) for t in s.cluster.scale_up
    )
    return replace(s, cluster=replace(s.cluster, device=device, scale_up=tiers))


def _run(s, phase: str, **changes):
    if phase == "decode":
        return estimate_decode(s, replace(s.decode, **changes), check_memory=False)
    return estimate_prefill(s, replace(s.prefill, **changes), check_memory=False)


factors = st.floats(1.0, 4.0)
mb = st.sampled_from([1, 2])


@settings(max_examples=40, deadline=None)
@given(
    phase=st.sampled_from(["decode", "prefill"]),
    hbm=factors,
    peak=factors,
    link=factors,
    microbatches=mb,
)
def test_faster_hardware_is_never_slower(phase, hbm, peak, link, microbatches) -> None:
    base = BASE[DECODE if phase == "decode" else PREFILL]
    section = base.decode if phase == "decode" else base.prefill
    streams = section.streams if microbatches == section.microbatches else None
    changes = {"microbatches": microbatches}
    if streams is None:
        changes["streams"] = (
            replace(
                section.streams[0],
                paths=("attention", "moe", "ffn", "comm"),
                shares=(),
            ),
        )
    slow = _run(base, phase, **changes)
    fast = _run(_scaled(base, hbm, peak, link), phase, **changes)
    assert fast.step_time_s <= slow.step_time_s * (1 + 1e-12)


@settings(max_examples=40, deadline=None)
@given(
    batch=st.floats(1, 256),
    more=st.floats(0, 256),
    kv=st.integers(256, 16384),
    longer=st.integers(0, 16384),
)
def test_more_work_never_takes_less_time(batch, more, kv, longer) -> None:
    s = BASE[DECODE]
    small = _run(s, "decode", batch_per_device=batch, kv_len=kv)
    large = _run(s, "decode", batch_per_device=batch + more, kv_len=kv + longer)
    assert large.step_time_s >= small.step_time_s * (1 - 1e-12)


@settings(max_examples=40, deadline=None)
@given(batch=st.floats(1, 256), drafts=st.integers(0, 1), acceptance=st.floats(0, 1))
def test_throughput_is_batch_over_tpot(batch, drafts, acceptance) -> None:
    s = BASE[DECODE]
    d = _run(
        s,
        "decode",
        batch_per_device=batch,
        mtp_draft_tokens=drafts,
        mtp_acceptance=(acceptance,) * drafts,
    )
    emitted = 1 + acceptance * drafts
    assert abs(d.tpot_s - d.step_time_s / emitted) <= 1e-12 * d.tpot_s
    assert abs(d.throughput_tokens_per_s_per_device - batch / d.tpot_s) <= 1e-9 * batch / d.tpot_s


@settings(max_examples=30, deadline=None)
@given(batch=st.floats(1, 256), kv=st.integers(256, 16384))
def test_one_microbatch_layers_add_up(batch, kv) -> None:
    s = BASE[DECODE]
    whole = (
        replace(
            s.decode.streams[0],
            name="main",
            paths=("attention", "moe", "ffn", "comm"),
            shares=(),
        ),
    )
    d = _run(s, "decode", batch_per_device=batch, kv_len=kv, microbatches=1, streams=whole)
    for layer in d.layers:
        if layer.name in ("dense", "moe"):
            total = sum(r.cost.total_s for r in d.ops if r.layer == layer.name)
            assert abs(layer.time_s - total) <= 1e-9 * total
