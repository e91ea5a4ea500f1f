"""The list schedule: one mechanism for sequential execution, two-stream pipelining and
communication hidden behind compute. Invariants the model relies on:

- one stream and one microbatch: a layer lasts the sum of its op times;
- overlap never makes a layer shorter than the busiest stream's work, nor than the time the
  shared HBM is busy;
- overlap never makes a layer longer than running everything in sequence.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmperf.cost import Cost
from cmperf.ops import Engine, Op
from cmperf.quant import DType
from cmperf.schedule import Task, simulate


def _task(stream: str, seconds: float, hbm_s: float = 0.0) -> Task:
    op = Op("x", "attention", Engine.MATRIX, "gemm", DType.BF16)
    return Task(stream, ((op, Cost(seconds, 0.0, 0.0, hbm_s=hbm_s)),))


def test_one_stream_adds_up() -> None:
    layer = [_task("main", 3e-6), _task("other", 2e-6), _task("main", 5e-6)]
    timeline = simulate([(layer, 4)], microbatches=1)
    assert timeline.makespan_s == pytest.approx(4 * 10e-6)
    assert timeline.layer_times_s() == pytest.approx([10e-6] * 4)


def test_two_stream_pipeline_period_is_twice_the_slower_stream() -> None:
    """CloudMatrix decode: attention stream a, MoE stream m per microbatch, two microbatches:
    each layer settles to 2 max(a, m) (ref §3.1)."""
    a, m = 600e-6, 450e-6
    layers = [([_task("attention", a), _task("moe", m)], 40)]
    times = simulate(layers, microbatches=2).layer_times_s()
    assert times[-1] == pytest.approx(2 * max(a, m))


def test_communication_hides_behind_the_other_microbatch() -> None:
    """Prefill: compute c then communication x on a DMA stream; with two microbatches the
    communication of one hides behind the other's compute when x <= c."""
    c, x = 10e-3, 4e-3
    layers = [([_task("compute", c), _task("dma", x)], 30)]
    overlapped = simulate(layers, microbatches=2).layer_times_s()[-1]
    sequential = simulate([([_task("main", c / 2), _task("main", x / 2)], 30)], 2).layer_times_s()
    assert overlapped == pytest.approx(2 * c)
    assert sequential[-1] == pytest.approx(c + x)


def test_shared_hbm_bounds_the_layer() -> None:
    """Two streams each memory-bound at full bandwidth cannot both have it at once."""
    layers = [([_task("attention", 1e-3, hbm_s=1e-3), _task("moe", 1e-3, hbm_s=1e-3)], 10)]
    times = simulate(layers, microbatches=2).layer_times_s()
    assert min(times) >= 4e-3 - 1e-12


durations = st.lists(st.floats(1e-7, 1e-3), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(
    work=durations,
    streams=st.lists(st.sampled_from(["a", "b", "c"]), min_size=6, max_size=6),
    microbatches=st.integers(1, 2),
    n_layers=st.integers(1, 5),
)
def test_overlap_bounds(work, streams, microbatches, n_layers) -> None:
    layer = [_task(streams[i], t) for i, t in enumerate(work)]
    makespan = simulate([(layer, n_layers)], microbatches).makespan_s
    total = n_layers * microbatches * sum(work)
    busiest = max(
        n_layers * microbatches * sum(t for i, t in enumerate(work) if streams[i] == s)
        for s in set(streams[: len(work)])
    )
    assert makespan <= total * (1 + 1e-9)
    assert makespan >= busiest * (1 - 1e-9)


@settings(max_examples=200, deadline=None)
@given(
    first=durations,
    second=durations,
    streams=st.lists(st.sampled_from(["a", "b"]), min_size=6, max_size=6),
    hbm=st.floats(0.0, 1e-3),
    counts=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    microbatches=st.integers(1, 2),
)
def test_periodic_shortcut_matches_full_schedule(
    first, second, streams, hbm, counts, microbatches
) -> None:
    """Extending a periodic schedule by its period gives the same layer ends as scheduling
    every layer (keep_events turns the shortcut off)."""
    groups = [
        ([_task(streams[i], t, hbm_s=hbm) for i, t in enumerate(first)], counts[0]),
        ([_task(streams[i], t) for i, t in enumerate(second)], counts[1]),
    ]
    fast = simulate(groups, microbatches).layer_end_s
    full = simulate(groups, microbatches, keep_events=True).layer_end_s
    assert fast == pytest.approx(full, rel=1e-9)
