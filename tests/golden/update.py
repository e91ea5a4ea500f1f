"""Rewrite the golden predictions, the README's validation table, the `cmperf check` baselines
of the shipped scenarios and the published JSON Schemas (scenario, hardware, model) from the
current model.

Run after a deliberate change of the model's numbers: `python tests/golden/update.py`.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from rich.console import Console

from cmperf import validate
from cmperf.report import VALIDATION_TITLE, render_validation

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TABLE_WIDTH = 150
BASELINES = Path(__file__).with_name("baselines")
# Scenario files as CI names them from the repository root (scenarios/ links cmperf/scenarios):
# `cmperf check` re-runs the recorded file where it exists, else the scenario of that name.
BASELINE_SCENARIOS = (
    "scenarios/cloudmatrix384-decode.yaml",
    "scenarios/cloudmatrix384-prefill.yaml",
    "scenarios/cloudmatrix384-serving.yaml",
)
# `cmperf schema KIND` of each spec kind, published under docs/.
SCHEMA_FILES = {
    kind: ROOT / "docs" / f"{kind}.schema.json" for kind in ("scenario", "hardware", "model")
}


def write_baselines() -> list[Path]:
    """`cmperf estimate FILE --format json --no-ops` of each shipped scenario, run from the
    repository root so the recorded file is relative to it."""
    from typer.testing import CliRunner

    from cmperf.cli import app

    BASELINES.mkdir(exist_ok=True)
    written = []
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        for scenario in BASELINE_SCENARIOS:
            args = ["estimate", scenario, "--format", "json", "--no-ops"]
            result = CliRunner().invoke(app, args)
            if result.exit_code != 0:
                raise SystemExit(f"cmperf {' '.join(args)} failed: {result.output}")
            target = BASELINES / f"{Path(scenario).stem}.json"
            target.write_text(result.stdout)
            written.append(target)
    finally:
        os.chdir(cwd)
    return written


def schema_text(kind: str = "scenario") -> str:
    from cmperf.schema import SCHEMAS

    return json.dumps(SCHEMAS[kind](), indent=2, ensure_ascii=False) + "\n"


def validation_table(outcomes: list[validate.Outcome]) -> str:
    """The tables `cmperf validate` prints (both groups), as plain text: the title line to the
    last table's bottom rule."""
    buffer = io.StringIO()
    render_validation(outcomes, Console(file=buffer, width=TABLE_WIDTH, color_system=None))
    lines = buffer.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(VALIDATION_TITLE))
    end = max(i for i, line in enumerate(lines) if line.startswith("└"))
    return "\n".join(line.rstrip() for line in lines[start : end + 1])


def readme_table(text: str) -> str:
    """The README's copy: from the title line to the end of its code block."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(VALIDATION_TITLE))
    end = next(i for i in range(start, len(lines)) if lines[i] == "```")
    return "\n".join(line.rstrip() for line in lines[start:end])


if __name__ == "__main__":
    cache: dict = {}
    outcomes = [validate.evaluate(p, cache) for p in validate.load_all()]
    values = {o.point.id: o.predicted for o in outcomes}
    golden = Path(__file__).with_name("validation.json")
    golden.write_text(json.dumps(values, indent=2) + "\n")
    text = README.read_text()
    README.write_text(text.replace(readme_table(text), validation_table(outcomes)))
    print(f"wrote {len(values)} predictions to {golden} and the table in {README}")
    for path in write_baselines():
        print(f"wrote baseline {path.relative_to(ROOT)}")
    for kind, path in SCHEMA_FILES.items():
        path.write_text(schema_text(kind))
        print(f"wrote {path.relative_to(ROOT)}")
