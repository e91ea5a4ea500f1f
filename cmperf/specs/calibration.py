"""Calibration overlays: the `kernels:` parameters `cmperf calibrate` fitted for one device,
applied on top of its spec by an `include:` in the spec, or by `--calibration FILE` on any
command (which takes precedence).

    # written by cmperf calibrate
    kind: calibration
    hardware: h200-sxm            # the device the parameters were fitted on
    source: "..."
    kernels: {gemm: {bf16: {fixed_s: {value: 4.2 us, source: "..."}}}}
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from ..errors import SpecError
from .reader import Reader, load_yaml

_ACTIVE: list[Path] = []


def use(paths: list[Path]) -> None:
    """Apply these overlays (from --calibration) to every device loaded from now on."""
    _ACTIVE.clear()
    for path in paths:
        read_overlay(Path(path))  # a bad file is reported at once, not at the first estimate
    _ACTIVE.extend(Path(p) for p in paths)


def active() -> tuple[Path, ...]:
    return tuple(_ACTIVE)


def read_overlay(path: Path) -> tuple[str, dict[str, Any]]:
    """(device name, kernels block) of an overlay, checked for shape here and for its
    parameters when the device is read."""
    data = load_yaml(path)
    r = Reader(data, str(path))
    r.string("kind", choices=["calibration"])
    device = r.string("hardware")
    r.string("source", "")
    kernels = r.raw("kernels")
    from .kernel_params import read_kernels

    read_kernels(r.sub("kernels"))  # checked here, so an error names this file
    r.raw("fit", None)  # the fit's report, for people
    r.done(["kind", "hardware", "source", "kernels", "fit"])
    return device, kernels


def apply(
    data: Any, spec: Path, label: str, overlays: tuple[Path, ...]
) -> tuple[Any, dict[str, str]]:
    """The device document with its `include:` overlays and the active ones merged into its
    `kernels:` block (later overlays win, parameter by parameter), and the file each merged
    figure came from by key (kernels.FAMILY.VARIANT.PARAM)."""
    files: dict[str, str] = {}
    if not isinstance(data, dict):
        return data, files
    includes = data.get("include") or []
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise SpecError(
            label, "include", f"expected a file name or a list of them, got {includes!r}"
        )
    paths = [spec.parent / i for i in includes] + list(overlays)
    if not paths:
        return data, files
    merged = copy.deepcopy(data)
    kernels = merged.setdefault("kernels", {}) or {}
    merged["kernels"] = kernels
    name = data.get("name")
    # A device without kernel measurements of its own may take the fitted laws of siblings
    # (`kernels_from: h200-sxm`, or a list: same kernels, same architecture), applied to its
    # own peaks, cores and bandwidths; its spec says so and the overlays are included like its
    # own (later includes win, parameter by parameter).
    siblings = data.get("kernels_from") or []
    siblings = [siblings] if isinstance(siblings, str) else siblings
    for path in paths:
        if path not in overlays and not path.is_file():
            raise SpecError(label, "include", f"{path}: file not found")
        device, block = read_overlay(path)
        if device != name and not (path not in overlays and device in siblings):
            if path in overlays:
                raise SpecError(
                    "--calibration",
                    str(path),
                    f"calibrates {device!r}, but this run's device is {name!r}",
                )
            hint = f" (or kernels_from: {device})" if not siblings else ""
            raise SpecError(label, "include", f"{path} calibrates {device!r}, not {name!r}{hint}")
        for family, variants in block.items():
            target = kernels.setdefault(family, {})
            if not isinstance(variants, dict):
                raise SpecError(str(path), f"kernels.{family}", "expected variants")
            for variant, params in variants.items():
                if not isinstance(params, dict):
                    raise SpecError(str(path), f"kernels.{family}.{variant}", "expected parameters")
                target.setdefault(variant, {}).update(copy.deepcopy(params))
                for param in params:
                    files[f"kernels.{family}.{variant}.{param}"] = str(path)
    return merged, files
