"""A deployment: prefill and decode pools of instances, a context cache, and a workload
(ref §3, §4.7). It sits above the per-instance engine: every figure here is composed from the
scenario's own prefill and decode estimates (`cmperf.api`), which it leaves unchanged.

For a workload of requests with `input_len` prompt tokens (a share `reuse` of them found in
the context cache) and `output_len` generated tokens:

- **prefill**: an instance computes only the new tokens of its packed batch, attending to the
  cached prefix (prefill.prefix_len); the cached KV blocks come from the pool first:
  t_fetch = reused tokens per device x KV bytes per token / pool bandwidth per device + latency;
- **TTFT** of an unloaded request = t_fetch + its batch's prefill + the batch's KV transfer to
  decode over the RDMA plane (ref §3) + the first decode step: the parts add up to the total;
- **throughput**: requests per second of each pool (prompt tokens / input_len, generated
  tokens / output_len); the slower pool bounds the deployment; the prefill : decode instance
  ratio that balances them;
- **cold start** (where the cluster states an `object_store`): every instance loads the whole
  model (W bytes). From the store, the N instances share its bandwidth B_store and each reads
  over its nodes' VPC links: t = max(N W / B_store, W / (devices x VPC per device)). With model
  caching (ref §4.7), the pool reads the model from the store once, and every instance then
  reads it from the pool over the cache path: t = W / B_store + W / (devices x path per
  device) + the path's latency (the smallest instance is the slowest);
- **load** (`arrival_rate`, or `concurrency` requests kept in flight): the prefill pool as an
  M/G/c queue (c instances, each serving a request in its share of a batch time, which varies
  with the prompt's length: c_s = input_len_cv; M/D/c when prompts are alike; Poisson
  arrivals), in the Allen-Cunneen approximation:
  P(wait > t) = C(c, a) exp(-2 (c mu - lambda) t / (1 + c_s^2)), C the Erlang-C probability
  of waiting; TTFT_p = wait_p + the unloaded TTFT. Decode holds lambda x output_len x TPOT
  sequences (Little's law), at the TPOT of the batch that holds them. A concurrency N sets
  lambda by N = lambda x (mean TTFT + (output_len - 1) x TPOT), and no wait then exceeds N
  service shares over the c instances. At or over a pool's capacity the pool is overloaded:
  no quantiles, and decode receives what prefill passes on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from .api import PhaseResult, estimate_decode, estimate_prefill, model_weight_bytes
from .errors import InfeasibleError
from .formulas.queueing import mean_wait_s, wait_quantile_s
from .specs import as_scenario
from .specs.scenario import Deployment, Scenario

REUSE_CURVE = (0.0, 0.25, 0.5, 0.75, 0.9)  # reuse ratios of the speedup curve


def queue_model(input_len_cv: float) -> str:
    """The prefill pool's queue and its assumptions, as reports print them."""
    tail = "Allen-Cunneen approximation of the waiting time"
    if input_len_cv == 0:
        return f"M/D/c (Poisson arrivals; deterministic service: prompts all alike), {tail}"
    return (
        f"M/G/c (Poisson arrivals; service time proportional to the prompt's length, "
        f"coefficient of variation {input_len_cv:g}), {tail}"
    )


@dataclass(frozen=True)
class DeploymentResult:
    deployment: Deployment
    devices: dict[str, int]  # per pool: devices (NPUs, GPUs) of all its instances
    ttft_breakdown_s: dict[str, float]
    requests_per_s: dict[str, float]  # what each pool sustains
    prefill_to_decode_ratio: float  # prefill instances per decode instance that balance them
    throughput_tokens_per_s_per_device: float  # generated tokens, all devices of the deployment
    tpot_s: float
    prefill_speedup_vs_reuse: list[tuple[float, float]]
    memory_bytes_per_device: dict[str, float]
    load: dict[str, Any] = field(default_factory=dict)
    # Seconds until every instance holds the model: from the object store, or through the pool.
    cold_start_s: dict[str, float] | None = None
    # The cache pool's capacity (where the spec states it): whether it holds the model, and
    # how many of the workload's cached prefixes it holds.
    pool: dict[str, Any] | None = None
    # The same four parts for a lone request on idle instances: a one-prompt prefill batch
    # and a one-sequence decode step (the best case, where ttft_breakdown_s is a full batch's).
    lone_ttft_breakdown_s: dict[str, float] = field(default_factory=dict)
    slo_arrival_rate_per_s: float | None = None  # where the p90 TTFT reaches the SLO

    @property
    def ttft_s(self) -> float:
        return sum(self.ttft_breakdown_s.values())

    @property
    def lone_ttft_s(self) -> float:
        return sum(self.lone_ttft_breakdown_s.values())


def kv_bytes_per_token(s: Scenario) -> float:
    """Bytes of one token's KV cache over every layer with attention (MTP modules included)."""
    m, q = s.model, s.quantization
    return m.attention.kv_cache_values_per_token * q.kv_cache.bytes * (m.layers + m.mtp_modules)


def _reused_prefill(s: Scenario, reuse: float) -> PhaseResult:
    """The prefill instance's batch when a share `reuse` of each prompt is cached: the same
    prompts, only their new tokens computed, attending to the cached prefix."""
    f = s.prefill
    new = max(1, round(f.input_len * (1 - reuse)))
    prefix = f.input_len - new
    sets = (
        f"prefill.input_len={new}",
        f"prefill.prefix_len={prefix}",
        f"prefill.tokens_per_device={f.tokens_per_device * new / f.input_len!r}",
    )
    reused = as_scenario(s, sets)
    return estimate_prefill(reused, reused.prefill)


def _fetch_s(s: Scenario, reused_tokens_per_device: float, path: str) -> float:
    if reused_tokens_per_device <= 0:
        return 0.0
    tier = s.cluster.cache_paths.get(path)
    if tier is None:
        spec_key = {"ub": "cpu_pool", "vpc": "vpc"}[path]
        raise InfeasibleError(
            f"{s.cluster.name}: a context cache needs a pool, and the cluster spec states no "
            f"{path!r} path to one ({spec_key}); reuse 0 needs none"
        )
    return reused_tokens_per_device * kv_bytes_per_token(s) / tier.bandwidth_bytes_per_s + (
        tier.latency_s
    )


def prefill_batch_s(
    s: Scenario, reuse: float, path: str, fresh: PhaseResult
) -> tuple[float, float]:
    """(fetch seconds, compute seconds) of one prefill batch at `reuse` (`fresh`: the batch
    with nothing cached)."""
    f = s.prefill
    batch = _reused_prefill(s, reuse).step_time_s if reuse > 0 else fresh.step_time_s
    reused = f.tokens_per_device * reuse
    return _fetch_s(s, reused, path), float(batch)


def _kv_out_s(s: Scenario, tokens_per_device: float) -> float:
    """The batch's KV cache leaving each prefill device over its RDMA links (ref §3)."""
    rdma = s.cluster.scale_out
    per_device = rdma.bandwidth_bytes_per_s * s.cluster.device.ranks_per_device
    return tokens_per_device * kv_bytes_per_token(s) / per_device + rdma.latency_s


def _ttft_parts(
    s: Scenario, fetch_s: float, batch_s: float, tokens_per_device: float, step_s: Any
) -> dict[str, float]:
    """The four parts of a TTFT, which add up to it: the reused prefix fetched, the prefill
    batch, its KV cache sent to decode, the first decode step."""
    return {
        "cache_fetch": fetch_s,
        "prefill": batch_s,
        "kv_transfer": _kv_out_s(s, tokens_per_device),
        "first_decode_step": float(step_s),
    }


def lone_request_ttft_s(s: Scenario) -> dict[str, float]:
    """The TTFT parts of one request on idle instances: its prompt alone in the prefill batch
    (input_len / devices tokens per device), then one sequence per decode device."""
    f, d = s.prefill, s.deployment
    alone = as_scenario(s, (f"prefill.tokens_per_device={f.input_len / f.devices!r}",))
    fresh = estimate_prefill(alone, alone.prefill, False)
    fetch, batch = prefill_batch_s(alone, d.reuse, d.cache, fresh)
    step = estimate_decode(s, replace(s.decode, batch_per_device=1.0), False).step_time_s
    return _ttft_parts(s, fetch, batch, alone.prefill.tokens_per_device, step)


def cold_start_s(s: Scenario, weights: float) -> dict[str, float] | None:
    """Seconds for every instance of the deployment to load the model (`weights` bytes) on a
    cold start, from the object store and through the cache pool (None where the cluster
    states no store)."""
    d, store = s.deployment, s.cluster.object_store
    if d is None or store is None:
        return None
    instances = d.prefill_instances + d.decode_instances
    devices = min(s.prefill.devices, s.decode.devices)  # the smallest instance loads slowest
    store_s = instances * weights / store.bandwidth_bytes_per_s + store.latency_s
    vpc = s.cluster.cache_paths.get("vpc")
    if vpc is not None:  # the store is reached over the VPC plane (ref §1.1)
        store_s = max(store_s, weights / (devices * vpc.bandwidth_bytes_per_s) + vpc.latency_s)
    pool = s.cluster.cache_paths.get(d.cache)
    capacity = s.cluster.pool_capacity_bytes
    if pool is None or (capacity is not None and capacity < weights):
        return {"object_store": store_s}  # no pool, or one too small to hold the model
    once_s = weights / store.bandwidth_bytes_per_s + store.latency_s
    fan_out_s = weights / (devices * pool.bandwidth_bytes_per_s) + pool.latency_s
    return {"object_store": store_s, "pool": once_s + fan_out_s}


def _check_fits(s: Scenario) -> None:
    """The deployment's instances fit the cluster, and a prefill batch holds whole prompts."""
    d, f, c = s.deployment, s.prefill, s.cluster
    used = d.prefill_instances * f.devices + d.decode_instances * s.decode.devices
    if used > c.devices:
        raise InfeasibleError(
            f"the deployment's {used} devices ({d.prefill_instances} prefill x {f.devices} + "
            f"{d.decode_instances} decode x {s.decode.devices}) exceed the {c.devices} of "
            f"{c.name}; fewer instances, or a bigger cluster (hardware.nodes)"
        )
    prompts = f.tokens_per_device * f.devices / f.input_len
    if prompts < 1:
        raise InfeasibleError(
            f"a prefill batch of {f.tokens_per_device:g} tokens per device x {f.devices} holds "
            f"{prompts:.2g} of a {f.input_len}-token prompt; a request's TTFT is one batch, so "
            f"prefill.tokens_per_device must be at least {math.ceil(f.input_len / f.devices)}"
        )


def pool_use(s: Scenario, weights: float) -> dict[str, Any] | None:
    """What the cache pool holds, where the cluster spec states its capacity: the model
    (`weights` bytes, for model caching), and the cached prefixes of the workload (reuse x
    input_len tokens each)."""
    capacity = s.cluster.pool_capacity_bytes
    if capacity is None:
        return None
    d = s.deployment
    prefix_bytes = d.reuse * s.prefill.input_len * kv_bytes_per_token(s)
    holds_model = capacity >= weights
    free = capacity - weights if holds_model else capacity  # the model cached first
    return {
        "capacity_bytes": capacity,
        "holds_model": holds_model,
        "model_bytes": weights,
        "prefixes": free / prefix_bytes if prefix_bytes else None,
    }


def estimate_deployment(s: Scenario, pre: PhaseResult, dec: PhaseResult) -> DeploymentResult:
    """The deployment of `s`, from its prefill and decode instances' estimates."""
    d = s.deployment
    if d is None or s.prefill is None or s.decode is None:
        raise InfeasibleError(
            f"{s.name}: a deployment needs a deployment, prefill and decode block"
        )
    f, dc = s.prefill, s.decode
    _check_fits(s)
    # One prefill batch per reuse ratio: the workload's and the speedup curve's (a cluster
    # without a pool to cache in has no curve).
    pooled = d.cache in s.cluster.cache_paths
    ratios = {d.reuse, *(REUSE_CURVE if pooled else ())}
    batches = {reuse: prefill_batch_s(s, reuse, d.cache, pre) for reuse in ratios}
    fetch_s, batch_s = batches[d.reuse]
    breakdown = _ttft_parts(s, fetch_s, batch_s, f.tokens_per_device, dec.step_time_s)
    prompts_per_batch = f.tokens_per_device * f.devices / f.input_len
    prefill_rps = prompts_per_batch / (fetch_s + batch_s)  # one instance
    decode_rps = float(dec.throughput_tokens_per_s_per_device) * dc.devices / d.output_len
    pools = {
        "prefill": d.prefill_instances * prefill_rps,
        "decode": d.decode_instances * decode_rps,
    }
    rps = min(pools.values())
    devices = {
        "prefill": d.prefill_instances * f.devices,
        "decode": d.decode_instances * dc.devices,
    }
    curve = []
    base = prompts_per_batch / float(pre.step_time_s)
    for reuse in REUSE_CURVE if pooled else ():
        fetch, batch = batches[reuse]
        curve.append((reuse, prompts_per_batch / (fetch + batch) / base))
    # The whole model's bytes, for cold start and the pool's capacity (only where used).
    weights = (
        model_weight_bytes(s)
        if s.cluster.object_store is not None or s.cluster.pool_capacity_bytes is not None
        else 0.0
    )
    memory = {
        "prefill": float(pre.memory.total_bytes) * pre.ranks_per_device,
        "decode": float(dec.memory.total_bytes) * dec.ranks_per_device,
    }
    result = DeploymentResult(
        deployment=d,
        devices=devices,
        ttft_breakdown_s=breakdown,
        requests_per_s=pools,
        prefill_to_decode_ratio=decode_rps / prefill_rps,
        throughput_tokens_per_s_per_device=rps * d.output_len / sum(devices.values()),
        tpot_s=float(dec.tpot_s),
        prefill_speedup_vs_reuse=curve,
        memory_bytes_per_device=memory,
        cold_start_s=cold_start_s(s, weights),
        pool=pool_use(s, weights),
        lone_ttft_breakdown_s=lone_request_ttft_s(s),
    )
    if d.arrival_rate is not None or d.concurrency is not None:
        decode = DecodeAtLoad(s)
        rate = d.arrival_rate
        if d.concurrency is not None:
            rate = closed_loop_rate(result, prefill_rps, d.concurrency, decode)
        result = _with_load(s, result, rate, prefill_rps, decode)
    if d.ttft_slo_s is not None:
        result = replace(
            result,
            # what the prefill pool takes within the SLO, at most what decode sustains
            slo_arrival_rate_per_s=min(
                slo_arrival_rate(result, prefill_rps, d.ttft_slo_s), pools["decode"]
            ),
        )
    return result


def closed_loop_rate(
    r: DeploymentResult, per_instance_rps: float, concurrency: int, decode: DecodeAtLoad
) -> float:
    """The arrival rate that keeps `concurrency` requests in flight (Little's law): each one
    takes its mean TTFT (queueing included) then output_len - 1 more steps, so
    N = lambda x (TTFT(lambda) + (output_len - 1) x TPOT(lambda)); solved by bisection below
    the slower pool's capacity, where the left side grows without bound or decode caps it.
    """
    d = r.deployment
    cv2 = d.input_len_cv**2

    def in_flight(rate: float) -> float:
        wait = mean_wait_s(d.prefill_instances, rate, 1.0 / per_instance_rps, cv2)
        return rate * (r.ttft_s + wait + (d.output_len - 1) * decode.at(rate)[1])

    high = min(r.requests_per_s.values())
    if in_flight(high) <= concurrency:  # the decode pool saturates first
        return high
    return _largest_rate(lambda rate: in_flight(rate) <= concurrency, high)


def slo_arrival_rate(
    r: DeploymentResult, per_instance_rps: float, slo_s: float, servers: int | None = None
) -> float:
    """The arrival rate at which the p90 TTFT of a pool of `servers` prefill instances (the
    deployment's by default) reaches `slo_s` (0: the unloaded TTFT is over it), by bisection:
    the p90 grows monotonically with the rate up to the pool's capacity."""
    if r.ttft_s >= slo_s:
        return 0.0
    d = r.deployment
    servers = d.prefill_instances if servers is None else servers
    cv2 = d.input_len_cv**2

    def p90(rate: float) -> float:
        return r.ttft_s + wait_quantile_s(0.9, servers, rate, 1.0 / per_instance_rps, cv2)

    return _largest_rate(lambda rate: p90(rate) <= slo_s, servers * per_instance_rps)


def _largest_rate(holds: Any, high: float) -> float:
    """The largest rate in [0, high] at which `holds(rate)`, for a condition that holds up to
    some rate and not beyond (by bisection, to 60 halvings)."""
    low = 0.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if holds(mid) else (low, mid)
    return low


def _with_load(
    s: Scenario, r: DeploymentResult, rate: float, per_instance_rps: float, decode: DecodeAtLoad
) -> DeploymentResult:
    d, capacity = r.deployment, r.requests_per_s
    service_s = 1.0 / per_instance_rps  # each request's share of an instance's batch time
    cv2 = d.input_len_cv**2
    # A pool offered what it cannot sustain queues without bound: no quantiles, and decode
    # receives only what prefill passes on.
    passed_on = min(rate, capacity["prefill"])
    overloaded = [
        pool
        for pool, offered in (("prefill", rate), ("decode", passed_on))
        if offered >= capacity[pool]
    ]
    # With N requests kept in flight, at most N wait: no wait exceeds N service shares / c.
    bound_s = math.inf if d.concurrency is None else d.concurrency * service_s / d.prefill_instances
    quantiles = None
    if "prefill" not in overloaded:
        quantiles = {
            f"p{round(100 * p)}": r.ttft_s
            + min(bound_s, wait_quantile_s(p, d.prefill_instances, rate, service_s, cv2))
            for p in (0.5, 0.9, 0.99)
        }
    per_device, tpot = decode.at(passed_on)
    devices = d.decode_instances * s.decode.devices
    load = {
        "arrival_rate_per_s": rate,
        "model": queue_model(d.input_len_cv),
        "overloaded": overloaded,
        "prefill_utilisation": rate / capacity["prefill"],
        "ttft_quantiles_s": quantiles,
        "decode_sequences": per_device * devices,
        "decode_occupancy": per_device / s.decode.batch_per_device,
        "decode_tpot_s": tpot,
        "prefill_capacity_per_s": capacity["prefill"],
        "decode_capacity_per_s": capacity["decode"],
    }
    if d.concurrency is not None:
        load["concurrency"] = d.concurrency
    return replace(r, load=load)


class DecodeAtLoad:
    """The decode pool under a load: its TPOT at every whole batch up to the block's (one
    vectorised estimate), and the batch a given arrival rate fills."""

    def __init__(self, s: Scenario) -> None:
        import numpy as np  # only under load: the estimate path stays free of numpy

        d, dc = s.deployment, s.decode
        self.devices = d.decode_instances * dc.devices
        self.output_len = d.output_len
        self.batches = np.arange(1.0, float(dc.batch_per_device) + 1.0)
        block = replace(dc, batch_per_device=self.batches)
        self.tpot_s = np.asarray(estimate_decode(s, block, False).tpot_s)

    def at(self, rate: float, devices: int | None = None) -> tuple[float, float]:
        """(sequences per device, TPOT) at `rate` requests per second on `devices` decode
        devices (the deployment's by default): the pool holds rate x output_len x TPOT
        sequences (Little's law), at the TPOT of the smallest whole batch b that holds them,
        b >= rate x output_len x TPOT(b) / devices (the step shrinks with the batch). Past
        the block's batch, the block's own step."""
        need = rate * self.output_len * self.tpot_s / (devices or self.devices)
        holds = (self.batches >= need).nonzero()[0]
        i = int(holds[0]) if holds.size else len(self.batches) - 1
        return float(need[i]), float(self.tpot_s[i])

    def rate_within(self, tpot_slo_s: float, devices: int) -> float:
        """The most requests per second `devices` decode devices take with TPOT within the
        SLO: the largest whole batch b whose TPOT(b) meets it holds b x devices sequences, a
        rate of b x devices / (output_len x TPOT(b)); 0 if even one sequence misses it."""
        meets = (self.tpot_s <= tpot_slo_s).nonzero()[0]
        if not meets.size:
            return 0.0
        i = int(meets[-1])
        return float(self.batches[i] * devices / (self.output_len * self.tpot_s[i]))


def composition_lines(s: Scenario, r: DeploymentResult) -> list[tuple[str, str, float, str]]:
    """How the deployment's figures compose (`cmperf explain`): (quantity, formula, value,
    unit) rows, in the order the module docstring derives them."""
    d = r.deployment
    t = r.ttft_breakdown_s
    per = {
        "prefill": r.requests_per_s["prefill"] / d.prefill_instances,
        "decode": r.requests_per_s["decode"] / d.decode_instances,
    }
    lines = [
        (
            "cache fetch",
            f"reused tokens per device x KV bytes per token / {d.cache} bandwidth per device "
            "+ latency",
            t["cache_fetch"],
            "s",
        ),
        (
            "prefill",
            "the prefill instance's batch: new tokens, attending to the prefix",
            t["prefill"],
            "s",
        ),
        (
            "kv transfer",
            "tokens per device x KV bytes per token / (RDMA bandwidth x ranks per device) "
            "+ latency",
            t["kv_transfer"],
            "s",
        ),
        ("first decode step", "the decode instance's step", t["first_decode_step"], "s"),
        (
            "TTFT (unloaded)",
            "cache fetch + prefill + kv transfer + first decode step",
            r.ttft_s,
            "s",
        ),
        (
            "prefill instance",
            "prompts per batch / (cache fetch + prefill)",
            per["prefill"],
            "requests/s",
        ),
        (
            "decode instance",
            "decode tokens/s per device x devices / output_len",
            per["decode"],
            "requests/s",
        ),
        (
            "balanced prefill : decode",
            "decode instance's requests/s / prefill instance's",
            r.prefill_to_decode_ratio,
            "",
        ),
        (
            "generated tokens/s per device",
            "min over pools (instances x requests/s) x output_len / all devices",
            r.throughput_tokens_per_s_per_device,
            "tokens/s",
        ),
    ]
    if r.cold_start_s is not None:
        lines.append(
            (
                "cold start, from the object store",
                "max(N W / B_store, W / (devices x VPC per device)), N instances, W the model",
                r.cold_start_s["object_store"],
                "s",
            )
        )
        if "pool" in r.cold_start_s:
            lines.append(
                (
                    "cold start, through the pool",
                    f"W / B_store + W / (devices x {d.cache} per device) + latency",
                    r.cold_start_s["pool"],
                    "s",
                )
            )
    if r.slo_arrival_rate_per_s is not None:
        lines.append(
            (
                "arrival rate within the TTFT SLO",
                "the rate whose p90 TTFT (below) reaches ttft_slo, at most decode's requests/s",
                r.slo_arrival_rate_per_s,
                "requests/s",
            )
        )
    if r.load:
        q = r.load["ttft_quantiles_s"]
        if "concurrency" in r.load:
            lines.append(
                (
                    "arrival rate of the closed loop",
                    "N = lambda x (mean TTFT(lambda) + (output_len - 1) x TPOT(lambda))",
                    r.load["arrival_rate_per_s"],
                    "requests/s",
                )
            )
        lines += [
            ("queue", r.load["model"], math.nan, ""),
            (
                "TTFT p90 under load",
                "unloaded TTFT + w, C(c, a) exp(-2 (c mu - lambda) w / (1 + c_s^2)) = 0.1"
                if q is not None
                else "unbounded: the arrival rate is at or over the prefill pool's capacity",
                math.nan if q is None else q["p90"],
                "s",
            ),
            (
                "decode TPOT under load",
                "TPOT of the smallest batch b >= lambda x output_len x TPOT(b) / devices",
                r.load["decode_tpot_s"],
                "s",
            ),
        ]
    return lines
