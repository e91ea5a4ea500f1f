"""The deployment layer: pools of prefill and decode instances, a context cache and a workload
(ref §3, §4.7), composed from the per-instance estimates, which it leaves unchanged."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from cmperf.api import estimate
from cmperf.cli import app
from cmperf.deployment import erlang_c, wait_quantile_s

SERVING = "cloudmatrix384-serving"


def _deployment(*sets: str):
    return estimate(SERVING, sets).deployment


def test_the_ttft_breakdown_adds_up() -> None:
    d = _deployment("deployment.workload.reuse=0.5")
    assert set(d.ttft_breakdown_s) == {"cache_fetch", "prefill", "kv_transfer", "first_decode_step"}
    assert sum(d.ttft_breakdown_s.values()) == pytest.approx(d.ttft_s, rel=1e-12)
    assert all(t > 0 for t in d.ttft_breakdown_s.values())


def test_the_instances_are_the_shipped_ones_unchanged() -> None:
    """Adding the deployment layer changes no per-instance figure."""
    serving = estimate(SERVING)
    prefill = estimate("cloudmatrix384-prefill").prefill
    assert serving.prefill.throughput_tokens_per_s_per_device == pytest.approx(
        prefill.throughput_tokens_per_s_per_device, rel=1e-12
    )
    decode = estimate("cloudmatrix384-decode", ["decode.kv_len=4224"]).decode
    assert serving.decode.tpot_s == pytest.approx(decode.tpot_s, rel=1e-12)
    assert estimate("cloudmatrix384-decode").deployment is None


def test_pools_bound_the_deployment_and_the_balanced_ratio() -> None:
    d = _deployment()
    prefill, decode = d.requests_per_s["prefill"], d.requests_per_s["decode"]
    devices = sum(d.devices.values())
    assert devices == 6 * 16 + 160
    assert d.throughput_tokens_per_s_per_device == pytest.approx(
        min(prefill, decode) * 256 / devices
    )
    # Balanced: the decode instance's requests/s over one prefill instance's.
    assert d.prefill_to_decode_ratio == pytest.approx(decode / (prefill / 6))


def test_reuse_speeds_prefill_up_and_ub_beats_vpc() -> None:
    curve = dict(_deployment().prefill_speedup_vs_reuse)
    assert curve[0.0] == 1.0
    speedups = [curve[r] for r in sorted(curve)]
    assert speedups == sorted(speedups)
    vpc = dict(_deployment("deployment.cache=vpc").prefill_speedup_vs_reuse)
    assert vpc[0.9] < curve[0.9]


def test_erlang_c_and_the_waiting_tail() -> None:
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert wait_quantile_s(0.9, 2, 10.0, 0.01) == 0.0  # light load: most never wait
    assert wait_quantile_s(0.9, 1, 99.0, 0.01) > wait_quantile_s(0.9, 1, 90.0, 0.01) > 0
    assert math.isinf(wait_quantile_s(0.5, 1, 100.0, 0.01))


def test_ttft_percentiles_rise_with_load_and_diverge_at_capacity() -> None:
    capacity = _deployment().requests_per_s["prefill"]
    previous = 0.0
    for share in (0.2, 0.6, 0.9, 0.99):
        load = _deployment(f"deployment.workload.arrival_rate={capacity * share!r}").load
        q = load["ttft_quantiles_s"]
        assert q["p50"] <= q["p90"] <= q["p99"]
        assert q["p90"] >= previous
        previous = q["p90"]
    beyond = _deployment(f"deployment.workload.arrival_rate={capacity * 1.01!r}").load
    assert math.isinf(beyond["ttft_quantiles_s"]["p50"])


def test_the_json_deployment_object() -> None:
    result = CliRunner().invoke(
        app,
        ["estimate", SERVING, "--no-ops", "-f", "json", "--set",
         "deployment.workload.arrival_rate=50"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)["deployment"]
    for key in (
        "ttft_s",
        "ttft_breakdown",
        "ttft_p90_s",
        "tpot_s",
        "throughput_tokens_per_s_per_device",
        "prefill_to_decode_ratio",
        "prefill_throughput_vs_reuse",
    ):
        assert key in d, key
    assert {"reuse", "speedup"} == set(d["prefill_throughput_vs_reuse"][0])


def test_bad_deployment_input_is_one_line() -> None:
    from cmperf.errors import SpecError

    with pytest.raises(SpecError, match=r"deployment.cache"):
        estimate(SERVING, ["deployment.cache=nvme"])
    with pytest.raises(SpecError, match=r"deployment.workload.reuse"):
        estimate(SERVING, ["deployment.workload.reuse=1.5"])
    with pytest.raises(SpecError, match=r"needs both a prefill and a decode"):
        estimate("cloudmatrix384-decode", ["deployment={prefill_instances: 2}"])


# ref §4.7: x1.42 at 50 % reuse, x2.28 at 90 %, UB about x1.52 faster than VPC. The model prices
# the cached prefix's compute saved and its KV fetched at the pool's bandwidth; the paper's
# speedups are much smaller than the compute saved (x1.71 and x6.2 in the model) and the pool
# path costs far more than its bandwidth says (UB x1.17 over VPC at 90 % in the model): EMS's
# own software path (block lookup, copies through host memory) is not measured anywhere, so
# no operator figure sizes it.
REUSE_GAP = "known gap: the EMS cache path's own costs are not measured (see above)"


@pytest.mark.xfail(strict=True, reason=REUSE_GAP)
@pytest.mark.parametrize(("reuse", "published"), [(0.5, 1.42), (0.9, 2.28)])
def test_context_caching_speedups_of_ref_4_7(reuse: float, published: float) -> None:
    curve = dict(_deployment().prefill_speedup_vs_reuse)
    assert curve[reuse] == pytest.approx(published, rel=0.15)


@pytest.mark.xfail(strict=True, reason=REUSE_GAP)
def test_ub_against_vpc_of_ref_4_7() -> None:
    ub = dict(_deployment().prefill_speedup_vs_reuse)[0.9]
    vpc = dict(_deployment("deployment.cache=vpc").prefill_speedup_vs_reuse)[0.9]
    assert ub / vpc == pytest.approx(1.52, rel=0.20)


def test_the_arrival_rate_that_breaks_a_ttft_slo() -> None:
    d = _deployment("deployment.workload.ttft_slo=3.5s")
    rate = d.slo_arrival_rate_per_s
    assert 0 < rate < d.requests_per_s["prefill"]
    at = _deployment(
        "deployment.workload.ttft_slo=3.5s", f"deployment.workload.arrival_rate={rate!r}"
    )
    assert at.load["ttft_quantiles_s"]["p90"] == pytest.approx(3.5, rel=1e-3)
    assert _deployment("deployment.workload.ttft_slo=1s").slo_arrival_rate_per_s == 0.0


def test_the_best_split_of_a_device_budget() -> None:
    from cmperf.deployment import best_splits
    from cmperf.specs import load_scenario

    s = load_scenario(SERVING)
    r = best_splits(s, 256, ttft_slo_s=5.0, tpot_slo_s=0.05)
    assert r.slo_ok and r.best.devices <= 256
    assert (r.best.prefill_instances, r.best.decode_instances) == (6, 1)  # the paper's split
    assert [x.requests_per_s for x in r.splits] == sorted(
        (x.requests_per_s for x in r.splits), reverse=True
    )
    big = best_splits(s, 1024)
    assert big.best.bound == "decode" and big.best.prefill_instances > 40
    assert not best_splits(s, 256, tpot_slo_s=0.03).slo_ok


def test_sweep_of_a_deployment_command() -> None:
    out = CliRunner().invoke(app, ["sweep", SERVING, "--format", "json"])
    assert out.exit_code == 0, out.output
    record = json.loads(out.output)
    assert record["schema"] == "cmperf.split/1" and record["best"]["prefill_instances"] == 6
    refused = CliRunner().invoke(app, ["sweep", SERVING, "--tpot-slo", "30ms"])
    assert refused.exit_code == 1 and "no split meets the SLOs" in refused.output
