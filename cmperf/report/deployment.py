"""The deployment view of `cmperf estimate` (a scenario with a `deployment:` block)."""

from __future__ import annotations

from typing import Any

from .common import bytes_text, time_text

DEPLOYMENT_TITLE = "deployment: pools, TTFT and throughput"
DEPLOYMENT_COLUMNS = ("quantity", "value")


def deployment_record(r: Any) -> dict[str, Any]:
    d = r.deployment
    out: dict[str, Any] = {
        "prefill_instances": d.prefill_instances,
        "decode_instances": d.decode_instances,
        "devices": dict(r.devices),
        "cache": d.cache,
        "reuse": d.reuse,
        "output_len": d.output_len,
        "ttft_s": r.ttft_s,
        "ttft_breakdown": dict(r.ttft_breakdown_s),
        "ttft_lone_request_s": r.lone_ttft_s,
        "ttft_lone_request_breakdown": dict(r.lone_ttft_breakdown_s),
        "tpot_s": r.tpot_s,
        "requests_per_s": dict(r.requests_per_s),
        "throughput_tokens_per_s_per_device": r.throughput_tokens_per_s_per_device,
        "prefill_to_decode_ratio": r.prefill_to_decode_ratio,
        "prefill_throughput_vs_reuse": [
            {"reuse": reuse, "speedup": speedup} for reuse, speedup in r.prefill_speedup_vs_reuse
        ],
        "memory_bytes_per_device": dict(r.memory_bytes_per_device),
    }
    if r.cold_start_s is not None:
        out["cold_start_s"] = dict(r.cold_start_s)
    if r.pool is not None:
        out["pool"] = dict(r.pool)
    if r.slo_arrival_rate_per_s is not None:
        out["ttft_slo_s"] = d.ttft_slo_s
        out["slo_arrival_rate_per_s"] = r.slo_arrival_rate_per_s
    if r.load:
        load = dict(r.load)
        out["load"] = load
        quantiles = load["ttft_quantiles_s"]
        out["ttft_p90_s"] = None if quantiles is None else quantiles["p90"]
    return out


def deployment_rows(r: Any) -> list[list[str]]:
    d = r.deployment
    pools = (
        f"{d.prefill_instances:,} prefill x {r.devices['prefill'] // d.prefill_instances:,} + "
        f"{d.decode_instances:,} decode x {r.devices['decode'] // d.decode_instances:,} devices"
    )
    rows = [
        ["pools", pools],
        ["TTFT (unloaded)", _ttft_text(r.ttft_s, r.ttft_breakdown_s)],
        ["TTFT of a lone request", _ttft_text(r.lone_ttft_s, r.lone_ttft_breakdown_s)],
        ["TPOT", time_text(r.tpot_s)],
        [
            "requests/s each pool sustains",
            ", ".join(f"{k} {v:,.1f}" for k, v in r.requests_per_s.items()),
        ],
        ["balanced prefill : decode instances", f"{r.prefill_to_decode_ratio:.1f} : 1"],
        ["generated tokens/s per device", f"{r.throughput_tokens_per_s_per_device:,.0f}"],
        [
            f"prefill speedup from the cache ({d.cache})"
            if r.prefill_speedup_vs_reuse
            else "prefill speedup from a cache",
            ", ".join(f"x{s:.2f} at {100 * u:.0f} %" for u, s in r.prefill_speedup_vs_reuse)
            or f"none: the cluster spec states no {d.cache!r} path to a pool (cpu_pool or vpc)",
        ],
        [
            "memory per device",
            ", ".join(f"{k} {bytes_text(v)}" for k, v in r.memory_bytes_per_device.items()),
        ],
    ]
    if r.pool is not None:
        pool = r.pool
        holds = "holds" if pool["holds_model"] else "does not hold"
        text = f"{bytes_text(pool['capacity_bytes'])}: {holds} the model"
        text += f" ({bytes_text(pool['model_bytes'])})"
        if pool["prefixes"] is not None:
            text += f", and {pool['prefixes']:,.0f} cached prefixes"
        rows.append(["cache pool", text])
    if r.cold_start_s is not None:
        instances = d.prefill_instances + d.decode_instances
        ways = {"object_store": "from the object store", "pool": f"through the pool ({d.cache})"}
        rows.append(
            [
                f"cold start, {instances} instances",
                ", ".join(f"{time_text(v)} {ways[k]}" for k, v in r.cold_start_s.items()),
            ]
        )
    if r.load:
        rows += _load_rows(r.load)
    if r.slo_arrival_rate_per_s is not None:
        slo = time_text(d.ttft_slo_s)
        rows.append(
            [f"p90 TTFT under {slo} up to", f"{r.slo_arrival_rate_per_s:,.1f} requests/s"]
            if r.slo_arrival_rate_per_s > 0
            else [
                f"p90 TTFT under {slo}",
                f"unreachable: the unloaded TTFT, {time_text(r.ttft_s)}, is over it",
            ]
        )
    return rows


def _ttft_text(total_s: float, parts: dict[str, float]) -> str:
    shown = ", ".join(f"{k.replace('_', ' ')} {time_text(v)}" for k, v in parts.items())
    return f"{time_text(total_s)}: {shown}"


def _load_rows(load: dict[str, Any]) -> list[list[str]]:
    q = load["ttft_quantiles_s"]
    rate = load["arrival_rate_per_s"]
    at = f"at {rate:,.4g} requests/s"
    if "concurrency" in load:
        n = load["concurrency"]
        at = f"{n:,} request{'s' if n != 1 else ''} in flight: {at}"
    if q is None:
        ttft = (
            f"overloaded: the prefill pool sustains {load['prefill_capacity_per_s']:,.1f} "
            "requests/s, so TTFT grows without bound"
        )
    else:
        ttft = (
            f"TTFT p50 {time_text(q['p50'])}, p90 {time_text(q['p90'])}, "
            f"p99 {time_text(q['p99'])}; prefill {100 * load['prefill_utilisation']:.0f} % busy"
        )
    decode = (
        f"decode {100 * load['decode_occupancy']:.0f} % of its batch, TPOT "
        f"{time_text(load['decode_tpot_s'])}"
    )
    if "decode" in load["overloaded"]:
        decode = (
            f"decode overloaded: it sustains {load['decode_capacity_per_s']:,.1f} requests/s "
            f"(it would need {100 * load['decode_occupancy']:.0f} % of its batch)"
        )
    return [[at, f"{ttft}; {decode}"], ["queueing model", load["model"]]]
