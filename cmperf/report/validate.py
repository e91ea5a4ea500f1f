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
    "group",
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
    "fits",
)
GROUP_TITLES = {
    "calibration": "calibration: operator-level measurements that set a parameter "
    "(errors are residuals)",
    "validation": "validation: end-to-end predictions (errors)",
}


def median_abs_error(
    outcomes: list[Any], group: str = "validation", file: str | None = None
) -> float | None:
    """Median absolute error of a group's points (relative for figures, the difference of the
    change for ratios: both as fractions, shown as % and percentage points), of one points
    file (by stem) or of all."""
    import statistics

    errors = [
        abs(o.error)
        for o in outcomes
        if o.point.group == group and (file is None or _stem(o.point.file) == file)
    ]
    return statistics.median(errors) if errors else None


def _stem(path: str) -> str:
    from pathlib import Path

    return Path(path).stem


def _files(outcomes: list[Any]) -> list[str]:
    return list(dict.fromkeys(_stem(o.point.file) for o in outcomes))


def _show(value: float, unit: str, change: bool) -> str:
    if unit == "s":
        return time_text(value)
    if change:  # a ratio point's change, as a fraction
        return f"{100 * value:+.1f} %"
    return f"{value:,.0f}"


def validation_record(outcomes: list[Any]) -> dict[str, Any]:
    return {
        "schema": VALIDATION_SCHEMA,
        "points": [
            {
                "id": o.point.id,
                "group": o.point.group,
                "fits": o.point.fits,
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
        # per points file (its stem), per group
        "median_abs_error": {
            file: {group: median_abs_error(outcomes, group, file) for group in GROUP_TITLES}
            for file in _files(outcomes)
        },
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
                _show(o.predicted, p.unit, p.kind == "ratio"),
                _show(p.published, p.unit, p.kind == "ratio"),
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
    lines = []
    for file in _files(outcomes):
        for group in GROUP_TITLES:
            median = median_abs_error(outcomes, group, file)
            if median is not None:
                lines.append(
                    f"{file}, {group}: median absolute error {100 * median:.1f} % "
                    "(ratios in points)"
                )
    lines.append(f"{passed} of {len(outcomes)} points within bounds; {count} known gaps:")
    lines += [f"- {', '.join(ids)}: {reason}" for reason, ids in gaps.items()]
    return lines


def _groups(outcomes: list[Any]) -> list[tuple[str, list[Any]]]:
    return [
        (title, [o for o in outcomes if o.point.group == group])
        for group, title in GROUP_TITLES.items()
        if any(o.point.group == group for o in outcomes)
    ]


def render_validation(outcomes: list[Any], console: Any) -> None:
    console.print(VALIDATION_TITLE, markup=False)
    for title, members in _groups(outcomes):
        console.print(
            rich_table(
                VALIDATION_COLUMNS,
                _validation_rows(members),
                _RIGHT,
                status=True,
                title=title,
                title_justify="left",
            )
        )
    for line in _validation_summary(outcomes):
        console.print(line, markup=False)


def validation_markdown(outcomes: list[Any]) -> str:
    parts = [f"## {VALIDATION_TITLE}\n"]
    for title, members in _groups(outcomes):
        table = markdown_table(VALIDATION_COLUMNS, _validation_rows(members), _RIGHT)
        parts.append(f"### {title}\n\n{table}\n")
    return "\n".join(parts) + "\n" + "\n".join(_validation_summary(outcomes)) + "\n"


def validation_csv(outcomes: list[Any]) -> str:
    """One row per point, the fields of the JSON (the range split into low and high)."""
    rows = []
    for point in validation_record(outcomes)["points"]:
        low, high = point["range"] or (None, None)
        point = {**point, "low": low, "high": high}
        rows.append([point[c] for c in VALIDATION_CSV_COLUMNS])
    return csv_text(VALIDATION_CSV_COLUMNS, rows)


FIT_SCHEMA = "cmperf.validate-fit/1"
FIT_COLUMNS = ("point", "source", "predicted", "published", "residual")


def fit_record(fit: Any) -> dict[str, Any]:
    return {
        "schema": FIT_SCHEMA,
        "key": fit.key,
        "value": fit.value,
        "rms_residual": fit.rms_residual,
        "points": [
            {
                "id": o.point.id,
                "predicted": o.predicted,
                "published": o.point.published,
                "residual": o.error,
            }
            for o in fit.outcomes
        ],
    }


def _fit_rows(fit: Any) -> list[list[str]]:
    return [
        [
            o.point.what,
            o.point.source.split(":")[0],
            _show(o.predicted, o.point.unit, o.point.kind == "ratio"),
            _show(o.point.published, o.point.unit, o.point.kind == "ratio"),
            f"{100 * o.error:+.1f} %",
        ]
        for o in fit.outcomes
    ]


def _fit_line(fit: Any) -> str:
    spec_key = fit.key.removeprefix("hardware.device.")
    return (
        f"fitted {fit.key} = {fit.value:g} (rms residual {100 * fit.rms_residual:.1f} %); "
        f"the device spec states it as {spec_key}"
    )


def render_fit(fit: Any, console: Any) -> None:
    title = "cmperf validate --fit: the in-situ parameter and its residuals"
    console.print(
        rich_table(
            FIT_COLUMNS,
            _fit_rows(fit),
            {"predicted", "published", "residual"},
            title=title,
            title_justify="left",
        )
    )
    console.print(_fit_line(fit), markup=False)


def fit_markdown(fit: Any) -> str:
    table = markdown_table(FIT_COLUMNS, _fit_rows(fit), {"predicted", "published", "residual"})
    return f"{table}\n{_fit_line(fit)}\n"


def fit_csv(fit: Any) -> str:
    rows = [
        [p["id"], fit.key, fit.value, p["predicted"], p["published"], p["residual"]]
        for p in fit_record(fit)["points"]
    ]
    return csv_text(("id", "key", "value", "predicted", "published", "residual"), rows)
