"""Communication kernel families: DeepEP dispatch / combine and the NCCL collectives."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from cmperf.formulas.comm import expected_peers, transfer_time_s
from cmperf.kernels import data as D
from cmperf.kernels import fit as F
from cmperf.kernels.base import Facts
from cmperf.kernels.collective import (
    FAMILIES,
    Combine,
    Dispatch,
    low_latency_sms,
    ranks_per_token,
)

CALIBRATION = Path(__file__).parents[2] / "shared/calibration"
# As cmperf calibrate gives an exchange measured alone: no stream's cores (cores=0), so the
# kernel runs on its own launch configuration (the CSV's SM counts).
FACTS = Facts(
    device="h200-sxm",
    engine="link",
    cores=0,
    cores_total=132,
    peak_flop_per_s=989e12,
    hbm_bytes_per_s=4.8e12,
    link_bytes_per_s=450e9,
    link_latency_s=2e-6,
    link="nvlink",
)
BY_NAME = {f.name: f for f in FAMILIES}
EXCHANGE_SHAPE = {"tokens": 128.0, "hidden": 7168.0, "topk": 8.0, "experts": 256.0, "ep": 8.0}
COLLECTIVE_SHAPE = {"ranks": 8.0, "message_bytes": 2.0**24}
# (family, variant) -> (median, p90) bound on the held-out 30 %, in percent
BOUNDS = {
    ("dispatch", "normal"): (12, 30),
    ("combine", "normal"): (12, 30),
    ("dispatch", "low_latency"): (20, 50),
    ("combine", "low_latency"): (20, 50),
    **{(name, "default"): (12, 30) for name in ("all_reduce", "all_gather", "reduce_scatter")},
    ("all_to_all", "default"): (12, 30),
}


def _shape(family):
    return EXCHANGE_SHAPE if family.name in ("dispatch", "combine") else COLLECTIVE_SHAPE


def _values(family, shape, params):
    return {k: i.value for k, i in family.inputs(shape, FACTS).items()} | dict(params)


def _calibrated(family):
    """Plausible non-neutral parameters (fit starts, finite)."""
    return {p.name: p.fit_start for p in family.params}


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_floats_arrays_and_symbols_agree(family):
    shape = _shape(family)
    params = _calibrated(family)
    scalar = family.time(_values(family, shape, params)).total_s
    arrays = {k: np.array([v, v]) for k, v in shape.items()}
    vector = family.time(_values(family, arrays, params)).total_s
    assert np.allclose(vector, scalar, rtol=1e-12)
    symbols = {k: sp.Symbol(k, positive=True) for k in _values(family, shape, params)}
    expr = family.time(symbols).total_s
    value = float(expr.subs({symbols[k]: v for k, v in _values(family, shape, params).items()}))
    assert value == pytest.approx(scalar, rel=1e-9)


@pytest.mark.parametrize("family", [Dispatch(), Combine()], ids=lambda f: f.name)
def test_exchange_neutral_is_the_link_model(family):
    """Neutral parameters and device overheads: exactly transfer_time_s."""
    shape = dict(EXCHANGE_SHAPE)
    device = {"fixed_s": 74.5e-6, "per_peer_s": 0.8e-6}
    v = _values(family, shape, family.neutral() | device)
    per_token = family.message_bytes_per_token(shape["hidden"])
    sent = shape["tokens"] * shape["topk"] * 7 / 8 * per_token
    peers = expected_peers(8.0, shape["tokens"], shape["topk"])
    expected = transfer_time_s(sent, 450e9, 2e-6, peers, 0.8e-6, 74.5e-6)
    assert family.time(v).total_s == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", ["all_reduce", "all_gather", "reduce_scatter", "all_to_all"])
def test_collective_neutral_is_bytes_over_bandwidth(name):
    family = BY_NAME[name]
    n, size = 8.0, 2.0**24
    fraction = 2 * (n - 1) / n if name == "all_reduce" else (n - 1) / n
    v = _values(family, {"ranks": n, "message_bytes": size}, family.neutral())
    assert family.time(v).total_s == pytest.approx(2e-6 + fraction * size / 450e9, rel=1e-12)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_ideal_is_a_lower_bound(family):
    shape = _shape(family)
    v = _values(family, shape, _calibrated(family))
    ideal = family.time(v, ideal=True)
    assert ideal.total_s == pytest.approx(v["L"] + v["B"] / v["BW"])
    assert ideal.total_s <= family.time(v).total_s
    assert ideal.total_s <= family.time(_values(family, shape, family.neutral())).total_s


def test_few_sms_cannot_drive_the_link():
    """An SM-bound kernel: a partial round of tokens costs a whole one, more SMs go faster
    until the link bounds the time."""
    family = Dispatch()
    params = _calibrated(family) | {"bandwidth_per_sm": 20e9, "per_token_s": 1e-6}

    def t(tokens, sms):
        shape = EXCHANGE_SHAPE | {"tokens": tokens, "sms": sms}
        return family.time(_values(family, shape, params)).total_s

    assert t(17.0, 16.0) - t(16.0, 16.0) > 0.9e-6  # a 17th token starts a second round
    assert t(4096.0, 4.0) > t(4096.0, 8.0) > t(4096.0, 24.0)
    big = EXCHANGE_SHAPE | {"tokens": 2.0**16, "sms": 1e6}
    v = _values(family, big, params)
    assert family.time(v).total_s >= v["B"] / (v["BW"] * params["bandwidth_efficiency"])


def test_grid_and_destinations():
    assert [low_latency_sms(e) for e in (8, 16, 128, 160, 256, 512)] == [8, 16, 128, 80, 128, 128]
    assert ranks_per_token(8, 2, 8) == pytest.approx(2.0)  # one expert per rank
    assert ranks_per_token(8, 1, 256) == pytest.approx(1.0)
    assert 5.0 < ranks_per_token(8, 8, 256) < 8 * (1 - (7 / 8) ** 8) + 0.1


def _groups(family):
    out = []
    for source in family.sources:
        table = D.load_table(CALIBRATION / "h200" / f"{source.stem}.csv", family, source)
        shape = family.shape_from_columns(table.columns)
        variant = D.variant_of(family, source, table.raw[0])
        out.append(F.Group(family, variant, shape, table.latency_s, FACTS, table.rows, table.file))
    return out


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_held_out_fit_meets_the_bound(family):
    if not (CALIBRATION / "h200").is_dir():
        pytest.skip("shared/calibration is absent")
    for group in _groups(family):
        n = len(group.latency_s)
        mask = np.zeros(n, dtype=bool)
        mask[np.random.default_rng(0).permutation(n)[: round(0.7 * n)]] = True
        params = F.fit([F.subset(group, mask)])
        held = F.subset(group, ~mask)
        s = F.summary(F.predict(held, params), held.latency_s)
        median, p90 = BOUNDS[(family.name, group.variant)]
        assert s["median_abs_pct_error"] <= median, (group.variant, s)
        assert s["p90_abs_pct_error"] <= p90, (group.variant, s)
        assert all(math.isfinite(v) for v in params.values() if v != math.inf)
