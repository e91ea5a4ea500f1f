"""From step time to the serving figures users plan with."""

from __future__ import annotations

from typing import Any


def tokens_emitted_per_step(draft_tokens: int, acceptance: Any, per_depth: bool) -> Any:
    """Tokens each sequence emits per decode step with `draft_tokens` MTP drafts.

    A single acceptance a is the mean share of drafts accepted: 1 + a d (ref §3.1: 1 draft at
    70 % emits 1.7). Per-depth acceptances a_i are conditional (draft i counts only if drafts
    1..i-1 were accepted): 1 + a_1 + a_1 a_2 + ... + a_1 ... a_d.
    """
    if not per_depth:
        return 1 + acceptance[0] * draft_tokens if draft_tokens else 1.0
    total, reach = 1.0, 1.0
    for a in acceptance[:draft_tokens]:
        reach = reach * a
        total = total + reach
    return total


def tpot_s(step_time_s: Any, tokens_emitted_per_step: Any) -> Any:
    """Time per output token: each decode step emits 1 + accepted drafts tokens per sequence."""
    return step_time_s / tokens_emitted_per_step


def decode_throughput_per_device(batch_per_device: Any, tpot: Any) -> Any:
    """Output tokens per second per device = sequences per device / TPOT (ref §3.1)."""
    return batch_per_device / tpot


def prefill_throughput_per_device(tokens_per_device: Any, batch_time_s: Any) -> Any:
    """Prompt tokens per second per device for one packed batch."""
    return tokens_per_device / batch_time_s
