"""The prefill : decode splits of a device budget into a deployment's instances, ranked by
goodput (`cmperf sweep` of a scenario whose sweep block says `phase: deployment`)."""

from __future__ import annotations

from dataclasses import dataclass

from .deployment import DecodeAtLoad, slo_arrival_rate
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
    ttft_slo_s: float | None = None
    tpot_slo_s: float | None = None

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

    The instances are the scenario's, so the unloaded TTFT and the decode step at each batch
    are the same for every split: an SLO the instances cannot meet (the unloaded TTFT over
    the TTFT SLO, one sequence's TPOT over the TPOT SLO) rules out all splits. The split
    decides the goodput: what the slower pool sustains; under a TTFT SLO, at most the arrival
    rate at which its prefill pool's p90 TTFT (M/G/c, as under load) reaches it; under a
    TPOT SLO, at most the rate whose decode batch still meets it (decode at load)."""
    from .api import estimate

    e = estimate(s)
    r = e.deployment
    if r is None:
        raise InfeasibleError(f"{s.name}: splitting devices needs a deployment block")
    d = r.deployment
    per_prefill = r.requests_per_s["prefill"] / d.prefill_instances
    per_decode = r.requests_per_s["decode"] / d.decode_instances
    size_p, size_d = s.prefill.devices, s.decode.devices
    if budget_devices > s.cluster.devices:
        raise InfeasibleError(
            f"a budget of {budget_devices} devices exceeds the {s.cluster.devices} of "
            f"{s.cluster.name}; a bigger cluster with hardware.nodes"
        )
    if size_p + size_d > budget_devices:
        raise InfeasibleError(
            f"{budget_devices} devices hold no prefill ({size_p}) and decode ({size_d}) instance"
        )
    decode_load = DecodeAtLoad(s) if tpot_slo_s is not None else None
    splits = []
    for p in range(1, (budget_devices - size_d) // size_p + 1):
        k = (budget_devices - p * size_p) // size_d
        pools = {"prefill": p * per_prefill, "decode": k * per_decode}
        bound = min(pools, key=pools.get)
        rps = pools[bound]
        goodput = rps
        if ttft_slo_s is not None:
            goodput = min(goodput, slo_arrival_rate(r, per_prefill, ttft_slo_s, p))
        if decode_load is not None:
            goodput = min(goodput, decode_load.rate_within(tpot_slo_s, k * size_d))
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
    if decode_load is not None and decode_load.tpot_s[0] > tpot_slo_s:
        one = decode_load.tpot_s[0] * 1e3
        reasons.append(
            f"TPOT {one:.3g} ms at one sequence per device is over the "
            f"{tpot_slo_s * 1e3:.3g} ms SLO"
        )
    return SplitResult(
        s,
        budget_devices,
        r.ttft_s,
        r.tpot_s,
        not reasons,
        "; ".join(reasons),
        splits,
        ttft_slo_s,
        tpot_slo_s,
    )
