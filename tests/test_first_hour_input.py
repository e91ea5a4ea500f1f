"""A planner's first hour: input mistakes that must end in one clear line (exit 2), never in a
silently wrong figure, a huge error line or a MemoryError."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from support import DECODE, SCENARIOS, assert_error, invoke

from cmperf.errors import SpecError
from cmperf.specs import parse_override
from cmperf.specs.reader import MAX_BYTES, Reader, load_yaml, parse_yaml
from cmperf.units import Dimension, UnitError, check_range, parse_quantity


def _scenario(tmp_path: Path, old: str, new: str) -> str:
    text = (SCENARIOS / f"{DECODE}.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "mine.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return str(path)


# --- 1. duplicate keys ----------------------------------------------------------------------------


def test_a_duplicate_key_is_refused_naming_both_lines(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "  kv_len: 4096\n", "  kv_len: 4096\n  kv_len: 8192\n")
    line = assert_error(invoke("estimate", path), "mine.yaml", "duplicate key 'kv_len'")
    first = (SCENARIOS / f"{DECODE}.yaml").read_text().splitlines().index("  kv_len: 4096") + 1
    assert f"line {first} and line {first + 1}" in line


def test_a_duplicate_key_in_a_flow_mapping_and_merge_keys_are_fine() -> None:
    with pytest.raises(SpecError, match="duplicate key 'a' on line 1 and line 1"):
        parse_yaml("{a: 1, a: 2}", "f.yaml")
    merged = parse_yaml("base: &b {x: 1, y: 2}\nmine:\n  <<: *b\n  x: 3\n", "f.yaml")
    assert merged["mine"] == {"x": 3, "y": 2}


def test_shipped_specs_load_the_same_as_before() -> None:
    import yaml

    for path in SCENARIOS.parent.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert load_yaml(path) == yaml.load(text, Loader=yaml.SafeLoader), path


# --- 2. alias bombs, size, depth, long values --------------------------------------------------


def _bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(_bomb(9), encoding="utf-8")
    assert len(path.read_bytes()) < 1200
    start = time.perf_counter()
    assert_error(invoke("estimate", str(path)), "bomb.yaml", "aliases are expanded")
    assert time.perf_counter() - start < 5


def test_a_small_bomb_in_a_spec_does_not_print_a_huge_line(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "  kv_len: 4096\n", "  kv_len: *a4\n")
    path_text = Path(path).read_text(encoding="utf-8")
    Path(path).write_text(_bomb(5) + path_text, encoding="utf-8")
    # 9**5 strings once expanded (within the limit): kv_len's value is shown cut
    line = assert_error(invoke("estimate", path), "decode.kv_len")
    assert len(line) < 400


def test_a_cycle_deep_nesting_and_a_huge_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="contains it"):
        parse_yaml("a: &a [*a]\n", "f.yaml")
    with pytest.raises(SpecError, match="nested more than 64 levels"):
        parse_yaml("[" * 100 + "]" * 100, "f.yaml")
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * MAX_BYTES, encoding="utf-8")
    with pytest.raises(SpecError, match="larger than"):
        load_yaml(big)


def test_an_alias_bomb_in_a_set_value_is_refused() -> None:
    value = "[" + ", ".join(["[" + ", ".join(["x"] * 9) + "]"] * 9) + "]"
    assert parse_override(f"a={value}")[1][0][0] == "x"
    bomb = "{" + _bomb(9).replace("\n", ", ").rstrip(", ") + "}"
    with pytest.raises(SpecError, match="aliases are expanded"):
        parse_override(f"a={bomb}")


def test_values_in_messages_are_cut_to_about_100_characters() -> None:
    with pytest.raises(UnitError) as info:
        parse_quantity("9" * 10_000 + " zz", Dimension.TIME)
    assert len(str(info.value)) < 300
    with pytest.raises(SpecError) as err:
        Reader({"k": "x" * 10_000}, "f.yaml").number("k")
    assert len(str(err.value)) < 200
    shared: list = ["x"] * 10
    for _ in range(30):
        shared = [shared] * 10  # a repr of 10**30 items, were it built
    with pytest.raises(SpecError) as err:
        Reader({"k": shared}, "f.yaml").string("k")
    assert len(str(err.value)) < 200


def test_an_error_line_is_never_huge() -> None:
    assert len(str(SpecError("f.yaml", "k", "x" * 10**6))) <= 2000


# --- 3. physically absurd quantities ------------------------------------------------------------


def test_an_absurd_bandwidth_is_refused_with_the_range() -> None:
    result = invoke("estimate", DECODE, "--set", "hardware.device.hbm.bandwidth=1e-300TB/s")
    assert_error(result, "hbm.bandwidth", "outside the accepted bandwidth range", "1 kB/s")


@pytest.mark.parametrize(
    ("text", "dimension"),
    [
        ("1e-300 TB/s", Dimension.BANDWIDTH),
        ("2 EB/s", Dimension.BANDWIDTH),
        ("1 kFLOP/s", Dimension.FLOP_RATE),
        ("1e22 FLOP/s", Dimension.FLOP_RATE),
        ("0.5 B", Dimension.BYTES),
        ("2000 PB", Dimension.BYTES),
        ("1e-9 ns", Dimension.TIME),
        ("25 h", Dimension.TIME),
    ],
)
def test_quantities_outside_their_range(text: str, dimension: Dimension) -> None:
    with pytest.raises(SpecError, match="outside the accepted"):
        Reader({"k": text}, "f.yaml").quantity("k", dimension)


def test_sane_quantities_and_zero_still_pass() -> None:
    fitted = parse_quantity("1e-06 us", Dimension.TIME)  # a calibration fit's floor
    assert check_range(fitted, Dimension.TIME, "1e-06 us") == pytest.approx(1e-12)
    assert check_range(0.0, Dimension.TIME, "0 us") == 0
    r = Reader({"a": "1.6 TB/s", "b": "1 EB"}, "f.yaml")
    assert r.quantity("a", Dimension.BANDWIDTH) == 1.6e12
    assert r.quantity("b", Dimension.BYTES) == 1e18


# --- 4. --debug keeps the exit status -------------------------------------------------------------


def test_debug_keeps_exit_2_and_adds_a_traceback() -> None:
    result = invoke("--debug", "estimate", DECODE, "--set", "decode.kv_len=-1")
    assert result.exit_code == 2, result.output
    assert "Traceback" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("cmperf: error: ")


def test_debug_keeps_exit_1_for_infeasible() -> None:
    result = invoke("--debug", "estimate", DECODE, "--set", "decode.batch_per_device=100000")
    assert result.exit_code == 1, result.output
    assert "Traceback" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("cmperf: infeasible: ")


# --- 5. misleading messages ---------------------------------------------------------------------


def test_exponent_numbers_without_a_dot_are_numbers() -> None:
    r = Reader({"a": "1e300", "b": "1e-9", "c": "2e3", "d": "1.5e0"}, "f.yaml")
    assert r.number("a", high=math.inf) == 1e300
    assert r.number("b") == 1e-9
    assert r.integer("c") == 2000
    with pytest.raises(SpecError, match=r"expected a whole number, got 1\.5"):
        r.integer("d")


def test_exponent_numbers_in_set_values() -> None:
    result = invoke("estimate", DECODE, "--no-ops", "--set", "decode.mtp.acceptance=7e-1")
    assert result.exit_code == 0, result.output
    result = invoke("estimate", DECODE, "--no-ops", "--set", "decode.kv_len=4e3")
    assert result.exit_code == 0, result.output


def test_a_folder_or_a_device_is_not_file_not_found(tmp_path: Path) -> None:
    assert_error(invoke("estimate", str(tmp_path)), "a folder, not a spec file")
    assert_error(invoke("estimate", "/dev/null"), "not a regular file")
    with pytest.raises(SpecError, match="is a folder"):
        load_yaml(tmp_path)


def test_an_empty_set_value_says_so() -> None:
    """`key=` resets a key to its default; for a required key, say the value is empty."""
    result = invoke("estimate", DECODE, "--set", "decode.kv_len=")
    line = assert_error(result, "decode.kv_len", "value is empty", "expected a whole number")
    assert "missing" not in line
    result = invoke("estimate", DECODE, "--set", "hardware.device.hbm.bandwidth=")
    assert_error(result, "hbm.bandwidth", "value is empty", 'expected a bandwidth like "1.6 TB/s"')


def test_a_misspelt_required_key_is_an_unknown_key(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "  kv_len: 4096\n", "  kv_lén: 4096\n")
    line = assert_error(invoke("estimate", path), "decode.kv_lén", "unknown key")
    assert "did you mean 'kv_len'" in line and "missing" not in line


def test_a_missing_key_without_a_near_miss_is_still_missing() -> None:
    with pytest.raises(SpecError, match="kv_len: missing required key"):
        Reader({"batch": 1, "kv_len_max": 2}, "f.yaml").integer("kv_len")
    with pytest.raises(SpecError, match="memory_bytes: missing required key"):
        Reader({"memory_capacity_bytes": 1}, "f.yaml").integer("memory_bytes")
    with pytest.raises(SpecError, match=r"sec\.kvlen: unknown key \(did you mean 'kv_len'"):
        Reader({"kvlen": 1}, "f.yaml", "sec").integer("kv_len")


@pytest.mark.parametrize("slo", ["0ms", "-5ms", "2h"])
def test_an_slo_outside_any_latency_is_refused_naming_the_option(slo: str) -> None:
    from typer.testing import CliRunner

    from cmperf.cli import app

    result = CliRunner().invoke(app, ["sweep", "cloudmatrix384-decode-slo", "--tpot-slo", slo])
    assert result.exit_code == 2
    assert "--tpot-slo: expected a time above 0 s and at most 1 h" in result.output
