"""A planner's first hour: inputs that used to run into nonsense are refused with one clear line
(fractional batches, one acceptance for deep drafting, sequences beyond the model's context,
heads that do not group, SLOs of the other phase, questions a dense model cannot answer)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from support import DECODE, MODELS, PREFILL, assert_error, invoke

from cmperf.hf import read_hf_config
from cmperf.search import batch_grid
from cmperf.specs import load_scenario
from cmperf.specs.model import read_model
from cmperf.specs.reader import Reader

HF = Path(__file__).parent / "data" / "hf"
SLO_SCENARIO = "cloudmatrix384-decode-slo"
LLAMA = "llama-3.1-405b-cloudmatrix384"


# --- 1. batches are whole sequences -------------------------------------------------------------


def test_fractional_decode_batch_is_refused() -> None:
    result = invoke("estimate", DECODE, "--set", "decode.batch_per_device=8.5")
    assert_error(result, "decode.batch_per_device", "whole sequences", "8.5")


def test_whole_decode_batch_still_runs() -> None:
    assert load_scenario(DECODE, ["decode.batch_per_device=8"]).decode.batch_per_device == 8


@pytest.mark.parametrize(("low", "high"), [(1, 512), (1.3, 511.7), (1, 65536), (7, 7), (2, 9)])
def test_batch_grid_is_whole_unique_and_in_range(low: float, high: float) -> None:
    grid = batch_grid(low, high)
    assert all(float(b).is_integer() for b in grid)
    assert list(grid) == sorted(set(grid))
    assert grid[0] >= low and grid[-1] <= high
    assert grid[0] == -(-low // 1) and grid[-1] == high // 1  # the range's whole ends


def test_sweep_frontier_batches_are_whole() -> None:
    result = invoke(
        "sweep",
        SLO_SCENARIO,
        *("--set", "sweep.ep=[320]", "--set", "sweep.microbatches=[2]"),
        *("--set", "sweep.mtp.draft_tokens=[0]", "--set", "sweep.placements=local_shared"),
        *("--set", "sweep.quantization={dispatch: [int8]}", "--format", "csv"),
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows
    for row in rows:
        assert float(row["batch"]).is_integer(), row["batch"]
        batch_set = row["set"].split()[-1]
        assert batch_set.startswith("decode.batch_per_device=")
        assert batch_set.split("=")[1].isdigit(), batch_set


def test_sweep_range_without_a_whole_batch_is_refused() -> None:
    result = invoke("sweep", SLO_SCENARIO, "--set", "sweep.batch_per_device={min: 0.2, max: 0.7}")
    assert_error(result, "sweep.batch_per_device.max", "no whole batch")


# --- 2. deeper drafting needs an acceptance per depth -------------------------------------------


def test_several_drafts_with_one_acceptance_are_refused() -> None:
    result = invoke("estimate", DECODE, "--set", "decode.mtp.draft_tokens=3")
    assert_error(result, "decode.mtp.acceptance", "3 draft tokens need 3 per-depth acceptances")


def test_several_drafts_with_per_depth_acceptances_run() -> None:
    sets = ["decode.mtp.draft_tokens=2", "decode.mtp.acceptance=[0.7, 0.5]"]
    assert load_scenario(DECODE, sets).decode.mtp_draft_tokens == 2


# --- 3. no sequence beyond the model's context --------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "key"), [(DECODE, "decode.kv_len"), (PREFILL, "prefill.input_len")]
)
def test_length_beyond_the_context_is_refused(scenario: str, key: str) -> None:
    result = invoke("estimate", scenario, "--set", f"{key}=1000000")
    assert_error(result, key, "1000000 tokens", "context length of deepseek-r1 (163840 tokens)")


def test_length_at_the_context_is_accepted() -> None:
    assert load_scenario(DECODE, ["decode.kv_len=163840"]).decode.kv_len == 163840


@pytest.mark.parametrize(
    ("name", "context"),
    [
        ("deepseek-v3", 163840),
        ("deepseek-r1", 163840),
        ("kimi-k2", 131072),
        ("qwen3-235b-a22b", 40960),
        ("llama-3.1-70b", 131072),
        ("llama-3.1-405b", 131072),
    ],
)
def test_shipped_models_state_their_context(name: str, context: int) -> None:
    path = MODELS / f"{name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert read_model(Reader(data, str(path)), name).context_length == context


def test_hf_config_context_is_max_position_embeddings() -> None:
    spec = read_hf_config(HF / "llama-3.1-70b" / "config.json")
    assert spec.context_length == 131072
    config = str(HF / "llama-3.1-70b" / "config.json")
    result = invoke("estimate", LLAMA, "--set", f"model={config}", "--set", "decode.kv_len=131073")
    assert_error(result, "decode.kv_len", "context length of LlamaForCausalLM (131072 tokens)")


# --- 4. query heads must group over the key/value heads -----------------------------------------


def test_hf_heads_not_a_multiple_of_kv_heads_are_refused(tmp_path: Path) -> None:
    config = json.loads((HF / "llama-3.1-70b" / "config.json").read_text(encoding="utf-8"))
    config["num_key_value_heads"] = 7
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    result = invoke("estimate", LLAMA, "--set", f"model={path}")
    assert_error(
        result, str(path), "num_key_value_heads", "7 key/value heads", "64 attention heads"
    )


# --- 5. an SLO of the other phase is not silently ignored ---------------------------------------


def test_decode_sweep_refuses_a_ttft_slo() -> None:
    result = invoke("sweep", SLO_SCENARIO, "--tpot-slo", "15ms", "--ttft-slo", "2s")
    assert_error(result, "--ttft-slo", "decode phase", "--tpot-slo", "prefill sweep")


def test_prefill_sweep_refuses_a_tpot_slo() -> None:
    result = invoke(
        "sweep", PREFILL, "--set", "sweep.phase=prefill", "--ttft-slo", "2s", "--tpot-slo", "15ms"
    )
    assert_error(result, "--tpot-slo", "prefill phase", "--ttft-slo", "decode sweep")


# --- 6. questions that do not apply to the model ------------------------------------------------


def test_ub_bandwidth_of_a_dense_model_is_a_clear_error() -> None:
    result = invoke("explain", LLAMA, "--solve", "ub-bandwidth")
    assert_error(result, "ub-bandwidth", "llama-3.1-405b is dense", "no experts")


# --- friction: copy and paste, help text, output files, dense timelines ----------------------


def test_sweep_reproduce_line_survives_copy_and_paste() -> None:
    import shlex

    from typer.testing import CliRunner

    from cmperf.cli import app

    out = CliRunner().invoke(app, ["sweep", "cloudmatrix384-decode-slo", "--tpot-slo", "15ms"])
    assert out.exit_code == 0, out.output
    line = next(x for x in out.stdout.splitlines() if x.startswith("reproduce the best: "))
    argv = shlex.split(line.removeprefix("reproduce the best: "))
    assert argv[:2] == ["cmperf", "estimate"]
    assert "decode.mtp.acceptance=[0.7]" in argv  # quoted in the line, whole after splitting
    assert any(a.startswith("decode.batch_per_device=") for a in argv)
    again = CliRunner().invoke(app, [*argv[1:], "--format", "json", "--no-ops"])
    assert again.exit_code == 0, again.output


def test_sweep_help_names_the_plot_extra() -> None:
    from typer.testing import CliRunner

    from cmperf.cli import app

    out = CliRunner().invoke(app, ["sweep", "--help"], terminal_width=200)
    assert "cmperf[plot]" in out.stdout


def test_estimate_output_file_is_written_only_on_success(tmp_path) -> None:
    from typer.testing import CliRunner

    from cmperf.cli import app

    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    runner = CliRunner()
    ok = runner.invoke(app, ["estimate", "cloudmatrix384-decode", "-f", "json", "-o", str(good)])
    assert ok.exit_code == 0 and ok.stdout == ""
    assert json.loads(good.read_text())["schema"] == "cmperf.estimate/1"
    args = ["estimate", "cloudmatrix384-decode", "--set", "decode.batch_per_device=4096"]
    failed = runner.invoke(app, [*args, "-f", "json", "-o", str(bad)])
    assert failed.exit_code == 1 and not bad.exists()


def test_timeline_of_a_dense_model_uses_its_layer() -> None:
    from typer.testing import CliRunner

    from cmperf.cli import app

    out = CliRunner().invoke(app, ["explain", "llama-3.1-405b-cloudmatrix384", "--timeline"])
    assert out.exit_code == 0, out.output
    assert "dense layer" in out.stdout


def test_mtp_head_ops_have_a_share_of_the_mtp_pass() -> None:
    from typer.testing import CliRunner

    from cmperf.cli import app

    out = CliRunner().invoke(app, ["estimate", "cloudmatrix384-decode", "-f", "markdown"])
    assert out.exit_code == 0, out.output
    row = next(line for line in out.stdout.splitlines() if "mtp_head.lm_head" in line)
    share = row.rstrip(" |").rsplit("|", 1)[-1].strip()
    assert share.endswith("%") and share != "0 %"


def test_a_new_model_on_the_shipped_sweep_runs_with_notes() -> None:
    """Qwen3 has no shared expert and no MTP module: the SLO sweep derives its placement from
    the model, says what it dropped, and finds a best configuration."""
    from typer.testing import CliRunner

    from cmperf.cli import app

    result = CliRunner().invoke(
        app,
        ["sweep", "cloudmatrix384-decode-slo", "--set", "model=qwen3-235b-a22b",
         "--tpot-slo", "50ms", "--set", "sweep.ep=[64,320]", "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "no shared expert" in result.output and "no MTP module" in result.output


def test_a_placement_error_says_the_fix() -> None:
    from cmperf.api import estimate
    from cmperf.errors import SpecError

    with pytest.raises(SpecError, match=r"decode.redundant_experts=192"):
        estimate("cloudmatrix384-decode", ["model=qwen3-235b-a22b"])
    with pytest.raises(SpecError, match=r"valid: 1, 2, 4, 5"):
        estimate("cloudmatrix384-decode", ["decode.ep=3"])


def test_redundant_experts_default_to_the_fewest_that_balance() -> None:
    from cmperf.api import estimate

    s = estimate("cloudmatrix384-decode-slo").scenario
    assert s.decode.placement.redundant_experts == 32  # 256 + 32 + 32 shared = EP320
    q = estimate("cloudmatrix384-decode-slo", ["model=qwen3-235b-a22b"]).scenario
    assert (q.decode.placement.redundant_experts, q.decode.placement.shared_expert_replicas) == (
        192,
        0,
    )
    assert q.decode.mtp_draft_tokens == 0


def test_one_number_per_layer_timeline_and_estimate_agree() -> None:
    """The estimate's layer time is the steady-state layer the timeline draws; filling the
    pipeline is its own row, and the rows add up to the step."""
    from cmperf.api import estimate
    from cmperf.schedule import steady_layer

    d = estimate("cloudmatrix384-decode").decode
    rows = {layer.name: layer for layer in d.layers}
    steady, _ = steady_layer(d.chains["moe"], d.microbatches)
    assert rows["moe"].time_s == pytest.approx(steady, rel=1e-12)
    assert {"pipeline_fill", "mtp", "mtp_head", "head"} <= set(rows)
    total = sum(layer.count * layer.time_s for layer in d.layers)
    assert total == pytest.approx(d.step_time_s, rel=1e-12)
    assert {r.layer for r in d.ops} <= set(rows)


def test_tables_fit_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from cmperf import cli

    monkeypatch.setattr(Console, "is_terminal", property(lambda self: True))
    monkeypatch.setenv("COLUMNS", "80")
    assert cli._console().width == 80
    monkeypatch.setattr(Console, "is_terminal", property(lambda self: False))
    assert cli._console().width >= 140
