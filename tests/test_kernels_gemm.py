"""The dense GEMM family: one formula on floats, arrays and symbols; neutral = roofline; waves."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import sympy

from cmperf.kernels import data as D
from cmperf.kernels import fit as F
from cmperf.kernels.base import Facts
from cmperf.kernels.gemm import Gemm

CALIBRATION = Path(__file__).parents[2] / "shared/calibration"
PEAK = {"bf16": 989e12, "fp8": 1979e12, "fp8_block": 1979e12}
BOUNDS = {"bf16": (10.0, 30.0), "fp8": (15.0, 50.0), "fp8_block": (15.0, 50.0)}
FAMILY = Gemm()
FITTED = FAMILY.neutral() | {
    "fixed_s": 2.7e-6,
    "split_fixed_s": 2.6e-6,
    "compute_efficiency": 0.78,
    "small_tile_efficiency": 0.99,
    "k_half": 150.0,
    "memory_efficiency": 0.86,
    "overlap_exponent": 2.7,
}


def h200(dtype: str = "bf16") -> Facts:
    return Facts("h200-sxm", "sm", 132, 132, PEAK[dtype], 4.8e12, 450e9, 2e-6, "nvlink")


def timed(shape: dict, params: dict, ideal: bool = False, facts: Facts | None = None):
    v = {k: i.value for k, i in FAMILY.inputs(shape, facts or h200()).items()}
    return FAMILY.time(v | params, ideal)


def test_floats_arrays_and_symbols_agree() -> None:
    ms = [1.0, 7.5, 100.0, 4097.0]
    floats = [timed({"m": m, "n": 4096.0, "k": 7168.0}, FITTED).total_s for m in ms]
    array = timed({"m": np.array(ms), "n": 4096.0, "k": 7168.0}, FITTED).total_s
    assert np.allclose(array, floats, rtol=1e-12)
    m = sympy.Symbol("m", positive=True)
    expr = timed({"m": m, "n": 4096.0, "k": 7168.0}, FITTED).total_s
    for value, want in zip(ms, floats, strict=True):
        assert float(expr.subs(m, value)) == pytest.approx(want, rel=1e-9)


def test_neutral_params_give_the_roofline() -> None:
    neutral = FAMILY.neutral()
    # 12 x 11 tiles of 128 x 256 fill the 132 SMs exactly: no partial wave, no padding.
    for k in (64.0, 16384.0):
        shape = {"m": 1536.0, "n": 2816.0, "k": k}
        t = timed(shape, neutral)
        flop = 2 * 1536 * 2816 * k
        bytes_ = (1536 * k + k * 2816 + 1536 * 2816) * 2.0
        roofline = max(flop / 989e12, bytes_ / 4.8e12)
        assert t.total_s == pytest.approx(roofline, rel=1e-12)
        assert timed(shape, neutral, ideal=True).total_s == pytest.approx(roofline, rel=1e-12)


def test_ideal_is_never_slower_than_calibrated() -> None:
    m = np.array([1.0, 3.0, 64.0, 129.0, 1000.0, 8192.0])
    for n, k in ((32.0, 65536.0), (4096.0, 7168.0), (65536.0, 128.0)):
        shape = {"m": m, "n": n, "k": k, "groups": 2.0}
        assert np.all(timed(shape, FITTED, True).total_s <= timed(shape, FITTED).total_s)
        assert np.all(timed(shape, FITTED, True).total_s <= timed(shape, FAMILY.neutral()).total_s)


def test_a_partial_wave_costs_a_whole_one() -> None:
    # One tile shape (128 x 256) and no split-K: 132 tiles are one wave, 143 two.
    one_tile = {"tile_m_small": 128.0, "tile_n_narrow": 256.0, "tile_n": 256.0}
    params = FAMILY.neutral() | one_tile | {"split_fixed_s": 1.0}
    full = timed({"m": 1536.0, "n": 2816.0, "k": 65536.0}, params).compute_s
    more = timed({"m": 1536.0 + 1.0, "n": 2816.0, "k": 65536.0}, params).compute_s
    assert more == pytest.approx(2 * full, rel=1e-12)
    # with every tile shape the library escapes to smaller tiles: 25 x 44 tiles of 64 x 64
    # are 9 waves of an eighth of the time
    no_split = FAMILY.neutral() | {"split_fixed_s": 1.0}
    escaped = timed({"m": 1537.0, "n": 2816.0, "k": 65536.0}, no_split).compute_s
    assert escaped == pytest.approx(9 / 8 * full, rel=1e-12)
    # groups multiply the tiles: two groups of a full wave are two waves.
    two = timed({"m": 1536.0, "n": 2816.0, "k": 65536.0, "groups": 2.0}, params).compute_s
    assert two == pytest.approx(2 * full, rel=1e-12)
    # fractional m pads to the next tile like a whole row
    frac = timed({"m": 1536.5, "n": 2816.0, "k": 65536.0}, params).compute_s
    assert frac == pytest.approx(more, rel=1e-12)


def test_short_k_and_split_k() -> None:
    # k_half lowers a tile's rate at short k; split-K fills the SMs when m x n gives one tile.
    base = FAMILY.neutral() | {"split_fixed_s": 1.0}
    short = base | {"k_half": 256.0}
    s = {"m": 1536.0, "n": 2816.0, "k": 256.0}
    assert timed(s, short).compute_s == pytest.approx(2 * timed(s, base).compute_s, rel=1e-12)
    skinny = {"m": 64.0, "n": 64.0, "k": 65536.0}
    no_split = timed(skinny, base).total_s
    split = timed(skinny, FAMILY.neutral()).total_s
    assert split == pytest.approx(no_split / 16, rel=1e-12)
    assert math.isfinite(split)


def test_held_out_fit_meets_the_bounds() -> None:
    path = CALIBRATION / "h200/gemm.csv"
    if not path.exists():
        pytest.skip("calibration data absent")
    source = FAMILY.sources[0]
    table = D.load_table(path, FAMILY, source)
    variant = np.array([D.variant_of(FAMILY, source, row) for row in table.raw])
    for dtype, (median_bound, p90_bound) in BOUNDS.items():
        mask = variant == dtype
        columns = {
            k: (np.asarray(c)[mask] if not isinstance(c, list) else list(np.asarray(c)[mask]))
            for k, c in table.columns.items()
        }
        rows = [r for r, keep in zip(table.rows, mask, strict=True) if keep]
        group = F.Group(
            FAMILY,
            dtype,
            FAMILY.shape_from_columns(columns),
            table.latency_s[mask],
            h200(dtype),
            rows,
            table.file,
        )
        hold = np.random.default_rng(0).random(len(rows)) < 0.3
        params = F.fit([F.subset(group, ~hold)])
        held = F.subset(group, hold)
        errors = F.summary(F.predict(held, params), held.latency_s)
        assert errors["median_abs_pct_error"] <= median_bound, (dtype, errors)
        assert errors["p90_abs_pct_error"] <= p90_bound, (dtype, errors)
