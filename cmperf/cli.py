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
    scenario: Annotated[str, typer.Argument(help="Scenario name (in scenarios/) or YAML path.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a scenario field: dotted.key=value (repeatable)."),
    ] = None,
    format_: Annotated[
        Format, typer.Option("--format", "-f", help="Output format.")
    ] = Format.TABLE,
    ops: Annotated[bool, typer.Option("--ops/--no-ops", help="Show the per-op breakdown.")] = True,
) -> None:
    """Estimate prefill and/or decode performance of a scenario."""
    from . import api, report

    try:
        result = api.estimate(scenario, tuple(set_ or ()))
    except (CmperfError, LookupError) as exc:
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
    format_: Annotated[
        Format, typer.Option("--format", "-f", help="Output format.")
    ] = Format.TABLE,
) -> None:
    """Predict every published measurement in the validation file and show the errors."""
    from . import validate as validation
    from .report import render_validation, validation_record

    try:
        outcomes = validation.run(file) if file else validation.run()
    except (CmperfError, LookupError) as exc:
        _fail(exc)
        return
    if format_ == Format.JSON:
        json.dump(validation_record(outcomes), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        render_validation(outcomes, _console())
    if not all(o.as_expected for o in outcomes):
        raise typer.Exit(1)


def main() -> None:
    app()
