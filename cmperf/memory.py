"""Memory per rank: weights for the expert placement, KV cache, communication buffers and
activations, against the HBM capacity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .build import Layer
from .errors import InfeasibleError
from .formulas import largest, maximum
from .quant import message_bytes_per_token
from .specs.scenario import Phase, Scenario
from .units import Dimension, format_quantity


@dataclass(frozen=True)
class MemoryUse:
    weights_bytes: Any
    kv_cache_bytes: Any
    comm_buffer_bytes: Any
    activation_bytes: Any
    capacity_bytes: float

    @property
    def total_bytes(self) -> Any:
        return (
            self.weights_bytes
            + self.kv_cache_bytes
            + self.comm_buffer_bytes
            + self.activation_bytes
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "weights": self.weights_bytes,
            "kv_cache": self.kv_cache_bytes,
            "comm_buffers": self.comm_buffer_bytes,
            "activations": self.activation_bytes,
        }


def _weights(layer: Layer) -> Any:
    return sum(op.weight_bytes for op in layer.ops)


def memory_use(
    s: Scenario, phase: Phase, layers: list[Layer], kv_tokens_per_rank: Any, buffer_tokens: Any
) -> MemoryUse:
    """Bytes per rank.

    - weights: every op's weights (experts by placement), plus the embedding table (the LM head
      and the MTP modules share it with the main model);
    - KV cache: `kv_tokens_per_rank` tokens x latent values x format, for every layer with
      attention (MTP modules included);
    - communication buffers: statically allocated dispatch and combine slots for
      `buffer_tokens` tokens per microbatch (ref §3.1: about 645 MB per die at EP320);
    - activations: the largest working set of one op, once per microbatch in flight.
    """
    m, q = s.model, s.quantization
    weights = sum(_weights(layer) * layer.count for layer in layers)
    # The embedding table, split by vocabulary over a TP group like the LM head.
    weights = weights + m.vocab / phase.tp * m.hidden * q.head.bytes
    attention_layers = m.layers + m.mtp_modules
    kv = (
        kv_tokens_per_rank
        * m.attention.kv_cache_values_per_rank(phase.tp)
        * q.kv_cache.bytes
        * attention_layers
    )
    per_token = message_bytes_per_token(m.hidden, q.dispatch) + message_bytes_per_token(
        m.hidden, q.combine
    )
    buffers = buffer_tokens * per_token * phase.microbatches
    activations = (
        maximum(*[op.act_bytes for layer in layers for op in layer.ops]) * phase.microbatches
    )
    return MemoryUse(weights, kv, buffers, activations, s.cluster.device.hbm_capacity_bytes)


def check_fits(use: MemoryUse, phase: str, ranks_per_device: int) -> None:
    worst = largest(use.total_bytes)
    if worst <= use.capacity_bytes:
        return
    parts = ", ".join(
        f"{k} {format_quantity(largest(v), Dimension.BYTES)}" for k, v in use.as_dict().items()
    )
    raise InfeasibleError(
        f"{phase}: memory exceeded: {format_quantity(worst, Dimension.BYTES)} per rank needed "
        f"({parts}) but a rank has {format_quantity(use.capacity_bytes, Dimension.BYTES)} "
        f"({ranks_per_device} ranks per device); lower the batch, or spread the model over "
        "more ranks (ep, tp)"
    )
