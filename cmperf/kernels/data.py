"""Measured kernels in the calibration CSV format (`shared/calibration/README.md`).

One row per measurement, SI units, latencies in seconds. The file name gives the family. Every
problem is reported with the file, the row (as a spreadsheet numbers it: the header is row 1)
and the column.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..specs.kernel_params import DEFAULT_VARIANT
from .base import CsvSource, Family

TEXT_COLUMNS = frozenset({"dtype", "kv_dtype", "op_name"})


@dataclass(frozen=True)
class Table:
    """The rows of one CSV kept for one family: text columns as lists, the rest as arrays."""

    file: str
    columns: dict[str, Any]  # name -> numpy array (numbers) or list of str (text)
    latency_s: Any  # numpy array
    rows: list[int]  # the file's row number of each kept row (header = 1)
    raw: list[dict[str, str]]  # each kept row as read

    def __len__(self) -> int:
        return len(self.rows)


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(str(path), "", "file not found") from None
    except IsADirectoryError:
        raise SpecError(str(path), "", "is a folder, expected a CSV file") from None
    except UnicodeDecodeError as exc:
        raise SpecError(str(path), "", f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise SpecError(str(path), "", f"cannot read: {exc.strerror}") from None
    reader = csv.reader(text.splitlines())
    lines = [line for line in reader]
    if not lines or not any(cell.strip() for cell in lines[0]):
        raise SpecError(str(path), "", "empty file: expected a header row and measurements")
    header = [cell.strip() for cell in lines[0]]
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in line):
            continue
        if len(line) != len(header):
            raise SpecError(
                str(path),
                f"row {number}",
                f"{len(line)} values for {len(header)} columns ({', '.join(header)})",
            )
        rows.append({"#": str(number)} | dict(zip(header, (c.strip() for c in line), strict=True)))
    if not rows:
        raise SpecError(str(path), "", "no measurements: the file has only a header")
    return header, rows


def needed_columns(family: Family, source: CsvSource) -> list[str]:
    return [
        *dict.fromkeys(
            [*family.variant_columns, *source.where, *family.csv_columns, *source.columns]
        )
    ]


def load_table(path: Path, family: Family, source: CsvSource) -> Table:
    """The rows of `path` that belong to `family`, checked: every needed column present, numbers
    finite, sizes and latencies positive."""
    import numpy as np

    header, rows = read_rows(path)
    wanted = needed_columns(family, source)
    missing = [c for c in [*wanted, source.latency_column] if c not in header]
    if missing:
        raise SpecError(
            str(path),
            f"column {missing[0]}",
            f"missing; {family.name} needs columns {', '.join([*wanted, source.latency_column])}",
        )
    kept = [r for r in rows if all(r[k] == v for k, v in source.where.items())]
    columns: dict[str, Any] = {}
    for name in wanted:
        if name in TEXT_COLUMNS:
            columns[name] = [r[name] for r in kept]
        else:
            columns[name] = np.array([_number(path, r, name) for r in kept], dtype=float)
    latency = np.array([_number(path, r, source.latency_column) for r in kept], dtype=float)
    return Table(str(path), columns, latency, [int(r["#"]) for r in kept], kept)


def _number(path: Path, row: Mapping[str, str], column: str) -> float:
    where = f"row {row['#']}, column {column}"
    text = row[column]
    try:
        value = float(text)
    except ValueError:
        raise SpecError(str(path), where, f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise SpecError(str(path), where, f"expected a positive number, got {text!r}")
    return value


def variant_of(family: Family, source: CsvSource, row: Mapping[str, str]) -> str:
    if source.variant is not None:
        return source.variant
    return "/".join(row[c] for c in family.variant_columns) or DEFAULT_VARIANT
