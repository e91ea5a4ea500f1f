"""How many token copies the busiest expert rank receives when routing is random.

Perfect expert-parallel load balancing (EPLB) equalises the *expected* load of the ranks; each
routing step still draws every token's experts afresh. With n copies spread over R ranks that
each expect a share q = 1/R, a rank's count is Binomial(n, q): mean n q, standard deviation
sqrt(n q (1 - q)). The step waits for the busiest rank, whose expected count is, in the normal
approximation of the binomial (good from a few tens of copies per rank),

    E[max] = n q + z_R sqrt(n q (1 - q)),    z_R = E[max of R independent N(0, 1)].

A token's top-k experts are distinct, which makes the counts slightly less variable than this
multinomial model; the difference is under 1 / R.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from . import sqrt


@lru_cache(maxsize=64)
def expected_max_of_normals(ranks: int) -> float:
    """z_R: the expected largest of `ranks` independent standard normal draws
    (0 for one rank; 1.03 for 4, 2.86 for 288).

    E[max] = integral of x R phi(x) Phi(x)^(R-1) dx, by Simpson's rule on [-8, 8] (the
    integrand is smooth and negligible outside); plain math keeps scipy off the estimate path."""
    if ranks <= 1:
        return 0.0
    steps, low, high = 800, -8.0, 8.0
    width = (high - low) / steps
    total = 0.0
    for i in range(steps + 1):
        x = low + i * width
        density = math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
        cdf = 0.5 * (1 + math.erf(x / math.sqrt(2)))
        weight = 1 if i in (0, steps) else (4 if i % 2 else 2)
        total += weight * x * ranks * density * cdf ** (ranks - 1)
    return total * width / 3


def busiest_rank_copies(copies: Any, ranks: int) -> Any:
    """Expected copies on the busiest of `ranks` equally likely ranks (floats, arrays, symbols)."""
    share = 1.0 / ranks
    return copies * share + expected_max_of_normals(ranks) * sqrt(copies * share * (1 - share))
