"""The kernel model's plumbing: device vocabulary, parameters and overlays, the calibrate and
kernel commands, the ideal mode, and clear errors on bad measurement files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import DECODE, PREFILL
from typer.testing import CliRunner

from cmperf.cli import app
from cmperf.errors import SpecError
from cmperf.kernels import families
from cmperf.quant import DType
from cmperf.specs import load_hardware, load_scenario
from cmperf.specs.kernel_params import kernel_param

CALIBRATION = Path(__file__).resolve().parents[2] / "shared" / "calibration" / "h200"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


# --- device vocabulary ----------------------------------------------------------------------


def test_h200_is_one_engine_running_matrix_and_vector_work() -> None:
    device, cluster = load_hardware("h200-sxm")
    assert list(device.engines) == ["sm"]
    sm = device.engines["sm"]
    assert sm.cores == 132
    assert sm.peak("matrix", DType.BF16) == pytest.approx(989e12)
    assert sm.peak("matrix", DType.FP8_BLOCK) == pytest.approx(1979e12)  # FP8 units
    assert device.engine_for("matrix") is device.engine_for("vector")
    assert cluster is not None and cluster.name == "hgx-h200"
    assert cluster.tier_for(8).name == "nvlink" and cluster.tier_for(16).name == "scale_out"


def test_hgx_h200_node() -> None:
    device, cluster = load_hardware("hgx-h200")
    assert cluster.devices_per_node == 8
    assert cluster.scale_up[0].bandwidth_bytes_per_s == pytest.approx(450e9)
    assert cluster.scale_out.bandwidth_bytes_per_s == pytest.approx(50e9)  # 400 Gb/s
    assert device.name == "h200-sxm"


def test_h200_includes_its_calibration_overlay() -> None:
    device, _ = load_hardware("h200-sxm")
    value, source = kernel_param(device, "gemm", "bf16", "fixed_s")
    assert "kernels.gemm.bf16.fixed_s" in source and "cmperf calibrate" in source
    assert 0 < value < 50e-6


def test_uncalibrated_parameters_fall_back_to_the_device_then_neutral() -> None:
    s = load_scenario(DECODE)
    device = s.cluster.device
    value, source = kernel_param(device, "gemm", "int8", "compute_efficiency")
    assert value == pytest.approx(0.80) and "ascend-910c.yaml: efficiency.compute.gemm" in source
    value, source = kernel_param(device, "gemm", "int8", "fixed_s")
    assert value == 0 and "neutral" in source


def test_every_family_is_listed_and_reachable_by_its_command() -> None:
    commands = {f.command for f in families().values()}
    expected = {"gemm", "grouped-gemm", "mla-decode", "mla-prefill", "moe", "dispatch"}
    expected |= {"combine", "all-reduce", "all-gather", "reduce-scatter", "all-to-all"}
    assert expected <= commands


def test_engine_peaks_are_given_per_role(tmp_path: Path) -> None:
    spec = tmp_path / "hardware_specs"
    spec.mkdir()
    text = (Path(__file__).parents[1] / "cmperf/hardware_specs/h200-sxm.yaml").read_text()
    (spec / "gpu.yaml").write_text(
        text.replace("name: h200-sxm", "name: gpu")
        .replace("include: calibration/h200-sxm.yaml", "")
        .replace("matrix: {bf16", "tensor: {bf16")
    )
    with pytest.raises(SpecError) as err:
        load_hardware(str(spec / "gpu.yaml"))
    assert err.value.path == "engines.sm.peak.tensor"
    assert "per role (matrix, vector)" in err.value.message


# --- the ideal mode -------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", [DECODE, PREFILL])
def test_ideal_is_a_lower_bound(scenario: str) -> None:
    from cmperf import api

    real = api.estimate(scenario)
    ideal = api.estimate(scenario, ("ideal=true",))
    for phase in ("decode", "prefill"):
        a, b = getattr(real, phase), getattr(ideal, phase)
        if a is None:
            continue
        assert b.step_time_s < a.step_time_s
        for r_real, r_ideal in zip(a.ops, b.ops, strict=True):
            assert float(r_ideal.cost.total_s) <= float(r_real.cost.total_s) * (1 + 1e-9)


def test_ideal_flag_on_the_command_line() -> None:
    a = json.loads(run("estimate", DECODE, "--format", "json", "--no-ops").stdout)
    b = json.loads(run("estimate", DECODE, "--format", "json", "--no-ops", "--ideal").stdout)
    assert b["decode"]["tpot_s"] < a["decode"]["tpot_s"]
    assert "ideal=true" in b["scenario"]["overrides"]


# --- cmperf kernel --------------------------------------------------------------------------


def test_kernel_gemm_json() -> None:
    out = run(
        "kernel",
        "gemm",
        "--hardware",
        "h200-sxm",
        "--m",
        "128",
        "--n",
        "7168",
        "--k",
        "2048",
        "--dtype",
        "fp8_block",
        "--format",
        "json",
    )
    assert out.exit_code == 0, out.output
    record = json.loads(out.stdout)
    assert set(record) >= {"time_s", "compute_s", "memory_s", "comm_s", "overhead_s", "bound"}
    assert 1e-6 < record["time_s"] < 1e-3
    ideal = json.loads(
        run(
            "kernel",
            "gemm",
            "--m",
            "128",
            "--n",
            "7168",
            "--k",
            "2048",
            "--dtype",
            "fp8_block",
            "--format",
            "json",
            "--ideal",
        ).stdout
    )
    assert ideal["time_s"] < record["time_s"] and ideal["overhead_s"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["kernel", "gemmm", "--m", "1"], "did you mean 'gemm'"),
        (["kernel", "gemm", "--m", "128", "--n", "64"], "needs --dtype, --k"),
        (["kernel", "gemm", "--m", "x", "--n", "64", "--k", "64", "--dtype", "bf16"], "number"),
        (["kernel", "gemm", "--mm", "1"], "not a shape option"),
        (["kernel", "gemm", "--m", "1", "--n", "1", "--k", "1", "--dtype", "fp7"], "fp7"),
        (["kernel", "gemm", "--hardware", "nope", "--m", "1"], "unknown hardware"),
    ],
)
def test_kernel_bad_input_is_one_line(args: list[str], message: str) -> None:
    out = run(*args)
    assert out.exit_code == 2, out.output
    assert message in out.stderr and out.stderr.count("\n") == 1


def test_a_communication_kernel_needs_a_link(tmp_path: Path) -> None:
    # A device on its own (no cluster joins it) has no link for an exchange to cross.
    text = (Path(__file__).parents[1] / "cmperf/hardware_specs/ascend-910c.yaml").read_text()
    device = tmp_path / "lonely.yaml"
    device.write_text(text.replace("name: ascend-910c", "name: lonely"))
    out = run(
        "kernel",
        "dispatch",
        "--hardware",
        str(device),
        "--ep",
        "8",
        "--num-token",
        "8",
        "--hidden-size",
        "7168",
        "--num-topk",
        "8",
        "--num-experts",
        "256",
        "--node-num",
        "1",
    )
    assert out.exit_code == 2, out.output
    assert "needs a link" in out.stderr and "give a cluster" in out.stderr


# --- measurement files ----------------------------------------------------------------------

GEMM_HEADER = "dtype,m,n,k,latency_s\n"


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("", "", "empty file"),
        (GEMM_HEADER, "", "no measurements"),
        ("dtype,m,n,latency_s\nbf16,1,2,1e-5\n", "column k", "missing"),
        (GEMM_HEADER + "bf16,1,2,x,1e-5\n", "row 2, column k", "expected a number"),
        (GEMM_HEADER + "bf16,1,2,3,0\n", "row 2, column latency_s", "positive"),
        (GEMM_HEADER + "bf16,1,2,3,-1e-5\n", "row 2, column latency_s", "positive"),
        (GEMM_HEADER + "bf16,1,2\n", "row 2", "3 values for 5 columns"),
        (GEMM_HEADER + "fp7,1,2,3,1e-5\n", "", "fp7"),
    ],
)
def test_bad_csv_names_file_row_and_column(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    path = tmp_path / "gemm.csv"
    path.write_text(text)
    for args in (
        ["kernel", "--csv", str(path)],
        ["calibrate", str(tmp_path), "--hardware", "h200-sxm"],
    ):
        out = run(*args)
        assert out.exit_code == 2, out.output
        assert str(path) in out.stderr and message in out.stderr
        if where:
            assert where in out.stderr


def test_unknown_csv_names_the_families(tmp_path: Path) -> None:
    path = tmp_path / "convolution.csv"
    path.write_text("a,latency_s\n1,1e-5\n")
    out = run("kernel", "--csv", str(path))
    assert out.exit_code == 2 and "gemm.csv" in out.stderr


def test_calibrate_needs_a_folder_of_csvs(tmp_path: Path) -> None:
    out = run("calibrate", str(tmp_path), "--hardware", "h200-sxm")
    assert out.exit_code == 2 and "no .csv files" in out.stderr
    out = run("calibrate", str(tmp_path / "nope"), "--hardware", "h200-sxm")
    assert out.exit_code == 2 and "not a folder" in out.stderr


# --- calibrate and overlays -----------------------------------------------------------------


@pytest.fixture(scope="module")
def small_calibration(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 300 measured GEMMs of each dtype: a quick but real fit."""
    if not CALIBRATION.is_dir():
        pytest.skip("shared/calibration is not beside this checkout")
    folder = tmp_path_factory.mktemp("cal")
    lines = (CALIBRATION / "gemm.csv").read_text().splitlines()
    kept = [lines[0]]
    for dtype in ("bf16", "fp8", "fp8_block"):
        kept += [line for line in lines[1:] if line.startswith(dtype + ",")][:300]
    (folder / "gemm.csv").write_text("\n".join(kept) + "\n")
    return folder


def test_calibrate_json_and_overlay(small_calibration: Path, tmp_path: Path) -> None:
    overlay = tmp_path / "mine.yaml"
    out = run(
        "calibrate",
        str(small_calibration),
        "--hardware",
        "h200-sxm",
        "--holdout",
        "0.3",
        "--seed",
        "1",
        "-o",
        str(overlay),
        "--format",
        "json",
    )
    assert out.exit_code == 0, out.output
    record = json.loads(out.stdout)
    assert record["schema"] == "cmperf.calibrate/1" and record["hardware"] == "h200-sxm"
    variants = {f["variant"]: f for f in record["families"]}
    assert set(variants) == {"bf16", "fp8", "fp8_block"}
    for f in record["families"]:
        assert f["family"] == "gemm" and f["n_fit"] + f["n_holdout"] == 300
        assert f["n_holdout"] == 90
        assert f["after"]["median_abs_pct_error"] < f["before"]["median_abs_pct_error"]
        assert f["holdout"]["median_abs_pct_error"] < 25
    assert "gemm" in record["parameters"]
    # Deterministic for a seed.
    again = json.loads(
        run(
            "calibrate",
            str(small_calibration),
            "--hardware",
            "h200-sxm",
            "--holdout",
            "0.3",
            "--seed",
            "1",
            "--format",
            "json",
        ).stdout
    )
    assert again["parameters"] == record["parameters"]
    # The overlay applies through --calibration and gives the fitted figures back.
    predicted = run(
        "--calibration",
        str(overlay),
        "kernel",
        "--csv",
        str(small_calibration / "gemm.csv"),
        "--hardware",
        "h200-sxm",
        "--format",
        "json",
    )
    assert predicted.exit_code == 0, predicted.output
    summary = json.loads(predicted.stdout)["summary"]
    assert summary["n"] == 900 and summary["median_abs_pct_error"] < 25


def test_a_bad_overlay_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "kind: calibration\nhardware: h200-sxm\n"
        "kernels: {gemm: {bf16: {fixd_s: {value: 1 us, source: x}}}}\n"
    )
    out = run(
        "--calibration",
        str(bad),
        "kernel",
        "gemm",
        "--m",
        "1",
        "--n",
        "1",
        "--k",
        "1",
        "--dtype",
        "bf16",
    )
    assert out.exit_code == 2
    assert str(bad) in out.stderr and "kernels.gemm.bf16.fixd_s" in out.stderr
    assert "did you mean 'fixed_s'" in out.stderr


# --- the shipped H200 overlay against every measured kernel ---------------------------------

# (family, variant) -> (median, p90) absolute % error bound, from the kernel-model acceptance.
H200_BOUNDS = {
    ("gemm", "bf16"): (10, 30),
    ("gemm", "fp8"): (15, 50),
    ("gemm", "fp8_block"): (15, 50),
    ("attention_decode", "bf16/bf16"): (10, 30),
    ("attention_decode", "bf16/fp8"): (10, 30),
    ("attention_prefill", "bf16/bf16"): (10, 30),
    ("attention_prefill", "bf16/fp8"): (10, 30),
    ("moe", "fp8_block"): (15, 50),
    ("dispatch", "normal"): (12, 30),
    ("combine", "normal"): (12, 30),
    ("dispatch", "low_latency"): (20, 50),
    ("combine", "low_latency"): (20, 50),
    ("all_reduce", "default"): (12, 30),
    ("all_gather", "default"): (12, 30),
    ("reduce_scatter", "default"): (12, 30),
    ("all_to_all", "default"): (12, 30),
}


def test_shipped_h200_overlay_meets_the_bounds_on_every_file() -> None:
    if not CALIBRATION.is_dir():
        pytest.skip("shared/calibration is not beside this checkout")
    import numpy as np

    from cmperf.kernels.calibrate import predict_csv
    from cmperf.kernels.fit import summary

    device, cluster = load_hardware("h200-sxm")
    seen = set()
    for path in sorted(CALIBRATION.glob("*.csv")):
        rows = predict_csv(path, device, cluster)
        groups: dict[tuple[str, str], list] = {}
        for r in rows:
            groups.setdefault((r.family, r.variant), []).append(r)
        for key, group in groups.items():
            s = summary(
                np.array([r.predicted_s for r in group]), np.array([r.measured_s for r in group])
            )
            median, p90 = H200_BOUNDS[key]
            assert s["median_abs_pct_error"] <= median, (key, s)
            assert s["p90_abs_pct_error"] <= p90, (key, s)
            seen.add(key)
    assert seen == set(H200_BOUNDS)


def test_a_calibration_for_another_device_is_refused(
    small_calibration: Path, tmp_path: Path
) -> None:
    overlay = tmp_path / "h200.yaml"
    out = run("calibrate", str(small_calibration), "--hardware", "h200-sxm", "-o", str(overlay))
    assert out.exit_code == 0, out.output
    out = run("--calibration", str(overlay), "estimate", DECODE, "--no-ops")
    assert out.exit_code == 2
    assert "calibrates 'h200-sxm'" in out.stderr and "'ascend-910c'" in out.stderr


def test_an_exchange_runs_on_the_cores_its_stream_owns() -> None:
    from cmperf import api
    from cmperf.cost import cost_params

    e = api.estimate(DECODE)
    r = next(r for r in e.decode.ops if r.name == "decode.moe.dispatch")
    assert cost_params(r.op, e.scenario.cluster, r.stream_spec)["SMs"].value == 16  # of 48 AIV
    whole = api.estimate(DECODE, ("decode.microbatches=1",))
    r = next(r for r in whole.decode.ops if r.name == "decode.moe.dispatch")
    # One stream owns every core: the exchange is given all 48.
    assert cost_params(r.op, whole.scenario.cluster, r.stream_spec)["SMs"].value == 48
