"""Results -> output: rich tables for people; versioned JSON, CSV and GitHub markdown for
machines and documents.

Each view builds its rows once (`*_rows` functions) and renders them as a rich table, a
markdown table or CSV, so the formats cannot drift apart. One module per command:

- common: value formatting, CSV and markdown text, rich tables (shared by every view)
- estimate: `cmperf estimate` (and the estimate record other commands embed)
- validate: `cmperf validate`
- sweep: `cmperf sweep`
- explain: `cmperf explain` (--op, --solve, composition); timeline: `cmperf explain --timeline`
- check: `cmperf check`
- listing: `cmperf list`
"""

from __future__ import annotations

from .check import CHECK_COLUMNS, CHECK_CSV_COLUMNS, check_csv, check_markdown, render_check
from .common import csv_cell, csv_text, markdown_table
from .compare import (
    COMPARE_SCHEMA,
    compare_csv,
    compare_markdown,
    compare_record,
    render_compare,
)
from .estimate import (
    ESTIMATE_SCHEMA,
    LAYER_COLUMNS,
    OP_COLUMNS,
    estimate_csv,
    estimate_markdown,
    estimate_record,
    op_record,
    phase_record,
    render_estimate,
)
from .explain import (
    COMPOSITION_COLUMNS,
    EXPLAIN_SYMBOL_COLUMNS,
    composition_csv,
    composition_markdown,
    composition_record,
    op_explanation_csv,
    op_explanation_markdown,
    op_explanation_record,
    render_composition,
    render_op_explanation,
    render_solution,
    solution_csv,
    solution_markdown,
    solution_record,
)
from .kernel import (
    CALIBRATE_SCHEMA,
    calibrate_csv,
    calibrate_markdown,
    calibrate_record,
    kernel_csv,
    kernel_markdown,
    kernel_record,
    predictions_csv,
    predictions_markdown,
    predictions_record,
    render_calibrate,
    render_kernel,
    render_predictions,
)
from .listing import (
    LIST_COLUMNS,
    LIST_CSV_COLUMNS,
    LIST_SCHEMA,
    find_specs,
    listing_csv,
    listing_markdown,
    listing_record,
    render_listing,
)
from .split import SPLIT_SCHEMA, render_split, split_csv, split_markdown, split_record
from .sweep import (
    FRONTIER_COLUMNS,
    SWEEP_SCHEMA,
    frontier_csv,
    render_sweep,
    sweep_markdown,
    sweep_record,
)
from .timeline import (
    TIMELINE_COLUMNS,
    render_timeline,
    timeline_markdown,
    timeline_records,
    timeline_rows,
)
from .validate import (
    FIT_SCHEMA,
    VALIDATION_COLUMNS,
    VALIDATION_CSV_COLUMNS,
    VALIDATION_SCHEMA,
    VALIDATION_TITLE,
    fit_csv,
    fit_markdown,
    fit_record,
    render_fit,
    render_validation,
    validation_csv,
    validation_markdown,
    validation_record,
)

__all__ = [
    "CALIBRATE_SCHEMA",
    "CHECK_COLUMNS",
    "CHECK_CSV_COLUMNS",
    "COMPARE_SCHEMA",
    "COMPOSITION_COLUMNS",
    "ESTIMATE_SCHEMA",
    "EXPLAIN_SYMBOL_COLUMNS",
    "FIT_SCHEMA",
    "FRONTIER_COLUMNS",
    "LAYER_COLUMNS",
    "LIST_COLUMNS",
    "LIST_CSV_COLUMNS",
    "LIST_SCHEMA",
    "OP_COLUMNS",
    "SPLIT_SCHEMA",
    "SWEEP_SCHEMA",
    "TIMELINE_COLUMNS",
    "VALIDATION_COLUMNS",
    "VALIDATION_CSV_COLUMNS",
    "VALIDATION_SCHEMA",
    "VALIDATION_TITLE",
    "calibrate_csv",
    "calibrate_markdown",
    "calibrate_record",
    "check_csv",
    "check_markdown",
    "compare_csv",
    "compare_markdown",
    "compare_record",
    "composition_csv",
    "composition_markdown",
    "composition_record",
    "csv_cell",
    "csv_text",
    "estimate_csv",
    "estimate_markdown",
    "estimate_record",
    "find_specs",
    "fit_csv",
    "fit_markdown",
    "fit_record",
    "frontier_csv",
    "kernel_csv",
    "kernel_markdown",
    "kernel_record",
    "listing_csv",
    "listing_markdown",
    "listing_record",
    "markdown_table",
    "op_explanation_csv",
    "op_explanation_markdown",
    "op_explanation_record",
    "op_record",
    "phase_record",
    "predictions_csv",
    "predictions_markdown",
    "predictions_record",
    "render_calibrate",
    "render_check",
    "render_compare",
    "render_composition",
    "render_estimate",
    "render_fit",
    "render_kernel",
    "render_listing",
    "render_op_explanation",
    "render_predictions",
    "render_solution",
    "render_split",
    "render_sweep",
    "render_timeline",
    "render_validation",
    "solution_csv",
    "solution_markdown",
    "solution_record",
    "split_csv",
    "split_markdown",
    "split_record",
    "sweep_markdown",
    "sweep_record",
    "timeline_markdown",
    "timeline_records",
    "timeline_rows",
    "validation_csv",
    "validation_markdown",
    "validation_record",
]
