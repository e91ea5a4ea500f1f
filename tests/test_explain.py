"""Tests for `cmperf explain` and `cmperf.symbolic`: the mathematics shown must be the
mathematics computed.

- every op's symbolic formula, with its sourced values substituted, reproduces the estimate;
- every cost formula has the unit of time (and the check catches formulas that do not);
- sympy (and scipy) stay out of the start-up and of the estimate path;
- the closed-form answers of --solve are verified against the model independently;
- the composition reproduces step time, TPOT and throughput;
- the timeline is the steady state of the list schedule.

Predicted numbers change as the model evolves, so nothing here asserts a specific prediction:
only relationships between figures the model computes in different ways.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sympy as sp
import yaml
from support import DECODE, PREFILL, assert_clean_failure, assert_error, invoke

import cmperf.cost
from cmperf import symbolic
from cmperf.api import WHOLE_RANK, Estimate, OpResult, PhaseResult, estimate
from cmperf.build import decode_attention_ops
from cmperf.cost import cost_from, cost_params, op_cost
from cmperf.schedule import simulate, steady_layer
from cmperf.specs.scenario import Stream
from cmperf.units import Dimension, parse_quantity

ROOT = Path(__file__).resolve().parent.parent
SECOND = sp.Symbol("s", positive=True)
UNIT_DIMENSION = {
    "s": Dimension.TIME,
    "B/s": Dimension.BANDWIDTH,
    "FLOP/s": Dimension.FLOP_RATE,
    "B": Dimension.BYTES,
    "FLOP": Dimension.FLOP,
}


def invoke_json(*args: str) -> Any:
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def rel_close(a: float, b: float, rel: float) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.0) or a == b


@pytest.fixture(scope="module")
def estimates() -> dict[str, Estimate]:
    return {DECODE: estimate(DECODE), PREFILL: estimate(PREFILL)}


@pytest.fixture(scope="module")
def records() -> dict[str, dict[str, Any]]:
    return {name: invoke_json("estimate", name) for name in (DECODE, PREFILL)}


def phases(e: Estimate) -> list[PhaseResult]:
    return [p for p in (e.prefill, e.decode) if p is not None]


def all_ops(e: Estimate) -> list[tuple[PhaseResult, OpResult]]:
    return [(p, r) for p in phases(e) for r in p.ops]


def stream_of(e: Estimate, phase: PhaseResult, r: OpResult) -> Stream:
    """The stream the estimate priced the op on (the head runs on the whole rank)."""
    section = e.scenario.decode if phase.phase == "decode" else e.scenario.prefill
    return next((st for st in section.streams if st.name == r.stream), WHOLE_RANK)


def spec_node(source: str) -> Any:
    """The YAML node a source such as "x/ascend-910c.yaml: engines.cube.peak.bf16 (...)" names."""
    file, rest = source.split(".yaml: ", 1)
    path = Path(file + ".yaml")
    assert path.is_file(), f"{path} (from {source!r}) is not a file"
    node: Any = yaml.safe_load(path.read_text())
    for key in rest.split()[0].split("."):
        assert isinstance(node, dict) and key in node, f"{source!r}: no key {key!r} in {path}"
        node = node[key]
    return node


# Inputs that must come from a hardware spec file, when they appear in a formula.
SPEC_SYMBOLS = {"P", "BW", "compute_efficiency", "memory_efficiency", "per_peer_s"}


def _scale(source: str) -> float:
    """The factor a source states after its key: "× 16 / 24 cores", "/ 24 cores (one core)",
    "× 0.667 (stream)"."""
    rest = source.split(".yaml: ", 1)[1].split(" (", 1)[0].split()[1:]
    factor = 1.0
    for op, number in zip(rest[::2], rest[1::2], strict=False):
        if op == "×":
            factor *= float(number)
        elif op == "/":
            factor /= float(number)
    return factor


def check_symbols(op: str, symbols: dict[str, dict[str, Any]]) -> list[str]:
    """Every symbol has a unit and a source; spec-derived ones name a YAML file and a key path
    that exists there and holds the value used (a parameter at its neutral value says so)."""
    problems = []
    for name, info in symbols.items():
        source = info["source"]
        if not (isinstance(source, str) and source.strip()):
            problems.append(f"{op}: {name} has no source")
            continue
        if ".yaml: " not in source:
            if name in SPEC_SYMBOLS and "neutral default" not in source:
                problems.append(f"{op}: {name} source {source!r} names no YAML file and key")
            continue
        try:
            node = spec_node(source)
        except AssertionError as exc:
            problems.append(f"{op}: {name}: {exc}")
            continue
        raw = node["value"] if isinstance(node, dict) else node
        unit = info["unit"]
        value = parse_quantity(raw, UNIT_DIMENSION[unit]) if unit in UNIT_DIMENSION else float(raw)
        value *= _scale(source)
        if not rel_close(value, info["value"], 1e-12):
            problems.append(f"{op}: {name} = {info['value']} but {source!r} holds {raw!r}")
    return problems


# --- 1. consistency: explain_op reproduces every op's cost ------------------------------------


@pytest.mark.parametrize("scenario", [DECODE, PREFILL])
def test_explain_op_reproduces_every_op(estimates: dict[str, Estimate], scenario: str) -> None:
    e = estimates[scenario]
    ops = all_ops(e)
    names = [r.name for _, r in ops]
    assert len(names) == len(set(names)), "op names must be unique for explain --op"
    problems = []
    for _, r in ops:
        shown = symbolic.explain_op(e, r.name)
        assert shown.op == r.name
        total = float(r.cost.total_s)
        if not rel_close(shown.value_s, total, 1e-9):
            problems.append(f"{r.name}: explain {shown.value_s} != estimate {total}")
        for term in ("compute_s", "memory_s", "comm_s"):
            expected = float(getattr(r.cost, term))
            if not rel_close(shown.terms[term], expected, 1e-9):
                problems.append(f"{r.name}: {term} {shown.terms[term]} != {expected}")
        assert shown.formula.startswith("t = ") and shown.latex.startswith("t = ")
        problems += check_symbols(r.name, shown.symbols)
    assert not problems, "\n".join(problems)


def test_explain_op_with_a_stream_named_main(tmp_path: Path) -> None:
    text = (ROOT / "cmperf" / "scenarios" / f"{DECODE}.yaml").read_text()
    assert "    attention: {paths: [attention]" in text
    renamed = tmp_path / "decode-main-stream.yaml"
    renamed.write_text(
        text.replace("    attention: {paths: [attention]", "    main: {paths: [attention]")
    )
    e = estimate(str(renamed))
    assert "main" in {st.name for st in e.scenario.decode.streams}
    problems = []
    for _, r in all_ops(e):
        shown = symbolic.explain_op(e, r.name)
        for term in ("compute_s", "memory_s", "comm_s"):
            expected = float(getattr(r.cost, term))
            if not rel_close(shown.terms[term], expected, 1e-9):
                problems.append(f"{r.name}: {term} {shown.terms[term]} != {expected}")
    assert not problems, "\n".join(problems)


EXPLAINED = [
    (DECODE, "decode.moe.dispatch"),
    (DECODE, "decode.moe.attention"),
    (DECODE, "decode.dense.ffn_up_gate"),
    (DECODE, "decode.head.lm_head"),
    (PREFILL, "prefill.moe.combine"),
    (PREFILL, "prefill.moe.attn_all_gather"),
]


@pytest.mark.parametrize(("scenario", "op"), EXPLAINED)
def test_explain_op_json_matches_estimate_json(
    records: dict[str, dict[str, Any]], scenario: str, op: str
) -> None:
    shown = invoke_json("explain", scenario, "--op", op)
    assert {"op", "formula", "latex", "symbols", "value_s"} <= shown.keys()
    assert shown["op"] == op
    for info in shown["symbols"].values():
        assert set(info) == {"value", "unit", "source"}
    phase = op.split(".", 1)[0]
    time_s = {o["name"]: o["time_s"] for o in records[scenario][phase]["ops"]}[op]
    assert shown["value_s"] > 0
    assert rel_close(shown["value_s"], time_s, 1e-6)
    problems = check_symbols(op, shown["symbols"])
    assert not problems, "\n".join(problems)
    # What is printed is what the number comes from: the formula with the listed values.
    names = {n: sp.Symbol(n, positive=True) for n in shown["symbols"]}
    expr = sp.sympify(shown["formula"].removeprefix("t = "), locals=names)
    assert {str(s) for s in expr.free_symbols} == set(names)
    value = float(expr.xreplace({names[n]: i["value"] for n, i in shown["symbols"].items()}))
    assert rel_close(value, time_s, 1e-6)


def test_explain_op_table_lists_the_symbols() -> None:
    result = invoke("explain", DECODE, "--op", "decode.moe.dispatch")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "decode.moe.dispatch" in out
    for name in ("B", "BW", "L", "N_peer", "per_peer_s", "fixed_s"):
        assert name in out
    assert "scale_up.supernode.bandwidth" in out
    latex = invoke("explain", DECODE, "--op", "decode.moe.attention", "--latex")
    assert latex.exit_code == 0, latex.output
    assert "\\max" in latex.stdout and "\\frac" in latex.stdout


# --- 2. dimensional analysis ------------------------------------------------------------------


# How a quantity of each unit scales when seconds, bytes and FLOP are rescaled.
_SCALING = {
    "s": (1, 0, 0),
    "B": (0, 1, 0),
    "FLOP": (0, 0, 1),
    "B/s": (-1, 1, 0),
    "FLOP/s": (-1, 0, 1),
}


def is_time(expr: Any, units: dict[str, str], flop_scaling: bool = True) -> bool:
    """True where the formula's unit is seconds, by the scaling symmetry of units: measuring
    time in half-seconds doubles every time-valued input and halves every rate, and a time
    must then double, whatever the mixture of max, min and ceilings it is made of; rescaling
    bytes must leave it unchanged. Counts (tiles, cores, rows) do not scale. FLOP are counted
    from shapes (2 m n k per GEMM), so a FLOP scaling is checked only where every FLOP figure
    is an input (`flop_scaling`)."""
    import random

    expr = sp.sympify(expr)
    symbols = sorted(expr.free_symbols, key=str)
    rng = random.Random(0)
    base = {s: rng.uniform(0.5, 2.0) for s in symbols}

    def value(t: float, b: float, f: float) -> float:
        subs = {}
        for s in symbols:
            et, eb, ef = _SCALING.get(units.get(str(s), "1"), (0, 0, 0))
            subs[s] = base[s] * t**et * b**eb * f**ef
        return float(expr.xreplace(subs))

    v = value(1, 1, 1)
    if not math.isfinite(v) or v == 0:
        return False
    return (
        math.isclose(value(2, 1, 1), 2 * v, rel_tol=1e-9)
        and math.isclose(value(1, 3, 1), v, rel_tol=1e-9)
        and (not flop_scaling or math.isclose(value(1, 1, 5), v, rel_tol=1e-9))
    )


_SYMBOLIC: dict[tuple, cmperf.cost.Cost] = {}


def symbolic_cost(
    e: Estimate, phase: PhaseResult, r: OpResult
) -> tuple[cmperf.cost.Cost, dict[str, str]]:
    """The op's cost formula on symbols (one per family and set of inputs: ops of one family
    share their formula)."""
    params = cost_params(r.op, e.scenario.cluster, stream_of(e, phase, r), r.first_of_kernel)
    units = {n: p.unit for n, p in params.items()}
    infinite = tuple(n for n, p in params.items() if p.value == float("inf"))
    key = (r.op.family, tuple(params), infinite)
    if key not in _SYMBOLIC:
        values = {n: float("inf") if n in infinite else sp.Symbol(n, positive=True) for n in params}
        _SYMBOLIC[key] = cost_from(r.op.family, values)
    return _SYMBOLIC[key], units


@pytest.mark.parametrize("scenario", [DECODE, PREFILL])
def test_every_cost_formula_is_a_time(estimates: dict[str, Estimate], scenario: str) -> None:
    e = estimates[scenario]
    checked: dict[tuple, bool] = {}  # same formula, same units: same answer
    problems = []
    for phase, r in all_ops(e):
        cost, units = symbolic_cost(e, phase, r)
        terms = {"total_s": cost.total_s}
        if r.op.comm is None:
            terms |= {"compute_s": cost.compute_s, "memory_s": cost.memory_s, "hbm_s": cost.hbm_s}
        else:
            terms["comm_s"] = cost.comm_s
        for term, expr in terms.items():
            key = (sp.srepr(sp.sympify(expr)), tuple(sorted(units.items())))
            if key not in checked:
                checked[key] = is_time(expr, units, flop_scaling=False)
            if not checked[key]:
                problems.append(f"{r.name}.{term} = {expr} is not a time")
    assert not problems, "\n".join(problems)


def test_dimension_check_catches_broken_formulas(monkeypatch: pytest.MonkeyPatch) -> None:
    F, P, B, BW, t_lat = sp.symbols("F P B BW t_lat", positive=True)
    units = {"F": "FLOP", "P": "FLOP/s", "B": "B", "BW": "B/s", "t_lat": "s", "eta": "1"}
    eta = sp.Symbol("eta", positive=True)
    assert is_time(F / (P * eta), units)
    assert is_time(B / BW + t_lat, units)
    assert not is_time(F * P, units)  # FLOP^2/s
    assert not is_time(B / BW * BW, units)  # bytes
    assert not is_time(F / eta, units)  # the compute term without the peak: FLOP
    assert not is_time(B / BW + B, units)  # seconds plus bytes
    assert not is_time(sp.Max(B / BW, F), units)

    # The model's own formula functions, broken: the check sees it through cost_from.
    from cmperf.kernels import KernelTime, families

    family = families()["elementwise"]
    inputs = ("F", "P", "B", "BW", "fixed_s", "compute_efficiency", "memory_efficiency")
    symbols = {k: sp.Symbol(k, positive=True) for k in (*inputs, "overlap_exponent")}
    units = {"F": "FLOP", "P": "FLOP/s", "B": "B", "BW": "B/s", "fixed_s": "s"} | {
        k: "1" for k in ("compute_efficiency", "memory_efficiency", "overlap_exponent")
    }
    assert is_time(cost_from("elementwise", symbols).total_s, units)
    monkeypatch.setattr(
        type(family), "time", lambda self, v, ideal=False: KernelTime(v["F"] * v["P"])
    )
    assert not is_time(cost_from("elementwise", symbols).total_s, units)


# --- 3. sympy stays out of start-up -----------------------------------------------------------


def _python(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )


def test_cli_import_does_not_import_sympy_or_scipy() -> None:
    log = _python("-X", "importtime", "-c", "import cmperf.cli").stderr
    assert "cmperf.cli" in log  # the import log is there to read
    assert [line for line in log.splitlines() if "sympy" in line] == []
    assert [line for line in log.splitlines() if "scipy" in line] == []


ESTIMATE_PATH = """
import json, sys
from cmperf.api import estimate
from cmperf import report
report.estimate_record(estimate("cloudmatrix384-decode"))
flags = {"record": [m in sys.modules for m in ("sympy", "scipy", "numpy")]}
from typer.testing import CliRunner
from cmperf.cli import app
for args in (["estimate", "cloudmatrix384-decode"],
             ["estimate", "cloudmatrix384-prefill", "--format", "json"]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
flags["cli"] = [m in sys.modules for m in ("sympy", "scipy", "numpy")]
print(json.dumps(flags))
"""


def test_estimate_path_imports_neither_sympy_nor_scipy() -> None:
    """Nor numpy: a single estimate runs on floats, and start-up is the command's cost."""
    flags = json.loads(_python("-c", ESTIMATE_PATH).stdout)
    assert flags == {"record": [False] * 3, "cli": [False] * 3}


# --- 4. --solve -------------------------------------------------------------------------------


def solve_json(*args: str) -> dict[str, Any]:
    answer = invoke_json("explain", DECODE, *args)
    assert set(answer) == {"question", "equation", "latex", "symbol", "value", "unit", "check"}
    assert answer["value"] > 0 and math.isfinite(answer["value"])
    assert answer["equation"] and answer["latex"] and answer["check"]
    return answer


def test_solve_attention_bound_batch_is_the_roofline_crossover(
    estimates: dict[str, Estimate],
) -> None:
    answer = solve_json("--solve", "attention-bound-batch")
    assert answer["question"] == "attention-bound-batch" and answer["symbol"] == "b"
    s = estimates[DECODE].scenario
    d = s.decode
    stream = next(st for st in d.streams if "attention" in st.paths)
    ranks = s.cluster.device.ranks_per_device

    def bound(batch: float) -> str:
        seqs = batch / (ranks * d.microbatches)
        ops = decode_attention_ops(
            s.model, s.quantization, seqs, seqs * (1 + d.mtp_draft_tokens), d.kv_len
        )
        costs = [op_cost(op, s.cluster, stream) for op in ops]
        compute = sum(float(c.compute_s) for c in costs)
        memory = sum(float(c.memory_s) for c in costs)
        return "compute" if compute > memory else "memory"

    assert bound(answer["value"] * 0.95) == "memory"
    assert bound(answer["value"] * 1.05) == "compute"


def test_solve_ub_bandwidth_balances_exchange_and_experts(estimates: dict[str, Estimate]) -> None:
    answer = solve_json("--solve", "ub-bandwidth")
    assert answer["question"] == "ub-bandwidth" and answer["unit"] == "B/s"
    e = estimates[DECODE]
    cluster = e.scenario.cluster
    moe = [r for r in e.decode.ops if r.layer == "moe"]
    exchange = [r for r in moe if r.op.comm is not None]
    assert sorted(r.op.name for r in exchange) == ["combine", "dispatch"]
    tier = cluster.tier_for(exchange[0].op.comm.group_ranks)
    assert tier.name == "supernode"  # EP320 crosses the UB between nodes
    faster = dataclasses.replace(
        cluster,
        scale_up=tuple(
            dataclasses.replace(t, bandwidth_bytes_per_s=answer["value"]) if t is tier else t
            for t in cluster.scale_up
        ),
    )
    exchange_s = sum(float(op_cost(r.op, faster, WHOLE_RANK).total_s) for r in exchange)
    experts_s = sum(float(r.cost.total_s) for r in moe if r.op.name.startswith("experts"))
    assert len([r for r in moe if r.op.name.startswith("experts")]) >= 2
    assert rel_close(exchange_s, experts_s, 1e-6)


@pytest.mark.parametrize(
    ("slo", "sets"), [("50ms", ()), ("15ms", ("decode.microbatches=1",))], ids=["50ms", "15ms-1mb"]
)
def test_solve_max_batch_is_the_largest_batch_meeting_the_slo(slo: str, sets: tuple) -> None:
    overrides = [a for s in sets for a in ("--set", s)]
    answer = solve_json("--solve", "max-batch", "--tpot-slo", slo, *overrides)
    assert answer["question"] == "max-batch" and answer["symbol"] == "b"
    slo_s = parse_quantity(slo, Dimension.TIME)
    whole = math.floor(answer["value"])
    assert whole >= 1

    def tpot(batch: int) -> float:
        record = invoke_json(
            "estimate", DECODE, *overrides, "--set", f"decode.batch_per_device={batch}"
        )
        return record["decode"]["tpot_s"]

    assert tpot(whole) <= slo_s < tpot(whole + 1)


def test_solve_max_batch_infeasible_slo() -> None:
    result = invoke("explain", DECODE, "--solve", "max-batch", "--tpot-slo", "15ms")
    assert_clean_failure(result, "infeasible", 1, "15 ms")


def test_solve_errors() -> None:
    assert_error(
        invoke("explain", DECODE, "--solve", "nosuch"),
        "nosuch",
        *symbolic.SOLVE_QUESTIONS,
    )
    assert_error(invoke("explain", DECODE, "--solve", "max-batch"), "--tpot-slo")


def test_solve_table() -> None:
    result = invoke("explain", DECODE, "--solve", "ub-bandwidth")
    assert result.exit_code == 0, result.output
    assert "ub-bandwidth" in result.stdout and "BW = " in result.stdout
    assert "check:" in result.stdout


# --- 5. composition ---------------------------------------------------------------------------


def test_composition_reproduces_step_tpot_and_throughput(
    records: dict[str, dict[str, Any]],
) -> None:
    table = invoke("explain", DECODE)
    assert table.exit_code == 0, table.output
    assert "TPOT" in table.stdout and "step" in table.stdout
    for scenario, step_name in ((DECODE, "step"), (PREFILL, "batch")):
        parts = invoke_json("explain", scenario)
        assert isinstance(parts, list) and parts
        for part in parts:
            assert set(part) == {"phase", "lines"} and part["lines"]
            for line in part["lines"]:
                assert set(line) == {"quantity", "formula", "value", "unit"}
        by_phase = {part["phase"]: part["lines"] for part in parts}
        phase = scenario.rsplit("-", 1)[1]
        assert set(by_phase) == {phase}
        lines = {line["quantity"]: line for line in by_phase[phase]}
        record = records[scenario][phase]
        assert lines[step_name]["unit"] == "s"
        assert rel_close(lines[step_name]["value"], record["step_time_s"], 1e-9)
        assert rel_close(
            lines["throughput per device"]["value"],
            record["throughput_tokens_per_s_per_device"],
            1e-9,
        )
        if phase == "decode":
            assert rel_close(lines["TPOT"]["value"], record["tpot_s"], 1e-9)
            assert rel_close(
                lines["tokens emitted per step"]["value"], record["tokens_emitted_per_step"], 1e-9
            )
        for layer in record["layers"]:
            if layer["name"] == "head":
                continue
            key = next(q for q in lines if q.startswith(f"{layer['name']}: one "))
            assert rel_close(lines[key]["value"], layer["time_s"], 1e-9)


def test_composition_rejects_a_phase_the_scenario_lacks() -> None:
    assert_error(invoke("explain", DECODE, "--phase", "prefill"), "--phase prefill")


# --- 6. timeline ------------------------------------------------------------------------------


def test_timeline_table_shows_streams_and_microbatches() -> None:
    result = invoke("explain", DECODE, "--timeline")
    assert result.exit_code == 0, result.output
    for word in ("attention", "moe", "mb0", "mb1", "steady state"):
        assert word in result.stdout
    prefill = invoke("explain", PREFILL, "--timeline")
    assert prefill.exit_code == 0, prefill.output
    for word in ("compute", "dma", "mb0", "mb1"):
        assert word in prefill.stdout


@pytest.mark.parametrize("scenario", [DECODE, PREFILL])
def test_steady_layer_is_the_schedule_in_steady_state(
    estimates: dict[str, Estimate], scenario: str
) -> None:
    p = phases(estimates[scenario])[0]
    chains = p.chains
    window, bars = steady_layer(chains["moe"], p.microbatches)
    # The estimate's stack (dense layers, then MoE layers): its last layer is in steady state.
    stack = [(chains["dense"], 3), (chains["moe"], 58)]
    last = simulate(stack, p.microbatches).layer_times_s()[-1]
    assert rel_close(window, float(last), 1e-9)
    assert bars
    streams = {b.stream for b in bars}
    assert streams == {task.stream for task in chains["moe"]}
    assert {b.microbatch for b in bars} == set(range(p.microbatches))
    for b in bars:
        assert 0.0 <= b.start_s < b.end_s <= window * (1 + 1e-12)
    for stream in streams:
        on = sorted((b for b in bars if b.stream == stream), key=lambda b: b.start_s)
        for before, after in itertools.pairwise(on):
            assert before.end_s <= after.start_s * (1 + 1e-12) + 1e-18, (before, after)
    # The window holds one layer of work: each stream is busy at most the whole window.
    for stream in streams:
        busy = sum(b.end_s - b.start_s for b in bars if b.stream == stream)
        assert busy <= window * (1 + 1e-9)


def test_timeline_errors(tmp_path: Path) -> None:
    assert_error(invoke("explain", DECODE, "--timeline", "--layer", "nosuch"), "nosuch", "moe")
    txt = tmp_path / "tl.txt"
    assert_error(invoke("explain", DECODE, "--timeline", "--plot", str(txt)), "--plot")
    assert not txt.exists()


def test_timeline_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "tl.png"
    result = invoke("explain", DECODE, "--timeline", "--plot", str(png))
    assert result.exit_code == 0, result.output
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 1000


# --- 7. unknown op ----------------------------------------------------------------------------


def test_unknown_op_suggests_a_name() -> None:
    assert_error(
        invoke("explain", DECODE, "--op", "decode.moe.dispach"),
        "decode.moe.dispach",
        "did you mean 'decode.moe.dispatch'",
    )
    assert_error(invoke("explain", DECODE, "--op", "nosuch"), "nosuch", "phase.layer.op")
