"""`cmperf validate`: predictions against the published points, as JSON, table, markdown, CSV."""

from __future__ import annotations

from typing import Any

from .common import csv_text, markdown_table, rich_table, time_text

VALIDATION_SCHEMA = "cmperf.validate/1"
VALIDATION_TITLE = "cmperf validate: predictions vs the paper (arXiv 2506.12708)"
VALIDATION_COLUMNS = ("point", "source", "predicted", "published", "error", "bound", "status")
_RIGHT = set(VALIDATION_COLUMNS) - {"point", "source"}
VALIDATION_CSV_COLUMNS = (
    "id",
    "what",
    "source",
    "kind",
    "predicted",
    "published",
    "error",
    "tolerance",
    "low",
    "high",
    "ok",
    "status",
    "known_gap",
)


def _show(value: float, unit: str) -> str:
    if unit == "s":
        return time_text(value)
    if abs(value) < 1:
        return f"{100 * value:+.1f} %"
    return f"{value:,.0f}"


def validation_record(outcomes: list[Any]) -> dict[str, Any]:
    return {
        "schema": VALIDATION_SCHEMA,
        "points": [
            {
                "id": o.point.id,
                "what": o.point.what,
                "source": o.point.source,
                "kind": o.point.kind,
                "predicted": o.predicted,
                "published": o.point.published,
                "error": o.error,
                "tolerance": o.point.tolerance,
                "range": None if o.point.low is None else [o.point.low, o.point.high],
                "ok": o.ok,
                "status": o.status,
                "known_gap": o.point.known_gap,
            }
            for o in outcomes
        ],
        "passed": sum(o.ok for o in outcomes),
        "failed": sum(not o.ok for o in outcomes),
    }


def _validation_rows(outcomes: list[Any]) -> list[list[str]]:
    rows = []
    for o in outcomes:
        p = o.point
        if p.kind == "ratio":
            error = f"{100 * o.error:+.1f} pt"
            bound = f"[{100 * p.low:+.0f}, {100 * p.high:+.0f}] %"
        else:
            error = f"{100 * o.error:+.1f} %"
            bound = f"±{100 * p.tolerance:.0f} %"
        rows.append(
            [
                p.what,
                p.source.split(":")[0],
                _show(o.predicted, p.unit),
                _show(p.published, p.unit),
                error,
                bound,
                o.status,
            ]
        )
    return rows


def _validation_summary(outcomes: list[Any]) -> list[str]:
    passed = sum(o.ok for o in outcomes)
    gaps: dict[str, list[str]] = {}
    for o in outcomes:
        if o.status == "gap":
            gaps.setdefault(o.point.known_gap, []).append(o.point.id)
    count = sum(len(ids) for ids in gaps.values())
    lines = [f"{passed} of {len(outcomes)} points within bounds; {count} known gaps:"]
    lines += [f"- {', '.join(ids)}: {reason}" for reason, ids in gaps.items()]
    return lines


def render_validation(outcomes: list[Any], console: Any) -> None:
    console.print(
        rich_table(
            VALIDATION_COLUMNS,
            _validation_rows(outcomes),
            _RIGHT,
            status=True,
            title=VALIDATION_TITLE,
            title_justify="left",
        )
    )
    for line in _validation_summary(outcomes):
        console.print(line, markup=False)


def validation_markdown(outcomes: list[Any]) -> str:
    table = markdown_table(VALIDATION_COLUMNS, _validation_rows(outcomes), _RIGHT)
    return f"## {VALIDATION_TITLE}\n\n{table}\n" + "\n".join(_validation_summary(outcomes)) + "\n"


def validation_csv(outcomes: list[Any]) -> str:
    """One row per point, the fields of the JSON (the range split into low and high)."""
    rows = []
    for point in validation_record(outcomes)["points"]:
        low, high = point["range"] or (None, None)
        point = {**point, "low": low, "high": high}
        rows.append([point[c] for c in VALIDATION_CSV_COLUMNS])
    return csv_text(VALIDATION_CSV_COLUMNS, rows)
