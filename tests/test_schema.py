"""`cmperf schema scenario`: a JSON Schema (draft 2020-12) for editors.

Without jsonschema (not a dependency): the schema is well formed, its keys are exactly the keys
the loader reads (asked of the loader itself: an unknown key's error lists the known ones), and
its vocabularies are the loader's. With jsonschema installed: the shipped scenarios validate,
and typical mistakes are rejected by both the schema and the loader.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import DECODE, PREFILL, SCENARIOS, invoke

from cmperf.errors import SpecError
from cmperf.quant import DType
from cmperf.schema import TIME_PATTERN, scenario_schema
from cmperf.search import read_sweep
from cmperf.specs import load_scenario
from cmperf.specs.scenario import QUANT_KEYS

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(SCENARIOS.glob("*.yaml"))
SCHEMA = scenario_schema()


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].removeprefix("#/$defs/")]
    return node


def properties(*path: str) -> set[str]:
    node = SCHEMA
    for key in path:
        node = resolve(node)
        node = node["properties"][key] if key in node.get("properties", {}) else node[key]
    return set(resolve(node)["properties"])


def loader_keys(scenario: str, section: str, *sets: str) -> set[str]:
    """The keys the loader reads in `section` (dotted), from its unknown-key error."""
    key = f"{section}.zz_unknown" if section else "zz_unknown"
    with pytest.raises(SpecError) as info:
        s = load_scenario(scenario, [*sets, f"{key}=1"])
        read_sweep(s, {})  # sections the sweep reads
    message = str(info.value)
    assert f"{key}: unknown key" in message, message
    return set(message.split("expected one of: ", 1)[1].split(", "))


# --- without jsonschema -----------------------------------------------------------------------


def test_cli_prints_the_schema() -> None:
    result = invoke("schema", "scenario")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(json.dumps(SCHEMA))
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_unknown_schema_kind_is_a_usage_error() -> None:
    result = invoke("schema", "hardware-spec-of-mars")
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_published_schema_file_is_current() -> None:
    published = ROOT / "docs" / "scenario.schema.json"
    assert json.loads(published.read_text(encoding="utf-8")) == json.loads(json.dumps(SCHEMA)), (
        "run python tests/golden/update.py"
    )


def test_refs_resolve_and_objects_are_closed() -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                assert node["$ref"].removeprefix("#/$defs/") in SCHEMA["$defs"], node["$ref"]
            if node.get("type") == "object":
                assert "additionalProperties" in node, node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(SCHEMA)


@pytest.mark.parametrize(
    ("scenario", "section", "schema_path", "sets"),
    [
        (DECODE, "", (), ()),
        (DECODE, "quantization", ("quantization",), ()),
        (DECODE, "decode", ("decode",), ()),
        (DECODE, "decode.mtp", ("decode", "mtp"), ()),
        (DECODE, "decode.streams.moe", ("decode", "streams", "additionalProperties"), ()),
        (PREFILL, "prefill", ("prefill",), ()),
        ("cloudmatrix384-decode-slo", "sweep", ("sweep",), ()),
        ("cloudmatrix384-decode-slo", "sweep.mtp", ("sweep", "mtp"), ()),
        ("cloudmatrix384-decode-slo", "sweep.batch_per_device", ("sweep", "batch_per_device"), ()),
        (PREFILL, "sweep", ("sweep",), ("sweep.ttft_slo=2s",)),
    ],
)
def test_schema_keys_are_the_loader_keys(
    scenario: str, section: str, schema_path: tuple[str, ...], sets: tuple[str, ...]
) -> None:
    known = loader_keys(scenario, section, *sets)
    in_schema = properties(*schema_path)
    if section == "sweep":
        # The sweep reads the batch range of its own phase only.
        other = "tokens_per_device" if scenario != PREFILL else "batch_per_device"
        in_schema -= {other}
    assert known == in_schema


def test_vocabularies_are_the_loaders() -> None:
    assert SCHEMA["$defs"]["format"]["enum"] == [d.value for d in DType]
    quant = SCHEMA["$defs"]["quantization"]
    assert list(quant["properties"]) == list(QUANT_KEYS)
    assert set(quant["required"]) == set(QUANT_KEYS) - {"attention", "head"}
    assert set(SCHEMA["required"]) == {"hardware", "model", "quantization"}


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("15 ms", True),
        ("15ms", True),
        ("1.5e3 us", True),
        ("2 s", True),
        ("1_000 µs", True),
        ("15", False),
        ("15 parsecs", False),
        ("ms", False),
        ("-3 ms", False),
    ],
)
def test_time_pattern(text: str, ok: bool) -> None:
    assert bool(re.search(TIME_PATTERN, text)) is ok


def test_every_key_of_the_shipped_scenarios_is_in_the_schema() -> None:
    def walk(data: Any, node: dict[str, Any], where: str) -> None:
        node = resolve(node)
        if isinstance(data, dict) and "properties" in node:
            for key, value in data.items():
                assert key in node["properties"], f"{where}.{key}"
                walk(value, node["properties"][key], f"{where}.{key}")
        elif isinstance(data, dict) and isinstance(node.get("additionalProperties"), dict):
            for key, value in data.items():
                walk(value, node["additionalProperties"], f"{where}.{key}")

    for path in SHIPPED:
        walk(yaml.safe_load(path.read_text()), SCHEMA, path.name)


# --- with jsonschema --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    return jsonschema.Draft202012Validator(SCHEMA)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenarios_validate(validator: Any, path: Path) -> None:
    errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


def _set(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        node = node[key]
    if value is _DROP:
        del node[last]
    else:
        node[last] = value
    return data


_DROP = object()

# Mistakes the schema and the loader both reject, and changes both accept.
MUTATIONS = [
    ("decode.batch_per_device", 8, True),
    ("decode.mtp.acceptance", [0.7], True),
    ("decode.tp", 2, True),
    ("decode.microbatches", 3, False),
    ("decode.kv_len", 0, False),
    ("decode.kv_len", "4K", False),
    ("decode.batch_per_device", -1, False),
    ("decode.mtp.acceptance", 1.5, False),
    ("decode.mtp.draft_tokens", 9, False),
    ("decode.expert_imbalance", 0.5, False),
    ("decode.streams.moe.paths", ["moe", "lasers"], False),
    ("decode.streams.moe.cores", 3, False),
    ("decode.batch_size", 8, False),
    ("decode.kv_len", _DROP, False),
    ("quantization.weights", "int9", False),
    ("quantization.weights", _DROP, False),
    ("quantization.head", _DROP, True),
    ("hardware", 384, False),
    ("hardwares", "cloudmatrix384", False),
]


def _mutated(key: str, value: Any) -> dict[str, Any]:
    return _set(yaml.safe_load((SCENARIOS / f"{DECODE}.yaml").read_text()), key, value)


@pytest.mark.parametrize(("key", "value", "ok"), MUTATIONS)
def test_loader_on_the_mutations(tmp_path: Path, key: str, value: Any, ok: bool) -> None:
    """The loader's side of the table (runs without jsonschema)."""
    path = tmp_path / "mutated.yaml"
    path.write_text(yaml.safe_dump(_mutated(key, value)))
    try:
        load_scenario(str(path))
        loaded = True
    except SpecError:
        loaded = False
    assert loaded is ok


@pytest.mark.parametrize(("key", "value", "ok"), MUTATIONS)
def test_schema_on_the_mutations(validator: Any, key: str, value: Any, ok: bool) -> None:
    assert validator.is_valid(_mutated(key, value)) is ok


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [
        ("sweep.tpot_slo", "15ms", True),
        ("sweep.tpot_slo", 0.015, True),
        ("sweep.tpot_slo", "15", False),
        ("sweep.objective", "speed", False),
        ("sweep.placements", "local_shared", True),
        ("sweep.quantization", {"weights+kv_cache": ["int8", "bf16"]}, True),
        ("sweep.quantization", {"weights+lasers": ["int8"]}, False),
        ("sweep.ep", [32, 0], False),
    ],
)
def test_sweep_block(validator: Any, key: str, value: Any, ok: bool) -> None:
    data = yaml.safe_load((SCENARIOS / "cloudmatrix384-decode-slo.yaml").read_text())
    assert validator.is_valid(_set(data, key, value)) is ok
