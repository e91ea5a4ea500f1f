"""Number formats: a closed vocabulary, chosen separately for each kind of tensor."""

from __future__ import annotations

from enum import StrEnum


class DType(StrEnum):
    FP32 = "fp32"
    BF16 = "bf16"
    FP16 = "fp16"
    FP8 = "fp8"
    FP8_BLOCK = "fp8_block"  # FP8 with 1x128 / 128x128 block scales (DeepGEMM, DeepSeek-V3)
    INT8 = "int8"
    FP4 = "fp4"
    INT4 = "int4"

    @property
    def bytes(self) -> float:
        return _BITS[self] / 8.0


_BITS = {
    DType.FP32: 32,
    DType.BF16: 16,
    DType.FP16: 16,
    DType.FP8: 8,
    DType.FP8_BLOCK: 8,
    DType.INT8: 8,
    DType.FP4: 4,
    DType.INT4: 4,
}

# Quantized activations travel with one FP32 scale per group of this many elements (the 1x128
# fine-grained scaling of DeepSeek-V3 and DeepEP; CloudMatrix's INT8 dispatch message is "7,168
# bytes + scales", ref §3.1).
SCALE_GROUP_ELEMENTS = 128
SCALE_BYTES = 4.0


def message_bytes_per_token(hidden: int, dtype: DType) -> float:
    """Bytes of one token's hidden state in a dispatch/combine message, scales included."""
    payload = hidden * dtype.bytes
    if dtype.bytes >= 2:
        return payload
    return payload + -(-hidden // SCALE_GROUP_ELEMENTS) * SCALE_BYTES
