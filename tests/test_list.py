"""`cmperf list`: the shipped specs and those of the working folder, in every format; a file
that does not parse is listed with its error, never a traceback."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from support import HARDWARE, MODELS, SCENARIOS, invoke

from cmperf.report import LIST_SCHEMA, find_specs

DEVICE = (HARDWARE / "h200-sxm.yaml").read_text(encoding="utf-8")
MODEL = (MODELS / "deepseek-r1.yaml").read_text(encoding="utf-8")
SCENARIO = (SCENARIOS / "cloudmatrix384-decode.yaml").read_text(encoding="utf-8")


def listed(*args: str) -> list[dict[str, Any]]:
    result = invoke("list", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["schema"] == LIST_SCHEMA
    return record["specs"]


def by_name(specs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in specs}


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: Any) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_shipped_specs_are_listed(empty: Path) -> None:
    specs = by_name(listed())
    for folder, group in ((HARDWARE, "hardware"), (MODELS, "models"), (SCENARIOS, "scenarios")):
        names = [p.stem for p in folder.glob("*.yaml")]
        assert names
        for name in names:
            assert specs[name]["where"] == "shipped", name
            assert specs[name]["group"] == group
            assert specs[name]["error"] is None
    assert specs["cloudmatrix384"]["kind"] == "cluster"
    assert specs["ascend-910c"]["kind"] == "device"
    assert specs["deepseek-r1"]["kind"] == "model"
    assert specs["cloudmatrix384-decode"]["about"].startswith("DeepSeek-R1 decode")
    assert "\n" not in "".join(s["about"] for s in specs.values())


def test_the_table_shows_every_shipped_name(empty: Path) -> None:
    result = invoke("list")
    assert result.exit_code == 0, result.output
    for folder in (HARDWARE, MODELS, SCENARIOS):
        for path in folder.glob("*.yaml"):
            assert f" {path.stem} " in result.stdout, path.stem


@pytest.mark.parametrize(
    ("group", "kinds"),
    [("hardware", {"device", "cluster"}), ("models", {"model"}), ("scenarios", {"scenario"})],
)
def test_one_group(empty: Path, group: str, kinds: set[str]) -> None:
    specs = listed(group)
    assert specs and {s["kind"] for s in specs} == kinds
    assert {s["group"] for s in specs} == {group}


def test_working_folder_specs(empty: Path) -> None:
    (empty / "my-gpu.yaml").write_text(DEVICE.replace("name: h200-sxm", "name: my-gpu"))
    (empty / "my-model.yaml").write_text(MODEL)  # a model spec says no kind: its keys tell
    (empty / "my-run.yaml").write_text(SCENARIO)
    (empty / "other.yaml").write_text("services: {web: {image: nginx}}\n")  # not a spec
    (empty / "hardware_specs").mkdir()
    (empty / "hardware_specs" / "h200-sxm.yaml").write_text(DEVICE)  # replaces the shipped one
    specs = listed()
    mine = {s["name"]: s for s in specs if s["where"] == "working folder"}
    assert set(mine) == {"my-gpu.yaml", "my-model.yaml", "my-run.yaml", "h200-sxm"}
    assert mine["my-gpu.yaml"]["kind"] == "device" and mine["my-gpu.yaml"]["file"] == "my-gpu.yaml"
    assert mine["my-model.yaml"]["kind"] == "model"
    assert mine["my-run.yaml"]["kind"] == "scenario"
    assert mine["h200-sxm"]["file"] == str(Path("hardware_specs") / "h200-sxm.yaml")
    assert Path(mine["my-gpu.yaml"]["path"]) == (empty / "my-gpu.yaml").resolve()
    shipped = [s for s in specs if s["name"] == "h200-sxm" and s["where"] != "working folder"]
    assert [s["where"] for s in shipped] == ["shipped (hidden)"]
    # Each within its group, after the shipped ones.
    groups = [s["group"] for s in specs]
    assert groups == sorted(groups, key=["hardware", "models", "scenarios"].index)
    result = invoke("list", "hardware")
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if "my-gpu.yaml" in line)
    assert "working folder" in line and "device" in line


def test_broken_yaml_is_listed_with_its_error(empty: Path) -> None:
    (empty / "broken.yaml").write_text("kind: device\nname: [unclosed\n")
    (empty / "mystery.yaml").write_text("a: [\n")  # says nothing of its kind
    (empty / "model_specs").mkdir()
    (empty / "model_specs" / "bad.yaml").write_text("name: x\nname: y\n")  # a duplicate key
    (empty / "hardware_specs").mkdir()
    (empty / "hardware_specs" / "kindless.yaml").write_text("name: x\n")
    specs = by_name(listed())
    assert specs["broken.yaml"]["group"] == "hardware" and specs["broken.yaml"]["kind"] == "device"
    assert "malformed YAML" in specs["broken.yaml"]["error"]
    assert specs["broken.yaml"]["about"] is None
    assert "malformed YAML" in specs["mystery.yaml"]["error"]
    assert "duplicate key" in specs["bad"]["error"]
    assert "kind" in specs["kindless"]["error"]
    # A file of unknown kind might be of any group: it is listed with each.
    assert "mystery.yaml" in by_name(listed("models"))
    assert "broken.yaml" not in by_name(listed("models"))
    for format_ in ("table", "csv", "markdown"):
        result = invoke("list", "--format", format_)
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
        assert "broken.yaml" in result.stdout and "malformed YAML" in result.stdout


def test_csv_and_markdown(empty: Path) -> None:
    result = invoke("list", "models", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["name"] for r in rows} >= {"deepseek-r1", "llama-3.1-70b"}
    assert {r["group"] for r in rows} == {"models"}
    assert all(r["error"] == "" for r in rows)
    result = invoke("list", "scenarios", "--format", "markdown")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "| name | kind | where | about |"
    assert any(line.startswith("| cloudmatrix384-decode | scenario | shipped |") for line in lines)


def test_unknown_group_is_a_usage_error(empty: Path) -> None:
    result = invoke("list", "lasers")
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_the_repository_root_lists_each_spec_once(monkeypatch: Any) -> None:
    """From the repository root, hardware_specs/ links cmperf's own: no spec is listed twice."""
    root = HARDWARE.parent.parent
    monkeypatch.chdir(root)
    entries = find_specs(None, root)
    names = [(e.group, e.name) for e in entries]
    assert len(names) == len(set(names))
