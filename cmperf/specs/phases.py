"""The phases a scenario may have, as data: each phase kind's block reader and the words the
rest of cmperf uses for it (its batch knob, the latency its SLO bounds, how reports name them).

A new phase is added here (its reader and vocabulary) and in `cmperf.api.ASSEMBLERS` (how its
estimate is composed); the scenario reader, estimate, reports, sweep, compare and baseline
iterate this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .scenario import read_decode, read_prefill


@dataclass(frozen=True)
class PhaseKind:
    name: str
    read: Callable[..., Any]  # (Reader of the block, Cluster, ModelSpec) -> the phase's block
    batch_key: str  # the block's batch per device, the axis a sweep searches
    batch_unit: str  # what that batch counts
    batch_max: float  # a sweep's default upper bound on it
    latency_metric: str  # the PhaseResult field the phase's SLO bounds
    latency_key: str  # that latency's key in sweep records
    latency_label: str  # and its name in sweep reports
    step_label: str  # the name of one step_time_s in reports
    slo_key: str  # the sweep key (and --option) of the phase's SLO
    drafts: bool  # whether MTP drafting applies

    @property
    def slo_option(self) -> str:
        return "--" + self.slo_key.replace("_", "-")


# In report order: a scenario's phases are listed, estimated and compared in this order.
PHASE_KINDS: dict[str, PhaseKind] = {
    "prefill": PhaseKind(
        name="prefill",
        read=read_prefill,
        batch_key="tokens_per_device",
        batch_unit="tokens",
        batch_max=65536.0,
        latency_metric="step_time_s",
        latency_key="ttft_s",
        latency_label="TTFT",
        step_label="batch time",
        slo_key="ttft_slo",
        drafts=False,
    ),
    "decode": PhaseKind(
        name="decode",
        read=read_decode,
        batch_key="batch_per_device",
        batch_unit="sequences",
        batch_max=512.0,
        latency_metric="tpot_s",
        latency_key="tpot_s",
        latency_label="TPOT",
        step_label="TPOT",
        slo_key="tpot_slo",
        drafts=True,
    ),
}
PHASES = tuple(PHASE_KINDS)
