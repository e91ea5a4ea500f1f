"""JSON Schema (draft 2020-12) of scenario files, for editors and linters.

`cmperf schema scenario > scenario.schema.json`, then point an editor at it, e.g. with the
yaml-language-server comment `# yaml-language-server: $schema=scenario.schema.json` on the first
line of a scenario file.

The schema states the structure the loader (cmperf/specs/scenario.py, cmperf/search.py)
accepts: the keys, their types, closed vocabularies and simple bounds. What depends on the
hardware or the model (ep dividing the ranks, devices within the cluster, cores per stream) is
checked only by cmperf itself. The vocabularies are taken from the loader's own constants, so
the schema cannot drift from them.
"""

from __future__ import annotations

from typing import Any

DRAFT = "https://json-schema.org/draft/2020-12/schema"

# A time with its unit, as cmperf.units parses it: "15 ms", "1.2us", "2 s", "1e3 us".
TIME_PATTERN = r"^\s*\+?(\d[\d_,]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*(s|ms|us|µs|ns|min|h)\s*$"


def _reference(description: str) -> dict[str, Any]:
    """A spec named plainly, or a mapping naming it with what-if edits (checked on load)."""
    return {
        "description": description,
        "oneOf": [
            {"type": "string", "minLength": 1},
            {
                "type": "object",
                "properties": {"spec": {"type": "string", "minLength": 1}},
                "required": ["spec"],
                # the other keys are the referenced spec's own, checked when it is read
                "additionalProperties": True,
            },
        ],
    }


def _int(low: int, high: int | None = None, description: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": "integer", "minimum": low}
    if high is not None:
        out["maximum"] = high
    if description:
        out["description"] = description
    return out


def _number(
    low: float,
    high: float | None = None,
    *,
    low_open: bool = False,
    description: str = "",
) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "number"}
    out["exclusiveMinimum" if low_open else "minimum"] = low
    if high is not None:
        out["maximum"] = high
    if description:
        out["description"] = description
    return out


def _one_or_list(item: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [item, {"type": "array", "items": item, "minItems": 1}]}


def _object(
    properties: dict[str, Any], required: list[str] | tuple[str, ...] = (), description: str = ""
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        out["required"] = list(required)
    if description:
        out["description"] = description
    return out


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (a dict, ready for json.dumps)."""
    from .quant import DType
    from .search import OBJECTIVES, PLACEMENTS
    from .specs.scenario import _QUANT_DEFAULTS, PATHS, QUANT_KEYS

    formats = [d.value for d in DType]
    quant_group = "|".join(QUANT_KEYS)
    probability = _number(0.0, 1.0)
    slo = {
        "anyOf": [
            {"type": "string", "pattern": TIME_PATTERN},
            _number(0.0, low_open=True, description="seconds"),
        ],
        "description": 'a time with its unit, e.g. "15 ms" (or a number of seconds)',
    }
    phase_common = {
        "devices": _int(1, description="devices (packages) serving this phase"),
        "ep": _int(1, description="expert-parallel degree, in ranks (default: all ranks)"),
        "redundant_experts": _int(0, description="extra replicas of routed experts"),
        "shared_expert_replicas": _int(0, description="shared-expert replicas (default: ep)"),
        "expert_imbalance": _number(1.0, 1e3, description="load of the busiest expert rank"),
        "expert_routing": {
            "enum": ["balanced", "multinomial"],
            "description": "balanced: every expert rank gets its share (perfect EPLB); "
            "multinomial: each routing step's busiest rank carries the expected maximum count",
        },
        "microbatches": _int(1, 2, description="microbatches overlapped per rank"),
        "pipelined": {
            "type": "array",
            "items": {"enum": ["dense", "moe", "mtp"]},
            "description": "layer kinds the microbatch pipeline covers (default all); the others "
            "run their whole batch as one microbatch on every core",
        },
        "tp": _int(1, description="tensor parallelism of attention and dense FFNs, in ranks"),
        "streams": {"$ref": "#/$defs/streams"},
    }
    return {
        "$schema": DRAFT,
        "title": "cmperf scenario",
        "description": "A run of a model on hardware: phases, batch, parallelism and "
        "quantization (cmperf estimate / sweep).",
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "default: the file name"},
            "description": {"type": "string"},
            "source": {"type": "string", "description": "where the configuration comes from"},
            "hardware": _reference(
                "a cluster spec: a name in hardware_specs/ or a path; or {spec: ..., keys to "
                "change}, e.g. {spec: cloudmatrix384, scale_up: {supernode: {bandwidth: 82 GB/s}}}"
            ),
            "model": _reference(
                "a model spec: a name in model_specs/, a YAML path, or the path of a Hugging "
                "Face config.json; or {spec: ..., keys to change} (YAML specs)"
            ),
            "quantization": {"$ref": "#/$defs/quantization"},
            "decode": {"$ref": "#/$defs/decode"},
            "prefill": {"$ref": "#/$defs/prefill"},
            "sweep": {"$ref": "#/$defs/sweep"},
            "ideal": {
                "type": "boolean",
                "description": "price every kernel at the speed of light: peak rates, no fixed "
                "costs, no partial waves, perfect overlap (cmperf estimate --ideal)",
            },
        },
        "required": ["hardware", "model", "quantization"],
        "anyOf": [{"required": ["decode"]}, {"required": ["prefill"]}],
        "additionalProperties": False,
        "$defs": {
            "format": {
                "type": "string",
                "enum": formats,
                "description": "a number format",
            },
            "quantization": _object(
                {k: {"$ref": "#/$defs/format"} for k in QUANT_KEYS},
                [k for k in QUANT_KEYS if k not in _QUANT_DEFAULTS],
                "number formats of weights, activations, KV cache, dispatch and combine "
                "messages, attention compute and the embedding/LM head",
            ),
            "stream": _object(
                {
                    "paths": {
                        "type": "array",
                        "items": {"enum": list(PATHS)},
                        "minItems": 1,
                        "uniqueItems": True,
                    },
                    "cores": {
                        "type": "object",
                        "additionalProperties": _int(0),
                        "description": "cores the stream owns, by engine of the device "
                        "(cube and vector on Ascend, sm on a GPU)",
                    },
                },
                ["paths"],
                "a stream: the op paths it runs and its share of the rank's cores",
            ),
            "streams": {
                "type": "object",
                "additionalProperties": {"$ref": "#/$defs/stream"},
                "minProperties": 1,
                "description": "streams by name; every path runs on exactly one stream",
            },
            "mtp": _object(
                {
                    "draft_tokens": _int(0, 8),
                    "acceptance": {
                        "anyOf": [
                            probability,
                            {"type": "array", "items": probability, "minItems": 1},
                        ],
                        "description": "acceptance rate, or one per draft depth",
                    },
                },
                description="multi-token prediction",
            ),
            "decode": _object(
                {
                    **phase_common,
                    "batch_per_device": _int(1, 1_000_000, "sequences per device (whole)"),
                    "kv_len": _int(1, description="KV cache length per sequence, tokens"),
                    "mtp": {"$ref": "#/$defs/mtp"},
                },
                ["devices", "batch_per_device", "kv_len"],
            ),
            "prefill": _object(
                {
                    **phase_common,
                    "tokens_per_device": _number(0.0, 1e9, low_open=True),
                    "input_len": _int(1, description="prompt length, tokens"),
                    "attention_tp": _int(1, description="ranks sharing attention heads"),
                },
                ["devices", "tokens_per_device", "input_len"],
            ),
            "range": _object({"min": _number(0.0, 1e9, low_open=True), "max": _number(0.0, 1e9)}),
            "sweep": _object(
                {
                    "phase": {"enum": ["decode", "prefill"]},
                    "devices": _one_or_list(_int(1)),
                    "ep": _one_or_list(_int(1)),
                    "placements": _one_or_list({"enum": list(PLACEMENTS)}),
                    "batch_per_device": {"$ref": "#/$defs/range"},
                    "tokens_per_device": {"$ref": "#/$defs/range"},
                    "microbatches": _one_or_list(_int(1)),
                    "mtp": _object(
                        {
                            "draft_tokens": _one_or_list(_int(0)),
                            "acceptance": _one_or_list(probability),
                        }
                    ),
                    "quantization": {
                        "type": "object",
                        "patternProperties": {
                            f"^({quant_group})(\\+({quant_group}))*$": _one_or_list(
                                {"$ref": "#/$defs/format"}
                            )
                        },
                        "additionalProperties": False,
                        "description": "formats to try; keys joined by + vary together",
                    },
                    "tpot_slo": slo,
                    "ttft_slo": slo,
                    "objective": {"enum": list(OBJECTIVES)},
                    "top": _int(1),
                },
                description="the search space of cmperf sweep",
            ),
        },
    }
