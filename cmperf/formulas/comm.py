"""Communication: latency + per-peer overhead + bytes / bandwidth, on the tier the group spans."""

from __future__ import annotations

from typing import Any


def expected_peers(group_ranks: Any, tokens: Any, fanout: Any) -> Any:
    """Expected distinct remote ranks that `tokens` tokens, each sent to `fanout` ranks drawn
    uniformly from the group, reach:  (G - 1) * (1 - (1 - p)^T)  with  p = 1 - (1 - 1/G)^fanout.

    (EP8 at 128 tokens x top-8 reaches all 7 peers; EP256 reaches about 250, ref §4.4.)
    """
    p_token = 1 - (1 - 1 / group_ranks) ** fanout
    return (group_ranks - 1) * (1 - (1 - p_token) ** tokens)


def remote_fraction(group_ranks: Any) -> Any:
    """Share of uniformly spread destinations that are not the sending rank: (G - 1) / G."""
    return (group_ranks - 1) / group_ranks


def transfer_time_s(
    bytes_sent: Any,
    bandwidth_bytes_per_s: Any,
    latency_s: Any,
    peers: Any,
    per_peer_s: Any,
    fixed_s: Any = 0.0,
) -> Any:
    """t = fixed + latency + peers x per-peer overhead + bytes / bandwidth.

    `fixed` is a kernel's own cost independent of the message (FusedDispatch quantizes and
    exchanges counts before it sends, ref §3.1); the per-peer term is address set-up and
    completion flags, one per destination (fitted to ref §4.4).
    """
    return fixed_s + latency_s + peers * per_peer_s + bytes_sent / bandwidth_bytes_per_s
