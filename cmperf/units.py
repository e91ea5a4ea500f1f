"""Quantities with units: parse "3.2 TB/s", "64 GiB", "15 ms" into SI floats; format them back.

Inside cmperf every quantity is an SI float: seconds, bytes, FLOP, FLOP/s, bytes/s. Units live
only at the edges (YAML specs, command-line values, reports). Rates and counts use decimal
prefixes (1 GB = 1e9 bytes); IEC prefixes (GiB = 2**30 bytes) are accepted where written.
"""

from __future__ import annotations

import math
import re
import reprlib
from enum import StrEnum


class Dimension(StrEnum):
    TIME = "time"
    BYTES = "bytes"
    BANDWIDTH = "bandwidth"
    FLOP_RATE = "flop_rate"
    FLOP = "flop"


_DECIMAL = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
_BINARY = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50}
_TIME = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "min": 60.0, "h": 3600.0}


def _unit_table() -> dict[Dimension, dict[str, float]]:
    table: dict[Dimension, dict[str, float]] = {dim: {} for dim in Dimension}
    table[Dimension.TIME] = dict(_TIME)
    for prefix, scale in (_DECIMAL | _BINARY).items():
        table[Dimension.BYTES][f"{prefix}B"] = scale
        table[Dimension.BANDWIDTH][f"{prefix}B/s"] = scale
        # Network links are quoted in bits: 400 Gb/s = 50 GB/s.
        table[Dimension.BANDWIDTH][f"{prefix}b/s"] = scale / 8.0
        table[Dimension.BANDWIDTH][f"{prefix}bps"] = scale / 8.0
    for prefix, scale in _DECIMAL.items():
        for word in ("FLOP", "FLOPS", "OP", "OPS"):
            table[Dimension.FLOP_RATE][f"{prefix}{word}/s"] = scale
            table[Dimension.FLOP][f"{prefix}{word}"] = scale
        table[Dimension.FLOP_RATE][f"{prefix}FLOPS"] = scale
        table[Dimension.FLOP_RATE][f"{prefix}OPS"] = scale
        table[Dimension.FLOP].pop(f"{prefix}FLOPS")
        table[Dimension.FLOP].pop(f"{prefix}OPS")
    return table


UNITS = _unit_table()
EXAMPLES = {
    Dimension.TIME: "15 ms",
    Dimension.BYTES: "64 GB",
    Dimension.BANDWIDTH: "1.6 TB/s",
    Dimension.FLOP_RATE: "376 TFLOP/s",
    Dimension.FLOP: "2.5 GFLOP",
}
_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\s\d].*?)\s*$")


# The physically sane range of each dimension (SI units) for a quantity in a spec: one outside it
# is a typo or a slip of prefix, refused (by `check_range`, which spec readers call) rather than
# carried into "0 tokens/s". Zero passes: whether a key may be zero is the key's own rule.
RANGES = {
    Dimension.TIME: (1e-15, 86400.0),  # 1 fs (fitted per-element costs are ps) .. 1 day
    Dimension.BYTES: (1.0, 1e18),  # 1 B .. 1 EB
    Dimension.BANDWIDTH: (1e3, 1e18),  # 1 kB/s .. 1 EB/s
    Dimension.FLOP_RATE: (1e6, 1e21),  # 1 MFLOP/s .. 1 ZFLOP/s
    Dimension.FLOP: (1.0, 1e30),  # 1 FLOP .. 1e30 FLOP
}
_RANGE_TEXT = {
    Dimension.TIME: "1 fs to 1 day",
    Dimension.BYTES: "1 B to 1 EB",
    Dimension.BANDWIDTH: "1 kB/s to 1 EB/s",
    Dimension.FLOP_RATE: "1 MFLOP/s to 1e21 FLOP/s",
    Dimension.FLOP: "1 FLOP to 1e30 FLOP",
}
SHOWN_CHARS = 100
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxtuple = 3, 6, 6, 6
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = SHOWN_CHARS, SHOWN_CHARS, 40


def shown(value: object) -> str:
    """A user's value as an error message quotes it: its repr, cut to about 100 characters
    (without ever building the whole repr of a huge or deeply shared structure)."""
    text = _REPR.repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


class UnitError(ValueError):
    """A quantity string that does not parse as the expected dimension."""


def parse_quantity(value: object, dimension: Dimension | str) -> float:
    """Parse a string such as "1.6 TB/s" into an SI float of the given dimension.

    Bare numbers are rejected: a dimensional value must say its unit.
    """
    dim = Dimension(dimension)
    expected = f'expected a {dim.value.replace("_", " ")} like "{EXAMPLES[dim]}"'
    if isinstance(value, bool) or not isinstance(value, str):
        raise UnitError(f"{expected}, got {shown(value)}")
    match = _QUANTITY.match(value.replace("_", "").replace(",", ""))
    if match is None:
        raise UnitError(f"{expected}, got {shown(value)}")
    number, unit = float(match.group(1)), match.group(2)
    scale = UNITS[dim].get(unit)
    if scale is None:
        known = ", ".join(
            sorted({u for u in UNITS[dim] if "i" not in u or dim == Dimension.TIME})[:12]
        )
        unknown = f"unknown unit {shown(unit)}; known: {known}, ..."
        raise UnitError(f"{expected}, got {shown(value)} ({unknown})")
    result = number * scale
    if not math.isfinite(result):
        raise UnitError(f"{expected}, got {shown(value)} (not finite)")
    return result


def check_range(result: float, dimension: Dimension | str, value: object) -> float:
    """`result` (parsed from `value`) if it lies in its dimension's sane range, else UnitError."""
    dim = Dimension(dimension)
    low, high = RANGES[dim]
    if result != 0 and not low <= abs(result) <= high:
        name = dim.value.replace("_", " ")
        raise UnitError(
            f"{shown(value)} is outside the accepted {name} range of {_RANGE_TEXT[dim]}"
        )
    return result


_FORMAT_UNITS = {
    Dimension.TIME: [(1.0, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")],
    Dimension.BYTES: [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "KB"), (1.0, "B")],
    Dimension.BANDWIDTH: [(1e12, "TB/s"), (1e9, "GB/s"), (1e6, "MB/s"), (1.0, "B/s")],
    Dimension.FLOP_RATE: [(1e15, "PFLOP/s"), (1e12, "TFLOP/s"), (1e9, "GFLOP/s"), (1.0, "FLOP/s")],
    Dimension.FLOP: [
        (1e15, "PFLOP"),
        (1e12, "TFLOP"),
        (1e9, "GFLOP"),
        (1e6, "MFLOP"),
        (1e3, "kFLOP"),
        (1.0, "FLOP"),
    ],
}


def format_quantity(value: float, dimension: Dimension | str, digits: int = 3) -> str:
    """Format an SI float for humans with the largest unit that keeps the number >= 1."""
    dim = Dimension(dimension)
    scales = _FORMAT_UNITS[dim]
    magnitude = abs(float(value))
    if magnitude == 0:
        return f"0 {scales[0][1] if dim == Dimension.TIME else scales[-1][1]}"
    for scale, unit in scales:
        if magnitude >= scale:
            return f"{value / scale:.{digits}g} {unit}"
    scale, unit = scales[-1]
    return f"{value / scale:.{digits}g} {unit}"
