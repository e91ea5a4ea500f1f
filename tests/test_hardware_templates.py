"""The hardware templates of docs/hardware.md load and estimate as written; the hardware and
model JSON Schemas cover every key of the shipped specs; an unknown key names the allowed ones.

A template is a ```yaml block of the page whose first line is `# file: NAME`: it is written to
NAME in a temporary folder, so the references between templates (a cluster naming its device
by a path next to it, a scenario naming its cluster) are tested as a user meets them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import DECODE, HARDWARE, MODELS, invoke

from cmperf import api
from cmperf.errors import InfeasibleError, SpecError
from cmperf.schema import SCHEMAS, hardware_schema, model_schema
from cmperf.specs import _load_cluster, _load_device, _load_model, load_scenario, resolve
from cmperf.specs.reader import Reader

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "hardware.md"
_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)
GPU_DEVICE, GPU_NODE = "my-h100-sxm.yaml", "my-h100-node.yaml"
GPU_SCENARIO, SUPERNODE = "r1-decode-my-h100.yaml", "my-supernode.yaml"


def blocks() -> list[str]:
    return _BLOCK.findall(DOC.read_text(encoding="utf-8"))


def templates() -> dict[str, str]:
    out = {}
    for block in blocks():
        first = block.split("\n", 1)[0]
        if first.startswith("# file: "):
            out[first.removeprefix("# file: ").strip()] = block
    return out


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, text in templates().items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_the_page_has_the_templates() -> None:
    assert set(templates()) == {GPU_DEVICE, GPU_NODE, GPU_SCENARIO, SUPERNODE}


def test_every_block_is_yaml() -> None:
    for block in blocks():
        assert isinstance(yaml.safe_load(block), dict), block[:80]


def test_gpu_node_template_loads(folder: Path) -> None:
    cluster = _load_cluster(folder / GPU_NODE)
    device = cluster.device
    assert (cluster.name, device.name) == ("my-h100-node", "my-h100-sxm")
    assert Path(device.file) == folder / GPU_DEVICE  # found next to the cluster file
    assert cluster.devices == 8 and cluster.ranks_per_node == 8
    assert device.hbm_capacity_bytes == 80e9 and device.hbm_bandwidth_bytes_per_s == 3.35e12
    assert device.engines["sm"].cores == 132
    assert device.engines["sm"].peaks["matrix"]["fp8"] == 1979e12
    (nvlink,) = cluster.scale_up
    assert (nvlink.ranks, nvlink.bandwidth_bytes_per_s, nvlink.latency_s) == (8, 450e9, 1e-6)
    assert cluster.scale_out.bandwidth_bytes_per_s == 400e9 / 8


def test_gpu_device_template_has_the_shipped_h100_datasheet_figures(folder: Path) -> None:
    """The template's peaks, cores and HBM are the shipped h100-sxm's; it borrows no
    calibration (its kernels run at their neutral parameters)."""
    mine = _load_device(folder / GPU_DEVICE)
    shipped = _load_device(resolve("hardware", "h100-sxm"))
    assert mine.engines["sm"].peaks == shipped.engines["sm"].peaks
    assert mine.engines["sm"].cores == shipped.engines["sm"].cores
    assert (mine.hbm_capacity_bytes, mine.hbm_bandwidth_bytes_per_s) == (
        shipped.hbm_capacity_bytes,
        shipped.hbm_bandwidth_bytes_per_s,
    )
    assert mine.kernels == {}


def test_deepseek_r1_decode_on_four_template_nodes(folder: Path) -> None:
    result = api.estimate(str(folder / GPU_SCENARIO))
    scenario = result.scenario
    assert scenario.cluster.nodes == 4 and scenario.cluster.devices == 32
    assert scenario.quantization.weights.value == "fp8_block"
    decode = result.decode
    assert decode is not None
    assert 0 < decode.step_time_s < 1.0
    assert decode.throughput_tokens_per_s_per_device > 0
    assert decode.memory.total_bytes <= scenario.cluster.device.hbm_capacity_bytes


def test_one_template_node_cannot_hold_deepseek_r1(folder: Path) -> None:
    """The page's reason for four nodes: 671 GB of FP8 weights exceed one node's HBM."""
    with pytest.raises(InfeasibleError):
        api.estimate(str(folder / GPU_SCENARIO), ["hardware.nodes=1", "decode.devices=8"])


def test_supernode_template_loads_and_estimates(folder: Path) -> None:
    cluster = _load_cluster(folder / SUPERNODE)
    assert cluster.device.name == "ascend-910c"
    assert cluster.devices == 384 and cluster.ranks_per_node == 16
    assert [t.name for t in cluster.scale_up] == ["package", "node", "supernode"]
    assert cluster.tier_for(16).name == "node" and cluster.tier_for(17).name == "supernode"
    shipped = _load_cluster(resolve("hardware", "cloudmatrix384"))

    def figures(c: Any) -> list[tuple]:
        tiers = (*c.scale_up, c.scale_out)
        return [(t.ranks, t.bandwidth_bytes_per_s, t.latency_s) for t in tiers]

    assert figures(cluster) == figures(shipped), "docs/hardware.md's supernode is stale"
    result = api.estimate(load_scenario(DECODE, [f"hardware={folder / SUPERNODE}"]))
    assert result.decode is not None and result.decode.throughput_tokens_per_s_per_device > 0


def test_cli_estimates_the_template_scenario(folder: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(folder)
    result = invoke("estimate", GPU_SCENARIO, "--format", "json", "--no-ops")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["decode"]


# --- the schemas --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["scenario", "hardware", "model"])
def test_schema_command_prints_json(kind: str) -> None:
    result = invoke("schema", kind)
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema == json.loads(json.dumps(SCHEMAS[kind]()))


@pytest.mark.parametrize("kind", ["hardware", "model"])
def test_published_schema_files_are_current(kind: str) -> None:
    published = ROOT / "docs" / f"{kind}.schema.json"
    assert json.loads(published.read_text(encoding="utf-8")) == json.loads(
        json.dumps(SCHEMAS[kind]())
    ), "run python tests/golden/update.py"


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].removeprefix("#/$defs/")]
    return node


def _branch(schema: dict[str, Any], node: dict[str, Any], data: Any) -> dict[str, Any]:
    """The branch of a oneOf that a document's `kind:` selects (or the node itself)."""
    node = _resolve(schema, node)
    for option in node.get("oneOf", ()):
        option = _resolve(schema, option)
        kind = option.get("properties", {}).get("kind", {})
        if isinstance(data, dict) and data.get("kind") in (
            kind.get("const"),
            *kind.get("enum", ()),
        ):
            return option
    return node


def _walk(schema: dict[str, Any], node: dict[str, Any], data: Any, where: str) -> list[str]:
    """Keys of `data` the schema does not name, as dotted paths (none: all covered)."""
    node = _branch(schema, node, data)
    missing = []
    if isinstance(data, dict) and "properties" in node:
        for key, value in data.items():
            if key not in node["properties"]:
                missing.append(f"{where}.{key}")
            else:
                missing += _walk(schema, node["properties"][key], value, f"{where}.{key}")
    elif isinstance(data, dict) and isinstance(node.get("additionalProperties"), dict):
        for key, value in data.items():
            missing += _walk(schema, node["additionalProperties"], value, f"{where}.{key}")
    return missing


def _shipped(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.yaml"))


def test_every_key_of_the_shipped_hardware_is_in_the_schema() -> None:
    schema = hardware_schema()
    paths = _shipped(HARDWARE)
    assert paths
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert _walk(schema, schema, data, path.name) == []
    # The fitted kernel parameters of the calibration overlays too.
    kernels = {"$ref": "#/$defs/kernels"}
    for path in _shipped(HARDWARE / "calibration"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert _walk(schema, kernels, data["kernels"], f"{path.name}.kernels") == []


def test_every_key_of_the_shipped_models_is_in_the_schema() -> None:
    schema = model_schema()
    paths = _shipped(MODELS)
    assert paths
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert _walk(schema, schema, data, path.name) == []


def test_every_key_of_the_templates_is_in_the_schema() -> None:
    schema = hardware_schema()
    for name in (GPU_DEVICE, GPU_NODE, SUPERNODE):
        assert _walk(schema, schema, yaml.safe_load(templates()[name]), name) == []


def test_the_schema_keys_are_the_loader_keys(folder: Path) -> None:
    """The loader's allowed keys (from its unknown-key error) are the schema's, section by
    section, for a device, a cluster and a model."""

    def allowed(load: Any, data: dict[str, Any], section: tuple[str, ...]) -> set[str]:
        node = data
        for key in section:
            node = node[key]
        node["zz_unknown"] = 1
        path = folder / "probe.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        with pytest.raises(SpecError) as info:
            load(path)
        message = str(info.value)
        assert "zz_unknown: unknown key" in message, message
        return set(message.split("expected one of: ", 1)[1].split(", "))

    def schema_properties(schema: dict[str, Any], kind: str | None, section: tuple[str, ...]):
        node = _resolve(schema, schema["$defs"][kind]) if kind else schema
        for key in section:
            node = _resolve(schema, node["properties"][key])
        return set(node["properties"])

    device = yaml.safe_load((folder / GPU_DEVICE).read_text(encoding="utf-8"))
    hardware = hardware_schema()
    for section in ((), ("hbm",), ("efficiency",), ("efficiency", "compute")):
        data = json.loads(json.dumps(device))
        assert allowed(_load_device, data, section) == schema_properties(
            hardware, "device", section
        ), section
    data = json.loads(json.dumps(device))
    engine = allowed(_load_device, data, ("engines", "sm"))
    assert engine == set(hardware["$defs"]["engine"]["properties"])
    cluster = yaml.safe_load((folder / GPU_NODE).read_text(encoding="utf-8"))
    cluster["device"] = str(folder / GPU_DEVICE)
    for section in ((), ("scale_out",), ("scale_up", "nvlink")):
        data = json.loads(json.dumps(cluster))
        expected = (
            set(hardware["$defs"]["tier"]["properties"])
            if section
            else schema_properties(hardware, "cluster", section)
        )
        assert allowed(_load_cluster, data, section) == expected, section
    model = yaml.safe_load((MODELS / "deepseek-r1.yaml").read_text(encoding="utf-8"))
    for section in ((), ("moe",)):
        data = json.loads(json.dumps(model))
        assert allowed(_load_model, data, section) == schema_properties(
            model_schema(), None, section
        ), section
    data = json.loads(json.dumps(model))
    assert allowed(_load_model, data, ("attention",)) == set(
        model_schema()["$defs"]["mla"]["properties"]
    )


def test_every_property_says_what_to_write() -> None:
    """Each property has a description (its own or its $ref's); where the value is a number, a
    quantity or a name, the description gives an example ("e.g.")."""

    def walk(schema: dict[str, Any], node: Any, where: str) -> list[str]:
        bare = []
        if isinstance(node, dict):
            for key, value in node.get("properties", {}).items():
                target = _resolve(schema, value)
                text = value.get("description", "") + target.get("description", "")
                scalar = target.get("type") in ("integer", "number", "string") or "anyOf" in target
                if not text or (scalar and "const" not in value and "e.g." not in text):
                    bare.append(f"{where}.{key}")
            for key, value in node.items():
                bare += walk(schema, value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                bare += walk(schema, value, f"{where}[{i}]")
        return bare

    for kind in ("hardware", "model"):
        schema = SCHEMAS[kind]()
        assert walk(schema, schema, kind) == []


@pytest.mark.parametrize(
    ("text", "dimension", "ok"),
    [
        ("3.35 TB/s", "bandwidth", True),
        ("400 Gb/s", "bandwidth", True),
        ("1_600 GB/s", "bandwidth", True),
        ("3.35 TB", "bandwidth", False),
        ("3.35", "bandwidth", False),
        ("80 GB", "bytes", True),
        ("64 GiB", "bytes", True),
        ("80 G", "bytes", False),
        ("989 TFLOP/s", "flop_rate", True),
        ("1979 TOP/s", "flop_rate", True),
        ("989 TB/s", "flop_rate", False),
        ("1 us", "time", True),
    ],
)
def test_quantity_patterns(text: str, dimension: str, ok: bool) -> None:
    from cmperf.schema import quantity_pattern
    from cmperf.units import UnitError, parse_quantity

    assert bool(re.search(quantity_pattern(dimension), text)) is ok
    try:
        parse_quantity(text, dimension)
        parsed = True
    except UnitError:
        parsed = False
    assert parsed is ok  # the pattern and the parser agree


# --- with jsonschema (optional: not a dependency) ------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "folder_name"), [("hardware", "hardware_specs"), ("model", "model_specs")]
)
def test_shipped_specs_validate(kind: str, folder_name: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = SCHEMAS[kind]()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in _shipped(ROOT / "cmperf" / folder_name):
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
        assert errors == [], path.name


def test_schema_rejects_what_the_loader_rejects(folder: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(hardware_schema())
    device = yaml.safe_load((folder / GPU_DEVICE).read_text(encoding="utf-8"))
    assert validator.is_valid(device)
    for edit in (
        lambda d: d.update(hbm_size=3),
        lambda d: d["hbm"].update(bandwidth="3.35 TB"),
        lambda d: d.update(kind="gpu"),
        lambda d: d["engines"]["sm"]["peak"]["matrix"].update(fp9="1 TFLOP/s"),
        lambda d: d["efficiency"]["compute"]["gemm"].update(value=1.2),
        lambda d: d.update(kernels={"gemm": {"bf16": {"fixed": {"value": "4 us", "source": "x"}}}}),
    ):
        data = json.loads(json.dumps(device))
        edit(data)
        assert not validator.is_valid(data)
        path = folder / "probe.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        with pytest.raises(SpecError):
            _load_device(path)


# --- errors name the allowed keys ----------------------------------------------------------------


def test_unknown_device_key_lists_the_allowed_keys(folder: Path) -> None:
    text = (folder / GPU_DEVICE).read_text(encoding="utf-8") + "hbm_size: 80 GB\n"
    (folder / "typo.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        _load_device(folder / "typo.yaml")
    message = str(info.value)
    assert "hbm_size: unknown key" in message
    allowed = set(message.split("; expected one of: ", 1)[1].split(", "))
    # Optional keys absent from this file (comm_overhead, kernels) are allowed keys too.
    assert allowed == set(hardware_schema()["$defs"]["device"]["properties"])


def test_reader_lists_optional_keys_it_was_asked_about() -> None:
    r = Reader({"a": 1, "typo": 2}, "f.yaml")
    r.raw("a")
    assert not r.has("optional")
    with pytest.raises(SpecError) as info:
        r.done()
    assert str(info.value) == "f.yaml: typo: unknown key; expected one of: a, optional"
