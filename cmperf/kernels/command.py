"""`cmperf kernel FAMILY --COLUMN VALUE ...`: one kernel priced from its shape.

The shape is given in the columns of the family's calibration CSV (`--m 128 --n 7168 --k 2048
--dtype fp8_block` for gemm), so the command, `cmperf kernel --csv` and `cmperf calibrate` read
shapes through the same code. A family without measurements takes its shape keys directly.
"""

from __future__ import annotations

from typing import Any

from ..errors import CmperfError
from ..specs.hardware import Cluster, Device
from ..specs.kernel_params import DEFAULT_VARIANT
from ..specs.reader import did_you_mean
from . import families
from .base import Family, KernelTime
from .calibrate import device_params, facts
from .data import TEXT_COLUMNS


def family_for(word: str) -> Family:
    by_command = {f.command: f for f in families().values()}
    found = by_command.get(word) or families().get(word.replace("-", "_"))
    if found is None:
        raise CmperfError(
            f"unknown kernel family {word!r}{did_you_mean(word, list(by_command))}; "
            f"expected one of {', '.join(by_command)}"
        )
    return found


def _columns(family: Family) -> list[str]:
    if family.csv_columns:
        variant_cols = list(family.variant_columns)
        if family.sources and family.sources[0].variant is not None:
            variant_cols = []
        return [*dict.fromkeys([*variant_cols, *family.csv_columns])]
    # A family without measurements: its shape, and the number format that sets its peak
    # and its parameter set.
    return [*(["dtype"] if family.dtype_column else []), *family.shape]


def _variants(family: Family) -> list[str]:
    return [s.variant for s in family.sources if s.variant is not None]


def shape_help(family: Family) -> str:
    lines = [f"{family.command}: {family.doc}", "shape options:"]
    defaults = dict(family.defaults)
    for c in _columns(family):
        default = f" (default {defaults[c]})" if c in defaults else ""
        meaning = family.shape.get(c, "")
        lines.append(f"  --{c.replace('_', '-')}{default}  {meaning}".rstrip())
    if _variants(family):
        lines.append(f"  --variant  one of {', '.join(_variants(family))}")
    return "\n".join(lines) + "\n"


def parse_args(family: Family, args: list[str]) -> tuple[dict[str, Any], str | None]:
    """`--name value` pairs -> the family's columns (text or numbers) and the variant."""
    allowed = {c.replace("_", "-"): c for c in _columns(family)}
    values: dict[str, Any] = {}
    variant = None
    i = 0
    while i < len(args):
        word = args[i]
        if not word.startswith("--"):
            raise CmperfError(f"{family.command}: unexpected argument {word!r}")
        name, _, inline = word[2:].partition("=")
        if inline == "" and i + 1 < len(args) and "=" not in word:
            inline = args[i + 1]
            i += 1
        i += 1
        if name == "variant":
            if inline not in _variants(family):
                raise CmperfError(
                    f"--variant: {family.command} has variants {', '.join(_variants(family))}"
                    f"; got {inline!r}"
                )
            variant = inline
            continue
        column = allowed.get(name)
        if column is None:
            hint = did_you_mean(name, list(allowed))
            raise CmperfError(
                f"--{name}: not a shape option of {family.command}{hint}; "
                f"expected {', '.join('--' + a for a in allowed)}"
            )
        if column in TEXT_COLUMNS:
            values[column] = inline
            continue
        try:
            number = float(inline)
        except ValueError:
            raise CmperfError(f"--{name}: expected a number, got {inline!r}") from None
        if not number > 0 or number == float("inf"):
            raise CmperfError(f"--{name}: expected a positive number, got {inline!r}")
        values[column] = number
    return values, variant


def run(
    family: Family, args: list[str], device: Device, cluster: Cluster | None, ideal: bool
) -> tuple[str, dict[str, Any], KernelTime]:
    import numpy as np

    values, variant = parse_args(family, args)
    columns_used = _columns(family)
    defaults = {k: v for k, v in family.defaults.items() if k in columns_used}
    if family.dtype_column and not family.csv_columns:
        defaults.setdefault("dtype", "bf16")
    missing = [c for c in columns_used if c not in values and c not in defaults]
    if missing:
        raise CmperfError(
            f"{family.command} needs " + ", ".join(f"--{c.replace('_', '-')}" for c in missing)
        )
    given = defaults | values
    if family.csv_columns:
        columns = {
            k: ([v] if isinstance(v, str) else np.array([float(v)])) for k, v in given.items()
        }
        try:
            shape = family.shape_from_columns(columns)
        except (KeyError, ValueError) as exc:
            raise CmperfError(f"{family.command}: {exc}") from None
        if variant is None:
            variant = (
                _variants(family)[0]
                if _variants(family)
                else "/".join(str(given[c]) for c in family.variant_columns) or DEFAULT_VARIANT
            )
    else:
        shape = {k: v for k, v in given.items() if k != "dtype"}
        variant = variant or str(given.get("dtype", DEFAULT_VARIANT))
    dtype = str(given[family.dtype_column]) if family.dtype_column in given else None
    f = facts(device, family, dtype, cluster)
    params = device_params(device, family, variant)
    v = {k: i.value for k, i in family.inputs(shape, f).items()} | params
    t = family.time(v, ideal)
    scalar = KernelTime(
        *(
            float(np.ravel(x)[0])
            for x in (t.total_s, t.compute_s, t.memory_s, t.comm_s, t.overhead_s)
        )
    )
    return variant, {k: given[k] for k in given}, scalar
