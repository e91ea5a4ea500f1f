"""Attention kernel families: formula on floats, arrays and symbols; roofline; fit quality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cmperf.kernels import data as D
from cmperf.kernels import fit as F
from cmperf.kernels.attention import AttentionDecode, AttentionPrefill
from cmperf.kernels.base import Facts

CALIBRATION = Path(__file__).parents[2] / "shared/calibration"
PEAK = {"bf16": 989e12, "fp8": 1979e12}
DECODE, PREFILL = AttentionDecode(), AttentionPrefill()


def h200(dtype: str = "bf16") -> Facts:
    return Facts("h200-sxm", "sm", 132, 132, PEAK[dtype], 4.8e12)


def calibrated(family):
    return family.neutral() | {p.name: p.fit_start for p in family.params}


def values(family, shape, params):
    v = {k: i.value for k, i in family.inputs(shape, h200()).items()}
    return v | params


DECODE_SHAPE = {"batch": 64.0, "heads": 128.0, "kv_len": 4096.0}
PREFILL_SHAPE = {"batch": 2.0, "heads": 16.0, "seq_len": 2048.0, "kv_heads": 1.0}


@pytest.mark.parametrize(
    ("family", "shape", "key"),
    [(DECODE, DECODE_SHAPE, "L"), (PREFILL, PREFILL_SHAPE, "S")],
)
def test_floats_arrays_symbols_agree(family, shape, key):
    import sympy

    params = calibrated(family)
    v = values(family, shape, params)
    scalar = family.time(v).total_s
    arr = family.time(v | {key: np.array([v[key], 2 * v[key]])}).total_s
    assert arr[0] == pytest.approx(scalar, rel=1e-12)
    sym = {k: sympy.Symbol(k, positive=True) for k in v}
    expr = family.time(sym).total_s
    exact = {sym[k]: sympy.Float(x) for k, x in v.items()}
    assert float(expr.subs(exact)) == pytest.approx(scalar, rel=1e-9)
    assert float(family.time(sym, ideal=True).total_s.subs(exact)) == pytest.approx(
        family.time(v, ideal=True).total_s, rel=1e-9
    )


def test_decode_neutral_is_roofline():
    # 64 heads fill one 64-row block, one 64-token block per sequence, 1320 sequences over 132
    # SMs: no padding, no split, so neutral parameters give max(F / P, B / BW).
    shape = {"batch": 1320.0, "heads": 64.0, "kv_len": 64.0}
    v = values(DECODE, shape, DECODE.neutral())
    t = DECODE.time(v).total_s
    flop = 2 * 1320 * 64 * 64 * (576 + 512)
    bytes_ = 1320 * 64 * 576 * 2 + 1320 * 64 * (576 + 512) * 2
    assert t == pytest.approx(max(flop / 989e12, bytes_ / 4.8e12), rel=1e-12)
    assert DECODE.time(v, ideal=True).total_s == pytest.approx(t, rel=1e-12)


def test_prefill_neutral_is_roofline_up_to_tiling():
    # Long causal prefill, many tiles: neutral parameters give the causal roofline within the
    # block-level staircase of the diagonal (blocks of 64 of 16384 tokens: < 1 %).
    shape = {"batch": 4.0, "heads": 132.0, "seq_len": 16384.0}
    v = values(PREFILL, shape, PREFILL.neutral())
    assert PREFILL.time(v).total_s == pytest.approx(PREFILL.time(v, ideal=True).total_s, rel=0.01)


@pytest.mark.parametrize(("family", "shape"), [(DECODE, DECODE_SHAPE), (PREFILL, PREFILL_SHAPE)])
def test_ideal_below_calibrated(family, shape):
    v = values(family, shape, calibrated(family))
    assert family.time(v, ideal=True).total_s <= family.time(v).total_s


def test_decode_heads_pad_to_a_block():
    # 1 and 64 query heads use the same 64-row block: compute is the same.
    p = calibrated(DECODE)
    shape = DECODE_SHAPE | {"batch": 132.0}
    one = DECODE.time(values(DECODE, shape | {"heads": 1.0}, p)).compute_s
    full = DECODE.time(values(DECODE, shape | {"heads": 64.0}, p)).compute_s
    two = DECODE.time(values(DECODE, shape | {"heads": 65.0}, p)).compute_s
    assert one == pytest.approx(full) and two == pytest.approx(2 * full)


def test_prefill_partial_wave_costs_a_whole_one():
    # One-token prefills: 132 tiles are one wave, 133 tiles two.
    p = calibrated(PREFILL)
    t = [
        PREFILL.time(values(PREFILL, {"batch": b, "heads": 1.0, "seq_len": 1.0}, p)).compute_s
        for b in (1.0, 132.0, 133.0)
    ]
    assert t[0] == pytest.approx(t[1]) and t[2] == pytest.approx(2 * t[1])


def _groups(family, stem):
    path = CALIBRATION / "h200" / f"{stem}.csv"
    if not path.exists():
        pytest.skip("calibration data absent")
    src = family.sources[0]
    table = D.load_table(path, family, src)
    variant = np.array([D.variant_of(family, src, r) for r in table.raw])
    for name in sorted(set(variant)):
        m = variant == name
        cols = {
            k: (np.asarray(c)[m] if not isinstance(c, list) else list(np.asarray(c)[m]))
            for k, c in table.columns.items()
        }
        rows = [r for r, keep in zip(table.rows, m, strict=True) if keep]
        facts = h200(name.split("/")[0])
        shape = family.shape_from_columns(cols)
        yield name, F.Group(family, name, shape, table.latency_s[m], facts, rows, table.file)


@pytest.mark.parametrize(("family", "stem"), [(DECODE, "mla_decode"), (PREFILL, "mla_prefill")])
def test_held_out_fit_meets_acceptance(family, stem):
    for _name, group in _groups(family, stem):
        keep = np.random.default_rng(0).random(len(group.latency_s)) < 0.7
        params = F.fit([F.subset(group, keep)])
        held = F.subset(group, ~keep)
        s = F.summary(F.predict(held, params), held.latency_s)
        assert s["median_abs_pct_error"] <= 10.0
        assert s["p90_abs_pct_error"] <= 30.0
