"""The `cmperf` command: parse, load, call the api, render. No maths here."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from . import __version__
from .errors import CmperfError

app = typer.Typer(
    name="cmperf",
    help="Predict LLM serving performance on scale-up supernodes from hardware and model specs.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


class SweepFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


ScenarioArgument = Annotated[
    str, typer.Argument(help="Scenario name (in scenarios/) or YAML path.")
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario field: dotted.key=value (repeatable)."),
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


class _State:
    debug = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cmperf {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    _State.debug = debug


def _console():
    from rich.console import Console

    # Tables are wide; a pipe or a narrow terminal still gets them whole.
    return Console(width=max(140, Console().width))


def _fail(exc: Exception) -> None:
    if _State.debug:
        raise exc
    code = exc.exit_code if isinstance(exc, CmperfError) else 2
    kind = "infeasible" if code == 1 else "error"
    typer.echo(f"cmperf: {kind}: {exc}", err=True)
    raise typer.Exit(code)


@app.command()
def estimate(
    scenario: ScenarioArgument,
    set_: SetOption = None,
    format_: FormatOption = Format.TABLE,
    ops: Annotated[bool, typer.Option("--ops/--no-ops", help="Show the per-op breakdown.")] = True,
) -> None:
    """Estimate prefill and/or decode performance of a scenario."""
    from . import api, report

    try:
        result = api.estimate(scenario, tuple(set_ or ()))
    except CmperfError as exc:
        _fail(exc)
        return
    if format_ == Format.JSON:
        json.dump(report.estimate_record(result), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        report.render_estimate(result, _console(), show_ops=ops)


@app.command()
def validate(
    file: Annotated[Path | None, typer.Option(help="Validation points file.")] = None,
    format_: FormatOption = Format.TABLE,
) -> None:
    """Predict every published measurement in the validation file and show the errors."""
    from . import validate as validation
    from .report import render_validation, validation_record

    try:
        outcomes = validation.run(file) if file else validation.run()
    except CmperfError as exc:
        _fail(exc)
        return
    if format_ == Format.JSON:
        json.dump(validation_record(outcomes), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        render_validation(outcomes, _console())
    if not all(o.as_expected for o in outcomes):
        raise typer.Exit(1)


def _seconds(value: str | None, option: str) -> float | None:
    if value is None:
        return None
    from .units import Dimension, UnitError, parse_quantity

    try:
        return parse_quantity(value, Dimension.TIME)
    except UnitError as exc:
        raise CmperfError(f"{option}: {exc}") from None


@app.command()
def sweep(
    scenario: Annotated[str, typer.Argument(help="Scenario with a sweep: block (name or path).")],
    tpot_slo: Annotated[
        str | None,
        typer.Option(
            "--tpot-slo", help='Decode TPOT bound, e.g. "15ms" (overrides sweep.tpot_slo).'
        ),
    ] = None,
    ttft_slo: Annotated[
        str | None,
        typer.Option("--ttft-slo", help='Prefill batch-time bound, e.g. "2s" (prefill sweeps).'),
    ] = None,
    objective: Annotated[
        str | None,
        typer.Option(
            help="throughput_per_device (default), throughput_per_instance or tokens_per_tflops."
        ),
    ] = None,
    top: Annotated[int | None, typer.Option(help="How many configurations to rank.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Override a scenario or sweep field: dotted.key=value (repeatable)."
        ),
    ] = None,
    format_: Annotated[
        SweepFormat, typer.Option("--format", "-f", help="table, json, or csv (the frontier).")
    ] = SweepFormat.TABLE,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Draw the frontier, the ranked points and the SLO to FILE.png or FILE.svg "
            "(needs the plot extra: pip install 'cmperf[plot]')."
        ),
    ] = None,
) -> None:
    """Find the best EP degree, batch, quantization, microbatches and MTP depth under an SLO."""
    from . import report, search

    try:
        if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf"):
            raise CmperfError(f"--plot: expected a .png, .svg or .pdf file name, got {plot}")
        result = search.sweep(
            scenario,
            tuple(set_ or ()),
            _seconds(tpot_slo, "--tpot-slo"),
            _seconds(ttft_slo, "--ttft-slo"),
            objective,
            top,
            progress=_progress(),
        )
        search.require_best(result)
        if plot is not None:
            from .plot import plot_sweep

            plot_sweep(result, plot)
    except CmperfError as exc:
        _fail(exc)
        return
    if format_ == SweepFormat.JSON:
        from .api import estimate as run_estimate

        def estimate_of(point: search.Point) -> dict:
            return report.estimate_record(run_estimate(result.scenario.file, point.sets))

        json.dump(report.sweep_record(result, estimate_of), sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif format_ == SweepFormat.CSV:
        sys.stdout.write(report.frontier_csv(result))
    else:
        report.render_sweep(result, _console())


def _progress():
    """A progress bar on stderr when it is a terminal; None (no bar) otherwise."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import Progress

    bar = Progress(console=Console(stderr=True), transient=True)
    task = bar.add_task("sweeping", total=None)
    bar.start()

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)
        if done >= total:
            bar.stop()

    return update


@app.command()
def explain(
    scenario: ScenarioArgument,
    op: Annotated[
        str | None,
        typer.Option(
            help="An op of the estimate, e.g. decode.moe.dispatch: its formula and symbols."
        ),
    ] = None,
    latex: Annotated[bool, typer.Option("--latex", help="Print formulas as LaTeX.")] = False,
    solve: Annotated[
        str | None,
        typer.Option(help="attention-bound-batch, ub-bandwidth or max-batch (with --tpot-slo)."),
    ] = None,
    tpot_slo: Annotated[
        str | None,
        typer.Option("--tpot-slo", help='TPOT bound for --solve max-batch, e.g. "15ms".'),
    ] = None,
    timeline: Annotated[
        bool, typer.Option("--timeline", help="Draw one layer's schedule (streams, microbatches).")
    ] = False,
    layer: Annotated[str, typer.Option(help="Layer kind for --timeline.")] = "moe",
    phase: Annotated[str | None, typer.Option(help="decode or prefill (default: all).")] = None,
    plot: Annotated[
        Path | None,
        typer.Option(help="With --timeline: also draw it to FILE.png or FILE.svg (plot extra)."),
    ] = None,
    set_: SetOption = None,
    format_: FormatOption = Format.TABLE,
) -> None:
    """Show the mathematics behind an estimate: op formulas, composition, closed-form answers."""
    from . import api, report

    try:
        result = api.estimate(scenario, tuple(set_ or ()))
        if timeline:
            _timeline(result, layer, phase, plot)
            return
        from . import symbolic

        if op is not None:
            shown = symbolic.explain_op(result, op)
            if format_ == Format.JSON:
                record = {
                    "op": shown.op,
                    "formula": shown.formula,
                    "latex": shown.latex,
                    "symbols": shown.symbols,
                    "value_s": shown.value_s,
                    "terms": shown.terms,
                }
                json.dump(record, sys.stdout, indent=2)
                sys.stdout.write("\n")
            else:
                report.render_op_explanation(shown, _console(), latex)
            return
        if solve is not None:
            answer = symbolic.solve(result.scenario, solve, _seconds(tpot_slo, "--tpot-slo"))
            if format_ == Format.JSON:
                json.dump(answer.__dict__, sys.stdout, indent=2)
                sys.stdout.write("\n")
            else:
                report.render_solution(answer, _console(), latex)
            return
        parts = [c for c in symbolic.composition(result) if phase in (None, c.phase)]
        if not parts:
            raise CmperfError(f"--phase {phase}: the scenario has no such phase")
        if format_ == Format.JSON:
            json.dump(
                [
                    {
                        "phase": c.phase,
                        "lines": [
                            dict(zip(("quantity", "formula", "value", "unit"), line, strict=True))
                            for line in c.lines
                        ],
                    }
                    for c in parts
                ],
                sys.stdout,
                indent=2,
            )
            sys.stdout.write("\n")
        else:
            report.render_composition(parts, _console())
    except CmperfError as exc:
        _fail(exc)


def _timeline(result, layer: str, phase: str | None, plot: Path | None) -> None:
    from .report import render_timeline
    from .schedule import steady_layer

    phases = [
        p for p in (result.prefill, result.decode) if p is not None and phase in (None, p.phase)
    ]
    if not phases:
        raise CmperfError(f"--phase {phase}: the scenario has no such phase")
    if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise CmperfError(f"--plot: expected a .png, .svg or .pdf file name, got {plot}")
    for p in phases:
        if layer not in p.chains:
            raise CmperfError(
                f"--layer {layer}: the {p.phase} phase has layers {', '.join(p.chains)}"
            )
        window, bars = steady_layer(p.chains[layer], p.microbatches)
        title = f"{result.scenario.name}: {p.phase} {layer} layer"
        render_timeline(title, window, bars, _console())
        if plot is not None:
            from .plot import plot_timeline

            target = plot if len(phases) == 1 else plot.with_stem(f"{plot.stem}-{p.phase}")
            plot_timeline(title, window, bars, target)


def main() -> None:
    app()
