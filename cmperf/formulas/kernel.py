"""How real kernels depart from the roofline: fixed costs, tiles and waves, shape-dependent
efficiency, imperfect overlap of compute and memory traffic.

Each function is one equation, written once for floats, numpy arrays and sympy symbols.
"""

from __future__ import annotations

import math
from typing import Any

from . import _symbolic, ceil, maximum, minimum


def waves(tiles: Any, cores: Any) -> Any:
    """Waves of a kernel: its tiles run `cores` at a time, and a partial last wave costs a whole
    one:  W = ceil(tiles / cores)."""
    return ceil(tiles / cores)


def tiles_2d(rows: Any, cols: Any, tile_rows: Any, tile_cols: Any) -> Any:
    """Output tiles of an M x N result cut into tile_rows x tile_cols blocks."""
    return ceil(rows / tile_rows) * ceil(cols / tile_cols)


def saturating(x: Any, half: Any) -> Any:
    """A size effect that saturates: x / (x + x_half), 1/2 at x_half and towards 1 beyond.

    Short reduction dimensions leave a kernel's pipeline (load, multiply, store) too short to
    hide its prologue and epilogue; this is the share of the peak rate it keeps.
    """
    return x / (x + half)


def overlap_time_s(compute_s: Any, memory_s: Any, exponent: Any) -> Any:
    """Compute and memory traffic that overlap imperfectly:  t = (t_c^p + t_m^p)^(1/p).

    p = infinity is perfect overlap (the roofline's max), p = 1 none at all (their sum);
    measured kernels sit between the two near the ridge point, where neither term dominates.
    Written as M (1 + (m / M)^p)^(1/p) with M the larger term so floats never overflow.
    """
    if isinstance(exponent, int | float) and math.isinf(exponent):
        return maximum(compute_s, memory_s)
    if _symbolic(compute_s, memory_s, exponent):
        return (compute_s**exponent + memory_s**exponent) ** (1 / exponent)
    big = maximum(compute_s, memory_s)
    small = minimum(compute_s, memory_s)
    ratio = small / maximum(big, _TINY_S)  # both zero: no time, not 0 / 0
    return big * (1 + ratio**exponent) ** (1 / exponent)


_TINY_S = 1e-300
