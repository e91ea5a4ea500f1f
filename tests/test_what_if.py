"""What-if edits of the hardware and model specs a scenario refers to (specs/edits.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import DECODE, SCENARIOS, assert_clean_failure, invoke

from cmperf.api import estimate
from cmperf.errors import SpecError
from cmperf.specs import load_scenario
from cmperf.specs.edits import merge, split_reference

HALF_UB = "hardware.scale_up.supernode.bandwidth=82GB/s"


def _tpot(*sets: str) -> float:
    return estimate(load_scenario(DECODE, sets)).decode.step_time_s


def test_set_edits_a_hardware_figure() -> None:
    s = load_scenario(DECODE, [HALF_UB])
    tiers = {t.name: t for t in s.cluster.scale_up}
    assert tiers["supernode"].bandwidth_bytes_per_s == pytest.approx(82e9)
    assert tiers["node"].bandwidth_bytes_per_s == pytest.approx(167e9)  # untouched
    assert "what-if bandwidth = 82GB/s" in tiers["supernode"].source
    assert "164 GB/s" in tiers["supernode"].source  # the replaced figure's origin is kept


def test_slower_links_and_memory_slow_the_step_faster_ones_speed_it() -> None:
    base = _tpot()
    assert _tpot(HALF_UB) > base
    assert _tpot("hardware.scale_up.supernode.bandwidth=328GB/s") < base
    assert _tpot("hardware.device.hbm.bandwidth=0.8TB/s") > base
    assert _tpot("hardware.device.hbm.bandwidth=3.2TB/s") < base


def test_device_edit_through_the_cluster_and_bare_value_for_a_sourced_figure() -> None:
    s = load_scenario(DECODE, ["hardware.device.efficiency.compute.attention=0.5"])
    eff = s.cluster.device.compute_efficiency["attention"]
    assert eff.value == 0.5
    assert eff.source.startswith("what-if value = 0.5")
    assert s.cluster.device.file.endswith("ascend-910c.yaml")
    assert _tpot("hardware.device.efficiency.compute.attention=0.5") > _tpot()


def test_model_edit() -> None:
    s = load_scenario(DECODE, ["model.moe.top_k=4", "decode.mtp.draft_tokens=0"])
    assert s.model.moe.top_k == 4
    base = load_scenario(DECODE, ["decode.mtp.draft_tokens=0"])
    assert s.model.moe.intermediate == base.model.moe.intermediate


def test_edits_leave_the_plain_specs_alone() -> None:
    load_scenario(DECODE, [HALF_UB, "hardware.device.hbm.bandwidth=0.8TB/s"])
    s = load_scenario(DECODE)
    assert {t.name: t for t in s.cluster.scale_up}["supernode"].bandwidth_bytes_per_s == 164e9
    assert s.cluster.device.hbm_bandwidth_bytes_per_s == 1.6e12


def test_mapping_form_in_a_scenario_file(tmp_path: Path) -> None:
    data = yaml.safe_load((SCENARIOS / f"{DECODE}.yaml").read_text())
    data["hardware"] = {
        "spec": "cloudmatrix384",
        "scale_up": {"supernode": {"bandwidth": "82 GB/s"}},
    }
    path = tmp_path / "half-ub.yaml"
    path.write_text(yaml.safe_dump(data))
    from_file = estimate(load_scenario(str(path))).decode.step_time_s
    assert from_file == _tpot(HALF_UB)


def test_edit_errors_name_the_spec_and_key() -> None:
    result = invoke("estimate", DECODE, "--set", "hardware.scale_up.supernode.bandwith=1")
    assert_clean_failure(
        result, "error", 2, "cloudmatrix384.yaml as edited by", "scale_up.supernode.bandwith"
    )
    assert "did you mean 'bandwidth'" in result.stderr
    result = invoke("estimate", DECODE, "--set", "hardware.device.hbm.bandwidth=3")
    assert_clean_failure(result, "error", 2, "ascend-910c.yaml", "hbm.bandwidth", "TB/s")


@pytest.mark.parametrize(
    "value, fragment",
    [({"scale_up": {}}, "hardware.spec"), ({"spec": 3}, "hardware.spec"), (7, "hardware")],
)
def test_reference_needs_a_spec(value: Any, fragment: str) -> None:
    with pytest.raises(SpecError) as err:
        split_reference(value, "s.yaml", "hardware")
    assert fragment in str(err.value)


def test_merge_rules() -> None:
    base = {
        "a": {"value": 1.0, "source": "paper"},
        "tier": {"bandwidth": "1 GB/s", "latency": "1 us", "source": "measured"},
        "device": "x",
        "n": 3,
    }
    out = merge(base, {"a": 2.0, "tier": {"latency": "2 us"}, "device": {"k": 1}, "n": 4}, "t")
    assert out["a"] == {"value": 2.0, "source": "what-if value = 2.0 (t); was: paper"}
    assert out["tier"]["bandwidth"] == "1 GB/s" and out["tier"]["latency"] == "2 us"
    assert out["tier"]["source"].startswith("what-if latency = 2 us")
    assert out["device"] == {"spec": "x", "k": 1}
    assert out["n"] == 4
    assert base["a"] == {"value": 1.0, "source": "paper"}  # the input is not modified
    assert merge(base, {"tier": {"source": "mine", "latency": "3 us"}}, "t")["tier"]["source"] == (
        "mine"
    )


def test_explain_cites_the_edit() -> None:
    result = invoke(
        "explain", DECODE, "--op", "decode.moe.dispatch", "--format", "json", "--set", HALF_UB
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    text = json.dumps(doc)
    assert "what-if bandwidth = 82GB/s" in text


def _validation(*sets: str) -> dict[str, float]:
    from cmperf import validate

    return {o.point.id: o.predicted for o in validate.run(validate.DEFAULT_FILE, sets)}


def test_validate_under_a_what_if_calibration() -> None:
    base = _validation()
    slower = _validation("hardware.device.efficiency.compute.attention=0.5")
    assert slower["decode-tpot"] > base["decode-tpot"]
    assert slower["dispatch-ep8"] == base["dispatch-ep8"]  # a microbenchmark has no attention
    slower_links = _validation("hardware.scale_up.node.bandwidth=83.5GB/s")
    assert slower_links["dispatch-ep8"] > base["dispatch-ep8"]
    assert slower_links["dispatch-ep256"] == base["dispatch-ep256"]  # crosses nodes


def test_validate_set_errors_are_clean() -> None:
    result = invoke("validate", "--set", "hardware.device.efficiency.compute.gem=0.5")
    assert_clean_failure(result, "error", 2, "efficiency.compute.gem", "did you mean 'gemm'")
