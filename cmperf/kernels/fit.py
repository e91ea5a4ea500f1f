"""Fit a family's parameters to measured kernels: least squares on log latency.

Log latency weighs a 3 us kernel and a 30 ms one alike (a relative error is what a user reads),
and keeps every parameter positive by fitting its logarithm within its bounds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .base import Facts, Family


@dataclass(frozen=True)
class Group:
    """The measured rows of one (family, variant): shape arrays, latencies and the device."""

    family: Family
    variant: str
    shape: dict[str, Any]
    latency_s: Any
    facts: Facts
    rows: list[int]  # file row numbers
    file: str


def predict(group: Group, params: Mapping[str, float], ideal: bool = False) -> Any:
    import numpy as np

    v = {k: i.value for k, i in group.family.inputs(group.shape, group.facts).items()}
    t = group.family.time(v | dict(params), ideal).total_s
    return np.broadcast_to(np.asarray(t, dtype=float), group.latency_s.shape)


def abs_pct_errors(predicted: Any, measured: Any) -> Any:
    import numpy as np

    return np.abs(np.asarray(predicted) / np.asarray(measured) - 1.0) * 100.0


def summary(predicted: Any, measured: Any) -> dict[str, float]:
    """Median and 90th percentile of |predicted / measured - 1|, in percent."""
    import numpy as np

    err = abs_pct_errors(predicted, measured)
    if err.size == 0:
        return {"median_abs_pct_error": math.nan, "p90_abs_pct_error": math.nan}
    return {
        "median_abs_pct_error": float(np.median(err)),
        "p90_abs_pct_error": float(np.percentile(err, 90)),
    }


def subset(group: Group, mask: Any) -> Group:
    import numpy as np

    shape = {k: (v[mask] if np.ndim(v) else v) for k, v in group.shape.items()}
    rows = [r for r, keep in zip(group.rows, mask, strict=True) if keep]
    return Group(
        group.family, group.variant, shape, group.latency_s[mask], group.facts, rows, group.file
    )


def fit(
    groups: list[Group],
    start: Mapping[str, float] | None = None,
    fitted: list[str] | None = None,
    residual: Callable[[Any, Any], Any] | None = None,
) -> dict[str, float]:
    """Parameters minimising the squared log error over every row of `groups` together (the
    groups share one parameter set); `fitted` names the ones that move (default: every
    parameter the family marks fit=True)."""
    import numpy as np
    from scipy.optimize import least_squares

    family = groups[0].family
    if start is None:
        start = {p.name: p.fit_start for p in family.params}
    names = fitted if fitted is not None else [p.name for p in family.params if p.fit]
    if not names:
        return dict(start)
    defs = {p.name: p for p in family.params}
    low = np.log([defs[n].low for n in names])
    high = np.log([defs[n].high for n in names])
    x0 = np.clip(np.log([start[n] for n in names]), low + 1e-9, high - 1e-9)
    measured = [np.log(g.latency_s) for g in groups]

    def residuals(x: Any) -> Any:
        params = dict(start) | dict(zip(names, np.exp(x), strict=True))
        out = [
            np.log(np.maximum(predict(g, params), 1e-15)) - m
            for g, m in zip(groups, measured, strict=True)
        ]
        return np.concatenate(out)

    result = least_squares(residuals, x0, bounds=(low, high), x_scale="jac", method="trf")
    return dict(start) | dict(zip(names, (float(v) for v in np.exp(result.x)), strict=True))
