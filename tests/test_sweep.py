"""Tests for `cmperf sweep`: the search is exact (it equals exhaustive enumeration), its helpers
(largest feasible batch, Pareto frontier) hold their contracts, its answers reproduce through
`cmperf estimate --set ...`, and the CLI keeps its JSON/CSV contract and exit codes.

Predicted numbers change as the model evolves, so these tests check structure, exactness and
relationships between figures, never specific predictions.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import assert_clean_failure, invoke, sets_args

from cmperf import search
from cmperf.api import estimate_decode
from cmperf.errors import InfeasibleError, SpecError
from cmperf.specs import load_scenario, parse_override

SLO_SCENARIO = "cloudmatrix384-decode-slo"
DECODE = "cloudmatrix384-decode"

# A small space (EP x placement x microbatches x MTP x dispatch format) for exhaustive checks.
SMALL = (
    "sweep.ep=[160,320]",
    "sweep.microbatches=[1,2]",
    "sweep.mtp.draft_tokens=[0,1]",
    "sweep.quantization={dispatch: [int8, bf16]}",
    "sweep.batch_per_device={min: 1, max: 160}",
)
# Two instance sizes (EP320 cannot divide 80 devices' 160 ranks): per-instance throughput
# ranks differently from per-device throughput.
SMALL_DEVICES = (
    "sweep.devices=[80,160]",
    "sweep.ep=[160,320]",
    "sweep.placements=[local_shared]",
    "sweep.microbatches=[2]",
    "sweep.mtp.draft_tokens=[0,1]",
    "sweep.batch_per_device={min: 1, max: 160}",
)
# A space where HBM, not the SLO, bounds the batch of several candidates (EP32 holds 8 routed
# experts per die; BF16 weights do not fit at all there).
MEMORY_BOUND = (
    "sweep.ep=[32,320]",
    "sweep.microbatches=[2]",
    "sweep.mtp.draft_tokens=[0]",
    "sweep.quantization={weights+activations: [int8, bf16]}",
    "sweep.batch_per_device={min: 1, max: 512}",
)


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"non-standard JSON constant {name}")


def sweep_json(*args: str) -> dict[str, Any]:
    result = invoke("sweep", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout, parse_constant=_reject_constant)


def estimate_decode_json(scenario: str, sets: list[str]) -> dict[str, Any]:
    result = invoke("estimate", scenario, "--format", "json", *sets_args(sets))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["decode"]


# --- exhaustive enumeration -----------------------------------------------------------------------


def exhaustive(result: search.SweepResult) -> dict[tuple[str, ...], tuple[int, float, float]]:
    """Every candidate of the sweep's space, every integer batch in its range, evaluated
    independently of the search: {candidate sets: (largest feasible batch, throughput per
    device there, objective there)} for the candidates with any feasible batch."""
    base, spec = result.scenario, result.spec
    batches = np.arange(math.ceil(spec.batch_min), math.floor(spec.batch_max) + 1, dtype=float)
    out = {}
    for candidate in search.candidates(base, spec):
        if isinstance(candidate, str):
            continue
        try:
            s = load_scenario(base.file, base.overrides + candidate.sets)
            r = estimate_decode(s, replace(s.decode, batch_per_device=batches), check_memory=False)
        except (SpecError, InfeasibleError):
            continue
        tpot = np.broadcast_to(np.asarray(r.tpot_s, dtype=float), batches.shape)
        used = np.broadcast_to(np.asarray(r.memory.total_bytes, dtype=float), batches.shape)
        throughput = np.asarray(r.throughput_tokens_per_s_per_device, dtype=float)
        ok = (tpot <= spec.tpot_slo_s) & (used <= r.memory.capacity_bytes)
        if not ok.any():
            continue
        # Throughput mostly grows with the batch, but a batch that starts a new wave of tiles
        # costs a whole wave: the best is the largest feasible batch of highest throughput.
        best = throughput[ok].max()
        i = int(np.flatnonzero(ok & (throughput == best))[-1])
        devices = candidate.labels["devices"]
        objective = throughput[i] * (devices if spec.objective == "throughput_per_instance" else 1)
        out[candidate.sets] = (int(batches[i]), float(throughput[i]), float(objective))
    return out


def check_against_exhaustive(result: search.SweepResult) -> None:
    truth = exhaustive(result)
    assert truth, "the test space should have feasible configurations"
    ranked = {p.candidate.sets: p for p in result.ranked}
    # The same candidates are feasible, each at the exhaustive largest feasible integer batch.
    assert set(ranked) == set(truth)
    for sets, (batch, throughput, objective) in truth.items():
        p = ranked[sets]
        assert p.batch == batch, (p.candidate.labels, p.batch, batch)
        assert p.throughput_per_device == pytest.approx(throughput, rel=1e-12)
        assert p.objective == pytest.approx(objective, rel=1e-12)
        assert p.latency_s <= result.spec.tpot_slo_s
        assert p.memory_fraction <= 1.0
    # The optimum is the exhaustive optimum.
    best_sets = max(truth, key=lambda k: truth[k][2])
    batch, throughput, objective = truth[best_sets]
    best = result.best
    assert best is not None
    assert best.objective == pytest.approx(objective, rel=1e-12)
    assert best.throughput_per_device == pytest.approx(throughput, rel=1e-12)
    assert best.batch == batch
    objectives = [p.objective for p in result.ranked]
    assert objectives == sorted(objectives, reverse=True)


@pytest.mark.parametrize(
    ("space", "slo_s", "objective"),
    [
        (SMALL, 0.030, None),
        (SMALL, 0.015, None),
        (SMALL, 0.030, "throughput_per_instance"),
        (SMALL_DEVICES, 0.030, "throughput_per_instance"),
        (MEMORY_BOUND, 1.0, None),  # every batch meets the SLO: HBM bounds it
    ],
    ids=["30ms", "15ms", "30ms-per-instance", "two-sizes-per-instance", "memory-bound-1s"],
)
def test_optimum_equals_exhaustive_enumeration(
    space: tuple[str, ...], slo_s: float, objective: str | None
) -> None:
    result = search.sweep(SLO_SCENARIO, overrides=space, tpot_slo_s=slo_s, objective=objective)
    assert result.spec.objective == (objective or "throughput_per_device")
    check_against_exhaustive(result)


def test_per_instance_objective_prefers_bigger_instances() -> None:
    per_device = search.sweep(SLO_SCENARIO, overrides=SMALL_DEVICES, tpot_slo_s=0.03)
    per_instance = search.sweep(
        SLO_SCENARIO,
        overrides=SMALL_DEVICES,
        tpot_slo_s=0.03,
        objective="throughput_per_instance",
    )
    # Same feasible set and batches; only the ranking key differs.
    assert {(p.sets, p.batch) for p in per_device.ranked} == {
        (p.sets, p.batch) for p in per_instance.ranked
    }
    for p in per_instance.ranked:
        assert p.objective == pytest.approx(p.throughput_per_device * p.candidate.labels["devices"])
    assert per_instance.best.candidate.labels["devices"] == 160


def test_optimum_equals_exhaustive_enumeration_memory_below_slo_root() -> None:
    # EP32 INT8 fits ~357 sequences but meets 100 ms up to ~365.
    result = search.sweep(SLO_SCENARIO, overrides=MEMORY_BOUND, tpot_slo_s=0.1)
    check_against_exhaustive(result)


# --- largest_feasible_batch ---------------------------------------------------------------------


def lfb(latency: Any, slo_s: float, low: float, high: float, grid_high: float | None = None) -> Any:
    """largest_feasible_batch with the coarse grid built as search.py builds it."""
    grid = np.geomspace(low, grid_high or high, search.COARSE_POINTS)
    return search.largest_feasible_batch(latency, slo_s, low, high, grid, latency(grid))


def brute(latency: Any, slo_s: float, low: float, high: float) -> int | None:
    ints = np.arange(math.ceil(low), math.floor(high) + 1, dtype=float)
    ok = np.asarray(latency(ints)) <= slo_s
    return int(ints[ok][-1]) if ok.any() else None


def linear(b: Any) -> Any:
    return 0.010 + 1e-4 * np.asarray(b, dtype=float)


def kinked(b: Any) -> Any:
    """Flat (latency-bound) up to 64, steep to 128, shallow beyond: two kinks."""
    b = np.asarray(b, dtype=float)
    return 0.02 + 1e-3 * np.clip(b - 64, 0, 64) + 1e-4 * np.maximum(b - 128, 0)


def plateau(b: Any) -> Any:
    """Rises to 100, flat from 100 to 200 (exactly at the SLO in the test), rises again."""
    b = np.asarray(b, dtype=float)
    return np.minimum(b, 100.0) + np.maximum(b - 200.0, 0.0)


def steps(b: Any) -> Any:
    """Discontinuous but monotone: a new step every 10 sequences."""
    return np.floor(np.asarray(b, dtype=float) / 10.0)


@pytest.mark.parametrize(
    ("latency", "slo_s", "low", "high", "expected"),
    [
        (linear, 0.010 + 1e-4 * 50, 1, 512, 50),
        (linear, 0.010 + 1e-4 * 50.5, 1, 512, 50),
        (linear, 0.030, 1, 512, 200),
        (kinked, 0.02, 1, 512, 64),  # the SLO equals the flat part: its right end
        (kinked, 0.02 + 1e-3 * 10.5, 1, 512, 74),
        (kinked, 0.02 + 0.064 + 1e-4 * 100, 1, 512, 228),
        (plateau, 100.0, 1, 512, 200),
        (plateau, 99.5, 1, 512, 99),
        (plateau, 150.0, 1, 512, 250),
        (steps, 5.0, 1, 512, 59),
        (steps, 0.0, 1, 512, 9),
        (linear, 0.010 + 1e-4 * 0.5, 1, 512, None),  # SLO below the smallest latency
        (linear, 1.0, 1, 512, 512),  # above the largest: the upper bound
        (linear, 1.0, 1.5, 99.7, 99),  # bounds need not be integers
        (linear, 0.010 + 1e-4 * 1.9, 1.5, 99.7, None),  # 1 would fit but is below low
        (linear, 0.010 + 1e-4 * 2, 1.5, 99.7, 2),
        (linear, 1.0, 2.2, 2.8, None),  # no integer in [low, high]
        (linear, 1.0, 7, 7, 7),
    ],
)
def test_largest_feasible_batch(
    latency: Any, slo_s: float, low: float, high: float, expected: int | None
) -> None:
    assert brute(latency, slo_s, low, high) == expected  # the table itself
    assert lfb(latency, slo_s, low, high) == expected


def test_largest_feasible_batch_high_below_the_slo_root() -> None:
    # The grid spans the sweep's batch range; `high` is the memory limit below it.
    assert lfb(linear, 0.030, 1, 100, grid_high=512) == 100


def _piecewise_linear(xs: list[float], ys: list[float]) -> Any:
    knots_x, knots_y = np.asarray(xs), np.asarray(ys)

    def latency(b: Any) -> Any:
        return np.interp(np.asarray(b, dtype=float), knots_x, knots_y)

    return latency


@st.composite
def monotone_problems(draw: Any) -> tuple[Any, float, float, float]:
    """A random non-decreasing piecewise-linear latency (flat parts allowed), its batch range
    and an SLO anywhere from below its minimum to above its maximum."""
    low = draw(st.integers(1, 20)) + draw(st.sampled_from([0.0, 0.25, 0.5]))
    high = low + draw(st.floats(0.0, 600.0, allow_nan=False))
    inner = draw(st.lists(st.floats(low, high, allow_nan=False), min_size=0, max_size=6))
    xs = sorted({low, high, *inner})
    rises = draw(
        st.lists(
            st.one_of(st.just(0.0), st.floats(1e-4, 1.0, allow_nan=False)),
            min_size=len(xs),
            max_size=len(xs),
        )
    )
    ys = list(np.cumsum(rises) + 0.01)
    ys[0] = 0.01
    latency = _piecewise_linear(xs, ys)
    span = ys[-1] - ys[0]
    slo = draw(
        st.one_of(
            st.sampled_from(sorted(set(ys))),  # exactly at a knot (flat parts end there)
            st.floats(ys[0] - 0.1, ys[-1] + 0.1 + span, allow_nan=False),
        )
    )
    return latency, slo, low, high


@settings(max_examples=200, deadline=None)
@given(monotone_problems())
def test_largest_feasible_batch_matches_brute_force(problem: Any) -> None:
    latency, slo, low, high = problem
    assert lfb(latency, slo, low, high) == brute(latency, slo, low, high)


@settings(max_examples=100, deadline=None)
@given(monotone_problems(), st.floats(0.05, 1.0))
def test_largest_feasible_batch_matches_brute_force_memory_capped(problem: Any, cap: float) -> None:
    latency, slo, low, grid_high = problem
    high = low + cap * (grid_high - low)  # a memory limit inside the grid
    assert lfb(latency, slo, low, high, grid_high) == brute(latency, slo, low, high)


# --- pareto_frontier ----------------------------------------------------------------------------

DUMMY = search.Candidate((), {})


def point(latency: float, throughput: float) -> search.Point:
    return search.Point(DUMMY, 1.0, (), latency, throughput, throughput, 0.5)


def dominates(q: search.Point, p: search.Point) -> bool:
    return (
        q.latency_s <= p.latency_s
        and q.throughput_per_device >= p.throughput_per_device
        and (q.latency_s < p.latency_s or q.throughput_per_device > p.throughput_per_device)
    )


def check_frontier(points: list[search.Point]) -> list[search.Point]:
    front = search.pareto_frontier(points)
    assert all(any(f is p for p in points) for f in front)  # drawn from the input
    for f in front:
        assert not any(dominates(q, f) for q in points), f
    for a, b in pairwise(front):
        assert a.latency_s < b.latency_s
        assert a.throughput_per_device < b.throughput_per_device
    for p in points:  # complete: every point is matched or beaten by a frontier point
        assert any(
            f.latency_s <= p.latency_s and f.throughput_per_device >= p.throughput_per_device
            for f in front
        ), p
    return front


def test_pareto_frontier_small() -> None:
    pts = [point(*xy) for xy in [(3, 30), (1, 10), (2, 5), (2, 20), (2, 20), (4, 30), (5, 25)]]
    front = check_frontier(pts)
    assert [(f.latency_s, f.throughput_per_device) for f in front] == [(1, 10), (2, 20), (3, 30)]
    assert search.pareto_frontier([]) == []


values = st.one_of(st.integers(0, 8).map(float), st.floats(0.0, 100.0, allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(values, values), max_size=30))
def test_pareto_frontier_property(pairs: list[tuple[float, float]]) -> None:
    check_frontier([point(lat, thr) for lat, thr in pairs])


def test_sweep_frontier_is_a_frontier() -> None:
    result = search.sweep(SLO_SCENARIO, overrides=SMALL, tpot_slo_s=0.03)
    front = check_frontier(result.frontier)
    assert front == result.frontier
    # The ranked points under the SLO are matched or beaten by the frontier.
    for p in result.ranked:
        assert any(
            f.latency_s <= p.latency_s and f.throughput_per_device >= p.throughput_per_device
            for f in front
        )
    assert all(p.memory_fraction <= 1.0 for p in front)


# --- the JSON contract and reproducibility ------------------------------------------------------


@pytest.fixture(scope="module")
def record_15ms() -> dict[str, Any]:
    return sweep_json(SLO_SCENARIO, "--tpot-slo", "15ms")


def _check_point(p: dict[str, Any]) -> None:
    assert {"tpot_s", "throughput_tokens_per_s_per_device", "batch_per_device", "set"} <= set(p)
    assert all(math.isfinite(p[k]) for k in ("tpot_s", "throughput_tokens_per_s_per_device"))
    assert p["batch_per_device"] > 0
    assert isinstance(p["set"], list) and p["set"]
    for text in p["set"]:
        assert isinstance(text, str)
        key, _ = parse_override(text)
        assert key
    assert p["set"][-1] == f"decode.batch_per_device={p['set'][-1].split('=', 1)[1]}"
    assert parse_override(p["set"][-1])[1] == p["batch_per_device"]


def _check_ranked(p: dict[str, Any], slo_s: float) -> None:
    _check_point(p)
    assert float(p["batch_per_device"]).is_integer()
    assert p["tpot_s"] <= slo_s
    assert 0 < p["memory_fraction"] <= 1
    assert p["result"]["schema"] == "cmperf.estimate/1"
    decode = p["result"]["decode"]
    assert decode["tpot_s"] == p["tpot_s"]
    assert decode["throughput_tokens_per_s_per_device"] == p["throughput_tokens_per_s_per_device"]
    assert decode["batch_per_device"] == p["batch_per_device"]


def test_json_contract(record_15ms: dict[str, Any]) -> None:
    rec = record_15ms
    assert rec["schema"] == "cmperf.sweep/1"
    assert rec["phase"] == "decode"
    assert rec["slo"] == {"tpot_s": 0.015}
    assert rec["objective"] == "throughput_per_device"
    assert rec["scenario"]["name"] == SLO_SCENARIO
    best, top = rec["best"], rec["top"]
    _check_ranked(best, 0.015)
    assert isinstance(top, list) and 1 <= len(top) <= 10  # the scenario's sweep.top
    assert top[0] == best
    for p in top:
        _check_ranked(p, 0.015)
    objectives = [p["objective"] for p in top]
    assert objectives == sorted(objectives, reverse=True)
    assert len({tuple(p["set"]) for p in top}) == len(top)
    frontier = rec["frontier"]
    assert isinstance(frontier, list) and frontier
    for p in frontier:
        _check_point(p)
    tpots = [p["tpot_s"] for p in frontier]
    throughputs = [p["throughput_tokens_per_s_per_device"] for p in frontier]
    assert tpots == sorted(tpots) and throughputs == sorted(throughputs)
    assert any(p["tpot_s"] > 0.015 for p in frontier)  # the SLO is not applied to the frontier
    assert isinstance(rec["evaluated"], int) and rec["evaluated"] > 0
    assert set(rec["infeasible"]) == {"placement", "memory", "slo"}
    assert all(isinstance(v, int) and v >= 0 for v in rec["infeasible"].values())
    assert rec["infeasible"]["slo"] > 0


def test_json_top_option() -> None:
    rec = sweep_json(SLO_SCENARIO, "--tpot-slo", "30ms", "--top", "2", *sets_args(SMALL))
    assert len(rec["top"]) == 2
    assert rec["top"][0] == rec["best"]


def test_best_reproduces_through_estimate(record_15ms: dict[str, Any]) -> None:
    best = record_15ms["best"]
    decode = estimate_decode_json(SLO_SCENARIO, best["set"])
    assert decode["tpot_s"] == best["tpot_s"] == best["result"]["decode"]["tpot_s"]
    assert (
        decode["throughput_tokens_per_s_per_device"]
        == best["throughput_tokens_per_s_per_device"]
        == best["result"]["decode"]["throughput_tokens_per_s_per_device"]
    )
    assert decode["batch_per_device"] == best["batch_per_device"]


def test_frontier_points_reproduce_through_estimate(record_15ms: dict[str, Any]) -> None:
    frontier = record_15ms["frontier"]
    fractional = [p for p in frontier if not float(p["batch_per_device"]).is_integer()]
    assert not fractional, "batches are whole sequences, on the coarse grid too"
    for p in (frontier[0], frontier[len(frontier) // 2], frontier[-1]):
        decode = estimate_decode_json(SLO_SCENARIO, p["set"])
        assert decode["batch_per_device"] == p["batch_per_device"]
        # The grid is one array of batches: numpy's vector loops may round the last bit
        # differently from the one-batch evaluation of `estimate`.
        assert decode["tpot_s"] == pytest.approx(p["tpot_s"], rel=1e-12)
        assert decode["throughput_tokens_per_s_per_device"] == pytest.approx(
            p["throughput_tokens_per_s_per_device"], rel=1e-12
        )


def test_sweep_overrides_travel_in_set() -> None:
    """--set sweep.* given to the sweep are part of each `set` and `estimate` accepts them."""
    rec = sweep_json(SLO_SCENARIO, "--tpot-slo", "30ms", *sets_args(SMALL))
    best = rec["best"]
    assert best["set"][: len(SMALL)] == list(SMALL)
    assert rec["scenario"]["overrides"] == list(SMALL)
    assert best["ep"] in (160, 320) and best["microbatches"] in (1, 2)
    decode = estimate_decode_json(SLO_SCENARIO, best["set"])
    assert decode["tpot_s"] == best["tpot_s"]


def test_sweep_of_a_loaded_scenario_keeps_its_overrides() -> None:
    s = load_scenario(SLO_SCENARIO, ("sweep.ep=[320]",))
    result = search.sweep(s, overrides=("sweep.microbatches=[1]",), tpot_slo_s=0.03)
    assert result.spec.ep == (320,)
    assert result.spec.microbatches == (1,)


# --- CLI ----------------------------------------------------------------------------------------


def test_csv_frontier(record_15ms: dict[str, Any]) -> None:
    result = invoke("sweep", SLO_SCENARIO, "--tpot-slo", "15ms", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("tpot_s,")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    header, body = rows[0], rows[1:]
    assert header[:2] == ["tpot_s", "throughput_tokens_per_s_per_device"]
    assert "set" in header
    assert len(body) == len(record_15ms["frontier"])
    assert all(len(row) == len(header) for row in body)
    for row, p in zip(body, record_15ms["frontier"], strict=True):
        assert float(row[0]) == pytest.approx(p["tpot_s"], rel=1e-8)
        assert row[header.index("set")].split(" ") == p["set"]


def test_table_output() -> None:
    result = invoke("sweep", SLO_SCENARIO, "--tpot-slo", "30ms", *sets_args(SMALL))
    assert result.exit_code == 0, result.output
    assert "TPOT <= 30 ms" in result.stdout
    assert "frontier" in result.stdout
    assert "reproduce the best: cmperf estimate" in result.stdout


def test_slo_without_unit_is_an_error() -> None:
    assert_clean_failure(
        invoke("sweep", SLO_SCENARIO, "--tpot-slo", "15"), "error", 2, "--tpot-slo", "15 ms"
    )


def test_unreachable_slo_is_infeasible() -> None:
    assert_clean_failure(
        invoke("sweep", SLO_SCENARIO, "--tpot-slo", "1us", *sets_args(SMALL)),
        "infeasible",
        1,
        "no configuration meets",
    )


def test_unreachable_slo_in_json_mode_prints_no_json() -> None:
    result = invoke("sweep", SLO_SCENARIO, "--tpot-slo", "1us", "-f", "json", *sets_args(SMALL))
    assert_clean_failure(result, "infeasible", 1)
    assert result.stdout == ""


def test_scenario_without_sweep_block_needs_an_slo() -> None:
    assert_clean_failure(invoke("sweep", DECODE), "error", 2, "tpot_slo")


def test_scenario_without_sweep_block_sweeps_its_own_settings() -> None:
    rec = sweep_json(DECODE, "--tpot-slo", "50ms")
    own = load_scenario(DECODE).decode
    assert rec["top"]
    for p in rec["top"]:
        assert p["ep"] == own.placement.ep
        assert p["microbatches"] == own.microbatches
        assert p["mtp_draft_tokens"] == own.mtp_draft_tokens
        assert p["devices"] == own.devices
        assert p["quantization"] == {}
        assert p["tpot_s"] <= 0.05


def test_fp8_weights_are_infeasible_on_the_ascend() -> None:
    assert_clean_failure(
        invoke("sweep", SLO_SCENARIO, "--set", "sweep.quantization={weights: [fp8]}"),
        "infeasible",
        1,
        "placement",
    )


def test_ep_that_divides_nothing_is_infeasible() -> None:
    assert_clean_failure(
        invoke("sweep", SLO_SCENARIO, "--set", "sweep.ep=[7]"), "infeasible", 1, "placement"
    )


def test_unknown_objective_lists_the_choices() -> None:
    assert_clean_failure(
        invoke("sweep", SLO_SCENARIO, "--objective", "nonsense"),
        "error",
        2,
        "nonsense",
        *search.OBJECTIVES,
    )


def test_plot_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "out.png"
    result = invoke(
        "sweep", SLO_SCENARIO, "--tpot-slo", "30ms", "--plot", str(out), *sets_args(SMALL)
    )
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000


def test_plot_bad_suffix(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    assert_clean_failure(
        invoke("sweep", SLO_SCENARIO, "--plot", str(out)), "error", 2, "--plot", ".png"
    )
    assert not out.exists()


def test_memory_capped_sweep_runs() -> None:
    rec = sweep_json(SLO_SCENARIO, "--tpot-slo", "100ms", *sets_args(MEMORY_BOUND))
    assert rec["best"]["tpot_s"] <= 0.1


# --- monotone sanity ----------------------------------------------------------------------------


def test_looser_slo_never_lowers_the_best() -> None:
    results = [search.sweep(SLO_SCENARIO, tpot_slo_s=slo) for slo in (0.015, 0.030, 0.050)]
    bests = [r.best.throughput_per_device for r in results]
    assert bests == sorted(bests)
    for tight, loose in pairwise(results):
        # every candidate feasible under the tighter SLO stays feasible at a batch as large
        loose_batches = {p.candidate.sets: p.batch for p in loose.ranked}
        for p in tight.ranked:
            assert loose_batches[p.candidate.sets] >= p.batch


def test_an_slo_for_a_phase_the_scenario_lacks_says_so() -> None:
    from cmperf.errors import SpecError
    from cmperf.search import sweep

    with pytest.raises(SpecError, match=r"--ttft-slo bounds a prefill sweep.*no prefill block"):
        sweep("cloudmatrix384-decode", (), None, 5.0)
