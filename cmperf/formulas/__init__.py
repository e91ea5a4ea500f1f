"""Small pure formulas, one per equation, written once for floats, numpy arrays and sympy symbols.

Comparisons go through `maximum` so that the same function evaluates a single
configuration, a broadcast grid of them (sweep) or a symbolic expression (explain).
"""

from __future__ import annotations

from typing import Any

# numpy is imported only when an argument is an array: a single estimate runs on floats, and
# the command line starts faster without it.
_SCALARS = (int, float)


def _symbolic(*args: Any) -> bool:
    return any(type(a).__module__.startswith("sympy") for a in args)


def maximum(*args: Any) -> Any:
    if all(isinstance(a, _SCALARS) for a in args):
        return max(args)
    if _symbolic(*args):
        import sympy

        return sympy.Max(*args)
    import numpy as np

    result = args[0]
    for a in args[1:]:
        result = np.maximum(result, a)
    return result


def minimum(*args: Any) -> Any:
    if all(isinstance(a, _SCALARS) for a in args):
        return min(args)
    if _symbolic(*args):
        import sympy

        return sympy.Min(*args)
    import numpy as np

    result = args[0]
    for a in args[1:]:
        result = np.minimum(result, a)
    return result


def _unary(x: Any, on_float: Any, sympy_name: str, numpy_name: str) -> Any:
    """One function of one value, as floats, sympy or numpy spell it."""
    if isinstance(x, _SCALARS):
        return on_float(x)
    if _symbolic(x):
        import sympy

        return getattr(sympy, sympy_name)(x)
    import numpy as np

    return getattr(np, numpy_name)(x)


def ceil(x: Any) -> Any:
    """The smallest whole number >= x (tiles and waves come in whole units)."""
    import math

    return _unary(x, lambda v: float(math.ceil(v)), "ceiling", "ceil")


def log(x: Any) -> Any:
    import math

    return _unary(x, math.log, "log", "log")


def sqrt(x: Any) -> Any:
    import math

    return _unary(x, math.sqrt, "sqrt", "sqrt")


def largest_term(**terms: Any) -> str:
    """The name of the largest term (of the first element of arrays): what bounds a time."""
    return max(terms, key=lambda k: first(terms[k]))


def first(x: Any) -> float:
    """A float from a scalar, or the first element of an array (for labels such as `bound`)."""
    if isinstance(x, _SCALARS):
        return float(x)
    import numpy as np

    return float(np.ravel(x)[0])


def largest(x: Any) -> float:
    """The largest element of a scalar or an array."""
    if isinstance(x, _SCALARS):
        return float(x)
    import numpy as np

    return float(np.max(x))
