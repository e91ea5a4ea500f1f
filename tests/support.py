"""Shared helpers of the test suite: running the CLI in process and checking clean failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cmperf.cli import app

PACKAGE = Path(__file__).resolve().parent.parent / "cmperf"
SCENARIOS = PACKAGE / "scenarios"
HARDWARE = PACKAGE / "hardware_specs"
MODELS = PACKAGE / "model_specs"
DECODE = "cloudmatrix384-decode"
PREFILL = "cloudmatrix384-prefill"

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def sets_args(sets: list[str] | tuple[str, ...]) -> list[str]:
    return [arg for s in sets for arg in ("--set", s)]


def assert_clean_failure(result: Any, kind: str, code: int, *fragments: str) -> str:
    """Exit `code`, one line on stderr "cmperf: <kind>: ...", no traceback; returns the line."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    err = result.stderr
    assert err.startswith(f"cmperf: {kind}: "), err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"
    return err


def assert_error(result: Any, *fragments: str) -> str:
    return assert_clean_failure(result, "error", 2, *fragments)


def assert_infeasible(result: Any, *fragments: str) -> str:
    return assert_clean_failure(result, "infeasible", 1, *fragments)
