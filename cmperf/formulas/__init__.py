"""Small pure formulas, one per equation, written once for floats, numpy arrays and sympy symbols.

Comparisons go through `maximum`/`minimum`/`power` so that the same function evaluates a single
configuration, a broadcast grid of them (sweep) or a symbolic expression (explain).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _symbolic(*args: Any) -> bool:
    return any(type(a).__module__.startswith("sympy") for a in args)


def maximum(*args: Any) -> Any:
    if _symbolic(*args):
        import sympy

        return sympy.Max(*args)
    result = args[0]
    for a in args[1:]:
        result = np.maximum(result, a)
    return result


def minimum(*args: Any) -> Any:
    if _symbolic(*args):
        import sympy

        return sympy.Min(*args)
    result = args[0]
    for a in args[1:]:
        result = np.minimum(result, a)
    return result
