"""Tests for the `cmperf` command line: output, the JSON contract, --set, errors and exit codes.

Predicted numbers change as the model evolves, so these tests check structure, units and the
relationships between figures, never specific predictions.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import (
    DECODE,
    HARDWARE,
    MODELS,
    PREFILL,
    SCENARIOS,
    assert_error,
    assert_infeasible,
    invoke,
)

from cmperf import __version__

BOUNDS = {"compute", "memory", "comm", "overhead"}


def estimate_json(scenario: str, *sets: str) -> dict[str, Any]:
    args = ["estimate", scenario, "--format", "json"]
    for s in sets:
        args += ["--set", s]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def decode_record() -> dict[str, Any]:
    return estimate_json(DECODE)


@pytest.fixture(scope="module")
def prefill_record() -> dict[str, Any]:
    return estimate_json(PREFILL)


# --- version, help and the table output -------------------------------------------------------


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == "cmperf 0.1.0"
    assert __version__ == "0.1.0"


def test_no_arguments_shows_help() -> None:
    result = invoke()
    assert "estimate" in result.output
    assert "validate" in result.output


def test_estimate_decode_table() -> None:
    result = invoke("estimate", DECODE)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "TPOT" in out
    assert "throughput" in out
    assert "decode: summary" in out
    assert "decode: layers" in out
    assert "moe.dispatch" in out  # the per-op table
    assert result.stderr == ""


def test_estimate_no_ops_hides_the_op_table() -> None:
    result = invoke("estimate", DECODE, "--no-ops")
    assert result.exit_code == 0, result.output
    assert "TPOT" in result.stdout
    assert "throughput" in result.stdout
    assert "decode: layers" in result.stdout
    assert "moe.dispatch" not in result.stdout


def test_estimate_prefill_table() -> None:
    result = invoke("estimate", PREFILL)
    assert result.exit_code == 0, result.output
    assert "prefill: summary" in result.stdout
    assert "throughput" in result.stdout
    assert "TPOT" not in result.stdout  # prefill has no time per output token


def test_estimate_scenario_by_path() -> None:
    path = SCENARIOS / "cloudmatrix384-prefill.yaml"
    result = invoke("estimate", str(path), "--no-ops")
    assert result.exit_code == 0, result.output
    assert "prefill: summary" in result.stdout
    by_path = estimate_json(str(path))
    assert by_path["scenario"]["name"] == PREFILL
    assert (
        by_path["prefill"]["batch_per_device"]
        == estimate_json(PREFILL)["prefill"]["batch_per_device"]
    )


def test_table_shows_overrides() -> None:
    result = invoke("estimate", DECODE, "--no-ops", "--set", "decode.batch_per_device=8")
    assert result.exit_code == 0, result.output
    assert "decode.batch_per_device=8" in result.stdout


# --- the JSON contract (schema cmperf.estimate/1) ---------------------------------------------


def test_json_top_level(decode_record: dict[str, Any]) -> None:
    rec = decode_record
    assert rec["schema"] == "cmperf.estimate/1"
    scenario = rec["scenario"]
    assert isinstance(scenario, dict)
    assert scenario["name"] == DECODE
    assert scenario["overrides"] == []
    assert scenario["hardware"] == "cloudmatrix384"
    assert scenario["device"] == "ascend-910c"
    assert scenario["model"] == "deepseek-r1"
    assert scenario["file"].endswith("cloudmatrix384-decode.yaml")
    assert "decode" in rec
    assert "prefill" not in rec


def test_json_is_strict(decode_record: dict[str, Any]) -> None:
    """No NaN or Infinity: the output must load in strict JSON parsers."""
    json.dumps(decode_record, allow_nan=False)


def _check_phase(phase: dict[str, Any]) -> None:
    for key in (
        "throughput_tokens_per_s_per_device",
        "step_time_s",
        "batch_per_device",
        "memory_bytes_per_device",
        "memory_capacity_bytes_per_device",
    ):
        assert isinstance(phase[key], int | float), key
        assert math.isfinite(phase[key]) and phase[key] > 0, key
    assert phase["memory_bytes_per_device"] <= phase["memory_capacity_bytes_per_device"]

    layers = phase["layers"]
    assert isinstance(layers, list) and layers
    for layer in layers:
        assert set(layer) >= {"name", "count", "time_s"}
        assert isinstance(layer["name"], str)
        assert isinstance(layer["count"], int) and layer["count"] >= 1
        assert layer["time_s"] >= 0

    ops = phase["ops"]
    assert isinstance(ops, list) and ops
    layer_names = {layer["name"] for layer in layers}
    for op in ops:
        assert set(op) >= {"name", "layer", "time_s", "compute_s", "memory_s", "comm_s", "bound"}
        parts = op["name"].split(".")
        assert len(parts) == 3 and all(parts), op["name"]
        assert parts[1] == op["layer"]
        assert op["layer"] in layer_names or op["layer"] == "mtp_head"
        for key in ("time_s", "compute_s", "memory_s", "comm_s", "overhead_s"):
            assert op[key] >= 0, (op["name"], key)
        # A kernel is never faster than its roofline plus its fixed cost (imperfect overlap
        # and the choice among tile shapes only add to it).
        floor = max(op["compute_s"], op["memory_s"]) + op["comm_s"] + op["overhead_s"]
        assert op["time_s"] >= floor * (1 - 1e-9), op["name"]
        assert op["bound"] in BOUNDS, op["name"]


def test_json_decode_phase(decode_record: dict[str, Any]) -> None:
    d = decode_record["decode"]
    _check_phase(d)
    assert d["tpot_s"] > 0
    assert d["throughput_tokens_per_s_per_device"] == pytest.approx(
        d["batch_per_device"] / d["tpot_s"], rel=1e-9
    )
    assert d["batch_per_device"] == 96
    names = [layer["name"] for layer in d["layers"]]
    assert {"dense", "moe", "mtp", "head"} <= set(names)
    assert all(op["name"].startswith("decode.") for op in d["ops"])
    op_names = {op["name"] for op in d["ops"]}
    assert "decode.moe.dispatch" in op_names
    assert "decode.moe.combine" in op_names
    # The communication ops are bound by communication or by their kernel's fixed cost.
    dispatch = next(op for op in d["ops"] if op["name"] == "decode.moe.dispatch")
    assert dispatch["comm_s"] > 0 and dispatch["compute_s"] == dispatch["memory_s"] == 0
    assert dispatch["bound"] in ("comm", "overhead")


def test_json_decode_step_time_and_tpot(decode_record: dict[str, Any]) -> None:
    d = decode_record["decode"]
    # Each step emits 1 token plus the accepted drafts, so TPOT is shorter than the step.
    assert d["tokens_emitted_per_step"] > 1
    assert d["tpot_s"] == pytest.approx(d["step_time_s"] / d["tokens_emitted_per_step"], rel=1e-9)


def test_json_layer_counts_match_the_model(decode_record: dict[str, Any]) -> None:
    counts = {layer["name"]: layer["count"] for layer in decode_record["decode"]["layers"]}
    assert counts["dense"] + counts["moe"] == 61  # DeepSeek-R1: 3 dense + 58 MoE layers
    assert counts["dense"] == 3
    assert counts["head"] == 1
    assert counts["mtp"] == 1  # one draft token


def test_json_memory_breakdown_sums(decode_record: dict[str, Any]) -> None:
    d = decode_record["decode"]
    breakdown = d["memory_breakdown_bytes_per_device"]
    assert set(breakdown) >= {"weights", "kv_cache"}
    assert all(v >= 0 for v in breakdown.values())
    assert sum(breakdown.values()) == pytest.approx(d["memory_bytes_per_device"], rel=1e-9)
    # The Ascend 910C package: two dies of 64 GB each.
    assert d["memory_capacity_bytes_per_device"] == pytest.approx(128e9)


def test_json_prefill_phase(prefill_record: dict[str, Any]) -> None:
    rec = prefill_record
    assert rec["schema"] == "cmperf.estimate/1"
    assert "prefill" in rec and "decode" not in rec
    p = rec["prefill"]
    _check_phase(p)
    assert "tpot_s" not in p
    assert p["batch_per_device"] == 16384
    assert p["throughput_tokens_per_s_per_device"] == pytest.approx(
        p["batch_per_device"] / p["step_time_s"], rel=1e-9
    )
    names = {layer["name"] for layer in p["layers"]}
    assert {"dense", "moe", "head"} <= names
    assert "mtp" not in names
    assert all(op["name"].startswith("prefill.") for op in p["ops"])
    assert "prefill.moe.dispatch" in {op["name"] for op in p["ops"]}


# --- --set --------------------------------------------------------------------------------------


def test_set_batch(decode_record: dict[str, Any]) -> None:
    small = estimate_json(DECODE, "decode.batch_per_device=8")
    d = small["decode"]
    assert d["batch_per_device"] == 8
    assert d["tpot_s"] < decode_record["decode"]["tpot_s"]
    assert d["throughput_tokens_per_s_per_device"] == pytest.approx(8 / d["tpot_s"], rel=1e-9)
    assert small["scenario"]["overrides"] == ["decode.batch_per_device=8"]


def test_set_is_repeatable(decode_record: dict[str, Any]) -> None:
    sets = ("decode.batch_per_device=8", "decode.kv_len=1024")
    rec = estimate_json(DECODE, *sets)
    assert rec["scenario"]["overrides"] == list(sets)
    assert rec["decode"]["batch_per_device"] == 8
    only_batch = estimate_json(DECODE, sets[0])
    # A shorter KV cache leaves less to read: never slower, and less KV memory.
    assert rec["decode"]["tpot_s"] <= only_batch["decode"]["tpot_s"]
    kv = rec["decode"]["memory_breakdown_bytes_per_device"]["kv_cache"]
    kv_long = only_batch["decode"]["memory_breakdown_bytes_per_device"]["kv_cache"]
    assert 0 < kv < kv_long


def test_set_last_one_wins() -> None:
    rec = estimate_json(DECODE, "decode.batch_per_device=8", "decode.batch_per_device=16")
    assert rec["decode"]["batch_per_device"] == 16


def test_set_no_mtp() -> None:
    rec = estimate_json(DECODE, "decode.mtp.draft_tokens=0")
    d = rec["decode"]
    assert d["tokens_emitted_per_step"] == 1
    assert d["tpot_s"] == pytest.approx(d["step_time_s"], rel=1e-9)
    names = {layer["name"] for layer in d["layers"]}
    assert "mtp" not in names
    assert not any(op["layer"] in ("mtp", "mtp_head") for op in d["ops"])
    assert rec["scenario"]["overrides"] == ["decode.mtp.draft_tokens=0"]


def test_set_value_with_spaces_and_equals_sign() -> None:
    rec = estimate_json(DECODE, "description=a = b")
    assert rec["scenario"]["description"] == "a = b"


# --- user errors: exit 2, one line, no traceback ----------------------------------------------


def test_unknown_scenario_lists_available() -> None:
    err = assert_error(invoke("estimate", "nosuch"), "nosuch", "unknown scenario")
    assert DECODE in err and PREFILL in err


def test_unknown_scenario_did_you_mean() -> None:
    assert_error(invoke("estimate", "cloudmatrix384-decod"), f"did you mean {DECODE!r}")


def test_missing_scenario_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    assert_error(invoke("estimate", str(missing)), str(missing), "file not found")


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        (
            "decode.batch_per_dvice=8",
            ["decode.batch_per_dvice", "unknown key", "did you mean 'batch_per_device'"],
        ),
        ("decode.kv_len=abc", ["decode.kv_len", "whole number", "'abc'"]),
        ("decode.kv_len=-5", ["decode.kv_len", "at least 1", "-5"]),
        ("decode.kv_len=1.5", ["decode.kv_len", "whole number"]),
        ("decode.batch_per_device=0", ["decode.batch_per_device"]),
        ("decode.batch_per_device=.nan", ["decode.batch_per_device"]),
        ("decode.ep=7", ["decode.ep", "does not divide"]),
        ("decode.devices=385", ["decode.devices", "at most 384"]),
        ("decode.microbatches=3", ["decode.microbatches", "at most 2"]),
        ("decode.mtp.acceptance=1.5", ["decode.mtp.acceptance"]),
        ("decode.mtp.acceptance=[2]", ["decode.mtp.acceptance", "probabilities"]),
        ("decode.mtp=5", ["decode.mtp", "mapping"]),
        (
            "quantization.weights=int3",
            ["quantization.weights", "int3", "int8", "bf16", "fp8", "did you mean 'int8'"],
        ),
        ("hardware=nosuch", ["hardware", "unknown hardware 'nosuch'", "cloudmatrix384"]),
        ("hardware=ascend-910c", ["kind", "cluster"]),  # a device is not a cluster
        ("model=nosuch", ["model", "unknown model 'nosuch'", "deepseek-r1", "deepseek-v3"]),
        ("prefill.input_len=4096", ["prefill.devices", "missing required key"]),
    ],
)
def test_bad_override(override: str, fragments: list[str]) -> None:
    err = assert_error(invoke("estimate", DECODE, "--set", override), *fragments)
    if not override.startswith(("hardware=", "model=")):
        # Errors in the scenario name its file, marked as overridden.
        assert "cloudmatrix384-decode.yaml (with --set)" in err


def test_mtp_acceptance_list_too_short() -> None:
    # Two drafts need two per-depth acceptances when they are given as a list.
    result = invoke(
        "estimate",
        DECODE,
        "--set",
        "decode.mtp.acceptance=[0.7]",
        "--set",
        "decode.mtp.draft_tokens=2",
    )
    assert_error(result, "decode.mtp.acceptance", "expected 2")


@pytest.mark.parametrize("override", ["noequals", "=5", "decode..kv_len=5", ".kv_len=5"])
def test_malformed_set(override: str) -> None:
    assert_error(invoke("estimate", DECODE, "--set", override), "--set", "dotted.key=value")


def test_set_through_a_scalar() -> None:
    assert_error(
        invoke("estimate", DECODE, "--set", "decode.kv_len.x=5"), "decode.kv_len", "not a mapping"
    )


def test_unknown_format() -> None:
    result = invoke("estimate", DECODE, "--format", "xml")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


# --- bad spec files -----------------------------------------------------------------------------


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _dump(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _scenario(tmp_path: Path, **changes: Any) -> Path:
    data = _load(SCENARIOS / f"{DECODE}.yaml")
    data.update(changes)
    return _dump(tmp_path / "scenario.yaml", data)


def test_malformed_scenario_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\ndecode: {devices: 160, ep: [320\n", encoding="utf-8")
    assert_error(invoke("estimate", str(path)), str(path), "malformed YAML", "line")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("", "expected a mapping"), ("- a\n- b\n", "expected a mapping"), ("name: x\n", "hardware")],
)
def test_scenario_not_a_mapping_or_incomplete(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(text, encoding="utf-8")
    assert_error(invoke("estimate", str(path)), str(path), fragment)


def test_scenario_without_a_phase(tmp_path: Path) -> None:
    data = _load(SCENARIOS / f"{DECODE}.yaml")
    del data["decode"]
    path = _dump(tmp_path / "nophase.yaml", data)
    assert_error(invoke("estimate", str(path)), str(path), "decode or a prefill")


def test_scenario_unknown_top_level_key(tmp_path: Path) -> None:
    path = _scenario(tmp_path, hardwre="cloudmatrix384")
    assert_error(invoke("estimate", str(path)), str(path), "hardwre", "did you mean 'hardware'")


def test_scenario_with_local_hardware_copy_runs(tmp_path: Path) -> None:
    """`hardware: ./hw.yaml` is found next to the scenario."""
    hw = _load(HARDWARE / "cloudmatrix384.yaml")
    hw["name"] = "local-copy"
    _dump(tmp_path / "hw.yaml", hw)
    path = _scenario(tmp_path, hardware="./hw.yaml")
    result = invoke("estimate", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["scenario"]["hardware"] == "local-copy"


def _device_copy(tmp_path: Path, edit: Any) -> Path:
    """A scenario -> ./hw.yaml (cluster) -> ./device.yaml (device, edited) chain in tmp_path."""
    device = _load(HARDWARE / "ascend-910c.yaml")
    edit(device)
    _dump(tmp_path / "device.yaml", device)
    cluster = _load(HARDWARE / "cloudmatrix384.yaml")
    cluster["device"] = "./device.yaml"
    _dump(tmp_path / "hw.yaml", cluster)
    return _scenario(tmp_path, hardware="./hw.yaml")


def _cluster_copy(tmp_path: Path, edit: Any) -> Path:
    cluster = _load(HARDWARE / "cloudmatrix384.yaml")
    edit(cluster)
    _dump(tmp_path / "hw.yaml", cluster)
    return _scenario(tmp_path, hardware="./hw.yaml")


def test_device_bandwidth_without_unit(tmp_path: Path) -> None:
    path = _device_copy(tmp_path, lambda d: d["hbm"].update(bandwidth=1600))
    assert_error(
        invoke("estimate", str(path)),
        "device.yaml",
        "hbm.bandwidth",
        'expected a bandwidth like "1.6 TB/s"',
        "1600",
    )


def test_cluster_bandwidth_without_unit(tmp_path: Path) -> None:
    path = _cluster_copy(tmp_path, lambda c: c["scale_up"]["node"].update(bandwidth=1600))
    assert_error(
        invoke("estimate", str(path)),
        "hw.yaml",
        "scale_up.node.bandwidth",
        'expected a bandwidth like "1.6 TB/s"',
    )


def test_bandwidth_with_wrong_unit(tmp_path: Path) -> None:
    path = _device_copy(tmp_path, lambda d: d["hbm"].update(bandwidth="1.6 TB"))
    assert_error(invoke("estimate", str(path)), "hbm.bandwidth", "unknown unit 'TB'")


def test_device_unknown_key(tmp_path: Path) -> None:
    path = _device_copy(tmp_path, lambda d: d["hbm"].update(bandwdith="1.6 TB/s"))
    assert_error(
        invoke("estimate", str(path)),
        "device.yaml",
        "hbm.bandwdith",
        "unknown key",
        "did you mean 'bandwidth'",
    )


def test_cluster_unknown_key(tmp_path: Path) -> None:
    path = _cluster_copy(tmp_path, lambda c: c.update(nodez=48))
    assert_error(
        invoke("estimate", str(path)), "hw.yaml", "nodez", "unknown key", "did you mean 'nodes'"
    )


def test_efficiency_out_of_range(tmp_path: Path) -> None:
    path = _device_copy(tmp_path, lambda d: d["efficiency"]["compute"]["gemm"].update(value=1.5))
    assert_error(invoke("estimate", str(path)), "efficiency.compute.gemm.value")


def test_model_top_k_above_experts(tmp_path: Path) -> None:
    model = _load(MODELS / "deepseek-r1.yaml")
    model["moe"]["top_k"] = 300
    _dump(tmp_path / "model.yaml", model)
    path = _scenario(tmp_path, model="./model.yaml")
    assert_error(
        invoke("estimate", str(path)), "model.yaml", "moe.top_k", "300", "routed_experts 256"
    )


def test_missing_hardware_file(tmp_path: Path) -> None:
    path = _scenario(tmp_path, hardware="./nosuch-hw.yaml")
    assert_error(invoke("estimate", str(path)), "nosuch-hw.yaml", "file not found")


# --- infeasible: exit 1 -------------------------------------------------------------------------


def test_infeasible_memory() -> None:
    err = assert_infeasible(
        invoke("estimate", DECODE, "--set", "decode.batch_per_device=5000"),
        "memory",
        "per rank",
    )
    assert "decode" in err


def test_infeasible_number_format() -> None:
    err = assert_infeasible(invoke("estimate", DECODE, "--set", "quantization.weights=fp8"), "fp8")
    assert "ascend-910c" in err


def test_infeasible_in_json_mode_prints_no_json() -> None:
    result = invoke("estimate", DECODE, "--format", "json", "--set", "decode.batch_per_device=5000")
    assert_infeasible(result, "memory")
    assert result.stdout == ""


# --- --debug ------------------------------------------------------------------------------------


def test_debug_shows_the_exception() -> None:
    """--debug adds the traceback on stderr and keeps the exit status (2: bad input)."""
    result = invoke("--debug", "estimate", DECODE, "--set", "decode.ep=7")
    assert result.exit_code == 2, result.output
    assert "Traceback" in result.stderr and "SpecError" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("cmperf: error: ")
    assert "does not divide" in result.stderr.splitlines()[-1]


def test_debug_does_not_stick() -> None:
    invoke("--debug", "estimate", DECODE, "--set", "decode.ep=7")
    assert_error(invoke("estimate", DECODE, "--set", "decode.ep=7"), "does not divide")


# --- validate -----------------------------------------------------------------------------------


def test_validate_json() -> None:
    result = invoke("validate", "--format", "json")
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    rec = json.loads(result.stdout)
    assert rec["schema"] == "cmperf.validate/1"
    points = rec["points"]
    assert isinstance(points, list) and points
    ids = [p["id"] for p in points]
    assert len(ids) == len(set(ids))
    for p in points:
        assert set(p) >= {"id", "predicted", "published", "error", "ok"}
        assert isinstance(p["id"], str) and p["id"]
        assert isinstance(p["ok"], bool)
        assert math.isfinite(p["predicted"]) and math.isfinite(p["error"])


def test_validate_table() -> None:
    result = invoke("validate")
    assert result.exit_code in (0, 1), result.output
    assert "points within bounds" in result.stdout


def test_validate_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "points.yaml"
    assert_error(invoke("validate", "--file", str(missing)), str(missing), "file not found")


def test_validate_bad_point(tmp_path: Path) -> None:
    path = tmp_path / "points.yaml"
    path.write_text(
        "points:\n  - {id: x, what: x, source: x, kind: guess, published: 1, tolerance: 0.1}\n",
        encoding="utf-8",
    )
    assert_error(invoke("validate", "--file", str(path)), str(path), "points[0].kind")


def test_validate_non_numeric_range(tmp_path: Path) -> None:
    path = tmp_path / "points.yaml"
    path.write_text(
        "points:\n  - {id: x, what: x, source: x, kind: ratio, scenario: "
        f"{DECODE}, metric: decode.tpot_s, published: 0.1, range: [a, b]}}\n",
        encoding="utf-8",
    )
    assert_error(invoke("validate", "--file", str(path)), str(path), "points[0].range")


def test_validate_metric_not_a_number(tmp_path: Path) -> None:
    path = tmp_path / "points.yaml"
    path.write_text(
        "points:\n  - {id: x, what: x, source: x, kind: estimate, scenario: "
        f"{DECODE}, metric: decode.layers, published: 0.1, tolerance: 0.1}}\n",
        encoding="utf-8",
    )
    assert_error(invoke("validate", "--file", str(path)), "decode.layers")
