"""JSON Schema (draft 2020-12) of spec files, for editors and linters.

`cmperf schema scenario > scenario.schema.json` (or `hardware`, `model`), then point an editor
at it, e.g. with the yaml-language-server comment
`# yaml-language-server: $schema=scenario.schema.json` on the first line of a spec file.

Each schema states the structure its loader accepts (scenarios: cmperf/specs/scenario.py and
cmperf/search.py; hardware: cmperf/specs/hardware.py and kernel_params.py; models:
cmperf/specs/model.py): the keys, their types, closed vocabularies, units and simple bounds.
What depends on other specs (ep dividing the ranks, devices within the cluster, cores per
stream, top_k within the experts) is checked only by cmperf itself. The vocabularies (number
formats, kernel families and their parameters, units) are taken from the loader's own
constants, so a schema cannot drift from them.
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
            "deployment": {"$ref": "#/$defs/deployment"},
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
                    "prefix_len": _int(
                        0, description="cached tokens before each prompt, attended to, not computed"
                    ),
                },
                ["devices", "tokens_per_device", "input_len"],
            ),
            "deployment": _object(
                {
                    "prefill_instances": _int(
                        1, description="prefill instances (the prefill block)"
                    ),
                    "decode_instances": _int(1, description="decode instances (the decode block)"),
                    "cache": {
                        "enum": ["ub", "vpc"],
                        "description": "the path to the cache pool: the CPUs' DRAM over the "
                        "scale-up fabric (cpu_pool), or over the data-centre network (vpc)",
                    },
                    "workload": _object(
                        {
                            "output_len": _int(1, description="generated tokens per request"),
                            "reuse": _number(
                                0.0, 0.99, description="share of each prompt found in the cache"
                            ),
                            "arrival_rate": _number(
                                0.0, 1e9, low_open=True, description="requests per second"
                            ),
                            "ttft_slo": slo,
                            "input_len_cv": _number(
                                0.0,
                                10.0,
                                description="coefficient of variation of the prompts' lengths "
                                "about prefill.input_len (0: all alike; queueing is M/G/c)",
                            ),
                            "concurrency": _int(
                                1,
                                description="requests kept in flight (closed loop), instead "
                                "of an arrival_rate",
                            ),
                        },
                        ["output_len"],
                    ),
                },
                ["workload"],
            ),
            "range": _object({"min": _number(0.0, 1e9, low_open=True), "max": _number(0.0, 1e9)}),
            "sweep": _object(
                {
                    "phase": {
                        "enum": ["decode", "prefill", "deployment"],
                        "description": "the phase to search, or deployment: the prefill : decode "
                        "split of `devices` devices",
                    },
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


# ---------------------------------------------------------------------------------------------
# Hardware and model specs

# The number part of a quantity as cmperf.units parses it (the same as TIME_PATTERN's).
_NUMBER = r"\+?(\d[\d_,]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?"


def quantity_pattern(dimension: str) -> str:
    """The pattern of a quantity of `dimension` with one of the units cmperf.units knows."""
    import re

    from .units import UNITS, Dimension

    dim = Dimension(dimension)
    if dim == Dimension.TIME:
        return TIME_PATTERN
    units = sorted(UNITS[dim], key=lambda u: (-len(u), u))
    return rf"^\s*{_NUMBER}\s*({'|'.join(re.escape(u) for u in units)})\s*$"


def _quantity(dimension: str, description: str) -> dict[str, Any]:
    """A quantity of `dimension` (its pattern is one of the $defs of _QUANTITIES)."""
    return {"$ref": f"#/$defs/{dimension}", "description": description}


_QUANTITIES = {
    "time": 'a time with its unit (s, ms, us, ns), e.g. "1.2 us"',
    "bytes": 'a size with its unit (B, kB, MB, GB, TB; KiB, MiB, GiB, TiB), e.g. "80 GB"',
    "bandwidth": "a bandwidth with its unit (B/s, GB/s, TB/s; b/s, Gb/s, Gbps for network "
    'links), e.g. "3.35 TB/s" or "400 Gb/s"',
    "flop_rate": 'a rate with its unit (TFLOP/s, PFLOP/s; TOP/s for integers), e.g. "989 TFLOP/s"',
}


def _quantity_defs() -> dict[str, Any]:
    return {
        dim: {"type": "string", "pattern": quantity_pattern(dim), "description": text}
        for dim, text in _QUANTITIES.items()
    }


def _source(
    what: str = "the figure",
    example: str = "FlashMLA README: memory-bound decode, 3,000 of 3,350 GB/s (H800)",
) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "description": f"the source of {what} (a document and its section, a measurement, a "
        f'fit or a stated assumption), e.g. "{example}"',
    }


def _sourced(value: dict[str, Any], description: str) -> dict[str, Any]:
    """A number with its source: {value: ..., source: "..."}."""
    return _object({"value": value, "source": _source()}, ["value", "source"], description)


def _fraction(description: str) -> dict[str, Any]:
    return _sourced(
        _number(0.0, 1.0, low_open=True, description="a share in (0, 1], e.g. 0.69"),
        description,
    )


def _name(what: str, example: str) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "description": f"the {what}'s name, e.g. {example} (keep it the file's name: specs are "
        "looked up by file name)",
    }


def _peak_table(role: str, example: str) -> dict[str, Any]:
    from .quant import DType

    rate = 'a rate with its unit, e.g. "989 TFLOP/s" (INT8: "1979 TOP/s"), dense (no 2:4 sparsity)'
    return _object(
        {
            d.value: _quantity(
                "flop_rate", f"{d.value} peak of the engine's cores in one rank: {rate}"
            )
            for d in DType
        },
        description=f"{role} peaks of the engine, by number format, e.g. {example}",
    )


def _engine() -> dict[str, Any]:
    return _object(
        {
            "cores": _int(
                1,
                description="cores of the engine in one rank, e.g. 132 (an H100 SXM's SMs; the "
                "910C's 24 cube cores): a stream's `cores:` are a share of these",
            ),
            "peak": _object(
                {
                    "matrix": _peak_table(
                        "matrix (tensor-core, cube-core)",
                        "{bf16: 989 TFLOP/s, fp8: 1979 TFLOP/s}",
                    ),
                    "vector": _peak_table(
                        "vector (CUDA-core, vector-core)", "{fp32: 67 TFLOP/s, bf16: 134 TFLOP/s}"
                    ),
                },
                description="peak rates by role the engine runs (matrix, vector); every role is "
                "run by exactly one engine of the device",
            ),
            "clock_under_load": _fraction(
                "sustained clock in a running server as a share of the clock the peaks assume "
                '(power and thermal limits), e.g. {value: 0.69, source: "..."}; default 1'
            ),
        },
        ["cores", "peak"],
        "a pool of identical cores and the peaks of the work they run",
    )


def _kernel_value(unit: str) -> dict[str, Any]:
    if unit == "s":
        return {
            "anyOf": [
                {"$ref": "#/$defs/time"},
                {"enum": [0, "0"]},
            ],
            "description": 'a time with its unit, e.g. "4.2 us" (or 0)',
        }
    if unit == "B/s":
        return _quantity("bandwidth", 'a bandwidth with its unit, e.g. "45 GB/s"')
    example = "0.8" if unit == "1" else "64"
    kind = "a number" if unit == "1" else f"a number of {unit}"
    return {
        "anyOf": [{"type": "number", "minimum": 0}, {"enum": ["inf", ".inf"]}],
        "description": f'{kind}, e.g. {example} (or "inf", quoted)',
    }


def _kernels() -> dict[str, Any]:
    """family -> variant -> parameter -> {value, source}, from the kernel families themselves."""
    from .kernels import families

    out = {}
    for family in families().values():
        params = {
            p.name: _sourced(
                _kernel_value(p.unit),
                f"{p.doc} ({'fitted by cmperf calibrate' if p.fit else 'a fact of the kernel'})",
            )
            for p in family.params
        }
        out[family.name] = {
            "type": "object",
            "additionalProperties": _object(
                params,
                description=f"parameters of one {family.name} variant; the others fall back to "
                "the `default` variant, then to the device figure they name, then to the pure "
                "roofline",
            ),
            "description": f"{family.doc}: parameters by variant (a kernel implementation, e.g. "
            "bf16, fp8_block, low_latency; or `default` for all of them)",
        }
    return _object(
        out,
        description="kernel-model parameters by family (gemm, attention_decode, dispatch, "
        "...), variant and parameter, each {value, source}; written by cmperf calibrate, "
        "usually brought in by include:",
    )


def _tier(what: str) -> dict[str, Any]:
    return _object(
        {
            "ranks": _int(
                1,
                description="ranks in one domain of this tier, e.g. 8 (an NVLink switch domain "
                "of 8 GPUs); scale_out: a large number such as 1000000 (the whole network)",
            ),
            "bandwidth": _quantity(
                "bandwidth",
                'per rank, per direction, with its unit, e.g. "450 GB/s" or "400 Gb/s" (bits '
                "for network links)",
            ),
            "latency": _quantity("time", 'one message rank to rank, e.g. "1 us"'),
            "source": _source(
                "the tier's figures",
                "NVIDIA HGX H100: NVLink 4, 450 GB/s per direction per GPU; latency assumed",
            ),
            "exchange_efficiency": _fraction(
                "optional: share of this tier's bandwidth a MoE token exchange (dispatch, "
                "combine) sustains on it, where measured on it, e.g. {value: 0.89, source: "
                '"DeepEP across nodes: 43 to 47 of 50 GB/s"}; it replaces the exchange '
                "kernel's own fitted share"
            ),
        },
        ["ranks", "bandwidth", "latency", "source"],
        what,
    )


def _device_schema() -> dict[str, Any]:
    from .specs.hardware import COMM_OVERHEADS, COMPUTE_EFFICIENCIES

    compute_doc = {
        "gemm": "share of the matrix peak dense and grouped GEMMs sustain, e.g. 0.69 (DeepGEMM "
        "FP8, 1,358 of 1,979 TFLOP/s)",
        "attention": "share of the matrix peak compute-bound attention sustains, e.g. 0.667 "
        "(FlashMLA, 660 of 989 TFLOP/s)",
        "vector": "share of the vector peak elementwise kernels sustain, e.g. 0.70",
    }
    overhead_doc = {
        "dispatch_s": 'fixed cost of one MoE dispatch kernel, e.g. {value: "74.5 us", ...}',
        "combine_s": 'fixed cost of one MoE combine kernel, e.g. {value: "39.2 us", ...}',
        "per_peer_s": 'cost per remote rank reached by dispatch or combine, e.g. "0.097 us"',
    }
    return _object(
        {
            "name": _name("device", "h100-sxm"),
            "kind": {"const": "device", "description": "device: one accelerator package"},
            "source": _source(
                "the device's figures", "NVIDIA H100 Tensor Core GPU datasheet (SXM)"
            ),
            "ranks_per_device": _int(
                1,
                description="independently scheduled units of one package, e.g. 1 for a GPU, 2 "
                "for an Ascend 910C (two dies); peaks, cores and HBM are per rank",
            ),
            "include": {
                **_one_or_list({"type": "string", "minLength": 1}),
                "description": "calibration overlays (written by cmperf calibrate) merged into "
                "kernels:, paths relative to this file, e.g. calibration/h200-sxm.yaml",
            },
            "kernels_from": {
                **_one_or_list({"type": "string", "minLength": 1}),
                "description": "the devices whose fitted kernel parameters include: brings in, "
                "where this one has no measurements of its own: a name or a list, e.g. "
                "h200-sxm or [h200-sxm, h800-sxm] (the same die)",
            },
            "engines": {
                "type": "object",
                "additionalProperties": {"$ref": "#/$defs/engine"},
                "minProperties": 1,
                "description": "engines by name (the names are data): sm on a GPU; cube and "
                "vector on Ascend. Every role (matrix, vector) is run by exactly one engine",
            },
            "hbm": _object(
                {
                    "capacity": _quantity(
                        "bytes", 'per rank, with its unit, e.g. "80 GB" (decimal) or "64 GiB"'
                    ),
                    "bandwidth": _quantity(
                        "bandwidth", 'peak per rank, with its unit, e.g. "3.35 TB/s"'
                    ),
                },
                ["capacity", "bandwidth"],
                "high-bandwidth memory of one rank",
            ),
            "efficiency": _object(
                {
                    "compute": _object(
                        {k: _fraction(compute_doc[k]) for k in COMPUTE_EFFICIENCIES},
                        COMPUTE_EFFICIENCIES,
                        "standalone compute efficiencies, each {value, source}: the defaults "
                        "of the kernel families before calibration",
                    ),
                    "memory": _object(
                        {
                            "hbm": _fraction(
                                "share of the HBM bandwidth a streaming kernel sustains, e.g. "
                                "0.896 (FlashMLA, 3,000 of 3,350 GB/s)"
                            )
                        },
                        ["hbm"],
                        "standalone memory efficiencies",
                    ),
                    "hbm_bandwidth_follows_cores": _object(
                        {
                            "value": {
                                "type": "boolean",
                                "description": "true: a stream owning a share of the cores "
                                "gets that share of the HBM bandwidth; false (GPUs, the 910C): "
                                "any stream can draw on all of it",
                            },
                            "source": _source(
                                "the choice",
                                "modelling choice: any SM can reach all of HBM",
                            ),
                        },
                        ["value", "source"],
                        "whether HBM bandwidth is split like the cores",
                    ),
                },
                ["compute", "memory", "hbm_bandwidth_follows_cores"],
                "efficiencies from published benchmarks, each with its source",
            ),
            "comm_overhead": _object(
                {
                    k: _sourced(
                        _quantity("time", 'a time with its unit, e.g. "74.5 us"'), overhead_doc[k]
                    )
                    for k in COMM_OVERHEADS
                },
                COMM_OVERHEADS,
                "optional: fixed and per-peer costs of the device's exchange kernels, where "
                "measured as such (the 910C's FusedDispatch); a GPU's come from kernels:",
            ),
            "kernels": {
                "$ref": "#/$defs/kernels",
                "description": "kernel-model parameters, e.g. {gemm: {bf16: {fixed_s: {value: "
                '"4.2 us", source: "..."}}}}; usually brought in by include:',
            },
        },
        ["name", "kind", "source", "ranks_per_device", "engines", "hbm", "efficiency"],
        "one accelerator package (kind: device)",
    )


def _cluster_schema() -> dict[str, Any]:
    device = _reference(
        "the device spec: a name in hardware_specs/ (e.g. h100-sxm), or a path relative to "
        "this file (e.g. my-h100-sxm.yaml); or {spec: ..., keys to change}, e.g. {spec: "
        "h100-sxm, hbm: {bandwidth: 3.0 TB/s}}"
    )
    device["oneOf"][1]["properties"]["spec"]["description"] = (
        "the device to edit: a name or a path, e.g. h100-sxm"
    )
    return _object(
        {
            "name": _name("cluster", "hgx-h100"),
            "kind": {"const": "cluster", "description": "cluster: devices joined by links"},
            "source": _source("the cluster's layout", "NVIDIA HGX H100 platform"),
            "device": device,
            "nodes": _int(
                1,
                description="nodes (servers, trays) in the cluster, e.g. 4; a scenario may "
                "change it: hardware: {spec: hgx-h100, nodes: 4}",
            ),
            "devices_per_node": _int(1, description="devices (packages) per node, e.g. 8"),
            "scale_up": {
                "type": "object",
                "additionalProperties": {"$ref": "#/$defs/tier"},
                "minProperties": 1,
                "description": "scale-up tiers by name (e.g. nvlink; or package, node, "
                "supernode), any order: a group of ranks talks over the innermost tier whose "
                "ranks hold it; no two tiers span the same ranks",
            },
            "scale_out": {
                "$ref": "#/$defs/tier",
                "description": "the network between nodes (or supernodes), per rank, e.g. "
                '{ranks: 1000000, bandwidth: "400 Gb/s", latency: "5 us", source: "..."}',
            },
            "cpu_pool": {
                "type": "object",
                "properties": {
                    "cpus": _int(
                        1, description="CPUs reachable over the scale-up fabric, e.g. 192"
                    ),
                    "bandwidth_per_cpu": _quantity(
                        "bandwidth", 'each CPU\'s link to the fabric, e.g. "160 GB/s"'
                    ),
                    "latency": _quantity("time", 'of a read from the pool, e.g. "1.9 us"'),
                    "capacity": _quantity(
                        "bytes",
                        'the DRAM all the CPUs give the pool, e.g. "96 TB": whether it holds the '
                        "model (model caching) and how many cached prefixes",
                    ),
                    "source": {
                        "type": "string",
                        "description": 'where the figures come from, e.g. "ref §1.1"',
                    },
                },
                "additionalProperties": False,
                "description": "the CPUs' DRAM reached over the scale-up fabric: a deployment's "
                "cache pool (`cache: ub`), its bandwidth shared by every device",
            },
            "vpc": {
                "type": "object",
                "properties": {
                    "bandwidth_per_node": _quantity("bandwidth", 'e.g. "400 Gb/s"'),
                    "latency": _quantity("time", 'of a read over it, e.g. "10 us"'),
                    "source": {
                        "type": "string",
                        "description": 'where the figures come from, e.g. "ref §1.1"',
                    },
                },
                "additionalProperties": False,
                "description": "the data-centre network of each node: a deployment's path to "
                "the cache pool with `cache: vpc`, shared by the node's devices",
            },
            "object_store": {
                "type": "object",
                "properties": {
                    "bandwidth": _quantity(
                        "bandwidth", 'what all its readers share together, e.g. "2.1 GB/s"'
                    ),
                    "latency": _quantity("time", 'of a read from it, e.g. "10 ms"'),
                    "source": {
                        "type": "string",
                        "description": "the measurement the bandwidth comes from, e.g. "
                        '"ref §4.7: 8 x 671 GB in about 2,560 s"',
                    },
                },
                "required": ["bandwidth", "source"],
                "additionalProperties": False,
                "description": "where a deployment's model weights come from on a cold start "
                "(its bandwidth shared by every instance loading), against loading them once "
                "into the cache pool (model caching)",
            },
        },
        ["name", "kind", "source", "device", "nodes", "devices_per_node", "scale_up", "scale_out"],
        "devices joined by scale-up tiers and a scale-out network (kind: cluster)",
    )


def hardware_schema() -> dict[str, Any]:
    """The JSON Schema of a hardware spec: a device or a cluster, told apart by `kind:`."""
    return {
        "$schema": DRAFT,
        "title": "cmperf hardware spec",
        "description": "A device (kind: device: one accelerator package, its engines, HBM, "
        "efficiencies and kernel parameters) or a cluster (kind: cluster: devices in nodes, "
        "joined by scale-up tiers and a scale-out network). Every figure states its source.",
        "type": "object",
        "required": ["kind"],
        "oneOf": [{"$ref": "#/$defs/device"}, {"$ref": "#/$defs/cluster"}],
        "$defs": {
            "device": _device_schema(),
            "cluster": _cluster_schema(),
            "engine": _engine(),
            "tier": _tier("one level of the interconnect: {ranks, bandwidth, latency, source}"),
            "kernels": _kernels(),
            **_quantity_defs(),
        },
    }


def _dim(description: str, low: int = 1) -> dict[str, Any]:
    return _int(low, description=description)


def model_schema() -> dict[str, Any]:
    """The JSON Schema of a model spec (YAML; a Hugging Face config.json is read as it is)."""
    mla = _object(
        {
            "kind": {"const": "mla", "description": "multi-head latent attention (DeepSeek-V3)"},
            "heads": _dim("query heads, e.g. 128 (num_attention_heads)"),
            "q_lora_rank": {
                "anyOf": [_int(1), {"type": "null"}],
                "description": "rank of the query down-projection, e.g. 1536; null or absent: "
                "queries projected straight from the hidden state (V2-Lite)",
            },
            "kv_lora_rank": _dim("rank of the cached KV latent, e.g. 512"),
            "qk_nope_head_dim": _dim("query/key head dimension without RoPE, e.g. 128"),
            "qk_rope_head_dim": _dim("decoupled RoPE key dimension, e.g. 64"),
            "v_head_dim": _dim("value head dimension, e.g. 128"),
        },
        ["kind", "heads", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"],
        "MLA attention (kind: mla); the names are those of the Hugging Face config.json",
    )
    gqa = _object(
        {
            "kind": {"const": "gqa", "description": "grouped-query attention (Llama, Qwen)"},
            "heads": _dim("query heads, e.g. 64 (num_attention_heads)"),
            "kv_heads": _dim(
                "key/value heads, e.g. 8 (num_key_value_heads); they divide the query heads"
            ),
            "head_dim": _dim("dimension of one head, e.g. 128"),
        },
        ["kind", "heads", "kv_heads", "head_dim"],
        "grouped-query attention (kind: gqa); multi-head attention is kv_heads = heads",
    )
    moe = _object(
        {
            "routed_experts": _dim("routed experts per MoE layer, e.g. 256 (n_routed_experts)"),
            "shared_experts": _dim("shared experts every token uses, e.g. 1 (default 0)", 0),
            "top_k": _dim("routed experts per token, e.g. 8 (num_experts_per_tok)"),
            "intermediate": _dim(
                "intermediate size of one expert, e.g. 2048 (moe_intermediate_size)"
            ),
            "groups": _dim("expert groups of group-limited routing, e.g. 8 (n_group; default 1)"),
            "top_groups": _dim("groups a token may route to, e.g. 4 (topk_group; default 1)"),
        },
        ["routed_experts", "top_k", "intermediate"],
        "mixture of experts: absent for a dense model",
    )
    return {
        "$schema": DRAFT,
        "title": "cmperf model spec",
        "description": "The dimensions that decide the work of every operator; the numbers are "
        "those of the model's Hugging Face config.json (the names it uses are given).",
        "type": "object",
        "properties": {
            "name": _name("model", "deepseek-r1"),
            "kind": {
                "const": "model",
                "description": "optional: says the file is a model spec, e.g. model",
            },
            "source": _source(
                "the dimensions",
                "https://huggingface.co/deepseek-ai/DeepSeek-R1/blob/main/config.json",
            ),
            "hidden": _dim("hidden size, e.g. 7168 (hidden_size)"),
            "vocab": _dim("vocabulary size, e.g. 129280 (vocab_size)"),
            "context_length": {
                "anyOf": [_int(1), {"type": "null"}],
                "description": "longest sequence (prompt + output), tokens, e.g. 163840 "
                "(max_position_embeddings); absent: unknown, not checked",
            },
            "layers": _dim("transformer layers, e.g. 61 (num_hidden_layers)"),
            "dense_layers": _dim(
                "layers with a dense FFN, e.g. 3 (first_k_dense_replace); default 0 with moe, "
                "all layers without",
                0,
            ),
            "dense_intermediate": _dim(
                "intermediate size of a dense FFN, e.g. 18432 (intermediate_size); required "
                "where there are dense layers",
                0,
            ),
            "attention": {
                "oneOf": [{"$ref": "#/$defs/mla"}, {"$ref": "#/$defs/gqa"}],
                "description": "the attention block: kind mla or gqa and its dimensions",
            },
            "moe": {
                "$ref": "#/$defs/moe",
                "description": "the routed experts of the MoE layers; absent for a dense model",
            },
            "mtp_modules": _dim(
                "multi-token-prediction modules, e.g. 1 (num_nextn_predict_layers; MLA models "
                "only; default 0)",
                0,
            ),
        },
        "required": ["name", "source", "hidden", "vocab", "layers", "attention"],
        # A dense model has only dense layers: their FFN size is needed.
        "if": {"not": {"required": ["moe"]}},
        "then": {"required": ["dense_intermediate"]},
        "additionalProperties": False,
        "$defs": {"mla": mla, "gqa": gqa, "moe": moe},
    }


# `cmperf schema KIND`: the schema of each spec file kind.
SCHEMAS = {"scenario": scenario_schema, "hardware": hardware_schema, "model": model_schema}
