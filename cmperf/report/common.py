"""What every view shares: value formatting, CSV and markdown text, rich tables.

A view builds its rows once, with its columns and the set of right-aligned ones, and renders
them with `rich_table` (for people) or `markdown_table` / `csv_text` (for documents and
machines), so the formats cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from ..units import Dimension, format_quantity

# ---------------------------------------------------------------------------------------------
# Values as text


def time_text(seconds: float) -> str:
    if abs(seconds) >= 1e3:  # a cold start, a long queue: whole seconds, not 2.56e+03 s
        return f"{seconds:,.0f} s"
    return format_quantity(seconds, Dimension.TIME)


def bytes_text(n: float) -> str:
    """Bytes with a unit; "-" for none."""
    return format_quantity(n, Dimension.BYTES) if n else "-"


def flop_text(n: float) -> str:
    """FLOP with a unit; "-" for none."""
    return format_quantity(n, Dimension.FLOP) if n else "-"


def esc(value: Any) -> str:
    """Text from specs, baselines or the command line, shown literally by rich (not as markup)."""
    from rich.markup import escape

    return escape(str(value))


# ---------------------------------------------------------------------------------------------
# Plain formats: CSV and GitHub markdown


def csv_cell(value: Any) -> str:
    """A value as CSV text: floats exactly (shortest round-trip repr), lists space-separated."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return " ".join(csv_cell(v) for v in value)
    if isinstance(value, dict):
        import json

        return json.dumps(value, sort_keys=True)
    return str(value)


def csv_text(columns: list[str] | tuple[str, ...], rows: list[list[Any]]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()


def _md_cell(value: Any) -> str:
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(text.split()) or " "


def markdown_table(
    columns: list[str] | tuple[str, ...],
    rows: list[list[Any]],
    right: tuple[str, ...] | set[str] = (),
) -> str:
    """A GitHub-flavoured markdown table; `right` names the right-aligned columns."""
    lines = [
        "| " + " | ".join(_md_cell(c) for c in columns) + " |",
        "| " + " | ".join("---:" if c in right else "---" for c in columns) + " |",
    ]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Rich tables

# The markup of a status cell (the last column of the validate and check tables).
STATUS_STYLE = {
    "ok": "[green]{}[/green]",
    "gap": "[yellow]{}[/yellow]",
    "new": "[yellow]{}[/yellow]",
    "FAIL": "[bold red]{}[/bold red]",
    "UNEXPECTED PASS": "[bold red]{}[/bold red]",
    "moved": "[bold red]{}[/bold red]",
    "missing": "[bold red]{}[/bold red]",
}


def rich_table(
    columns: list[str] | tuple[str, ...],
    rows: list[list[str]],
    right: tuple[str, ...] | set[str] = (),
    *,
    status: bool = False,
    simple_head: bool = False,
    no_wrap: bool = False,
    overflow: str = "ellipsis",
    **options: Any,
) -> Any:
    """A rich Table of text rows, shown literally; `right` names the right-aligned columns.

    status: the last column is a status (ok, FAIL, moved, ...) coloured by STATUS_STYLE.
    simple_head: a rule under the header and no other lines. `options` go to rich's Table
    (title, caption, title_justify, show_header, ...); no_wrap and overflow to every column.
    """
    from rich.table import Table

    if simple_head:
        from rich import box

        options["box"] = box.SIMPLE_HEAD
    table = Table(**options)
    for col in columns:
        table.add_column(
            col, justify="right" if col in right else "left", no_wrap=no_wrap, overflow=overflow
        )
    for row in rows:
        if status:
            table.add_row(*map(esc, row[:-1]), STATUS_STYLE[row[-1]].format(row[-1]))
        else:
            table.add_row(*map(esc, row))
    return table


def long_table(
    columns: list[str] | tuple[str, ...],
    rows: list[list[str]],
    right: tuple[str, ...] | set[str],
    title: str,
    caption: str,
) -> Any:
    """The rich Table print_long_table writes: a rule under the header, cells never wrapped,
    title and caption on the left."""
    return rich_table(
        columns,
        rows,
        right,
        simple_head=True,
        no_wrap=True,
        title=title,
        caption=caption,
        title_justify="left",
        caption_justify="left",
    )


def print_long_table(
    console: Any,
    columns: list[str] | tuple[str, ...],
    rows: list[list[str]],
    right: tuple[str, ...] | set[str],
    title: str,
    caption: str,
) -> None:
    """A long table of short cells (the op table), as rich draws long_table: written line by
    line where it fits the console (rich measures and renders every cell, about 2 ms a row),
    else handed to rich, which shrinks it to fit."""
    from rich.cells import cell_len
    from rich.text import Text

    widths = [
        max(cell_len(col), *(cell_len(row[i]) for row in rows)) for i, col in enumerate(columns)
    ]
    total = sum(widths) + 3 * len(widths) + 1  # one space each side of a cell, one between
    if total > console.width or cell_len(title) > total or cell_len(caption) > total:
        console.print(long_table(columns, rows, right, title, caption))
        return

    def line(cells: list[str] | tuple[str, ...]) -> str:
        padded = (
            " " * (w - cell_len(c)) + c if col in right else c + " " * (w - cell_len(c))
            for c, w, col in zip(cells, widths, columns, strict=True)
        )
        return " " + " ".join(f" {c} " for c in padded) + " "

    out = Text(no_wrap=True)
    out.append(title.ljust(total) + "\n", style="table.title")
    out.append(" " * total + "\n")
    out.append(line(columns) + "\n", style="table.header")
    out.append(" " + "\u2500" * (total - 2) + " \n")
    for row in rows:
        out.append(line(row) + "\n")
    out.append(" " * total + "\n")
    out.append(caption.ljust(total), style="table.caption")  # print ends the line
    console.print(out, soft_wrap=True)


def print_heading(console: Any, name: str, rest: str | None = None) -> None:
    """`name` in bold, then `: rest`, both shown literally."""
    console.print(f"[bold]{esc(name)}[/bold]" + ("" if rest is None else f": {esc(rest)}"))
