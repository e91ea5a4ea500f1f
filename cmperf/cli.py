"""The `cmperf` command: parse, load, call the api, render. No maths here."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

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
    CSV = "csv"
    MARKDOWN = "markdown"


class SchemaKind(StrEnum):
    SCENARIO = "scenario"
    HARDWARE = "hardware"
    MODEL = "model"


class ListKind(StrEnum):
    HARDWARE = "hardware"
    MODELS = "models"
    SCENARIOS = "scenarios"


ScenarioArgument = Annotated[
    str, typer.Argument(help="Scenario name (in scenarios/) or YAML path.")
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a scenario field, or edit its hardware.* / model.* spec: "
        "dotted.key=value (repeatable).",
    ),
]
FormatOption = Annotated[
    Format, typer.Option("--format", "-f", help="Output format: table, json, csv or markdown.")
]
IdealOption = Annotated[
    bool,
    typer.Option(
        "--ideal",
        help="Speed of light: every kernel at peak, no fixed costs, no partial waves, perfect "
        "overlap (the same as --set ideal=true).",
    ),
]


def _sets(set_: list[str] | None, ideal: bool = False) -> tuple[str, ...]:
    return (*(set_ or ()), *(("ideal=true",) if ideal else ()))


class _State:
    debug = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cmperf {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    calibration: Annotated[
        list[Path] | None,
        typer.Option(
            "--calibration",
            help="Apply a calibration overlay (written by cmperf calibrate) to its device "
            "(repeatable; later ones win).",
        ),
    ] = None,
) -> None:
    _State.debug = debug
    from .specs import calibration as overlays

    try:
        overlays.use(list(calibration or ()))  # each invocation states its own overlays
    except CmperfError as exc:
        _fail(exc)
    # In-process callers (tests, notebooks) must not inherit this run's overlays.
    ctx.call_on_close(lambda: overlays.use([]))
    ctx.call_on_close(_print_notes)


def _print_notes() -> None:
    """Settings a spec reader adjusted to the model, said once on stderr."""
    from .specs.notes import take

    for text in take():
        typer.echo(f"cmperf: note: {_one_line(text)}", err=True)


def _console():
    from rich.console import Console

    # A terminal gets tables that fit it (rich wraps their cells); a pipe or a file gets them
    # whole, as wide as they are.
    console = Console()
    return console if console.is_terminal else Console(width=max(140, console.width))


def _fail(exc: Exception) -> None:
    """One line on stderr and the failure's exit status; --debug adds the traceback first."""
    if _State.debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    code = exc.exit_code if isinstance(exc, CmperfError) else 2
    kind = "infeasible" if code == 1 else "error"
    typer.echo(f"cmperf: {kind}: {_one_line(str(exc))}", err=True)
    raise typer.Exit(code)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _emit(text: str) -> None:
    sys.stdout.write(text)


def _emit_json(record: object) -> None:
    """Strict JSON (no NaN or Infinity, which many parsers reject), written whole or not at all."""
    try:
        text = json.dumps(record, indent=2, allow_nan=False)
    except ValueError:
        _fail(CmperfError("the result has a figure that is not a finite number (NaN or infinity)"))
        return
    sys.stdout.write(text + "\n")


def _output(
    format_: str,
    *,
    json: Callable[[], object],
    csv: Callable[[], str],
    markdown: Callable[[], str],
    table: Callable[[], None],
) -> None:
    """Write a result in the chosen format; only the builder of that format runs."""
    if format_ == Format.JSON:
        _emit_json(json())
    elif format_ == Format.CSV:
        _emit(csv())
    elif format_ == Format.MARKDOWN:
        _emit(markdown())
    else:
        table()


def _report(format_: str, kind: str, result: object, *table_args: object) -> None:
    """Write `result` with the report module's views of `kind` (KIND_record, KIND_csv,
    KIND_markdown, render_KIND)."""
    from . import report

    def view(name: str) -> Callable[..., Any]:
        return getattr(report, name)

    _output(
        format_,
        json=lambda: view(f"{kind}_record")(result),
        csv=lambda: view(f"{kind}_csv")(result),
        markdown=lambda: view(f"{kind}_markdown")(result),
        table=lambda: view(f"render_{kind}")(result, _console(), *table_args),
    )


@app.command()
def estimate(
    scenario: ScenarioArgument,
    set_: SetOption = None,
    format_: FormatOption = Format.TABLE,
    ops: Annotated[
        bool,
        typer.Option(
            "--ops/--no-ops",
            help="Show the per-op breakdown (table, markdown); --no-ops also leaves the ops "
            "list out of the JSON (a smaller baseline for cmperf check).",
        ),
    ] = True,
    ideal: IdealOption = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the result to FILE instead of stdout, only if the estimate succeeds "
            "(a baseline for cmperf check: -f json --no-ops -o FILE.json).",
        ),
    ] = None,
) -> None:
    """Estimate prefill and/or decode performance of a scenario.

    csv: one row per op with the fields of the JSON ops list."""
    from . import api, report

    try:
        result = api.estimate(scenario, _sets(set_, ideal))
    except CmperfError as exc:
        _fail(exc)
        return
    if output is not None:
        _write_to(output, lambda: estimate(scenario, set_, format_, ops, ideal, None))
        return

    def record() -> dict:
        out = report.estimate_record(result)
        if not ops:
            for phase in result.phases:
                out[phase.phase].pop("ops", None)
        return out

    _output(
        format_,
        json=record,
        csv=lambda: report.estimate_csv(result),
        markdown=lambda: report.estimate_markdown(result, show_ops=ops),
        table=lambda: report.render_estimate(result, _console(), show_ops=ops),
    )


@app.command()
def validate(
    file: Annotated[
        Path | None, typer.Option(help="Validation points file (default: every shipped one).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Apply to every point before its own settings, e.g. a what-if calibration "
            "hardware.device.efficiency.compute.gemm=0.6 (repeatable); without --file, to the "
            "CloudMatrix384 points.",
        ),
    ] = None,
    format_: FormatOption = Format.TABLE,
    fit: Annotated[
        bool,
        typer.Option(
            "--fit",
            help="Refit the file's one in-situ parameter on its calibration points and show "
            "the value, its residuals and the device spec key to write it to.",
        ),
    ] = False,
) -> None:
    """Predict every published measurement in the validation file and show the errors.

    Exits 1 when a point is outside its bound and not a known gap (or a known gap closed)."""
    from . import validate as validation

    try:
        if fit:
            result = validation.fit_in_situ(file or validation.DEFAULT_FILE, tuple(set_ or ()))
            _report(format_, "fit", result)
            return
        # A what-if edits one system's specs: without --file it applies to the defining case.
        chosen = file if file is not None or not set_ else validation.DEFAULT_FILE
        outcomes = validation.run(chosen, tuple(set_ or ()))
    except CmperfError as exc:
        _fail(exc)
        return
    _report(format_, "validation", outcomes)
    if not all(o.as_expected for o in outcomes):
        raise typer.Exit(1)


def _write_to(path: Path, run: Callable[[], None]) -> None:
    """What `run` writes to stdout, written to `path` once it has all been produced."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        run()
    try:
        path.write_text(buffer.getvalue(), encoding="utf-8")
    except OSError as exc:
        _fail(CmperfError(f"--output: cannot write {path}: {exc.strerror}"))


def _seconds(value: str | None, option: str) -> float | None:
    if value is None:
        return None
    from .units import Dimension, UnitError, parse_quantity

    try:
        seconds = parse_quantity(value, Dimension.TIME)
    except UnitError as exc:
        raise CmperfError(f"{option}: {exc}") from None
    if not 0 < seconds <= 3600:  # an SLO is a latency: above zero, at most an hour
        raise CmperfError(f"{option}: expected a time above 0 s and at most 1 h, got {value}")
    return seconds


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
        Format,
        typer.Option(
            "--format",
            "-f",
            help="table, json, csv (the frontier) or markdown (the ranked table and frontier).",
        ),
    ] = Format.TABLE,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Draw the frontier, the ranked points and the SLO to FILE.png or FILE.svg "
            "(needs the plot extra: pip install 'cmperf\\[plot]')."
        ),
    ] = None,
    ideal: IdealOption = False,
) -> None:
    """Find the best EP degree, batch, quantization, microbatches and MTP depth under an SLO.

    A deployment scenario whose sweep block says `phase: deployment` and `devices: N` searches
    the prefill : decode split of N devices instead."""
    from . import report, search

    try:
        if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf"):
            raise CmperfError(f"--plot: expected a .png, .svg or .pdf file name, got {plot}")
        split = _deployment_split(scenario, _sets(set_, ideal), tpot_slo, ttft_slo)
        if split is not None:
            if plot is not None:
                raise CmperfError(
                    "--plot draws a phase sweep's frontier; a deployment's split search has "
                    "none (its table ranks the splits)"
                )
            _report(format_, "split", split)
            if not split.slo_ok:
                raise typer.Exit(1)
            return
        result = search.sweep(
            scenario,
            _sets(set_, ideal),
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
    from .api import estimate as run_estimate

    def record() -> dict | None:
        def estimate_of(point: search.Point) -> dict:
            return report.estimate_record(run_estimate(result.scenario.file, point.sets))

        try:
            return report.sweep_record(result, estimate_of)
        except CmperfError as exc:
            _fail(exc)
            return None

    _output(
        format_,
        json=record,
        csv=lambda: report.frontier_csv(result),
        markdown=lambda: report.sweep_markdown(result),
        table=lambda: report.render_sweep(result, _console()),
    )


@app.command()
def compare(
    scenarios: Annotated[
        list[str], typer.Argument(help="Scenarios (names or paths), one column each.")
    ],
    vs: Annotated[
        list[str] | None,
        typer.Option(
            "--vs",
            help="Another column: the first scenario with these overrides, comma-separated "
            "dotted.key=value pairs (repeatable), e.g. --vs decode.microbatches=1",
        ),
    ] = None,
    set_: SetOption = None,
    format_: FormatOption = Format.TABLE,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Draw throughput per device and per TFLOPS as bars to FILE.png or FILE.svg "
            "(needs the plot extra: pip install 'cmperf\\[plot]')."
        ),
    ] = None,
    ideal: IdealOption = False,
) -> None:
    """Compare deployments side by side, per phase: throughput per device, per TFLOPS and per
    TB/s of HBM, TPOT or batch time, memory, the bound, and the change against the first."""
    from .compare import columns
    from .compare import compare as run_compare

    try:
        if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf"):
            raise CmperfError(f"--plot: expected a .png, .svg or .pdf file name, got {plot}")
        variants = [[p.strip() for p in v.split(",") if p.strip()] for v in vs or []]
        result = run_compare(columns(scenarios, variants, list(_sets(set_, ideal))))
        if plot is not None:
            from .plot import plot_compare

            plot_compare(result, plot)
    except CmperfError as exc:
        _fail(exc)
        return
    _report(format_, "compare", result)


def _deployment_split(
    scenario: str, sets: tuple[str, ...], tpot_slo: str | None, ttft_slo: str | None
) -> Any:
    """The prefill : decode split search of a deployment scenario's `sweep: {phase:
    deployment, devices: N}`, or None for any other sweep."""
    from .specs import as_scenario

    s = as_scenario(scenario, sets)
    block = s.sweep if isinstance(s.sweep, dict) else {}
    if block.get("phase") != "deployment":
        return None
    from .specs.reader import Reader
    from .splits import best_splits
    from .units import Dimension

    r = Reader(block, s.file, "sweep")
    r.string("phase")
    budget = r.integer("devices", high=10_000_000)
    # the command line's SLOs win over the block's
    file_ttft = r.quantity("ttft_slo", Dimension.TIME, None) if r.has("ttft_slo") else None
    file_tpot = r.quantity("tpot_slo", Dimension.TIME, None) if r.has("tpot_slo") else None
    ttft = _seconds(ttft_slo, "--ttft-slo") or file_ttft
    tpot = _seconds(tpot_slo, "--tpot-slo") or file_tpot
    r.done(["phase", "devices", "ttft_slo", "tpot_slo"])
    return best_splits(s, budget, ttft, tpot)


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
    layer: Annotated[
        str | None,
        typer.Option(help="Layer kind for --timeline (default: moe, or the first layer)."),
    ] = None,
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
            _timeline(result, layer, phase, plot, format_)
            return
        from . import symbolic

        if op is not None:
            shown = symbolic.explain_op(result, op)
            _output(
                format_,
                json=lambda: report.op_explanation_record(shown),
                csv=lambda: report.op_explanation_csv(shown),
                markdown=lambda: report.op_explanation_markdown(shown, latex),
                table=lambda: report.render_op_explanation(shown, _console(), latex),
            )
            return
        if solve is not None:
            answer = symbolic.solve(result.scenario, solve, _seconds(tpot_slo, "--tpot-slo"))
            _output(
                format_,
                json=lambda: report.solution_record(answer),
                csv=lambda: report.solution_csv(answer),
                markdown=lambda: report.solution_markdown(answer, latex),
                table=lambda: report.render_solution(answer, _console(), latex),
            )
            return
        parts = [c for c in symbolic.composition(result) if phase in (None, c.phase)]
        if not parts:
            raise CmperfError(f"--phase {phase}: the scenario has no such phase")
        _output(
            format_,
            json=lambda: report.composition_record(parts),
            csv=lambda: report.composition_csv(parts),
            markdown=lambda: report.composition_markdown(parts),
            table=lambda: report.render_composition(parts, _console()),
        )
    except CmperfError as exc:
        _fail(exc)


def _timeline(
    result, layer: str | None, phase: str | None, plot: Path | None, format_: Format
) -> None:
    from . import report
    from .schedule import steady_layer

    phases = [p for p in result.phases if phase in (None, p.phase)]
    if not phases:
        raise CmperfError(f"--phase {phase}: the scenario has no such phase")
    if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise CmperfError(f"--plot: expected a .png, .svg or .pdf file name, got {plot}")
    records = []
    for p in phases:
        if layer is None:
            layer = "moe" if "moe" in p.chains else next(iter(p.chains))
        if layer not in p.chains:
            raise CmperfError(
                f"--layer {layer}: the {p.phase} phase has layers {', '.join(p.chains)}"
            )
        window, bars = steady_layer(p.chains[layer], p.microbatches)
        title = f"{result.scenario.name}: {p.phase} {layer} layer"
        if format_ == Format.TABLE:
            report.render_timeline(title, window, bars, _console())
        records.append(report.timeline_records(title, window, bars))
        if plot is not None:
            from .plot import plot_timeline

            target = plot if len(phases) == 1 else plot.with_stem(f"{plot.stem}-{p.phase}")
            plot_timeline(title, window, bars, target)
    if format_ == Format.JSON:
        _emit_json(records)
    elif format_ == Format.CSV:
        rows = [row for record in records for row in report.timeline_rows(record)]
        _emit(report.csv_text(report.TIMELINE_COLUMNS, rows))
    elif format_ == Format.MARKDOWN:
        _emit("\n".join(report.timeline_markdown(record) for record in records))


@app.command()
def check(
    baselines: Annotated[
        list[Path],
        typer.Argument(
            help="Baseline JSON files written by `cmperf estimate SCENARIO --format json`.",
            show_default=False,
        ),
    ],
    rtol: Annotated[
        float, typer.Option(help="Relative tolerance of every figure (0.02 = 2 %).")
    ] = 0.02,
    format_: FormatOption = Format.TABLE,
) -> None:
    """Re-run the scenarios recorded in baselines and compare their figures (for CI).

    Exit 0 when every figure is within --rtol, 1 when one moved (a diff table shows which),
    2 when a baseline is unreadable or malformed."""
    from . import baseline, report

    try:
        checks = baseline.check(baselines, rtol)
    except CmperfError as exc:
        _fail(exc)
        return
    _output(
        format_,
        json=lambda: baseline.check_record(checks, rtol),
        csv=lambda: report.check_csv(checks),
        markdown=lambda: report.check_markdown(checks, rtol),
        table=lambda: report.render_check(checks, rtol, _console()),
    )
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


@app.command()
def schema(
    kind: Annotated[
        SchemaKind,
        typer.Argument(help="Which file kind: scenario, hardware (device or cluster) or model."),
    ],
) -> None:
    """Print the JSON Schema (draft 2020-12) of a spec file kind, for editors and linters."""
    from .schema import SCHEMAS

    _emit_json(SCHEMAS[kind.value]())


@app.command("list")
def list_specs(
    kind: Annotated[
        ListKind | None,
        typer.Argument(
            help="hardware, models or scenarios (default: all three).", show_default=False
        ),
    ] = None,
    format_: FormatOption = Format.TABLE,
) -> None:
    """List the specs cmperf ships and those in the working folder: name, kind, where found.

    Working-folder specs: those in its hardware_specs/, model_specs/ and scenarios/ folders.

    And its own *.yaml files that are specs (by kind:, or hardware: and model: for a scenario).

    Name a spec by the name shown. A file that does not parse is listed with its error."""
    from . import report

    entries = report.find_specs(None if kind is None else kind.value, Path.cwd())
    _report(format_, "listing", entries)


@app.command()
def calibrate(
    folder: Annotated[
        Path, typer.Argument(help="Folder of kernel CSVs (calibration README format).")
    ],
    hardware: Annotated[
        str, typer.Option(help="Device or cluster the kernels ran on, e.g. h200-sxm.")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the fitted overlay to FILE.yaml."),
    ] = None,
    holdout: Annotated[
        float, typer.Option(help="Share of each family's rows held out of the fit (0 to 0.9).")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the random hold-out split.")] = 0,
    format_: FormatOption = Format.TABLE,
) -> None:
    """Fit the kernel model of a device to measured kernels (least squares on log latency).

    Prints per family and variant: rows used, then median and p90 absolute % error before the
    fit (the spec's defaults), after it, and on the held-out rows."""
    from .kernels.calibrate import calibrate as run
    from .specs import load_hardware

    try:
        if not 0 <= holdout <= 0.9:
            raise CmperfError(f"--holdout: expected a share from 0 to 0.9, got {holdout:g}")
        device, cluster = load_hardware(hardware)
        result = run(folder, hardware, device, cluster, holdout, seed)
        if output is not None:
            from .kernels.overlay import write_overlay

            write_overlay(result, output)
    except CmperfError as exc:
        _fail(exc)
        return
    _report(format_, "calibrate", result, str(output) if output else None)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def kernel(
    ctx: typer.Context,
    family: Annotated[
        str | None,
        typer.Argument(
            help="gemm, grouped-gemm, mla-decode, mla-prefill, moe, dispatch, combine, "
            "all-reduce, all-gather, reduce-scatter, all-to-all, elementwise.",
            show_default=False,
        ),
    ] = None,
    hardware: Annotated[
        str, typer.Option(help="Device or cluster, e.g. h200-sxm or hgx-h200.")
    ] = "h200-sxm",
    csv: Annotated[
        Path | None,
        typer.Option("--csv", help="Predict every row of a calibration-format CSV instead."),
    ] = None,
    rows: Annotated[bool, typer.Option("--rows", help="With --csv: show every row.")] = False,
    ideal: Annotated[
        bool,
        typer.Option(
            "--ideal",
            help="Speed of light: the kernel at peak, no fixed costs, no partial waves, "
            "perfect overlap.",
        ),
    ] = False,
    format_: FormatOption = Format.TABLE,
) -> None:
    """One kernel's predicted time from its shape, e.g.
    `cmperf kernel gemm --m 128 --n 7168 --k 2048 --dtype fp8_block`; the shape options are
    the family's columns in the calibration CSVs (`cmperf kernel FAMILY --help-shape`)."""
    from . import report
    from .kernels import command as kc
    from .specs import load_hardware

    try:
        device, cluster = load_hardware(hardware)
        if csv is not None:
            if family is not None or ctx.args:
                raise CmperfError("--csv predicts a whole file: give no family or shape")
            from .kernels.calibrate import predict_csv

            predicted = predict_csv(csv, device, cluster, ideal)
            _output(
                format_,
                json=lambda: report.predictions_record(predicted, str(csv), device.name),
                csv=lambda: report.predictions_csv(predicted),
                markdown=lambda: report.predictions_markdown(predicted),
                table=lambda: report.render_predictions(predicted, _console(), rows, str(csv)),
            )
            return
        if family is None:
            raise CmperfError("give a kernel family (e.g. gemm) and its shape, or --csv FILE")
        fam = kc.family_for(family)
        if "--help-shape" in ctx.args:
            _emit(kc.shape_help(fam))
            return
        variant, shape, t = kc.run(fam, list(ctx.args), device, cluster, ideal)
    except CmperfError as exc:
        _fail(exc)
        return
    record = report.kernel_record(fam.name, variant, shape, t, device.name)
    _output(
        format_,
        json=lambda: record,
        csv=lambda: report.kernel_csv(record),
        markdown=lambda: report.kernel_markdown(t),
        table=lambda: report.render_kernel(
            f"{fam.name} ({variant}) on {device.name}"
            + (" at the speed of light" if ideal else ""),
            t,
            _console(),
        ),
    )


def main() -> None:
    """The console entry point: a bug still ends in one line on stderr (exit 3) unless --debug."""
    try:
        try:
            app()
        finally:
            sys.stdout.flush()  # here, so a closed pipe is caught below, not at exit
    except BrokenPipeError:
        # The reader went away (`cmperf ... | head`): stop quietly, as rich does for tables.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except Exception as exc:  # anything else is a bug in cmperf
        if _State.debug:
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
        name = type(exc).__name__
        sys.stderr.write(
            f"cmperf: internal error: {name}: {_one_line(str(exc))} (a bug in cmperf; "
            "rerun with --debug for the traceback and please report it)\n"
        )
        sys.exit(3)
