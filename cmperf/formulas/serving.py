"""From step time to the serving figures users plan with."""

from __future__ import annotations

from typing import Any


def tpot_s(step_time_s: Any, tokens_emitted_per_step: Any) -> Any:
    """Time per output token: each decode step emits 1 + accepted drafts tokens per sequence."""
    return step_time_s / tokens_emitted_per_step


def decode_throughput_per_device(batch_per_device: Any, tpot: Any) -> Any:
    """Output tokens per second per device = sequences per device / TPOT (ref §3.1)."""
    return batch_per_device / tpot


def prefill_throughput_per_device(tokens_per_device: Any, batch_time_s: Any) -> Any:
    """Prompt tokens per second per device for one packed batch."""
    return tokens_per_device / batch_time_s
