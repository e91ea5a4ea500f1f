"""The grouped expert GEMM and the MoE layer kernel families (cmperf/kernels/moe.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sympy

from cmperf.kernels import data as D
from cmperf.kernels import fit as F
from cmperf.kernels.base import Facts
from cmperf.kernels.moe import GroupedGemm, Moe

CALIBRATION = Path(__file__).parents[2] / "shared/calibration"
FP8 = 1979e12


def h200(peak: float = FP8) -> Facts:
    return Facts("h200-sxm", "sm", 132, 132, peak, 4.8e12)


def values(family, shape, params):
    return {k: i.value for k, i in family.inputs(shape, h200()).items()} | dict(params)


GG_SHAPE = {"m": 256.0, "n": 4096.0, "k": 7168.0, "groups": 4.0, "a_bytes": 1.0, "w_bytes": 1.0}
MOE_SHAPE = {
    "tokens": 512.0,
    "hidden": 7168.0,
    "inter": 2048.0,
    "topk": 8.0,
    "experts": 256.0,
    "ep": 8.0,
}


def fitted(family):
    p = family.neutral() | {x.name: x.fit_start for x in family.params}
    return p | {"overlap_exponent": 4.0}


@pytest.mark.parametrize("family,shape", [(GroupedGemm(), GG_SHAPE), (Moe(), MOE_SHAPE)])
def test_floats_arrays_symbols_agree(family, shape):
    params = fitted(family)
    scalar = family.time(values(family, shape, params)).total_s
    arr = {k: np.array([v, v]) for k, v in shape.items()}
    array = family.time(values(family, arr, params)).total_s
    assert np.allclose(array, scalar)
    symbols = {k: sympy.Symbol(k, positive=True) for k in shape}
    expr = family.time(values(family, symbols, params)).total_s
    assert float(expr.subs({symbols[k]: v for k, v in shape.items()})) == pytest.approx(scalar)


def test_grouped_gemm_neutral_is_roofline():
    fam = GroupedGemm()
    # tile-aligned: 128 experts x 64 rows, n a multiple of 128, tiles a multiple of 132 SMs
    shape = {
        "m": 64.0 * 132,
        "n": 128.0 * 4,
        "k": 7168.0,
        "groups": 132.0,
        "a_bytes": 1.0,
        "w_bytes": 1.0,
    }
    v = values(fam, shape, fam.neutral())
    t = fam.time(v)
    flop = 2 * shape["m"] * shape["n"] * shape["k"]
    assert t.compute_s == pytest.approx(flop / FP8)
    assert t.total_s == pytest.approx(max(flop / FP8, v["B"] / 4.8e12))
    assert fam.time(v, ideal=True).total_s == pytest.approx(t.total_s)


@pytest.mark.parametrize("family,shape", [(GroupedGemm(), GG_SHAPE), (Moe(), MOE_SHAPE)])
def test_ideal_not_above_calibrated(family, shape):
    params = fitted(family)
    v = values(family, shape, params)
    assert family.time(v, ideal=True).total_s <= family.time(v).total_s


def test_partial_wave_costs_a_whole_one():
    fam = GroupedGemm()
    params = fam.neutral() | {"compute_efficiency": 0.5}
    base = {"n": 128.0, "k": 7168.0, "groups": 132.0, "a_bytes": 1.0, "w_bytes": 1.0}
    full = fam.time(values(fam, base | {"m": 64.0 * 132}, params)).compute_s
    one_row_more = fam.time(values(fam, base | {"m": 64.0 * 132 + 132}, params)).compute_s
    assert one_row_more == pytest.approx(2 * full)  # 65 rows per expert: a second tile each
    half = fam.time(values(fam, base | {"m": 32.0 * 132}, params)).compute_s
    assert half == pytest.approx(full)  # a half-filled tile costs a whole one


def test_moe_work_per_slot():
    fam = Moe()
    params = fitted(fam)
    ep8 = fam.time(values(fam, MOE_SHAPE, params)).total_s
    ep256 = fam.time(values(fam, MOE_SHAPE | {"ep": 256.0}, params)).total_s
    assert ep256 < ep8 < 32 * ep256  # masked slots still cost


def test_held_out_fit_meets_bound():
    path = CALIBRATION / "h200/moe.csv"
    if not path.exists():
        pytest.skip("calibration data absent")
    fam = Moe()
    table = D.load_table(path, fam, fam.sources[0])
    shape = fam.shape_from_columns(table.columns)
    group = F.Group(fam, "fp8_block", shape, table.latency_s, h200(), table.rows, table.file)
    n = len(table.latency_s)
    mask = np.zeros(n, bool)
    mask[np.random.default_rng(0).permutation(n)[: round(0.7 * n)]] = True
    params = F.fit([F.subset(group, mask)])
    held = F.subset(group, ~mask)
    s = F.summary(F.predict(held, params), held.latency_s)
    assert s["median_abs_pct_error"] <= 15.0
    assert s["p90_abs_pct_error"] <= 50.0
