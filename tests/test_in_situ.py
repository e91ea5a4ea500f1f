"""The 910C on the kernel model under the calibration protocol (ref §3.1 in situ, operator facts
elsewhere): the one fitted parameter, and the mechanisms that replaced standalone rooflines."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from cmperf import validate
from cmperf.api import estimate
from cmperf.cli import app
from cmperf.formulas.routing import busiest_rank_copies, expected_max_of_normals
from cmperf.specs import _load_cluster, resolve

CLOCK = "hardware.device.engines.cube.clock_under_load.value"


def _device():
    return _load_cluster(resolve("hardware", "cloudmatrix384")).device


def test_the_spec_states_the_fitted_clock() -> None:
    """The device spec's clock is what `cmperf validate --fit` finds today: a model change that
    moves the fit fails here until the spec (and its source line) is updated."""
    fit = validate.fit_in_situ()
    clock = _device().engines["cube"].clock_under_load
    assert fit.key == CLOCK
    assert clock.value == pytest.approx(fit.value, abs=0.002)
    for o in fit.outcomes:
        assert f"{100 * o.error:+.1f} %" in clock.source, (o.point.id, clock.source)


def test_the_fit_uses_only_ref_3_1_calibration_points() -> None:
    in_situ = validate.load_in_situ()
    points = {p.id: p for p in validate.load_points()}
    assert in_situ is not None and in_situ.points
    for pid in in_situ.points:
        assert points[pid].group == "calibration"
        assert points[pid].source.startswith("ref §3.1")
    fitted = [p for p in points.values() if p.fits and "clock_under_load" in p.fits]
    assert {p.id for p in fitted} == set(in_situ.points)


def test_validation_points_set_no_parameter() -> None:
    for p in validate.load_points():
        assert (p.group == "calibration") == (p.fits is not None), p.id


def test_device_parameters_cite_no_end_to_end_result() -> None:
    device = _device()
    texts = [device.engines["cube"].clock_under_load.source]
    texts += [
        fig.source for fam in device.kernels.values() for v in fam.values() for fig in v.values()
    ]
    for text in texts:
        cited = {s for s in ("§4.1", "§4.2", "§4.3", "§4.6") if s in text}
        assert not cited, f"{text!r} cites end-to-end results {cited}"


def _attention_compute_s(*overrides: str) -> float:
    e = estimate("cloudmatrix384-decode", overrides)
    op = next(r for r in e.decode.ops if r.name == "decode.moe.attention")
    return float(op.cost.compute_s)


def test_the_clock_slows_cube_work_in_estimates_not_at_the_speed_of_light() -> None:
    derated = _attention_compute_s()
    full = _attention_compute_s(f"{CLOCK}=1.0")
    clock = _device().engines["cube"].clock
    assert derated == pytest.approx(full / clock, rel=1e-9)
    ideal = _attention_compute_s("ideal=true")
    assert ideal == pytest.approx(_attention_compute_s("ideal=true", f"{CLOCK}=1.0"), rel=1e-12)


@pytest.mark.parametrize(
    ("ranks", "expected"), [(1, 0.0), (2, 1 / math.sqrt(math.pi)), (4, 1.0294)]
)
def test_expected_max_of_standard_normals(ranks: int, expected: float) -> None:
    assert expected_max_of_normals(ranks) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(("copies", "ranks"), [(15_360 * 8, 288), (8192 * 32 * 8, 32), (2_000, 16)])
def test_busiest_rank_matches_a_multinomial_draw(copies: int, ranks: int) -> None:
    rng = np.random.default_rng(0)
    draws = rng.multinomial(copies, [1 / ranks] * ranks, size=4000).max(axis=1)
    assert busiest_rank_copies(float(copies), ranks) == pytest.approx(draws.mean(), rel=0.01)


def test_multinomial_routing_loads_the_busiest_rank_more() -> None:
    balanced = estimate("cloudmatrix384-prefill").prefill
    routed = estimate("cloudmatrix384-prefill", ["prefill.expert_routing=multinomial"]).prefill
    b, r = (p.extra["tokens_per_rank_per_microbatch"] for p in (balanced, routed))
    assert b == r
    assert routed.throughput_tokens_per_s_per_device < balanced.throughput_tokens_per_s_per_device


def test_layers_outside_the_pipeline_run_whole_on_every_core() -> None:
    d = estimate("cloudmatrix384-decode").decode
    assert d.microbatches == 2
    runs = {r.layer: r.runs_per_layer for r in d.ops if r.layer in ("dense", "moe", "mtp")}
    assert runs == {"dense": 1, "moe": 2, "mtp": 1}
    dense = next(r for r in d.ops if r.name == "decode.dense.attention")
    moe = next(r for r in d.ops if r.name == "decode.moe.attention")
    assert dense.op.flop == pytest.approx(2 * moe.op.flop)
    assert dense.stream == "main" and moe.stream == "attention"


def test_pipelined_names_layer_kinds() -> None:
    from cmperf.errors import SpecError

    with pytest.raises(SpecError, match=r"unknown layer kind 'mo'.*did you mean 'moe'"):
        estimate("cloudmatrix384-decode", ["decode.pipelined=[mo]"])


def test_prefill_routes_twice_and_decode_fuses_it() -> None:
    steps = {"init_routing", "re_routing", "index_select", "finalize_routing"}
    prefill = {r.op.name for r in estimate("cloudmatrix384-prefill").prefill.ops}
    decode = {r.op.name for r in estimate("cloudmatrix384-decode").decode.ops}
    assert steps <= prefill
    assert not steps & decode


# ascend-ops §1: torch_npu FlashAttention on one 910B2 die (FP16, head dim 128, one head,
# full attention), the production kernel whose fit the 910C spec states.
FA_SEQ = [1024, 2048, 4096, 8192, 16384, 32768]
FA_TORCH_NPU_US = [58.5, 70.8, 118.3, 353.1, 1118, 3646]


def test_flash_attention_parameters_are_the_fit_of_ascend_ops_1() -> None:
    from scipy.optimize import least_squares

    from cmperf.kernels.attention import AttentionPrefill
    from cmperf.kernels.base import Facts
    from cmperf.specs.kernel_params import kernel_params

    device = _device()
    family = AttentionPrefill()
    seq = np.array(FA_SEQ, dtype=float)
    measured = np.array(FA_TORCH_NPU_US) * 1e-6
    cube = device.engines["cube"]
    facts = Facts(device.name, "cube", cube.cores, cube.cores, 376e12, 1.6e12)
    shape = dict(
        batch=1.0,
        heads=1.0,
        seq_len=seq,
        qk_dim=128.0,
        v_dim=128.0,
        kv_heads=1.0,
        kv_values=256.0,
        kv_bytes=2.0,
        act_bytes=2.0,
        causal=0.0,
    )
    stated = {k: v for k, (v, _) in kernel_params(device, "attention_prefill", "bf16/int8").items()}
    base = {k: i.value for k, i in family.inputs(shape, facts).items()} | stated

    def predicted(x: np.ndarray) -> np.ndarray:
        return family.time(base | {"fixed_s": x[0], "compute_efficiency": x[1]}).total_s

    fit = least_squares(
        lambda x: np.log(predicted(x) / measured), [1e-5, 0.5], bounds=([0, 0.05], [1e-3, 1])
    )
    assert stated["compute_efficiency"] == pytest.approx(fit.x[1], rel=0.01)
    assert stated["fixed_s"] == pytest.approx(fit.x[0], rel=0.02)
    errors = np.abs(predicted(fit.x) / measured - 1)
    assert np.median(errors) < 0.06 and errors.max() < 0.15


def test_a_large_per_kernel_fixed_cost_breaks_the_batch_8_point() -> None:
    """Per-kernel fixed costs of decode's kernels are bounded by the batch-8 point (ref §4.3):
    5 us on every compute kernel pushes it outside its bound, so none is assumed."""
    point = next(p for p in validate.load_points() if p.id == "slo-b8-4k")
    fixed = "{default: {fixed_s: {value: 5 us, source: bound}}}"
    edits = tuple(
        f"hardware.device.kernels.{family}={fixed}"
        for family in ("gemm", "grouped_gemm", "attention_decode", "elementwise")
    )
    assert validate.evaluate(point).ok
    assert not validate.evaluate(point, {}, edits).ok


def test_validate_fit_command() -> None:
    result = CliRunner().invoke(app, ["validate", "--fit", "--format", "json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["schema"] == "cmperf.validate-fit/1"
    assert record["key"] == CLOCK
    assert {p["id"] for p in record["points"]} == {"attention-stream", "moe-stream"}
    for fmt in ("table", "markdown", "csv"):  # every view of the fit renders
        shown = CliRunner().invoke(app, ["validate", "--fit", "--format", fmt])
        assert shown.exit_code == 0, shown.output
        assert "600 us" in shown.output or "0.0006" in shown.output


def test_validate_prints_both_groups() -> None:
    result = CliRunner().invoke(app, ["validate", "--format", "markdown"])
    assert "### calibration" in result.output and "### validation" in result.output
    assert "cloudmatrix384, validation: median absolute error" in result.output


def test_validation_median_error_within_five_percent() -> None:
    """Issue acceptance: the median absolute error over the validation group (ratios as
    percentage points) is at most 5 %."""
    from cmperf.report.validate import median_abs_error

    outcomes = validate.run(validate.DEFAULT_FILE)
    assert median_abs_error(outcomes, "validation") <= 0.05


def test_small_kernels_scale_sublinearly_with_a_streams_cores() -> None:
    """ascend-ops §2: a small decode kernel on a third of the cores takes well under three
    times as long (its weights stream from HBM, which every stream draws on whole)."""
    from cmperf.cost import op_cost
    from cmperf.specs.scenario import Stream

    e = estimate("cloudmatrix384-decode", ["decode.batch_per_device=8"])
    cluster = e.scenario.cluster
    third = Stream("moe", ("moe",), (("cube", 1 / 3), ("vector", 1 / 3)))
    whole = Stream("moe", ("moe",))
    ops = [r.op for r in e.decode.ops if r.layer == "moe" and r.stream == "moe" and not r.op.comm]
    assert ops
    for op in ops:
        ratio = float(op_cost(op, cluster, third).total_s / op_cost(op, cluster, whole).total_s)
        assert ratio < 1.5, (op.name, ratio)


def test_a_what_if_without_file_applies_to_the_defining_case() -> None:
    result = CliRunner().invoke(app, ["validate", "--set", f"{CLOCK}=0.8", "--format", "json"])
    ids = {p["id"] for p in json.loads(result.output)["points"]}
    assert ids == {p.id for p in validate.load_points(validate.DEFAULT_FILE)}
    everything = CliRunner().invoke(app, ["validate", "--format", "json"])
    assert len(json.loads(everything.output)["points"]) > len(ids)
