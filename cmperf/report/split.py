"""`cmperf sweep` of a deployment: the prefill : decode splits of a device budget."""

from __future__ import annotations

from typing import Any

from .common import csv_text, markdown_table, rich_table, time_text

SPLIT_SCHEMA = "cmperf.split/1"
SPLIT_COLUMNS = (
    "prefill instances",
    "decode instances",
    "devices used",
    "requests/s",
    "bound",
    "generated tokens/s per budget device",
    "goodput, requests/s",
)
_FIELDS = (
    "prefill_instances",
    "decode_instances",
    "devices",
    "requests_per_s",
    "bound",
    "output_tokens_per_s_per_device",
    "goodput_per_s",
)


def split_record(r: Any) -> dict[str, Any]:
    return {
        "schema": SPLIT_SCHEMA,
        "scenario": r.scenario.name,
        "budget_devices": r.budget_devices,
        "ttft_s": r.ttft_s,
        "tpot_s": r.tpot_s,
        "slo_ok": r.slo_ok,
        "slo_reason": r.slo_reason or None,
        "best": None if r.best is None else {f: getattr(r.best, f) for f in _FIELDS},
        "splits": [{f: getattr(x, f) for f in _FIELDS} for x in r.splits],
    }


def _rows(r: Any, top: int = 10) -> list[list[str]]:
    return [
        [
            str(x.prefill_instances),
            str(x.decode_instances),
            str(x.devices),
            f"{x.requests_per_s:,.1f}",
            x.bound,
            f"{x.output_tokens_per_s_per_device:,.0f}",
            f"{x.goodput_per_s:,.1f}",
        ]
        for x in r.splits[:top]
    ]


def _summary(r: Any) -> str:
    head = (
        f"{r.scenario.name}: {r.budget_devices} devices; every split has the scenario's "
        f"instances: unloaded TTFT {time_text(r.ttft_s)}, TPOT {time_text(r.tpot_s)} at the "
        "decode block's batch"
    )
    if not r.slo_ok:
        return f"{head}\nno split meets the SLOs: {r.slo_reason}"
    b = r.best
    slos = [
        f"{name} {time_text(v)}"
        for name, v in (("TTFT p90", r.ttft_slo_s), ("TPOT", r.tpot_slo_s))
        if v is not None
    ]
    within = f", {b.goodput_per_s:,.1f} within {' and '.join(slos)}" if slos else ""
    return (
        f"{head}\nbest: {b.prefill_instances} prefill + {b.decode_instances} decode instances, "
        f"{b.requests_per_s:,.1f} requests/s ({b.bound}-bound){within}"
    )


def render_split(r: Any, console: Any) -> None:
    console.print(
        rich_table(
            SPLIT_COLUMNS,
            _rows(r),
            set(SPLIT_COLUMNS) - {"bound"},
            title="splits, best first",
            title_justify="left",
        )
    )
    console.print(_summary(r), markup=False)


def split_markdown(r: Any) -> str:
    return (
        markdown_table(SPLIT_COLUMNS, _rows(r), set(SPLIT_COLUMNS) - {"bound"})
        + "\n"
        + _summary(r)
        + "\n"
    )


def split_csv(r: Any) -> str:
    return csv_text(_FIELDS, [[getattr(x, f) for f in _FIELDS] for x in r.splits])
