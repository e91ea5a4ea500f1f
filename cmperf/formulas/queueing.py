"""Closed-form queueing: the M/G/c queue of a pool of identical servers under Poisson
arrivals, in the Allen-Cunneen approximation (M/D/c for deterministic service, c_s^2 = 0).

- Erlang C, the probability that an arrival waits in M/M/c with offered load a = lambda / mu:
  C(c, a) = (a^c / c!) / (1 - a/c) / (sum_{k<c} a^k / k! + (a^c / c!) / (1 - a/c)),
  computed from Erlang B as C = B / (1 - (a/c)(1 - B));
- the waiting tail, P(wait > t) = C(c, a) exp(-2 (c mu - lambda) t / (1 + c_s^2));
- the mean wait, C(c, a) / (c mu - lambda) x (1 + c_s^2) / 2.
"""

from __future__ import annotations

import math


def erlang_c(servers: int, offered: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load a = lambda / mu."""
    if offered >= servers:
        return 1.0
    # Through Erlang B's recursion, B(k) = a B(k-1) / (k + a B(k-1)), which stays within
    # [0, 1] for any number of servers (the factorial sums overflow past about 170).
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered * blocking / (k + offered * blocking)
    return blocking / (1 - offered / servers * (1 - blocking))


def wait_quantile_s(
    p: float, servers: int, rate: float, service_s: float, service_cv2: float = 0.0
) -> float:
    """The p-quantile of the waiting time (M/G/c, Allen-Cunneen; service_cv2 = 0 is M/D/c):
    0 below the waiting mass."""
    mu = 1.0 / service_s
    if rate >= servers * mu:
        return math.inf
    c_wait = erlang_c(servers, rate / mu)
    if c_wait <= 1 - p:
        return 0.0
    decay = 2 * (servers * mu - rate) / (1 + service_cv2)
    return math.log(c_wait / (1 - p)) / decay


def mean_wait_s(servers: int, rate: float, service_s: float, service_cv2: float = 0.0) -> float:
    """The mean waiting time (M/G/c, Allen-Cunneen): C(c, a) / (c mu - lambda) x (1 + c_s^2) / 2."""
    mu = 1.0 / service_s
    if rate >= servers * mu:
        return math.inf
    return erlang_c(servers, rate / mu) / (servers * mu - rate) * (1 + service_cv2) / 2
