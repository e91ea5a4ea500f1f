"""Rewrite the golden predictions and the README's validation table from the current model.

Run after a deliberate change of the model's numbers: `python tests/golden/update.py`.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from cmperf import validate
from cmperf.report import render_validation

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TABLE_WIDTH = 150


def validation_table(outcomes: list[validate.Outcome]) -> str:
    """The table `cmperf validate` prints, as plain text (header to bottom rule)."""
    buffer = io.StringIO()
    render_validation(outcomes, Console(file=buffer, width=TABLE_WIDTH, color_system=None))
    lines = buffer.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("┏"))
    end = next(i for i, line in enumerate(lines) if line.startswith("└"))
    return "\n".join(line.rstrip() for line in lines[start : end + 1])


def readme_table(text: str) -> str:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("┏"))
    end = next(i for i, line in enumerate(lines) if line.startswith("└"))
    return "\n".join(line.rstrip() for line in lines[start : end + 1])


if __name__ == "__main__":
    cache: dict = {}
    outcomes = [validate.evaluate(p, cache) for p in validate.load_points()]
    values = {o.point.id: o.predicted for o in outcomes}
    golden = Path(__file__).with_name("validation.json")
    golden.write_text(json.dumps(values, indent=2) + "\n")
    text = README.read_text()
    README.write_text(text.replace(readme_table(text), validation_table(outcomes)))
    print(f"wrote {len(values)} predictions to {golden} and the table in {README}")
