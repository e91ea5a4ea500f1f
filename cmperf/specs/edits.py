"""What-if edits of a referenced spec: a scenario names its hardware or model either plainly
(`hardware: cloudmatrix384`) or as a mapping with the spec and the keys to change on top of it:

    hardware:
      spec: cloudmatrix384
      scale_up: {supernode: {bandwidth: 82 GB/s}}   # the UB at half speed
      device: {hbm: {bandwidth: 3.2 TB/s}}          # edits of the cluster's device spec

The edits are merged key by key onto the referenced file's document, which is then read with
the same checks as the file itself. A sourced figure that an edit changes cites the edit, so
`cmperf explain` never attributes a what-if value to the measurement it replaced.
"""

from __future__ import annotations

import copy
from typing import Any

from ..errors import SpecError

# Keys holding a spec reference that `--set` may edit through (scenario level).
REFERENCE_KEYS = frozenset({"hardware", "model", "hardware.device"})


def split_reference(value: Any, file: str, key: str) -> tuple[str, dict[str, Any]]:
    """(name or path, edits) of a spec reference given as a string or as {spec: ..., edits}."""
    if isinstance(value, str):
        return value, {}
    if isinstance(value, dict):
        spec = value.get("spec")
        if not isinstance(spec, str):
            raise SpecError(
                file,
                f"{key}.spec",
                "an edited spec needs `spec:` naming the spec to edit (a name or a path), "
                f"got {spec!r}",
            )
        return spec, {k: v for k, v in value.items() if k != "spec"}
    raise SpecError(
        file, key, f"expected a spec name or path, or a mapping with spec:, got {value!r}"
    )


def promote(node: dict[str, Any], key: str) -> dict[str, Any]:
    """The mapping form of the reference at node[key], made in place so that edits can go in."""
    value = node.get(key)
    if isinstance(value, str):
        node[key] = {"spec": value}
    return node.setdefault(key, {})


def merge(base: Any, edits: dict[str, Any], origin: str) -> Any:
    """`base` with `edits` merged in (neither is modified).

    Mappings merge key by key; a sourced figure ({value, source}) given a bare value keeps its
    shape; a mapping whose own figures change without a new `source` gets one naming the edit;
    a spec reference (a string) that receives a mapping becomes {spec: ..., edits}.
    """
    if not isinstance(base, dict):
        if isinstance(base, str) and isinstance(edits, dict) and "spec" not in edits:
            return {"spec": base, **copy.deepcopy(edits)}
        return copy.deepcopy(edits)
    merged = copy.deepcopy(base)
    changed = []
    for key, value in edits.items():
        old = merged.get(key)
        if isinstance(old, dict) and "value" in old and not isinstance(value, dict):
            value = {"value": value}
        if isinstance(value, dict) and isinstance(old, dict | str):
            merged[key] = merge(old, value, origin)
        else:
            merged[key] = copy.deepcopy(value)
        if key != "source" and not isinstance(merged[key], dict):
            changed.append(f"{key} = {value}")
    if changed and "source" in merged and "source" not in edits:
        merged["source"] = f"what-if {', '.join(changed)} ({origin}); was: {merged['source']}"
    return merged
