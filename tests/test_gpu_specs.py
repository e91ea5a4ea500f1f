"""The shipped GPU systems: every spec loads, takes the H200's fitted kernel laws, and estimates
DeepSeek-R1 decode and prefill on as few of its nodes as hold the model."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from support import invoke

from cmperf.api import estimate
from cmperf.specs import _load_cluster, resolve
from cmperf.specs.calibration import read_overlay
from cmperf.specs.kernel_params import kernel_params

GEMM_CSV = Path(__file__).resolve().parents[2] / "shared" / "calibration" / "h200" / "gemm.csv"
OVERLAY = Path(__file__).resolve().parents[1] / "cmperf/hardware_specs/calibration/h200-sxm.yaml"


# cluster, its device, nodes the scenario uses (None: the spec's own), devices, redundant experts.
# DeepSeek-R1 in FP8 is about 671 GB of weights (about 108 GB a GPU at EP8 with its KV cache):
# one 8-GPU node of 80 or 96 GB GPUs does not hold it, two do.
SYSTEMS = [
    ("hgx-h800", "h800-sxm", 2, 16, 0),
    ("hgx-h100", "h100-sxm", 2, 16, 0),
    ("hgx-h20", "h20", 2, 16, 0),
    ("hgx-h200", "h200-sxm", 1, 8, 0),
    ("hgx-b200", "b200", 1, 8, 0),
    # EP72: 256 routed + 32 redundant experts are 4 a GPU.
    ("gb200-nvl72", "gb200", None, 72, 32),
]
CLUSTERS = [s[0] for s in SYSTEMS]
DEVICES = [s[1] for s in SYSTEMS]


def cluster_of(name: str):
    return _load_cluster(resolve("hardware", name))


@pytest.mark.parametrize("name", CLUSTERS)
def test_spec_loads(name: str) -> None:
    cluster = cluster_of(name)
    device = cluster.device
    assert cluster.name == name
    assert device.ranks_per_device == 1
    assert device.hbm_capacity_bytes > 0 and device.hbm_bandwidth_bytes_per_s > 0
    assert device.engines["sm"].cores > 0
    assert cluster.scale_up[0].name == "nvlink"
    assert cluster.scale_up[0].ranks == cluster.devices  # one NVLink domain a node (or rack)


@pytest.mark.parametrize("name", CLUSTERS)
def test_kernel_laws_come_from_the_h200(name: str) -> None:
    """Every parameter the H200's fitted overlay gives resolves on the device, cited to it."""
    device = cluster_of(name).device
    if device.name != "h200-sxm":
        assert device.kernels_from[0] == "h200-sxm"
    # The H800's own DeepGEMM fit (and the H100's copy of it) replaces those it states.
    _, own = read_overlay(OVERLAY.with_name("h800-sxm.yaml"))
    stated = {
        (family, variant, param)
        for family, variants in own.items()
        for variant, params in variants.items()
        for param in params
    }
    gets_own = device.name in ("h800-sxm", "h100-sxm")
    _, overlay = read_overlay(OVERLAY)
    for family, variants in overlay.items():
        for variant, params in variants.items():
            resolved = kernel_params(device, family, variant)
            for param in params:
                value, source = resolved[param]
                assert not math.isnan(value), (family, variant, param)
                expected = (
                    "calibration/h800-sxm.yaml"
                    if gets_own and (family, variant, param) in stated
                    else "calibration/h200-sxm.yaml"
                )
                assert expected in source, (family, variant, param, source)


def test_h800_runs_at_its_sustained_clock() -> None:
    sm = cluster_of("hgx-h800").device.engines["sm"]
    assert sm.clock == 0.875
    assert "FlashMLA" in sm.clock_under_load.source


def test_other_gpus_state_no_clock_under_load() -> None:
    """Only the H800 (measured) and the H100 (its die, taking its kernel fit) state one."""
    for name in CLUSTERS:
        if name not in ("hgx-h800", "hgx-h100"):
            assert cluster_of(name).device.engines["sm"].clock == 1.0, name
    assert cluster_of("hgx-h100").device.engines["sm"].clock == 0.875


def test_nvl72_prices_a_72_gpu_group_on_nvlink() -> None:
    cluster = cluster_of("gb200-nvl72")
    assert cluster.devices == 72 and cluster.devices_per_node == 4
    assert cluster.tier_for(72).name == "nvlink"
    assert cluster.tier_for(73).name == "scale_out"


def _scenario(tmp_path: Path, phase: str, system: tuple) -> Path:
    cluster, _device, nodes, devices, redundant = system
    hardware = cluster if nodes is None else f"{{spec: {cluster}, nodes: {nodes}}}"
    run = (
        "batch_per_device: 32, kv_len: 4096"
        if phase == "decode"
        else "tokens_per_device: 16384, input_len: 4096"
    )
    path = tmp_path / f"{cluster}-{phase}.yaml"
    path.write_text(
        f"name: deepseek-r1-{cluster}-{phase}\n"
        f"hardware: {hardware}\n"
        "model: deepseek-r1\n"
        "quantization: {weights: fp8, activations: fp8, dispatch: fp8, combine: bf16, "
        "attention: bf16, head: bf16, kv_cache: bf16}\n"
        f"{phase}: {{devices: {devices}, ep: {devices}, redundant_experts: {redundant}, "
        f"{run}, microbatches: 1}}\n",
        encoding="utf-8",
    )
    return path


def _exchange_tiers(result, cluster) -> set[str]:
    return {
        cluster.tier_for(r.op.comm.group_ranks).name for r in result.ops if r.op.comm is not None
    }


@pytest.mark.parametrize("system", SYSTEMS, ids=CLUSTERS)
def test_estimates_deepseek_r1_decode(tmp_path: Path, system: tuple) -> None:
    result = estimate(str(_scenario(tmp_path, "decode", system))).decode
    assert result.tpot_s > 0 and math.isfinite(result.tpot_s)
    throughput = result.throughput_tokens_per_s_per_device
    assert throughput > 0 and math.isfinite(throughput)
    cluster = cluster_of(system[0])
    # Within one NVLink domain (a node, or the NVL72 rack) the experts' exchange stays on it.
    in_domain = system[3] <= cluster.scale_up[0].ranks
    assert _exchange_tiers(result, cluster) == ({"nvlink"} if in_domain else {"scale_out"})


@pytest.mark.parametrize("system", SYSTEMS, ids=CLUSTERS)
def test_estimates_deepseek_r1_prefill(tmp_path: Path, system: tuple) -> None:
    result = estimate(str(_scenario(tmp_path, "prefill", system))).prefill
    throughput = result.throughput_tokens_per_s_per_device
    assert throughput > 0 and math.isfinite(throughput)


def test_h800_decodes_no_faster_than_h100(tmp_path: Path) -> None:
    """Same die, clock and nodes; the H800 has the narrower NVLink."""
    h800, h100 = SYSTEMS[0], SYSTEMS[1]
    slow = estimate(str(_scenario(tmp_path, "decode", h800))).decode.tpot_s
    fast = estimate(str(_scenario(tmp_path, "decode", h100))).decode.tpot_s
    assert slow >= fast * (1 - 1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_kernel_command_predicts_measured_gemms(device: str) -> None:
    if not GEMM_CSV.is_file():
        pytest.skip("shared/calibration is not beside this checkout")
    result = invoke("kernel", "--csv", str(GEMM_CSV), "--hardware", device)
    assert result.exit_code == 0, result.output
    assert "gemm" in result.output
