"""A device's kernel-model parameters: the `kernels:` block of a device spec or of a calibration
overlay (written by `cmperf calibrate`).

    kernels:
      gemm:                       # a family (cmperf kernel --list shows them)
        bf16:                     # a variant (a kernel implementation), or `default`
          fixed_s: {value: 4.2 us, source: "cmperf calibrate: 1,400 rows of h200/gemm.csv"}
          compute_efficiency: {value: 0.81, source: "..."}

Every figure is sourced. A parameter the block does not state falls back to the family's
`default` variant, then to the device figure the parameter names (efficiency.compute.gemm,
comm_overhead.dispatch_s, ...), then to its neutral value (the pure roofline).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..units import Dimension
from .reader import Reader, did_you_mean
from .reader import shown_path as _shown

if TYPE_CHECKING:
    from .hardware import Device, Sourced

DEFAULT_VARIANT = "default"


def read_kernels(r: Reader) -> dict[str, dict[str, dict[str, Sourced]]]:
    from ..kernels import families

    known = families()
    out: dict[str, dict[str, dict[str, Sourced]]] = {}
    for family_name in r.names():
        family = known.get(family_name)
        if family is None:
            hint = did_you_mean(family_name, list(known))
            raise r.error(
                family_name, f"unknown kernel family{hint}; expected one of {', '.join(known)}"
            )
        fr = r.sub(family_name)
        variants: dict[str, dict[str, Sourced]] = {}
        for variant in fr.names():
            vr = fr.sub(variant)
            params = {p.name: p for p in family.params}
            values = {}
            for key in vr.names():
                if key not in params:
                    hint = did_you_mean(key, list(params))
                    raise vr.error(
                        key,
                        f"unknown parameter of {family_name}{hint}; "
                        f"expected one of {', '.join(params)}",
                    )
                values[key] = _param(vr, key, params[key].unit)
            variants[variant] = values
        out[family_name] = variants
    return out


def _param(r: Reader, key: str, unit: str) -> Sourced:
    from .hardware import Sourced

    s = r.sub(key)
    raw = s.raw("value")
    if unit == "s":
        value = 0.0 if raw in (0, "0") else s.quantity("value", Dimension.TIME)
    elif unit == "B/s":
        value = s.quantity("value", Dimension.BANDWIDTH)
    else:
        value = (
            s.number("value", low=0.0, high=math.inf) if raw not in (".inf", "inf") else math.inf
        )
    source = s.string("source")
    s.done(["value", "source"])
    return Sourced(value, source)


def kernel_params(device: Device, family: str, variant: str) -> dict[str, tuple[float, str]]:
    """Every parameter of `family`'s `variant` on `device` as (value, source), resolved once."""
    from ..kernels import families

    key = (family, variant)
    if key not in device.kernel_memo:
        device.kernel_memo[key] = {
            p.name: kernel_param(device, family, variant, p.name) for p in families()[family].params
        }
    return device.kernel_memo[key]


def kernel_param(device: Device, family: str, variant: str, name: str) -> tuple[float, str]:
    """The value of one parameter of `family`'s `variant` on `device`, and where it comes from
    as `(value, source)`: the spec key and its source text."""
    from ..kernels import families

    block = device.kernels.get(family, {})
    for v in (variant, DEFAULT_VARIANT):
        if name in block.get(v, {}):
            fig = block[v][name]
            key = f"kernels.{family}.{v}.{name}"
            # A calibration overlay's figure names the overlay file it came from.
            file = device.kernel_files.get(key, device.file)
            return fig.value, f"{_shown(file)}: {key} ({fig.source})"
    definition = families()[family].param(name)
    if not definition.fit:
        return definition.default, f"kernel fact of {family}: {definition.doc}"
    if definition.device_default is not None:
        fig = device_figure(device, definition.device_default)
        if fig is not None:
            return fig.value, f"{_shown(device.file)}: {definition.device_default} ({fig.source})"
    return definition.default, f"neutral default of {family}.{name}: no calibration"


def device_figure(device: Device, dotted: str) -> Sourced | None:
    """A sourced device figure by its spec key (efficiency.compute.gemm, comm_overhead.x)."""
    parts = dotted.split(".")
    if parts[:2] == ["efficiency", "compute"]:
        return device.compute_efficiency.get(parts[2])
    if parts[:2] == ["efficiency", "memory"]:
        return device.memory_efficiency.get(parts[2])
    if parts[0] == "comm_overhead":
        return device.comm_overhead.get(parts[1])
    return None
