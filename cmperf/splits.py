"""The prefill : decode splits of a device budget into a deployment's instances, ranked by
goodput (`cmperf sweep` of a scenario whose sweep block says `phase: deployment`)."""

from __future__ import annotations

from dataclasses import dataclass

from .deployment import slo_arrival_rate
from .errors import InfeasibleError
from .specs.scenario import Scenario


@dataclass(frozen=True)
class Split:
    prefill_instances: int
    decode_instances: int
    devices: int  # devices the split uses
    requests_per_s: float  # what the slower pool sustains
    bound: str  # the pool that bounds it
    output_tokens_per_s_per_device: float  # over every device of the budget
    # Requests/s served within the SLOs: under a TTFT SLO, the arrival rate at which the
    # prefill pool's p90 TTFT reaches it, at most what decode sustains; else requests_per_s.
    goodput_per_s: float


@dataclass(frozen=True)
class SplitResult:
    scenario: Scenario
    budget_devices: int
    ttft_s: float
    tpot_s: float
    slo_ok: bool
    slo_reason: str
    splits: list[Split]  # best first

    @property
    def best(self) -> Split | None:
        return self.splits[0] if self.slo_ok and self.splits else None


def best_splits(
    s: Scenario,
    budget_devices: int,
    ttft_slo_s: float | None = None,
    tpot_slo_s: float | None = None,
) -> SplitResult:
    """Every prefill : decode split of `budget_devices` devices into the scenario's instances,
    ranked by goodput: the requests per second served within the SLOs.

    The instances are the scenario's, so the unloaded TTFT and the TPOT are the same for every
    split: the SLOs admit all splits or none. The split decides the goodput: what the slower
    pool sustains, and under a TTFT SLO the arrival rate at which its prefill pool's p90 TTFT
    (M/G/c, as under load) reaches the SLO."""
    from .api import estimate

    e = estimate(s)
    r = e.deployment
    if r is None:
        raise InfeasibleError(f"{s.name}: splitting devices needs a deployment block")
    d = r.deployment
    per_prefill = r.requests_per_s["prefill"] / d.prefill_instances
    per_decode = r.requests_per_s["decode"] / d.decode_instances
    size_p, size_d = s.prefill.devices, s.decode.devices
    if size_p + size_d > budget_devices:
        raise InfeasibleError(
            f"{budget_devices} devices hold no prefill ({size_p}) and decode ({size_d}) instance"
        )
    splits = []
    for p in range(1, (budget_devices - size_d) // size_p + 1):
        k = (budget_devices - p * size_p) // size_d
        pools = {"prefill": p * per_prefill, "decode": k * per_decode}
        bound = min(pools, key=pools.get)
        rps = pools[bound]
        goodput = rps
        if ttft_slo_s is not None:
            goodput = min(slo_arrival_rate(r, per_prefill, ttft_slo_s, p), pools["decode"])
        splits.append(
            Split(
                p,
                k,
                p * size_p + k * size_d,
                rps,
                bound,
                rps * d.output_len / budget_devices,
                goodput,
            )
        )
    splits.sort(key=lambda x: (-x.goodput_per_s, -x.requests_per_s, x.devices))
    reasons = []
    if ttft_slo_s is not None and r.ttft_s > ttft_slo_s:
        reasons.append(f"unloaded TTFT {r.ttft_s:.3g} s is over the {ttft_slo_s:.3g} s SLO")
    if tpot_slo_s is not None and r.tpot_s > tpot_slo_s:
        reasons.append(f"TPOT {r.tpot_s * 1e3:.3g} ms is over the {tpot_slo_s * 1e3:.3g} ms SLO")
    return SplitResult(
        s, budget_devices, r.ttft_s, r.tpot_s, not reasons, "; ".join(reasons), splits
    )
