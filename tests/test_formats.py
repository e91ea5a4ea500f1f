"""`--format table|json|csv|markdown` on every command.

CSV must parse with the csv module and carry exact numbers (the JSON's); markdown must be
GitHub tables (a header row, an alignment row, rows of the same width); table stays the default
and JSON is strict.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

import pytest
from support import DECODE, PREFILL, invoke

from cmperf.report import csv_text, markdown_table

FORMATS = ("table", "json", "csv", "markdown")


def run(*args: str, code: int = 0) -> str:
    result = invoke(*args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.stdout


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every table of a markdown text, as rows of cells (the alignment row checked, dropped)."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            assert line.endswith("|"), line
            cells = [c.strip() for c in line[1:-1].replace("\\|", "\0").split("|")]
            current.append([c.replace("\0", "|") for c in cells])
        elif current:
            header, align, *rows = current
            assert all(a in ("---", "---:") for a in align), align
            assert all(len(r) == len(header) == len(align) for r in rows), current
            tables.append([header, *rows])
            current = []
    return tables


def test_help_lists_the_formats() -> None:
    for command in ("estimate", "validate", "sweep", "explain", "check"):
        out = run(command, "--help")
        for fmt in FORMATS:
            assert fmt in out, (command, fmt)


# --- estimate ---------------------------------------------------------------------------------


def test_estimate_default_is_the_table() -> None:
    assert run("estimate", DECODE) == run("estimate", DECODE, "--format", "table")


def test_estimate_csv_one_row_per_op_with_json_fields() -> None:
    record = json.loads(run("estimate", DECODE, "--format", "json"))
    rows = parse_csv(run("estimate", DECODE, "--format", "csv"))
    ops = record["decode"]["ops"]
    assert len(rows) == len(ops)
    assert list(rows[0]) == list(ops[0])
    for row, op in zip(rows, ops, strict=True):
        for key, value in op.items():
            if isinstance(value, float):
                assert float(row[key]) == value, key  # exact
            else:
                assert row[key] == str(value), key


def test_estimate_csv_both_phases() -> None:
    rows = parse_csv(run("estimate", PREFILL, "--format", "csv"))
    assert rows and all(r["name"].startswith("prefill.") for r in rows)


def test_estimate_markdown() -> None:
    out = run("estimate", DECODE, "--format", "markdown")
    assert out.startswith("## cloudmatrix384-decode: ")
    assert "### decode: summary (per device)" in out
    assert "### decode: layers" in out
    assert "### decode: ops per rank" in out
    summary, layers, ops = markdown_tables(out)
    assert summary[0] == ["quantity", "value"]
    assert "TPOT" in [r[0] for r in summary]
    assert layers[0] == ["layer", "count", "time each", "total", "share"]
    assert [r[0] for r in layers[1:]] == [
        "dense",
        "moe",
        "pipeline_fill",
        "mtp",
        "mtp_head",
        "head",
    ]
    assert ops[0][0] == "op" and any(r[0] == "moe.dispatch" for r in ops[1:])
    assert "[" not in out.split("\n", 1)[1].replace("[0.7]", "")  # no rich markup


def test_estimate_markdown_no_ops_and_overrides() -> None:
    out = run("estimate", DECODE, "--format", "markdown", "--no-ops", "--set", "decode.kv_len=1024")
    assert len(markdown_tables(out)) == 2
    assert "`decode.kv_len=1024`" in out


def test_estimate_json_no_ops_drops_only_the_ops() -> None:
    full = json.loads(run("estimate", DECODE, "--format", "json"))
    small = json.loads(run("estimate", DECODE, "--format", "json", "--no-ops"))
    assert "ops" in full["decode"] and "ops" not in small["decode"]
    del full["decode"]["ops"]
    assert small == full


# --- validate ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validation_json() -> dict[str, Any]:
    return json.loads(run("validate", "--format", "json"))


def test_validate_csv(validation_json: dict[str, Any]) -> None:
    rows = parse_csv(run("validate", "--format", "csv"))
    points = validation_json["points"]
    assert [r["id"] for r in rows] == [p["id"] for p in points]
    for row, point in zip(rows, points, strict=True):
        assert float(row["predicted"]) == point["predicted"]
        assert row["status"] == point["status"]
        assert row["ok"] == ("true" if point["ok"] else "false")
        if point["range"]:
            assert [float(row["low"]), float(row["high"])] == point["range"]
        else:
            assert row["low"] == row["high"] == ""


def test_validate_markdown(validation_json: dict[str, Any]) -> None:
    out = run("validate", "--format", "markdown")
    calibration, validation = markdown_tables(out)
    for table in (calibration, validation):
        assert table[0] == ["point", "source", "predicted", "published", "error", "bound", "status"]
    groups = [p["group"] for p in validation_json["points"]]
    assert len(calibration) == 1 + groups.count("calibration")
    assert len(validation) == 1 + groups.count("validation")
    assert "points within bounds" in out


# --- sweep ------------------------------------------------------------------------------------


def test_sweep_markdown_ranked_table() -> None:
    out = run("sweep", "cloudmatrix384-decode-slo", "--tpot-slo", "15ms", "--format", "markdown")
    ranked, frontier = markdown_tables(out)
    assert ranked[0][:3] == ["#", "tokens/s/device", "TPOT"]
    assert ranked[1][0] == "1" and ranked[1][4] == "EP320"
    assert frontier[0][0] == "TPOT"
    assert "```bash\ncmperf estimate cloudmatrix384-decode-slo --set" in out


def test_sweep_csv_is_still_the_frontier() -> None:
    rows = parse_csv(run("sweep", "cloudmatrix384-decode-slo", "--tpot-slo", "15ms", "-f", "csv"))
    assert rows and "tpot_s" in rows[0] and "set" in rows[0]


# --- explain ----------------------------------------------------------------------------------


def test_explain_op_csv_and_markdown() -> None:
    op = ("explain", DECODE, "--op", "decode.moe.attention")
    record = json.loads(run(*op, "--format", "json"))
    rows = parse_csv(run(*op, "--format", "csv"))
    assert [r["symbol"] for r in rows] == [*record["symbols"], "t"]
    assert float(rows[-1]["value"]) == record["value_s"]
    assert rows[-1]["source"] == record["formula"]
    out = run(*op, "--format", "markdown")
    assert out.startswith("## decode.moe.attention")
    (table,) = markdown_tables(out)
    assert table[0] == ["symbol", "value", "unit", "source"]
    assert "$$" in run(*op, "--format", "markdown", "--latex")


def test_explain_composition_formats() -> None:
    record = json.loads(run("explain", DECODE, "--format", "json"))
    lines = [line for part in record for line in part["lines"]]
    # Strict JSON: descriptive lines have value null, not NaN.
    assert any(line["value"] is None for line in lines)
    rows = parse_csv(run("explain", DECODE, "--format", "csv"))
    assert len(rows) == len(lines)
    for row, line in zip(rows, lines, strict=True):
        assert row["quantity"] == line["quantity"]
        assert row["value"] == ("" if line["value"] is None else repr(line["value"]))
    tables = markdown_tables(run("explain", DECODE, "--format", "markdown"))
    assert len(tables) == 1 and len(tables[0]) == 1 + len(lines)


def test_explain_solve_formats() -> None:
    args = ("explain", DECODE, "--solve", "ub-bandwidth")
    record = json.loads(run(*args, "--format", "json"))
    (row,) = parse_csv(run(*args, "--format", "csv"))
    assert float(row["value"]) == record["value"] and row["unit"] == "B/s"
    assert "**BW = " in run(*args, "--format", "markdown")


def test_explain_timeline_formats() -> None:
    args = ("explain", DECODE, "--timeline")
    (record,) = json.loads(run(*args, "--format", "json"))
    assert record["window_s"] > 0
    tasks = record["tasks"]
    assert {t["stream"] for t in tasks} == {"attention", "moe"}
    for t in tasks:
        assert 0 <= t["start_s"] <= t["end_s"] <= record["window_s"] * (1 + 1e-9)
    rows = parse_csv(run(*args, "--format", "csv"))
    assert len(rows) == len(tasks)
    (table,) = markdown_tables(run(*args, "--format", "markdown"))
    assert len(table) == 1 + len(tasks)
    assert "█" not in run(*args, "--format", "markdown")


# --- the helpers ------------------------------------------------------------------------------


def test_markdown_escapes_pipes_and_newlines() -> None:
    text = markdown_table(("a", "b"), [["x|y", "line\nbreak"]], {"b"})
    assert text.splitlines() == ["| a | b |", "| --- | ---: |", "| x\\|y | line break |"]
    assert markdown_tables(text) == [[["a", "b"], ["x|y", "line break"]]]


def test_csv_cells_round_trip() -> None:
    values = [0.1, 1e-300, 2.5e20, math.pi, 7, True, None, ["a", "b"], 'q"uote, comma']
    (row,) = csv.reader(
        io.StringIO(csv_text([str(i) for i in range(len(values))], [values]).split("\n", 1)[1])
    )
    assert [float(x) for x in row[:4]] == values[:4]
    assert row[4:] == ["7", "true", "", "a b", 'q"uote, comma']


@pytest.mark.parametrize("width", [90, 140, 220])
@pytest.mark.parametrize("scenario", [DECODE, PREFILL])
def test_the_op_table_is_written_as_rich_draws_it(scenario: str, width: int) -> None:
    """The op table is written line by line where it fits (fast) and by rich where it does
    not: either way the text is rich's own, character for character."""
    from rich.console import Console

    from cmperf.api import estimate
    from cmperf.report.common import long_table, print_long_table
    from cmperf.report.estimate import (
        _OP_RIGHT,
        _OPS_CAPTION,
        OP_COLUMNS,
        _op_rows,
        _ops_title,
        phase_record,
    )

    phase = estimate(scenario).phases[0]
    rows, title = _op_rows(phase_record(phase)), _ops_title(phase)
    drawn, written = io.StringIO(), io.StringIO()
    Console(file=drawn, width=width).print(
        long_table(OP_COLUMNS, rows, _OP_RIGHT, title, _OPS_CAPTION)
    )
    print_long_table(
        Console(file=written, width=width), OP_COLUMNS, rows, _OP_RIGHT, title, _OPS_CAPTION
    )
    assert written.getvalue() == drawn.getvalue()
