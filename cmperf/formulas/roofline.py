"""Roofline: an op takes as long as the slower of its arithmetic and its memory traffic."""

from __future__ import annotations

from typing import Any

from . import maximum


def compute_time_s(flop: Any, peak_flop_per_s: Any, efficiency: Any, core_share: Any) -> Any:
    """t_compute = FLOP / (peak x efficiency x share of the engine's cores)."""
    return flop / (peak_flop_per_s * efficiency * core_share)


def memory_time_s(
    bytes_moved: Any, bandwidth_bytes_per_s: Any, efficiency: Any, bandwidth_share: Any
) -> Any:
    """t_memory = bytes / (HBM bandwidth x efficiency x share of the bandwidth the stream holds)."""
    return bytes_moved / (bandwidth_bytes_per_s * efficiency * bandwidth_share)


def roofline_time_s(compute_s: Any, memory_s: Any) -> Any:
    """t = max(t_compute, t_memory): the engine and the memory system work concurrently."""
    return maximum(compute_s, memory_s)
