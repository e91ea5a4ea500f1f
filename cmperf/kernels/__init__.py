"""Kernel families: the time one kernel takes from its shape, on one device.

`families()` lists every family; each lives in a small module of this package.
"""

from __future__ import annotations

import functools
import importlib

from .base import CsvSource, Facts, Family, Input, KernelTime, ParamDef

__all__ = ["CsvSource", "Facts", "Family", "Input", "KernelTime", "ParamDef", "families"]

_MODULES = ("gemm", "attention", "moe", "collective", "elementwise")


@functools.cache
def families() -> dict[str, Family]:
    """Every kernel family by name (gemm, grouped_gemm, ..., all_reduce)."""
    out: dict[str, Family] = {}
    for module in _MODULES:
        try:
            mod = importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{module}":
                raise
            continue
        for family in mod.FAMILIES:
            out[family.name] = family
    return out
