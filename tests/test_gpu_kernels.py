"""GPU kernel parameters from the H800's own operator benchmarks (gpu.md §2): the DeepGEMM fit
of calibration/h800-sxm.yaml, and DeepEP's achieved RDMA bandwidth on the scale-out tiers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import least_squares

from cmperf.kernels import families
from cmperf.kernels.base import Facts
from cmperf.specs import _load_cluster, resolve
from cmperf.specs.kernel_params import kernel_params

# gpu.md §2.1, DeepGEMM FP8 on H800: dense (M, N, K, TFLOP/s) and grouped (groups, M per
# group, N, K, TFLOP/s).
DENSE = [
    (64, 2112, 7168, 206), (64, 24576, 1536, 289), (64, 32768, 512, 219),
    (64, 7168, 16384, 336), (64, 4096, 7168, 287), (64, 7168, 2048, 295),
    (128, 2112, 7168, 352), (128, 24576, 1536, 535), (128, 32768, 512, 358),
    (128, 7168, 16384, 645), (128, 4096, 7168, 533), (128, 7168, 2048, 510),
    (4096, 2112, 7168, 1058), (4096, 24576, 1536, 990), (4096, 32768, 512, 590),
    (4096, 7168, 16384, 1358), (4096, 4096, 7168, 1304), (4096, 7168, 2048, 1025),
]  # fmt: skip
GROUPED = [
    (4, 8192, 4096, 7168, 1297), (4, 8192, 7168, 2048, 1099), (8, 4096, 4096, 7168, 1288),
    (8, 4096, 7168, 2048, 1093), (1, 1024, 4096, 7168, 1233), (1, 1024, 7168, 2048, 925),
    (2, 512, 4096, 7168, 1040), (2, 512, 7168, 2048, 916), (4, 256, 4096, 7168, 932),
    (4, 256, 7168, 2048, 815),
]  # fmt: skip
A_BYTES, W_BYTES = 1 + 4 / 128, 1 + 4 / (128 * 128)  # FP8 with block scales (1x128, 128x128)

CASES = {
    "gemm": (
        [dict(m=m, n=n, k=k, a_bytes=A_BYTES, w_bytes=W_BYTES) for m, n, k, _ in DENSE],
        [t for *_, t in DENSE],
        ("compute_efficiency", "k_half", "small_tile_efficiency", "overlap_exponent",
         "memory_efficiency"),
        0.05,
    ),
    "grouped_gemm": (
        [dict(m=g * m, n=n, k=k, groups=g, a_bytes=A_BYTES, w_bytes=W_BYTES)
         for g, m, n, k, _ in GROUPED],
        [t for *_, t in GROUPED],
        ("compute_efficiency", "k_half", "overlap_exponent", "memory_efficiency"),
        0.06,
    ),
}  # fmt: skip


def _device(cluster: str = "hgx-h800"):
    return _load_cluster(resolve("hardware", cluster)).device


@pytest.mark.parametrize("family_name", list(CASES))
def test_deepgemm_parameters_are_the_fit_of_gpu_md_2_1(family_name: str) -> None:
    device = _device()
    family = families()[family_name]
    shapes, tflops, names, median_bound = CASES[family_name]
    measured = np.array(
        [2 * s["m"] * s["n"] * s["k"] / (t * 1e12) for s, t in zip(shapes, tflops, strict=True)]
    )
    # The benchmarks ran at the H800's sustained clock: the efficiencies are shares of it.
    peak = 1979e12 * device.engines["sm"].clock
    facts = Facts(device.name, "sm", 132, 132, peak, device.hbm_bandwidth_bytes_per_s)
    stated = {k: v for k, (v, _) in kernel_params(device, family_name, "fp8_block").items()}

    def predicted(x) -> np.ndarray:
        return np.array([
            float(family.time({k: i.value for k, i in family.inputs(s, facts).items()}
                              | stated | dict(zip(names, x, strict=True))).total_s)
            for s in shapes
        ])  # fmt: skip

    start = [stated[n] for n in names]
    errors = np.abs(predicted(start) / measured - 1)
    assert np.median(errors) < median_bound
    low = [family.param(n).low for n in names]
    high = [family.param(n).high for n in names]
    fit = least_squares(lambda x: np.log(predicted(x) / measured), start, bounds=(low, high))
    for name, value in zip(names, fit.x, strict=True):
        assert stated[name] == pytest.approx(value, rel=0.03), name


def test_the_h100_takes_the_h800s_deepgemm_fit() -> None:
    h800, h100 = _device("hgx-h800"), _device("hgx-h100")
    for family in ("gemm", "grouped_gemm"):
        a = kernel_params(h800, family, "fp8_block")
        b = kernel_params(h100, family, "fp8_block")
        assert a["compute_efficiency"][0] == b["compute_efficiency"][0]
        assert "calibration/h800-sxm.yaml" in b["compute_efficiency"][1]


def test_a_scale_out_tier_states_its_exchange_share() -> None:
    """DeepEP over RDMA sustains 0.89 of the NIC (gpu.md §2.3), not the NVLink share fitted on
    the H200: the tier's figure replaces the kernel's, and explain cites it."""
    from cmperf.api import estimate
    from cmperf.cost import cost_params

    e = estimate("deepseek-h800-decode")
    op = next(r for r in e.decode.ops if r.op.name == "dispatch")
    params = cost_params(op.op, e.scenario.cluster, op.stream_spec)
    assert params["bandwidth_efficiency"].value == 0.89
    assert "scale_out.exchange_efficiency" in params["bandwidth_efficiency"].source()
