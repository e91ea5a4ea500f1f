"""`cmperf explain`: an op's formula and symbols, closed-form answers (--solve) and how op
times compose into a step (the --timeline view is in timeline.py)."""

from __future__ import annotations

import math
from typing import Any

from ..units import Dimension, format_quantity
from .common import csv_text, markdown_table, print_heading, rich_table, time_text

EXPLAIN_SYMBOL_COLUMNS = ("symbol", "value", "unit", "source")
COMPOSITION_COLUMNS = ("phase", "quantity", "formula", "value", "unit")
_COMPOSITION_VIEW_COLUMNS = ("quantity", "formula", "value")
_RIGHT = {"value"}  # of both the symbol and the composition tables


def _math_block(latex_text: str, plain: str, latex: bool) -> str:
    """A formula in markdown: display maths with --latex, else a code block."""
    return f"$$\n{latex_text}\n$$" if latex else f"```\n{plain}\n```"


# ---------------------------------------------------------------------------------------------
# --op: one op's formula and symbols


def op_explanation_record(shown: Any) -> dict[str, Any]:
    return {
        "op": shown.op,
        "formula": shown.formula,
        "latex": shown.latex,
        "symbols": shown.symbols,
        "value_s": shown.value_s,
        "terms": shown.terms,
    }


def _symbol_rows(shown: Any, name: str = "{}") -> list[list[str]]:
    """The symbols table; `name` formats the symbol's name."""
    return [
        [name.format(n), f"{info['value']:.6g}", info["unit"], info["source"]]
        for n, info in shown.symbols.items()
    ]


def _time_line(shown: Any, gap: str) -> str:
    """The op's time and its nonzero terms; `gap` goes between the two."""
    terms = ", ".join(f"{k.removesuffix('_s')} {time_text(v)}" for k, v in shown.terms.items() if v)
    return f"t = {time_text(shown.value_s)}{gap}({terms})"


def render_op_explanation(shown: Any, console: Any, latex: bool) -> None:
    print_heading(console, shown.op)
    console.print(shown.latex if latex else shown.formula, markup=False)
    table = rich_table(
        EXPLAIN_SYMBOL_COLUMNS,
        _symbol_rows(shown),
        _RIGHT,
        overflow="fold",
        show_edge=False,
        title_justify="left",
    )
    console.print(table)
    console.print(_time_line(shown, "  "))


def op_explanation_csv(shown: Any) -> str:
    """One row per symbol; a last row `t` holds the op's time and its formula as the source."""
    rows = [[n, info["value"], info["unit"], info["source"]] for n, info in shown.symbols.items()]
    rows.append(["t", shown.value_s, "s", shown.formula])
    return csv_text(EXPLAIN_SYMBOL_COLUMNS, rows)


def op_explanation_markdown(shown: Any, latex: bool) -> str:
    return (
        f"## {shown.op}\n\n{_math_block(shown.latex, shown.formula, latex)}\n\n"
        + markdown_table(EXPLAIN_SYMBOL_COLUMNS, _symbol_rows(shown, "`{}`"), _RIGHT)
        + f"\n{_time_line(shown, ' ')}\n"
    )


# ---------------------------------------------------------------------------------------------
# --solve: closed-form answers


def _solution_value(answer: Any) -> str:
    if answer.unit == "B/s":
        return format_quantity(answer.value, Dimension.BANDWIDTH)
    return f"{answer.value:.4g} {answer.unit}"


def render_solution(answer: Any, console: Any, latex: bool) -> None:
    from ..symbolic import SOLVE_QUESTIONS

    print_heading(console, answer.question, SOLVE_QUESTIONS[answer.question])
    console.print(answer.latex if latex else answer.equation, markup=False)
    console.print(f"{answer.symbol} = {_solution_value(answer)}", markup=False)
    console.print(f"check: {answer.check}", markup=False)


def solution_record(answer: Any) -> dict[str, Any]:
    return dict(answer.__dict__)


def solution_csv(answer: Any) -> str:
    record = solution_record(answer)
    return csv_text(list(record), [list(record.values())])


def solution_markdown(answer: Any, latex: bool) -> str:
    from ..symbolic import SOLVE_QUESTIONS

    equation = _math_block(answer.latex, answer.equation, latex)
    return (
        f"## {answer.question}\n\n{SOLVE_QUESTIONS[answer.question]}\n\n{equation}\n\n"
        f"**{answer.symbol} = {_solution_value(answer)}**\n\ncheck: {answer.check}\n"
    )


# ---------------------------------------------------------------------------------------------
# composition: how op times make a step (a NaN value marks a descriptive line)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def composition_record(parts: list[Any]) -> list[dict[str, Any]]:
    """JSON of the composition; a descriptive line (no value) has value null."""
    return [
        {
            "phase": c.phase,
            "lines": [
                {"quantity": q, "formula": f, "value": _finite_or_none(v), "unit": u}
                for q, f, v, u in c.lines
            ],
        }
        for c in parts
    ]


def composition_csv(parts: list[Any]) -> str:
    rows = [[c.phase, q, f, _finite_or_none(v), u] for c in parts for q, f, v, u in c.lines]
    return csv_text(COMPOSITION_COLUMNS, rows)


def _composition_value(value: float, unit: str) -> str:
    if value != value:  # NaN: a descriptive line
        return ""
    if unit == "s":
        return time_text(value)
    return f"{value:,.4g} {unit}".strip()


def _composition_title(part: Any) -> str:
    if part.phase == "deployment":
        return "deployment: how the pools' figures compose"
    return f"{part.phase}: how op times compose"


def render_composition(parts: list[Any], console: Any) -> None:
    for part in parts:
        rows = [[q, f, _composition_value(v, u)] for q, f, v, u in part.lines]
        table = rich_table(
            _COMPOSITION_VIEW_COLUMNS,
            rows,
            _RIGHT,
            overflow="fold",
            title=_composition_title(part),
            title_justify="left",
        )
        console.print(table)


def composition_markdown(parts: list[Any]) -> str:
    out = []
    for part in parts:
        rows = [
            [q, f if v != v else f"`{f}`", _composition_value(v, u)]  # NaN: a descriptive line
            for q, f, v, u in part.lines
        ]
        out.append(f"### {_composition_title(part)}\n")
        out.append(markdown_table(_COMPOSITION_VIEW_COLUMNS, rows, _RIGHT))
    return "\n".join(out)
