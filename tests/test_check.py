"""Tests for `cmperf check`: regression checks of estimates against recorded baselines.

- fresh baselines (and the checked-in golden ones) pass;
- a 3 % change of a hardware figure (HBM bandwidth, cube peaks) moves figures beyond the 2 %
  default tolerance: exit 1 and a diff table naming the moved figures;
- malformed baselines are one-line errors naming the file, exit 2;
- every output format.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import DECODE, HARDWARE, PREFILL, SCENARIOS, assert_error, assert_infeasible, invoke

from cmperf import baseline
from cmperf.units import Dimension, parse_quantity

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "baselines"
GOLDEN_FILES = sorted(GOLDEN.glob("*.json"))


def write_baseline(path: Path, scenario: str, *sets: str, ops: bool = False) -> dict[str, Any]:
    args = ["estimate", scenario, "--format", "json"]
    for s in sets:
        args += ["--set", s]
    if not ops:
        args.append("--no-ops")
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    path.write_text(result.stdout)
    return json.loads(result.stdout)


def copy_specs(folder: Path, scenario: str = DECODE) -> Path:
    """The scenario and both hardware specs in `folder`; the model stays the shipped one."""
    (folder / "scenarios").mkdir(parents=True)
    (folder / "hardware_specs").mkdir()
    for name in ("ascend-910c.yaml", "cloudmatrix384.yaml"):
        shutil.copy(HARDWARE / name, folder / "hardware_specs" / name)
    target = folder / "scenarios" / f"{scenario}.yaml"
    shutil.copy(SCENARIOS / f"{scenario}.yaml", target)
    return target


def scale_device(folder: Path, factor: float, *paths: tuple[str, ...]) -> None:
    """Multiply quantities of the copied 910C spec (each a key path) by `factor`."""
    spec = folder / "hardware_specs" / "ascend-910c.yaml"
    data = yaml.safe_load(spec.read_text())
    for path in paths:
        node = data
        for key in path[:-1]:
            node = node[key]
        value = node[path[-1]]
        unit, dimension = ("B/s", Dimension.BANDWIDTH)
        if not value.endswith("B/s"):
            unit, dimension = ("FLOP/s", Dimension.FLOP_RATE)
        node[path[-1]] = f"{parse_quantity(value, dimension) * factor!r} {unit}"
    spec.write_text(yaml.safe_dump(data, sort_keys=False))


def repoint(baseline_file: Path, scenario_file: Path) -> None:
    """Point a baseline at another copy of its scenario (as if the specs had changed since)."""
    record = json.loads(baseline_file.read_text())
    record["scenario"]["file"] = str(scenario_file)
    baseline_file.write_text(json.dumps(record))


# --- fresh baselines pass ---------------------------------------------------------------------


@pytest.mark.parametrize("scenario", [DECODE, PREFILL])
def test_fresh_baseline_passes(tmp_path: Path, scenario: str) -> None:
    base = tmp_path / "b.json"
    write_baseline(base, scenario)
    result = invoke("check", str(base))
    assert result.exit_code == 0, result.output
    assert "all within tolerance" in result.stdout
    assert "moved" not in result.stdout
    assert f"{scenario.split('-')[-1]}.step_time_s" in result.stdout


def test_fresh_baseline_with_overrides_and_ops_passes(tmp_path: Path) -> None:
    base = tmp_path / "b.json"
    record = write_baseline(base, DECODE, "decode.batch_per_device=8", ops=True)
    assert record["decode"]["ops"]  # check reads only the figures
    out = invoke("check", str(base), "--rtol", "0", "--format", "json")
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["schema"] == "cmperf.check/1"
    assert result["ok"] is True
    (only,) = result["baselines"]
    assert only["scenario"]["overrides"] == ["decode.batch_per_device=8"]
    figures = {f["figure"]: f for f in only["figures"]}
    tpot = figures["decode.tpot_s"]
    assert tpot["baseline"] == tpot["now"] == record["decode"]["tpot_s"]
    assert tpot["change"] == 0.0 and tpot["status"] == "ok"


def test_overrides_are_re_applied(tmp_path: Path) -> None:
    """A baseline of batch 8 is compared with batch 8, not with the file's batch 96."""
    base = tmp_path / "b.json"
    write_baseline(base, DECODE, "decode.batch_per_device=8")
    record = json.loads(base.read_text())
    record["scenario"]["overrides"] = []
    base.write_text(json.dumps(record))
    result = invoke("check", str(base))
    assert result.exit_code == 1
    assert "decode.tpot_s" in result.stdout


def test_golden_baselines_pass() -> None:
    """What CI runs after pytest: the shipped scenarios still give their recorded figures."""
    assert [p.name for p in GOLDEN_FILES] == [
        "cloudmatrix384-decode.json",
        "cloudmatrix384-prefill.json",
        "cloudmatrix384-serving.json",
    ]
    result = invoke("check", *map(str, GOLDEN_FILES))
    assert result.exit_code == 0, result.output + (
        "\nIf the change of the model's numbers is deliberate: python tests/golden/update.py"
    )


def test_golden_baselines_are_small_and_portable() -> None:
    for path in GOLDEN_FILES:
        record = json.loads(path.read_text())
        assert path.stat().st_size < 6000
        phase = record.get("decode") or record.get("prefill")
        assert "ops" not in phase
        # Relative to the repository root, so they do not name this machine's folders.
        assert not Path(record["scenario"]["file"]).is_absolute()
        assert record["scenario"]["name"] == path.stem


def test_golden_baselines_work_from_any_folder(tmp_path: Path, monkeypatch: Any) -> None:
    """Elsewhere the recorded relative file does not exist: the scenario is found by name."""
    monkeypatch.chdir(tmp_path)
    checks = baseline.check(GOLDEN_FILES)
    assert [c.ran for c in checks] == [DECODE, PREFILL, "cloudmatrix384-serving"]
    assert all(c.ok for c in checks)
    monkeypatch.chdir(ROOT)
    checks = baseline.check(GOLDEN_FILES)
    assert [c.ran for c in checks] == [
        "scenarios/cloudmatrix384-decode.yaml",
        "scenarios/cloudmatrix384-prefill.yaml",
        "scenarios/cloudmatrix384-serving.yaml",
    ]


def test_a_deployment_figure_that_moves_fails(tmp_path: Path) -> None:
    """A serving baseline also holds the deployment's TTFT, pools, ratio and cold start."""
    record = json.loads((GOLDEN / "cloudmatrix384-serving.json").read_text())
    assert "deployment.cold_start_s.pool" in baseline.record_figures(record, "x")
    record["deployment"]["requests_per_s"]["decode"] *= 1.05
    base = tmp_path / "serving.json"
    base.write_text(json.dumps(record))
    result = invoke("check", str(base))
    assert result.exit_code == 1
    assert "deployment.requests_per_s.decode" in result.stdout


# --- a 3 % change of a hardware figure fails --------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "keys", "moved"),
    [
        (DECODE, [("hbm", "bandwidth")], "decode.layers.head.time_s"),
        (
            PREFILL,
            [
                ("engines", "cube", "peak", "matrix", "int8"),
                ("engines", "cube", "peak", "matrix", "bf16"),
            ],
            "prefill.throughput_tokens_per_s_per_device",
        ),
    ],
)
def test_three_percent_hardware_change_fails(
    tmp_path: Path, scenario: str, keys: list[tuple[str, ...]], moved: str
) -> None:
    base = tmp_path / "baseline.json"
    write_baseline(base, scenario)  # from the shipped specs

    # Control: unchanged copies of the specs reproduce the baseline.
    same = copy_specs(tmp_path / "same", scenario)
    repoint(base, same)
    assert invoke("check", str(base)).exit_code == 0

    changed = copy_specs(tmp_path / "changed", scenario)
    scale_device(tmp_path / "changed", 1.03, *keys)
    repoint(base, changed)
    result = invoke("check", str(base))
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "moved" in out and "all within tolerance" not in out
    row = next(line for line in out.splitlines() if moved in line.split())
    assert "moved" in row and "%" in row
    # The faster hardware makes the figure move by about 3 %, one way or the other.
    record = json.loads(invoke("check", str(base), "--format", "json").stdout)
    figure = next(f for f in record["baselines"][0]["figures"] if f["figure"] == moved)
    assert 0.02 < abs(figure["change"]) <= 0.0301
    assert not figure["ok"] and figure["status"] == "moved"
    # A looser tolerance accepts it.
    assert invoke("check", str(base), "--rtol", "0.05").exit_code == 0


def test_changed_spec_fails_in_a_fresh_process(tmp_path: Path) -> None:
    """The CI flow end to end: baseline, edit the hardware spec in place, check (a new process
    each time, as in a pipeline)."""
    scenario = copy_specs(tmp_path, DECODE)
    cmperf = [sys.executable, "-m", "cmperf"]
    env = {**os.environ, "COLUMNS": "200"}
    estimate = subprocess.run(
        [*cmperf, "estimate", str(scenario), "--format", "json", "--no-ops"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    base = tmp_path / "baseline.json"
    base.write_text(estimate.stdout)
    ok = subprocess.run([*cmperf, "check", str(base)], capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    scale_device(tmp_path, 1.03, ("hbm", "bandwidth"))
    moved = subprocess.run([*cmperf, "check", str(base)], capture_output=True, text=True, env=env)
    assert moved.returncode == 1, moved.stdout + moved.stderr
    assert "moved" in moved.stdout
    assert moved.stderr == ""


# --- figures that appear or disappear ---------------------------------------------------------


def test_missing_figure_fails_and_new_figure_passes(tmp_path: Path) -> None:
    base = tmp_path / "b.json"
    write_baseline(base, DECODE)
    record = json.loads(base.read_text())
    record["decode"]["layers"].append({"name": "gone", "count": 1, "time_s": 1e-3})
    record["decode"]["layers"] = [x for x in record["decode"]["layers"] if x["name"] != "mtp"]
    base.write_text(json.dumps(record))
    out = json.loads(invoke("check", str(base), "--format", "json").stdout)
    status = {f["figure"]: f["status"] for f in out["baselines"][0]["figures"]}
    assert status["decode.layers.gone.time_s"] == "missing"
    assert status["decode.layers.mtp.time_s"] == "new"
    assert out["ok"] is False
    result = invoke("check", str(base))
    assert result.exit_code == 1
    assert "missing" in result.stdout


def test_figure_comparison() -> None:
    base = {"a": 1.0, "b": 0.0, "c": 2.0}
    figures = {f.name: f for f in baseline.compare(base, {"a": 1.0199, "b": 0.0, "d": 5.0}, 0.02)}
    assert figures["a"].status == "ok"  # just within the tolerance
    assert figures["b"].status == "ok" and figures["b"].change == 0.0
    assert figures["c"].status == "missing" and figures["c"].change is None
    assert figures["d"].status == "new" and figures["d"].ok
    assert baseline.compare({"a": 1.0}, {"a": 1.0201}, 0.02)[0].status == "moved"
    assert baseline.compare({"a": 0.0}, {"a": 1e-9}, 0.02)[0].status == "moved"


def test_several_baselines_one_table_each(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    write_baseline(a, DECODE)
    write_baseline(b, PREFILL)
    result = invoke("check", str(a), str(b))
    assert result.exit_code == 0, result.output
    assert str(a) in result.stdout and str(b) in result.stdout
    assert "2 baselines, 17 figures" in result.stdout


# --- malformed baselines: exit 2, one line naming the file ------------------------------------


def _valid_record(tmp_path: Path) -> dict[str, Any]:
    return write_baseline(tmp_path / "valid.json", DECODE)


def _drop(record: dict[str, Any], *path: str) -> dict[str, Any]:
    node = record
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return record


MALFORMED: list[tuple[str, Any, tuple[str, ...]]] = [
    ("not json", "{ nope", ("not JSON: line 1",)),
    ("empty", "", ("not JSON",)),
    ("yaml", "schema: cmperf.estimate/1\n", ("not JSON",)),
    ("array", "[1, 2]", ("expected a JSON object", "an array")),
    ("number", "3", ("expected a JSON object", "a number")),
    ("no schema", lambda r: _drop(r, "schema"), ("schema:", "no schema key")),
    ("sweep schema", lambda r: {**r, "schema": "cmperf.sweep/1"}, ("'cmperf.sweep/1'",)),
    ("no scenario", lambda r: _drop(r, "scenario"), ("scenario: missing required key",)),
    ("no name", lambda r: _drop(r, "scenario", "name"), ("scenario.name: missing",)),
    (
        "bad overrides",
        lambda r: {**r, "scenario": {**r["scenario"], "overrides": "decode.kv_len=1"}},
        ("scenario.overrides: expected a list",),
    ),
    ("no phase", lambda r: _drop(r, "decode"), ("needs a decode or a prefill",)),
    ("no tpot", lambda r: _drop(r, "decode", "tpot_s"), ("decode.tpot_s: missing",)),
    (
        "no memory",
        lambda r: _drop(r, "decode", "memory_bytes_per_device"),
        ("decode.memory_bytes_per_device: missing",),
    ),
    (
        "string figure",
        lambda r: {**r, "decode": {**r["decode"], "step_time_s": "64 ms"}},
        ("decode.step_time_s: expected a finite number, got '64 ms'",),
    ),
    (
        "layers not a list",
        lambda r: {**r, "decode": {**r["decode"], "layers": {}}},
        ("decode.layers: expected a list",),
    ),
    (
        "layer without time",
        lambda r: {**r, "decode": {**r["decode"], "layers": [{"name": "moe"}]}},
        ("decode.layers[0].time_s: missing",),
    ),
    (
        "duplicate layer",
        lambda r: {
            **r,
            "decode": {**r["decode"], "layers": [r["decode"]["layers"][0]] * 2},
        },
        ("listed twice",),
    ),
]


@pytest.mark.parametrize(
    ("label", "content", "fragments"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_malformed_baseline_exit_2(
    tmp_path: Path, label: str, content: Any, fragments: tuple[str, ...]
) -> None:
    path = tmp_path / "baseline.json"
    if callable(content):
        path.write_text(json.dumps(content(_valid_record(tmp_path))))
    else:
        path.write_text(content)
    err = assert_error(invoke("check", str(path)), str(path), *fragments)
    assert err.startswith(f"cmperf: error: {path}: ")


def test_nan_figure_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    text = json.dumps(_valid_record(tmp_path)).replace('"tpot_s": ', '"tpot_s": NaN, "x": ', 1)
    path.write_text(text)
    assert_error(invoke("check", str(path)), "decode.tpot_s: expected a finite number, got nan")


def test_unreadable_baselines(tmp_path: Path) -> None:
    assert_error(invoke("check", str(tmp_path / "absent.json")), "absent.json: file not found")
    assert_error(invoke("check", str(tmp_path)), "is a directory")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    assert_error(invoke("check", str(binary)), "not a text file")


def test_a_malformed_baseline_stops_before_any_estimate(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    write_baseline(good, DECODE)
    bad.write_text("{}")
    result = invoke("check", str(good), str(bad))
    assert_error(result, "bad.json")
    assert result.stdout == ""


def test_scenario_that_no_longer_loads(tmp_path: Path) -> None:
    base = tmp_path / "b.json"
    record = write_baseline(base, DECODE)
    record["scenario"]["file"] = str(tmp_path / "gone.yaml")
    record["scenario"]["name"] = "no-such-scenario"
    base.write_text(json.dumps(record))
    assert_error(invoke("check", str(base)), f"{base}: re-running no-such-scenario", "unknown")


def test_scenario_that_became_infeasible(tmp_path: Path) -> None:
    base = tmp_path / "b.json"
    write_baseline(base, DECODE)
    record = json.loads(base.read_text())
    record["scenario"]["overrides"] = ["decode.batch_per_device=100000"]
    base.write_text(json.dumps(record))
    assert_infeasible(invoke("check", str(base)), f"{base}: re-running", "memory")


@pytest.mark.parametrize("rtol", ["-0.1", "nan", "inf"])
def test_bad_rtol(tmp_path: Path, rtol: str) -> None:
    base = tmp_path / "b.json"
    write_baseline(base, DECODE)
    assert_error(invoke("check", str(base), "--rtol", rtol), "--rtol", "expected a relative")


def test_no_baseline_is_a_usage_error() -> None:
    result = invoke("check")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


# --- formats ----------------------------------------------------------------------------------


def test_check_csv_and_markdown(tmp_path: Path) -> None:
    base = tmp_path / "b.json"
    write_baseline(base, PREFILL)
    csv_out = invoke("check", str(base), "--format", "csv")
    assert csv_out.exit_code == 0
    lines = csv_out.stdout.splitlines()
    assert lines[0] == "baseline_file,scenario,figure,baseline,now,change,status"
    assert len(lines) == 1 + 7  # throughput, step, dense, moe, pipeline_fill, head, memory
    assert all(line.endswith(",ok") for line in lines[1:])
    md = invoke("check", str(base), "--format", "markdown")
    assert md.exit_code == 0
    assert "| figure | baseline | now | change | status |" in md.stdout
    assert "| prefill.step_time_s |" in md.stdout


def test_moved_check_json_exits_1(tmp_path: Path) -> None:
    base = tmp_path / "b.json"
    write_baseline(base, PREFILL)
    record = json.loads(base.read_text())
    record["prefill"]["step_time_s"] *= 1.1
    base.write_text(json.dumps(record))
    result = invoke("check", str(base), "--format", "json")
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    moved = [f["figure"] for f in out["baselines"][0]["figures"] if not f["ok"]]
    assert moved == ["prefill.step_time_s"]
