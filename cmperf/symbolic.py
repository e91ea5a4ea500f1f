"""The mathematics behind the numbers: the same formula functions evaluated on sympy symbols.

This is the only module that imports sympy (`cmperf explain` and the tests use it). Every
formula shown is built by calling the functions that compute the estimate (`cost.cost_from`,
`build.*`, `formulas.*`) with sympy symbols in place of numbers, so what is printed is what
the numbers come from; substituting the values back reproduces the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import sympy as sp

from .api import WHOLE_RANK, Estimate, OpResult, PhaseResult, estimate_decode
from .build import decode_attention_ops, expert_tokens_per_rank, moe_ops
from .cost import cost_from, cost_params
from .errors import CmperfError, InfeasibleError
from .formulas.serving import tokens_emitted_per_step
from .specs.scenario import Scenario, Stream

SOLVE_QUESTIONS = {
    "attention-bound-batch": "batch per device at which the decode attention path turns from "
    "memory-bound to compute-bound",
    "ub-bandwidth": "UB bandwidth at which dispatch + combine take as long as the expert "
    "computation of their microbatch",
    "max-batch": "largest batch per device meeting a TPOT SLO, with the step time linear in batch",
}


@dataclass(frozen=True)
class OpExplanation:
    op: str
    formula: str
    latex: str
    symbols: dict[str, dict[str, Any]]  # name -> {value, unit, source}
    value_s: float
    terms: dict[str, float]  # compute_s, memory_s, comm_s


def _finite(value: Any) -> bool:
    try:
        return bool(abs(float(value)) != float("inf"))
    except (TypeError, ValueError):
        return True


def symbol(name: str) -> sp.Symbol:
    return sp.Symbol(name, positive=True)


def find_op(e: Estimate, name: str) -> tuple[PhaseResult, OpResult]:
    names = []
    for phase in e.phases:
        for r in phase.ops:
            if r.name == name:
                return phase, r
            names.append(r.name)
    from .specs.reader import did_you_mean

    raise CmperfError(
        f"no op {name!r} in this estimate{did_you_mean(name, names)}; ops are "
        f"named phase.layer.op, e.g. {names[0] if names else 'decode.moe.dispatch'}"
    )


def explain_op(e: Estimate, name: str) -> OpExplanation:
    """The op's cost formula, its symbols with values, units and sources, and its value."""
    _, r = find_op(e, name)
    params = cost_params(r.op, e.scenario.cluster, r.stream_spec, r.first_of_kernel)
    # A parameter at infinity (perfect overlap: the roofline's max) enters as that limit, not
    # as a symbol: substituting infinity into (a^p + b^p)^(1/p) would not give max(a, b).
    symbols = {n: symbol(n) if _finite(p.value) else p.value for n, p in params.items()}
    cost = cost_from(r.op.family, symbols, e.scenario.ideal)
    expr = sp.sympify(cost.total_s)
    values = {symbols[n]: p.value for n, p in params.items() if _finite(p.value)}
    value = float(expr.xreplace(values))
    used = {str(s) for s in expr.free_symbols}
    return OpExplanation(
        op=name,
        formula=f"t = {sp.sstr(expr)}",
        latex=f"t = {sp.latex(expr)}",
        symbols={
            n: {"value": float(p.value), "unit": p.unit, "source": p.source()}
            for n, p in params.items()
            if n in used
        },
        value_s=value,
        terms={
            k: float(sp.sympify(getattr(cost, k)).xreplace(values))
            for k in ("compute_s", "memory_s", "comm_s", "overhead_s")
        },
    )


# ---------------------------------------------------------------------------------------------
# Composition: ops -> layers -> step -> TPOT


@dataclass(frozen=True)
class Composition:
    phase: str
    lines: list[tuple[str, str, float, str]]  # (quantity, formula, value, unit)


def composition(e: Estimate) -> list[Composition]:
    out = []
    for phase in e.phases:
        lines: list[tuple[str, str, float, str]] = []
        section = e.scenario.sections[phase.phase]
        for stream in section.streams:
            lines.append(
                (
                    f"stream {stream.name}",
                    f"runs {', '.join(stream.paths)} on "
                    + (
                        " and ".join(f"{share:.3g} of the {e} cores" for e, share in stream.shares)
                        or "every core"
                    ),
                    float("nan"),
                    "",
                )
            )
        for layer in phase.layers:
            if layer.name in ("head",):
                continue
            per_stream: dict[str, float] = {}
            for r in phase.ops:
                if r.layer == layer.name:
                    per_stream[r.stream] = per_stream.get(r.stream, 0.0) + float(r.cost.total_s)
            for name, t in per_stream.items():
                lines.append(
                    (
                        f"{layer.name}: stream {name}, one microbatch",
                        "sum of its op times (each t = max(compute, memory) + comm)",
                        t,
                        "s",
                    )
                )
            mb = phase.microbatches
            bound = f"{mb} x max over streams" if mb > 1 else "sum over streams"
            lines.append(
                (
                    f"{layer.name}: "
                    + ("one pass with its LM head" if layer.name == "mtp" else "one layer"),
                    f"list schedule of {mb} microbatch(es) "
                    f"over the streams; steady state ~ {bound}, and >= HBM busy time",
                    float(layer.time_s),
                    "s",
                )
            )
        step_sym, values = _step_expression(phase)
        lines.append(
            (
                "step" if phase.phase == "decode" else "batch",
                sp.sstr(step_sym),
                float(step_sym.subs(values)),
                "s",
            )
        )
        if phase.phase == "decode":
            decode = e.scenario.decode
            emitted = tokens_emitted_per_step(
                decode.mtp_draft_tokens, decode.mtp_acceptance, decode.mtp_acceptance_per_depth
            )
            lines.append(
                (
                    "tokens emitted per step",
                    "1 + a d (mean acceptance a, d drafts)"
                    if not decode.mtp_acceptance_per_depth
                    else "1 + a_1 + a_1 a_2 + ... (per-depth acceptance)",
                    float(emitted),
                    "",
                )
            )
            lines.append(("TPOT", "T_step / (tokens emitted per step)", float(phase.tpot_s), "s"))
            lines.append(
                (
                    "throughput per device",
                    "batch per device / TPOT",
                    float(phase.throughput_tokens_per_s_per_device),
                    "tokens/s",
                )
            )
        else:
            lines.append(
                (
                    "throughput per device",
                    "tokens per device / batch time",
                    float(phase.throughput_tokens_per_s_per_device),
                    "tokens/s",
                )
            )
        out.append(Composition(phase.phase, lines))
    if e.deployment is not None:
        from .deployment import composition_lines

        out.append(Composition("deployment", composition_lines(e.scenario, e.deployment)))
    return out


def _step_expression(phase: PhaseResult) -> tuple[sp.Expr, dict]:
    """T_step = sum over layer kinds of count x time (MTP passes and the head included)."""
    values = {}
    expr = sp.Integer(0)
    for layer in phase.layers:
        t = sp.Symbol(f"T_{layer.name}", positive=True)
        n = sp.Symbol(f"N_{layer.name}", positive=True)
        expr = expr + n * t
        values[t], values[n] = float(layer.time_s), layer.count
    return expr, values


# ---------------------------------------------------------------------------------------------
# Closed-form questions


@dataclass(frozen=True)
class Solution:
    question: str
    equation: str
    latex: str
    symbol: str
    value: float
    unit: str
    check: str  # how the value was verified numerically


def _sum_costs(s: Scenario, ops: list, stream: Stream) -> tuple[Any, Any]:
    compute = memory = sp.Integer(0)
    for op in ops:
        params = cost_params(op, s.cluster, stream)
        c = cost_from(op.family, {n: p.value for n, p in params.items()})
        compute, memory = compute + c.compute_s, memory + c.memory_s
    return compute, memory


def positive_roots(expr: Any, x: sp.Symbol) -> list[float]:
    """The positive roots of a function of one symbol, smallest first.

    A kernel formula is piecewise (the fastest of several tile shapes, split or not): sympy
    solves it in closed form where it can, else the roots are bracketed on a logarithmic grid
    from 1e-9 to 1e15 and settled with brentq.
    """
    import numpy as np
    from scipy.optimize import brentq

    expr = sp.sympify(expr)
    if not expr.has(sp.Min, sp.Max, sp.ceiling, sp.floor):
        try:
            found = [float(r) for r in sp.solve(expr, x) if r.is_real and r > 0]
            return sorted(found)
        except NotImplementedError:
            pass
    f = sp.lambdify(x, expr, modules=["numpy"])
    grid = np.logspace(-9, 15, 2401)
    with np.errstate(all="ignore"):
        values = np.array([float(f(v)) for v in grid])
    roots = []
    for lo, hi, a, b in zip(grid[:-1], grid[1:], values[:-1], values[1:], strict=True):
        if np.isfinite(a) and np.isfinite(b) and a * b < 0:
            roots.append(float(brentq(lambda v: float(f(v)), lo, hi, xtol=1e-12, rtol=1e-12)))
        elif a == 0:
            roots.append(float(lo))
    return roots


def solve(s: Scenario, question: str, tpot_slo_s: float | None = None) -> Solution:
    if question not in SOLVE_QUESTIONS:
        raise CmperfError(
            f"unknown question {question!r}; choose from {', '.join(SOLVE_QUESTIONS)}"
        )
    if s.decode is None:
        raise CmperfError("--solve needs a scenario with a decode section")
    d = s.decode
    ranks = s.cluster.device.ranks_per_device
    b = symbol("b")
    if question == "attention-bound-batch":
        return _attention_bound(s, d, ranks, b)
    if question == "ub-bandwidth":
        if s.model.moe is None:
            raise CmperfError(
                "--solve ub-bandwidth balances expert dispatch and combine against the experts; "
                f"model {s.model.name} is dense: it has no experts"
            )
        return _ub_bandwidth(s, d, ranks)
    if tpot_slo_s is None:
        raise CmperfError("--solve max-batch needs --tpot-slo")
    return _max_batch(s, tpot_slo_s, b)


def _attention_bound(s: Scenario, d: Any, ranks: int, b: sp.Symbol) -> Solution:
    """Attention path of a decode layer (MLA prolog, core attention, o_proj) on its stream:
    sum of compute times = sum of memory times, with tokens per microbatch b (1 + d) / (r m)."""
    stream = next((st for st in d.streams if "attention" in st.paths), WHOLE_RANK)
    seqs = b / (ranks * d.microbatches)
    ops = decode_attention_ops(
        s.model, s.quantization, seqs, seqs * (1 + d.mtp_draft_tokens), d.kv_len
    )
    compute, memory = _sum_costs(s, ops, stream)
    roots = positive_roots(compute - memory, b)
    if not roots:
        raise InfeasibleError(
            "the attention path has no memory/compute crossover at a positive batch"
        )
    value = roots[0]

    def bound_at(batch: float) -> str:
        return (
            "compute" if float(compute.subs(b, batch)) > float(memory.subs(b, batch)) else "memory"
        )

    check = (
        f"at {value * 0.99:.4g}: {bound_at(value * 0.99)}-bound; "
        f"at {value * 1.01:.4g}: {bound_at(value * 1.01)}-bound"
    )
    equation = sp.Eq(sp.Float(1) * compute, sp.Float(1) * memory)
    return Solution(
        "attention-bound-batch",
        f"t_compute(b) = t_memory(b):  {sp.sstr(sp.N(equation, 4))}",
        sp.latex(sp.N(equation, 4)),
        "b",
        value,
        "sequences per device",
        check,
    )


def _ub_bandwidth(s: Scenario, d: Any, ranks: int) -> Solution:
    """dispatch(BW) + combine(BW) = expert computation of the same microbatch."""
    streams = d.streams
    moe_stream = next((st for st in streams if "moe" in st.paths), WHOLE_RANK)
    comm_stream = next((st for st in streams if "comm" in st.paths), WHOLE_RANK)
    tokens = d.batch_per_device / ranks / d.microbatches * (1 + d.mtp_draft_tokens)
    ops = moe_ops(s.model, s.quantization, tokens, d.placement)
    bw = symbol("BW")
    comm_total = sp.Integer(0)
    for op in ops:
        if op.comm is None:
            continue
        params = cost_params(op, s.cluster, comm_stream)
        values = {n: p.value for n, p in params.items()}
        values["BW"] = bw
        comm_total = comm_total + cost_from(op.family, values).total_s
    expert_s = 0.0
    for op in ops:
        if op.name.startswith("experts"):
            params = cost_params(op, s.cluster, moe_stream)
            expert_s += float(cost_from(op.family, {n: p.value for n, p in params.items()}).total_s)
    roots = positive_roots(comm_total - expert_s, bw)
    if not roots:
        raise InfeasibleError(
            "dispatch + combine exceed the expert computation at any bandwidth "
            "(their fixed and per-peer costs alone are longer)"
        )
    value = roots[0]
    load = float(expert_tokens_per_rank(s.model, d.placement, tokens))
    check = (
        f"dispatch + combine at that bandwidth: {float(comm_total.subs(bw, value)) * 1e6:.4g} us "
        f"= experts {expert_s * 1e6:.4g} us ({load:.4g} tokens on the busiest rank)"
    )
    equation = sp.N(sp.Eq(comm_total, expert_s), 4)
    return Solution(
        "ub-bandwidth",
        f"dispatch(BW) + combine(BW) = t_experts:  {sp.sstr(equation)}",
        sp.latex(equation),
        "BW",
        value,
        "B/s",
        check,
    )


def _max_batch(s: Scenario, slo: float, b: sp.Symbol) -> Solution:
    """TPOT(b) = (alpha + beta b) / k <= SLO  =>  b = (SLO k - alpha) / beta.

    alpha and beta come from two exact estimates; the step time is piecewise linear in the
    batch, so the two probes are moved next to the answer (secant steps) until it settles.
    """
    import numpy as np

    d = s.decode
    k = d.tokens_emitted_per_step
    a_s, be_s, k_s, slo_s = sp.symbols("alpha beta k SLO", positive=True)
    closed_form = sp.solve(sp.Eq((a_s + be_s * b) / k_s, slo_s), b)[0]
    probe = np.array([max(1.0, d.batch_per_device / 2), d.batch_per_device * 1.5])
    value = alpha = beta = 0.0
    for _ in range(6):
        result = estimate_decode(s, replace(d, batch_per_device=probe), check_memory=False)
        steps = np.asarray(result.step_time_s)
        beta = float((steps[1] - steps[0]) / (probe[1] - probe[0]))
        alpha = float(steps[0] - beta * probe[0])
        value = float(closed_form.subs({a_s: alpha, be_s: beta, k_s: k, slo_s: slo}))
        nearest = max(1.0, float(np.floor(value)))
        if np.array_equal(probe, [nearest, nearest + 1]):
            break
        probe = np.array([nearest, nearest + 1])
    if value < 1:
        raise InfeasibleError(f"even one sequence per device exceeds a TPOT of {slo * 1e3:g} ms")
    whole = int(np.floor(value))
    around = estimate_decode(
        s, replace(d, batch_per_device=np.array([whole, whole + 1.0])), check_memory=False
    )
    at, above = (float(t) for t in around.tpot_s)
    check = (
        f"alpha = {alpha * 1e3:.4g} ms, beta = {beta * 1e3:.4g} ms per sequence, k = {k:g}; "
        f"estimate at batch {whole}: TPOT {at * 1e3:.4g} ms, at {whole + 1}: "
        f"{above * 1e3:.4g} ms (SLO {slo * 1e3:g} ms)"
    )
    use = np.asarray(around.memory.total_bytes) / around.memory.capacity_bytes
    if use[0] > 1:
        fits = whole - (use[0] - 1) / (use[1] - use[0])  # memory is affine in the batch
        check += (
            f"; but batch {whole} needs {use[0]:.0%} of HBM: memory, not the SLO, limits the "
            f"batch to {int(np.floor(fits))}"
        )
    return Solution(
        "max-batch",
        f"b = {sp.sstr(closed_form)}",
        f"b = {sp.latex(closed_form)}",
        "b",
        value,
        "sequences per device",
        check,
    )


def dimension(expr: sp.Expr, units: dict[str, str]) -> sp.Expr:
    """The unit of a formula: every symbol replaced by 1 x its unit (FLOP, B, s as symbols)."""
    flop, byte, second = sp.symbols("FLOP B s", positive=True)
    unit_of = {
        "FLOP": flop,
        "FLOP/s": flop / second,
        "B": byte,
        "B/s": byte / second,
        "s": second,
        "1": sp.Integer(1),
    }
    # Anything else is a count (rows, tokens, peers, cores): a pure number.
    return sp.simplify(
        expr.subs({sp.Symbol(n, positive=True): unit_of.get(u, 1) for n, u in units.items()})
    )


__all__ = [
    "Composition",
    "OpExplanation",
    "Solution",
    "composition",
    "dimension",
    "explain_op",
    "solve",
]
