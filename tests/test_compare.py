"""`cmperf compare`: deployments side by side, per phase, as the paper compares them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cmperf.cli import app
from cmperf.compare import columns, compare

PAPER = ["cloudmatrix384-prefill", "deepseek-h800-prefill", "sglang-h100-prefill"]


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_figures_per_device_and_per_tflops() -> None:
    c = compare(columns(["cloudmatrix384-prefill", "cloudmatrix384-decode"]))
    prefill = c.phases["prefill"][0]
    # ref §4.1 divides by the dense peak of the precision used: 1,504 INT8 TOP/s per 910C
    assert prefill.peak_flop_per_s == pytest.approx(1504e12)
    assert prefill.per_tflops == pytest.approx(prefill.throughput_tokens_per_s / 1504)
    assert prefill.per_tb_s_hbm == pytest.approx(prefill.throughput_tokens_per_s / 3.2)
    assert c.phases["prefill"][1] is None and c.phases["decode"][0] is None
    assert c.phases["decode"][1].latency_s == pytest.approx(0.048, rel=0.02)


def test_variants_of_one_scenario_and_their_change() -> None:
    c = compare(
        columns(["cloudmatrix384-prefill"], [["hardware.scale_up.supernode.bandwidth=82GB/s"]])
    )
    base, half = c.phases["prefill"]
    assert half.throughput_tokens_per_s < base.throughput_tokens_per_s
    assert c.change("prefill", "throughput_tokens_per_s", 1) == pytest.approx(
        half.throughput_tokens_per_s / base.throughput_tokens_per_s - 1
    )
    assert c.change("prefill", "throughput_tokens_per_s", 0) is None


def test_the_papers_ordering_per_tflops() -> None:
    """ref §4.1: per TFLOPS, CloudMatrix (4.45) ahead of the H800 (3.96) and the H100 (3.75);
    ref §4.2 decode: CloudMatrix 1.29, H800 1.17, H100 1.10."""
    prefill = compare(columns(PAPER)).phases["prefill"]
    assert prefill[0].per_tflops > max(prefill[1].per_tflops, prefill[2].per_tflops)
    decode = compare(
        columns(["cloudmatrix384-decode", "deepseek-h800-decode", "sglang-h100-decode"])
    ).phases["decode"]
    assert decode[0].per_tflops > max(decode[1].per_tflops, decode[2].per_tflops)


def test_compare_command_formats() -> None:
    out = run("compare", "cloudmatrix384-decode", "--vs", "decode.microbatches=1", "-f", "json")
    record = json.loads(out)
    assert record["schema"] == "cmperf.compare/1"
    assert [c["label"] for c in record["columns"]] == [
        "cloudmatrix384-decode",
        "cloudmatrix384-decode decode.microbatches=1",
    ]
    first, second = record["phases"]["decode"]
    assert first["throughput_change"] is None and second["throughput_change"] < 0
    csv_out = run("compare", "cloudmatrix384-decode", "--vs", "decode.microbatches=1", "-f", "csv")
    assert csv_out.splitlines()[0].startswith("phase,column,scenario")
    assert len(csv_out.splitlines()) == 3
    md = run("compare", "cloudmatrix384-decode", "cloudmatrix384-prefill", "-f", "markdown")
    assert "### decode" in md and "### prefill" in md
    table = run("compare", "cloudmatrix384-decode", "deepseek-h800-decode")
    assert "tokens/s per TFLOPS" in table


def test_compare_bad_input_is_one_line() -> None:
    out = run("compare", "no-such-scenario", code=2)
    assert "no-such-scenario" in out
    out = run("compare", "cloudmatrix384-decode", "--vs", "decode.batch_per_devic=8", code=2)
    assert "batch_per_device" in out


@pytest.mark.xfail(
    strict=True,
    reason="known gap: the model prices the H800 and the H100 alike in prefill (same die, "
    "peaks and clock; the exchanges hide behind compute) and puts the H100 above in decode "
    "(its assumed MTP acceptance, +18 % against the paper; see validate's h100-decode); the "
    "paper's H800 > H100 (3.96 > 3.75 prefill, 1.17 > 1.10 decode) compares DeepSeek's own "
    "serving stack with SGLang's",
)
def test_the_papers_full_ordering_per_tflops() -> None:
    prefill = compare(columns(PAPER)).phases["prefill"]
    decode = compare(
        columns(["cloudmatrix384-decode", "deepseek-h800-decode", "sglang-h100-decode"])
    ).phases["decode"]
    for row in (prefill, decode):
        assert row[0].per_tflops > row[1].per_tflops > row[2].per_tflops


def test_compare_plot(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "compare.png"
    run("compare", "cloudmatrix384-decode", "deepseek-h800-decode", "--plot", str(out))
    assert out.stat().st_size > 1000
    bad = CliRunner().invoke(app, ["compare", "cloudmatrix384-decode", "--plot", "x.gif"])
    assert bad.exit_code == 2 and "--plot" in bad.output


def test_compare_puts_deployments_side_by_side() -> None:
    """Scenarios with a deployment block add its figures (TTFT, TPOT, the slower pool's
    requests/s, tokens/s per device, the balanced ratio), with changes against the first."""
    from cmperf.api import estimate

    half = "hardware.scale_up.supernode.bandwidth=82GB/s"
    c = compare(columns(["cloudmatrix384-serving"], [[half]]))
    base, slow = c.deployment
    assert (
        base["requests_per_s"]
        == estimate("cloudmatrix384-serving").deployment.requests_per_s["prefill"]
    )
    assert slow["ttft_s"] > base["ttft_s"]
    assert c.deployment_change("requests_per_s", 1) == pytest.approx(
        slow["requests_per_s"] / base["requests_per_s"] - 1
    )
    record = json.loads(run("compare", "cloudmatrix384-serving", "--vs", half, "--format", "json"))
    assert record["deployment"][1]["requests_change"] < 0
    decode = json.loads(run("compare", "cloudmatrix384-decode", "--format", "json"))
    assert decode["deployment"] is None
    assert "deployment (change against" in run("compare", "cloudmatrix384-serving")
