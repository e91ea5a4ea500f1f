"""Write a calibration overlay: the fitted parameters as a YAML file a device spec can include."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import CmperfError


def overlay_text(cal: Any) -> str:
    import yaml

    doc = cal.overlay()
    header = (
        f"# Kernel-model parameters of {cal.device.name}, fitted by cmperf calibrate on the "
        f"measured kernels of {cal.folder}.\n"
        "# Apply with `include:` in the device spec or `--calibration FILE` on any command.\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False, width=100, allow_unicode=True)


def write_overlay(cal: Any, path: Path) -> None:
    if path.suffix not in (".yaml", ".yml"):
        raise CmperfError(f"--output: expected a .yaml file name, got {path}")
    try:
        path.write_text(overlay_text(cal), encoding="utf-8")
    except OSError as exc:
        raise CmperfError(f"--output: cannot write {path}: {exc.strerror}") from None
