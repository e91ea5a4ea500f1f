"""Load hardware, model and scenario specs from YAML, by name or by path."""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..units import shown
from . import calibration
from .edits import REFERENCE_KEYS, merge, promote, split_reference
from .hardware import Cluster, Device, read_cluster, read_device
from .model import ModelSpec, read_model
from .phases import PHASE_KINDS, PHASES, PhaseKind
from .reader import Reader, did_you_mean, load_yaml, not_a_file, parse_yaml
from .scenario import Scenario, read_deployment, read_quantization

PACKAGE_DIR = Path(__file__).resolve().parent.parent
KINDS = {"hardware": "hardware_specs", "model": "model_specs", "scenario": "scenarios"}

__all__ = [
    "PHASES",
    "PHASE_KINDS",
    "Cluster",
    "Device",
    "ModelSpec",
    "PhaseKind",
    "Scenario",
    "as_scenario",
    "available",
    "load_scenario",
    "resolve",
]


def _search_dirs(kind: str, near: Path | None) -> list[Path]:
    return list(_search_dirs_cached(kind, near, Path.cwd()))


@functools.lru_cache(maxsize=256)
def _search_dirs_cached(kind: str, near: Path | None, cwd: Path) -> tuple[Path, ...]:
    folder = KINDS[kind]
    dirs = []
    if near is not None:
        dirs += [near / folder, near.parent / folder]
    dirs += [cwd / folder, PACKAGE_DIR / folder]
    unique: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return tuple(unique)


def _spec_kind(path: Path) -> str | None:
    """The `kind:` a hardware spec declares (device or cluster), read without parsing it all."""
    match = re.search(r"^kind:\s*(\w+)", path.read_text(encoding="utf-8"), re.MULTILINE)
    return match.group(1) if match else None


def available(kind: str, near: Path | None = None, spec_kind: str | None = None) -> list[str]:
    """Spec names of a folder kind; for hardware, optionally only devices or only clusters."""
    paths = [p for d in _search_dirs(kind, near) for p in d.glob("*.yaml")]
    if spec_kind is not None:
        paths = [p for p in paths if _spec_kind(p) == spec_kind]
    return sorted({p.stem for p in paths})


def resolve(kind: str, name: str, near: Path | None = None, spec_kind: str | None = None) -> Path:
    """A spec given as a path (relative to the referring file's folder first), or as a name
    looked up in the spec folders."""
    as_path = Path(name)
    if as_path.suffix in (".yaml", ".yml", ".json") or "/" in name:
        candidates = [as_path]
        if near is not None and not as_path.is_absolute():
            candidates.insert(0, near / as_path)
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise LookupError(_not_a_file(name, candidates))
    names = available(kind, near, spec_kind)
    listed = f"available: {', '.join(names) or 'none'}"
    for d in _search_dirs(kind, near):
        candidate = d / f"{name}.yaml"
        if candidate.exists():
            found = _spec_kind(candidate) if spec_kind else None
            if found == spec_kind:
                return candidate
            raise LookupError(
                f"{name!r} is a spec of kind {found}, expected kind {spec_kind}; " + listed
            )
    raise LookupError(f"unknown {kind} {name!r}{did_you_mean(name, names)}; {listed}")


def _not_a_file(name: str, candidates: list[Path]) -> str:
    for candidate in candidates:
        problem = not_a_file(candidate)
        if problem is not None:
            return f"{problem}: {name}"
    return f"file not found: {name}"


_CACHE: dict[tuple, Any] = {}


def _stamp(path: Path) -> int | None:
    """The file's modification time: a cached spec is reloaded when its file changes."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _edited_key(path: Path, edits: dict[str, Any]) -> tuple:
    return (path.resolve(), _stamp(path), repr(edits) if edits else None)


def _document(path: Path, edits: dict[str, Any], origin: str) -> tuple[Any, str]:
    """A spec file's parsed document with what-if edits merged in, and its label for errors."""
    data = load_yaml(path)
    if not edits:
        return data, str(path)
    label = f"{path} as edited by {origin}"
    if not isinstance(data, dict):
        raise SpecError(str(path), "", "expected a mapping of keys")
    return merge(data, edits, origin), label


def _reference(
    r: Reader, key: str, kind: str, near: Path | None, spec_kind: str | None = None
) -> tuple[Path, dict[str, Any]]:
    """The file of the spec named at `key` (plainly or as {spec: ..., edits}) and its edits."""
    name, edits = split_reference(r.raw(key), r.file, r.key_path(key))
    try:
        return resolve(kind, name, near, spec_kind), edits
    except LookupError as exc:
        raise r.error(key, str(exc)) from None


def load_references(r: Reader, near: Path | None, origin: str) -> tuple[Cluster, ModelSpec]:
    """The cluster and model a document names under `hardware:` and `model:`, with any
    what-if edits (`origin` says where they come from)."""
    cluster = _load_cluster(*_reference(r, "hardware", "hardware", near, "cluster"), origin)
    return cluster, _load_model(*_reference(r, "model", "model", near), origin)


def _load_device(path: Path, edits: dict[str, Any] | None = None, origin: str = "") -> Device:
    edits = edits or {}
    overlays = calibration.active()
    key = ("device", *_edited_key(path, edits), overlays)
    if key not in _CACHE:
        data, label = _document(path, edits, origin)
        data, kernel_files = calibration.apply(data, path, label, overlays)
        r = Reader(data, label)
        name = r.string("name")
        r.string("kind", choices=["device"])
        device = replace(read_device(r, name), file=str(path), kernel_files=kernel_files)
        r.done()
        _CACHE[key] = device
    return _CACHE[key]


def _load_cluster(path: Path, edits: dict[str, Any] | None = None, origin: str = "") -> Cluster:
    edits = edits or {}
    key = ("cluster", *_edited_key(path, edits), calibration.active())
    if key not in _CACHE:
        data, label = _document(path, edits, origin)
        r = Reader(data, label)
        name = r.string("name")
        r.string("kind", choices=["cluster"])
        device_path, device_edits = _reference(r, "device", "hardware", path.parent, "device")
        device = _load_device(device_path, device_edits, origin or str(path))
        cluster = replace(read_cluster(r, name, device), file=str(path))
        r.done()
        _CACHE[key] = cluster
    return _CACHE[key]


def _load_model(path: Path, edits: dict[str, Any] | None = None, origin: str = "") -> ModelSpec:
    edits = edits or {}
    key = ("model", *_edited_key(path, edits))
    if key not in _CACHE:
        if path.suffix == ".json":
            if edits:
                raise SpecError(
                    origin, "model", "edits apply to YAML model specs, not to a config.json"
                )
            from ..hf import read_hf_config

            spec = read_hf_config(path)
        else:
            data, label = _document(path, edits, origin)
            r = Reader(data, label)
            r.string("kind", "model", choices=["model"])  # optional: says what the file is
            spec = replace(read_model(r, r.string("name")), file=str(path))
            r.done()
        _CACHE[key] = spec
    return _CACHE[key]


def parse_override(text: str) -> tuple[str, Any]:
    """`decode.batch_per_device=8` -> ("decode.batch_per_device", 8); values are YAML scalars."""
    key, sep, value = text.partition("=")
    key = key.strip()
    form = "expected dotted.key=value, e.g. decode.batch_per_device=8"
    if not sep or not key or any(not part for part in key.split(".")):
        raise SpecError("--set", text if len(text) <= 100 else text[:97] + "...", form)
    if not value.strip():
        return key, None  # `key=` resets the key to its default
    try:
        return key, parse_yaml(value, "--set")
    except SpecError as exc:
        if exc.message.startswith("malformed"):
            return key, value  # not YAML: the text itself
        raise SpecError("--set", key, exc.message) from None


def apply_overrides(data: Any, overrides: list[str] | tuple[str, ...], file: str) -> Any:
    data = copy.deepcopy(data)
    for text in overrides:
        key, value = parse_override(text)
        node = data
        parts = key.split(".")
        for depth, part in enumerate(parts[:-1]):
            if not isinstance(node, dict):
                raise SpecError(f"{file} (--set)", ".".join(parts[:depth]), "is not a mapping")
            if ".".join(parts[: depth + 1]) in REFERENCE_KEYS:
                node = promote(node, part)  # edit the referenced spec: hardware.scale_up...
            else:
                node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise SpecError(f"{file} (--set)", ".".join(parts[:-1]), "is not a mapping")
        node[parts[-1]] = copy.deepcopy(value)  # parsed values are cached and shared
    return data


def _scenario_yaml(path: Path) -> Any:
    """Parsed scenario file, cached per file version (a sweep loads one file many times)."""
    key = ("scenario-yaml", path.resolve())
    stamp = _stamp(path)
    cached = _CACHE.get(key)
    if cached is None or cached[0] != stamp:
        cached = _CACHE[key] = (stamp, load_yaml(path))
    return cached[1]


def as_scenario(scenario: Scenario | str, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """A loaded scenario with `overrides` applied on top of its own, or one loaded by name or
    path."""
    if not isinstance(scenario, Scenario):
        return load_scenario(scenario, overrides)
    if not overrides:
        return scenario
    return load_scenario(scenario.file, (*scenario.overrides, *overrides))


def load_scenario(name: str, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    try:
        path = resolve("scenario", name)
    except LookupError as exc:
        raise SpecError(name, "", str(exc)) from None
    raw = _scenario_yaml(path)
    label = str(path) + (" (with --set)" if overrides else "")
    if isinstance(raw, dict):
        raw = apply_overrides(raw, overrides, str(path))  # a copy: the cached file stays as read
    r = Reader(raw, label)
    cluster, model = load_references(
        r, path.parent, path.name + (" with --set" if overrides else "")
    )
    quant = read_quantization(r.sub("quantization"))
    sections = {
        name: kind.read(r.sub(name), cluster, model)
        for name, kind in PHASE_KINDS.items()
        if r.has(name)
    }
    if not sections:
        raise r.error("decode", "a scenario needs a decode or a prefill section (or both)")
    scenario = Scenario(
        name=r.string("name", path.stem),
        file=str(path),
        description=r.string("description", ""),
        cluster=cluster,
        model=model,
        quantization=quant,
        sections=sections,
        overrides=tuple(overrides),
        sweep=r.raw("sweep", None),
        ideal=_flag(r, "ideal"),
        deployment=None  # absent, or null (--set deployment=null: the instances alone)
        if r.raw("deployment", None) is None
        else read_deployment(r.sub("deployment"), sections, model),
    )
    r.raw("source", None)
    for name in PHASE_KINDS:
        r.raw(name, None)
    r.done(
        [
            "name",
            "description",
            "source",
            "hardware",
            "model",
            "quantization",
            *PHASE_KINDS,
            "sweep",
            "ideal",
            "deployment",
        ]
    )
    return scenario


def _flag(r: Reader, key: str) -> bool:
    value = r.raw(key, False)
    if not isinstance(value, bool):
        raise r.error(key, f"expected true or false, got {shown(value)}")
    return value


def load_hardware(name: str) -> tuple[Device, Cluster | None]:
    """A device or a cluster by name or path: (its device, the cluster). For a device, the
    cluster is the first one shipped or found that is built of it (kernels that cross links
    need one), or None."""
    try:
        path = resolve("hardware", name)
    except LookupError as exc:
        raise SpecError("--hardware", name, str(exc)) from None
    kind = _spec_kind(path)
    if kind == "cluster":
        cluster = _load_cluster(path)
        return cluster.device, cluster
    if kind != "device":
        raise SpecError(str(path), "kind", f"expected kind device or cluster, got {kind!r}")
    device = _load_device(path)
    for candidate in available("hardware", spec_kind="cluster"):
        cluster_path = resolve("hardware", candidate, spec_kind="cluster")
        # Only a cluster that names this device is loaded (others may be of other devices).
        names = re.search(r"^device:\s*(\S+)", cluster_path.read_text(encoding="utf-8"), re.M)
        if names is None or Path(names.group(1)).stem != path.stem:
            continue
        cluster = _load_cluster(cluster_path)
        if Path(cluster.device.file).resolve() == path.resolve():
            return device, cluster
    return device, None
