"""The deployment layer: pools of prefill and decode instances, a context cache and a workload
(ref §3, §4.7), composed from the per-instance estimates, which it leaves unchanged."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from cmperf.api import estimate
from cmperf.cli import app
from cmperf.formulas.queueing import erlang_c, wait_quantile_s

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
    assert 0 < erlang_c(5000, 4900.0) < 1  # many servers: no factorial overflow
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
    assert beyond["ttft_quantiles_s"] is None and beyond["overloaded"] == ["prefill"]


def test_varied_prompt_lengths_queue_longer_m_g_c() -> None:
    """Service times that vary with the prompts' lengths (M/G/c) wait longer than alike ones
    (M/D/c) at the same load, and the report says which queue it used."""
    capacity = _deployment().requests_per_s["prefill"]
    rate = f"deployment.workload.arrival_rate={0.95 * capacity!r}"
    alike = _deployment(rate).load
    varied = _deployment(rate, "deployment.workload.input_len_cv=0.8").load
    assert varied["ttft_quantiles_s"]["p99"] > alike["ttft_quantiles_s"]["p99"]
    assert alike["model"].startswith("M/D/c") and varied["model"].startswith("M/G/c")
    assert "0.8" in varied["model"]


def test_decode_at_load_runs_the_batch_the_load_fills() -> None:
    """Decode holds rate x output_len x TPOT sequences (Little's law), at the TPOT of the
    batch that holds them: a light load runs small, fast steps; more load, bigger steps."""
    full = _deployment()
    light = _deployment("deployment.workload.arrival_rate=20").load
    heavy = _deployment("deployment.workload.arrival_rate=140").load
    assert light["decode_tpot_s"] <= heavy["decode_tpot_s"] < full.tpot_s
    assert light["decode_sequences"] == pytest.approx(20 * 256 * light["decode_tpot_s"])
    per_device = heavy["decode_sequences"] / 160
    assert per_device <= math.ceil(per_device) and heavy["decode_occupancy"] < 1


def test_a_concurrency_sets_the_rate_by_littles_law() -> None:
    """N requests in flight: N = rate x (mean TTFT + (output_len - 1) x TPOT); past what the
    pools sustain, the rate is the slower pool's capacity and the queue grows."""
    d = _deployment("deployment.workload.concurrency=500")
    load = d.load
    rate, tpot = load["arrival_rate_per_s"], load["decode_tpot_s"]
    # Light load: almost no queueing, so the unloaded TTFT stands for the mean.
    assert rate * (d.ttft_s + 255 * tpot) == pytest.approx(500, rel=0.01)
    saturated = _deployment("deployment.workload.concurrency=100000")
    assert saturated.load["arrival_rate_per_s"] == pytest.approx(
        saturated.requests_per_s["prefill"], rel=1e-4
    )
    from cmperf.errors import SpecError

    with pytest.raises(SpecError, match="not both"):
        _deployment("deployment.workload.concurrency=5", "deployment.workload.arrival_rate=1")


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


# The context-caching figures of ref §4.7 (x1.42 and x2.28, UB x1.52 over VPC) are validation
# points (validation/cloudmatrix384.yaml: context-cache-50, context-cache-90, cache-ub-vs-vpc),
# known gaps held as strict expected failures by tests/test_validation.py.


def test_cold_start_reads_the_store_once_per_instance_or_once_in_all() -> None:
    """From the object store every instance reads the whole model, sharing the store's
    bandwidth; through the pool the store is read once and the pool's fan-out adds little."""
    from cmperf.api import model_weight_bytes
    from cmperf.specs import load_scenario

    s = load_scenario(SERVING)
    weights = model_weight_bytes(s)
    assert weights == pytest.approx(671e9, rel=0.01)  # ref §4.7: the 671 GB INT8 model
    store = s.cluster.object_store.bandwidth_bytes_per_s
    seven, fourteen = _deployment(), _deployment("deployment.prefill_instances=13")
    assert seven.cold_start_s["object_store"] == pytest.approx(7 * weights / store, rel=1e-9)
    assert fourteen.cold_start_s["object_store"] == pytest.approx(
        2 * seven.cold_start_s["object_store"], rel=1e-9
    )
    once = weights / store
    assert once < seven.cold_start_s["pool"] < 1.01 * once
    assert fourteen.cold_start_s["pool"] == pytest.approx(seven.cold_start_s["pool"], rel=1e-12)
    vpc = _deployment("deployment.cache=vpc").cold_start_s["pool"]
    assert vpc > seven.cold_start_s["pool"]  # the fan-out over the slower path


def test_the_object_store_bandwidth_is_the_one_derived_from_ref_4_7() -> None:
    """The spec's store bandwidth is ref §4.7's first cold start (8 instances x 671 GB in about
    2,560 s), the validation point that calibrates it: a test that fails if either drifts."""
    from cmperf.specs import load_scenario

    store = load_scenario(SERVING).cluster.object_store
    assert store.bandwidth_bytes_per_s == pytest.approx(8 * 671e9 / 2560, rel=1e-3)
    assert "cold-start-object-store" in store.source


def test_a_cluster_without_an_object_store_has_no_cold_start() -> None:
    d = _deployment("hardware.object_store=null")
    assert d.cold_start_s is None
    runner = CliRunner()
    out = runner.invoke(app, ["estimate", SERVING, "--format", "json"])
    assert json.loads(out.stdout)["deployment"]["cold_start_s"].keys() == {"object_store", "pool"}


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
    from cmperf.errors import InfeasibleError
    from cmperf.specs import load_scenario
    from cmperf.splits import best_splits

    s = load_scenario(SERVING)
    r = best_splits(s, 256, ttft_slo_s=5.0, tpot_slo_s=0.05)
    assert r.slo_ok and r.best.devices <= 256
    assert (r.best.prefill_instances, r.best.decode_instances) == (6, 1)  # the paper's split
    assert [x.goodput_per_s for x in r.splits] == sorted(
        (x.goodput_per_s for x in r.splits), reverse=True
    )
    # Goodput: what the split serves within the TTFT SLO, below what its pools sustain; a
    # tighter SLO serves less.
    assert all(0 < x.goodput_per_s < x.requests_per_s for x in r.splits)
    tight = best_splits(s, 256, ttft_slo_s=3.0, tpot_slo_s=0.05)
    assert tight.best.goodput_per_s < r.best.goodput_per_s
    big = best_splits(load_scenario(SERVING, ["hardware.nodes=128"]), 1024)
    assert big.best.bound == "decode" and big.best.prefill_instances > 40
    with pytest.raises(InfeasibleError, match="exceeds the 384"):
        best_splits(s, 1024)  # a budget beyond the cluster
    # TPOT is checked at the load the split takes: 30 ms is met at the small batch that 145
    # requests/s fill; under 15 ms not even one sequence per device meets it.
    at_load = best_splits(s, 256, tpot_slo_s=0.03)
    assert at_load.slo_ok and at_load.best.goodput_per_s == pytest.approx(
        r.best.goodput_per_s, rel=0.01
    )
    assert not best_splits(s, 256, tpot_slo_s=0.01).slo_ok
    # A TPOT SLO the decode batch meets only when small caps the goodput below capacity.
    capped = best_splits(load_scenario(SERVING, ["hardware.nodes=128"]), 1024, tpot_slo_s=0.02)
    assert capped.best.goodput_per_s < big.best.goodput_per_s


def test_sweep_of_a_deployment_command() -> None:
    out = CliRunner().invoke(app, ["sweep", SERVING, "--format", "json"])
    assert out.exit_code == 0, out.output
    record = json.loads(out.output)
    assert record["schema"] == "cmperf.split/1" and record["best"]["prefill_instances"] == 6
    refused = CliRunner().invoke(app, ["sweep", SERVING, "--tpot-slo", "10ms"])
    assert refused.exit_code == 1 and "no split meets the SLOs" in refused.output
    plot = CliRunner().invoke(app, ["sweep", SERVING, "--plot", "x.png"])
    assert plot.exit_code == 2 and "split search has none" in plot.output


def test_a_cluster_without_a_cache_pool_deploys_without_a_cache(tmp_path) -> None:
    """The H800 cluster states no cache pool: a deployment on it runs with nothing cached (no
    reuse curve), and asking it to reuse a prefix is infeasible, saying why."""
    from cmperf.errors import InfeasibleError
    from cmperf.specs import PACKAGE_DIR

    scenarios = PACKAGE_DIR / "scenarios"
    prefill = (scenarios / "deepseek-h800-prefill.yaml").read_text(encoding="utf-8")
    decode = (scenarios / "deepseek-h800-decode.yaml").read_text(encoding="utf-8")
    text = (
        prefill.replace("name: deepseek-h800-prefill", "name: h800-serving").replace(
            "nodes: 4}", "nodes: 32}"
        )
        + decode[decode.index("decode:") :]
        + "deployment: {prefill_instances: 4, workload: {output_len: 256}}\n"
    )
    path = tmp_path / "h800-serving.yaml"
    path.write_text(text, encoding="utf-8")
    d = estimate(str(path)).deployment
    assert d.prefill_speedup_vs_reuse == [] and d.cold_start_s is None
    assert d.ttft_breakdown_s["cache_fetch"] == 0.0 and d.requests_per_s["prefill"] > 0
    with pytest.raises(InfeasibleError, match="states no 'ub' path"):
        estimate(str(path), ["deployment.workload.reuse=0.5"])


def test_explain_shows_how_the_deployment_composes() -> None:
    result = CliRunner().invoke(
        app, ["explain", SERVING, "-f", "json", "--set", "deployment.workload.arrival_rate=50"]
    )
    assert result.exit_code == 0, result.output
    parts = {part["phase"]: part["lines"] for part in json.loads(result.stdout)}
    lines = {line["quantity"]: line["value"] for line in parts["deployment"]}
    parts_s = ("cache fetch", "prefill", "kv transfer", "first decode step")
    assert sum(lines[k] for k in parts_s) == pytest.approx(lines["TTFT (unloaded)"], rel=1e-12)
    d = _deployment("deployment.workload.arrival_rate=50")
    assert lines["TTFT p90 under load"] == d.load["ttft_quantiles_s"]["p90"]
    assert lines["cold start, through the pool"] == d.cold_start_s["pool"]
    assert lines["queue"] is None  # a descriptive line: the queue's assumptions


def test_a_null_deployment_leaves_the_instances() -> None:
    e = estimate(SERVING, ["deployment=null"])
    assert e.deployment is None and e.prefill is not None and e.decode is not None


def test_a_stated_pool_capacity_bounds_what_it_caches() -> None:
    """With the pool's capacity stated: a pool smaller than the model caches no model (cold
    start from the store only), and it holds capacity / (reused tokens x KV bytes) prefixes."""
    from cmperf.deployment import kv_bytes_per_token
    from cmperf.specs import load_scenario

    assert _deployment().pool is None  # the paper gives no DRAM size
    small = _deployment("hardware.cpu_pool.capacity=100GB", "deployment.workload.reuse=0.5")
    assert not small.pool["holds_model"] and set(small.cold_start_s) == {"object_store"}
    s = load_scenario(SERVING)
    prefix = 0.5 * 4096 * kv_bytes_per_token(s)
    assert small.pool["prefixes"] == pytest.approx(100e9 / prefix, rel=1e-12)
    big = _deployment("hardware.cpu_pool.capacity=50TB")
    assert big.pool["holds_model"] and "pool" in big.cold_start_s
    assert big.pool["prefixes"] is None  # nothing reused, nothing cached


def test_overload_is_reported_not_priced() -> None:
    """A rate at or over a pool's capacity queues without bound: no percentiles (JSON null),
    the pool named; decode receives what prefill passes on; the SLO rate is at most what
    decode sustains; an SLO under the unloaded TTFT is unreachable."""
    over = _deployment("deployment.workload.arrival_rate=200").load
    assert over["overloaded"] == ["prefill"] and over["ttft_quantiles_s"] is None
    result = CliRunner().invoke(
        app, ["estimate", SERVING, "--no-ops", "-f", "json", "--set",
              "deployment.workload.arrival_rate=1e9"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["deployment"]["ttft_p90_s"] is None
    many = ("hardware.nodes=144", "deployment.prefill_instances=60")
    assert _deployment(*many, "deployment.workload.arrival_rate=1400").load["overloaded"] == [
        "decode"
    ]
    d = _deployment(*many, "deployment.workload.ttft_slo=5s")
    assert d.slo_arrival_rate_per_s == d.requests_per_s["decode"]
    table = CliRunner().invoke(
        app, ["estimate", SERVING, "--no-ops", "--set", "deployment.workload.ttft_slo=1ms"]
    )
    assert "unreachable" in table.output


def test_a_closed_loop_bounds_the_wait() -> None:
    """N requests in flight: none waits longer than N service shares over the pool."""
    d = _deployment("deployment.workload.concurrency=100000")
    service = 1 / (d.requests_per_s["prefill"] / 6)
    assert d.load["ttft_quantiles_s"]["p99"] <= d.ttft_s + 100000 * service / 6 + 1e-9


def test_a_deployment_must_fit_its_cluster_and_hold_a_prompt() -> None:
    from cmperf.errors import InfeasibleError

    with pytest.raises(InfeasibleError, match="416 devices"):
        _deployment("deployment.decode_instances=2")
    with pytest.raises(InfeasibleError, match="at least 256"):
        _deployment("prefill.tokens_per_device=100")


def test_the_workload_is_checked_against_the_model() -> None:
    from cmperf.errors import SpecError
    from cmperf.specs import load_scenario
    from cmperf.specs.notes import take

    with pytest.raises(SpecError, match="context length"):
        _deployment("deployment.workload.output_len=1000000")
    take()
    load_scenario(SERVING, ["deployment.workload.output_len=4096"])
    assert any("decode.kv_len" in n for n in take())  # priced at 4,224, the workload's 6,144
    load_scenario(SERVING)
    assert not take()


def test_a_gqa_model_deploys_and_reuses_its_prefix(tmp_path) -> None:
    """Cached prefixes are priced for GQA attention too (read from the KV cache, attended to,
    not computed)."""
    text = """
name: qwen3-serving
hardware: cloudmatrix384
model: qwen3-235b-a22b
quantization: {weights: int8, activations: int8, kv_cache: int8, dispatch: int8,
  combine: bf16}
prefill: {devices: 32, ep: 64, tokens_per_device: 16384, input_len: 4096, attention_tp: 8,
  microbatches: 2}
decode: {devices: 64, ep: 128, batch_per_device: 96, kv_len: 4224, microbatches: 2}
deployment: {prefill_instances: 4, workload: {output_len: 256}}
"""
    path = tmp_path / "qwen3-serving.yaml"
    path.write_text(text, encoding="utf-8")
    d = estimate(str(path)).deployment
    curve = dict(d.prefill_speedup_vs_reuse)
    assert 1.0 < curve[0.5] < curve[0.9]
    assert estimate(str(path), ["deployment.workload.reuse=0.5"]).deployment.ttft_s < d.ttft_s


def test_the_reproduce_line_names_a_scenario_file_by_path(tmp_path) -> None:
    from cmperf.specs import PACKAGE_DIR

    source = PACKAGE_DIR / "scenarios" / "cloudmatrix384-decode-slo.yaml"
    path = tmp_path / "my-slo.yaml"
    path.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    out = CliRunner().invoke(
        app, ["sweep", str(path), "--tpot-slo", "50ms", "--set", "sweep.ep=[320]",
              "--set", "sweep.placements=[dedicated_shared]"]
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    line = next(x for x in out.output.splitlines() if x.startswith("reproduce the best"))
    assert str(path) in line or "my-slo.yaml" in line


def test_the_h800_serving_scenario_sets_deepseeks_instances_side_by_side() -> None:
    """deepseek-h800-serving's instances are those of the shipped H800 prefill and decode
    scenarios (the deployment layer leaves them unchanged), on 256 GPUs and without a pool."""
    e = estimate("deepseek-h800-serving")
    prefill = estimate("deepseek-h800-prefill").prefill
    decode = estimate("deepseek-h800-decode", ["decode.kv_len=4224"]).decode
    assert e.prefill.throughput_tokens_per_s_per_device == pytest.approx(
        prefill.throughput_tokens_per_s_per_device, rel=1e-12
    )
    assert e.decode.tpot_s == pytest.approx(decode.tpot_s, rel=1e-12)
    d = e.deployment
    assert sum(d.devices.values()) == 256 and d.prefill_speedup_vs_reuse == []


def test_a_lone_request_is_the_best_case_ttft() -> None:
    """One prompt alone in a prefill batch, one sequence per decode device: the same four
    parts, each no longer than a full batch's."""
    d = _deployment("deployment.workload.reuse=0.5")
    lone, full = d.lone_ttft_breakdown_s, d.ttft_breakdown_s
    assert set(lone) == set(full)
    assert all(lone[k] <= full[k] for k in full)
    assert sum(lone.values()) < 0.2 * d.ttft_s
    record = json.loads(
        CliRunner().invoke(app, ["estimate", SERVING, "--no-ops", "-f", "json"]).stdout
    )["deployment"]
    assert record["ttft_lone_request_s"] == pytest.approx(
        sum(record["ttft_lone_request_breakdown"].values()), rel=1e-12
    )
