"""What a kernel family is: its shape, its named parameters and its time formula.

A family (GEMM, grouped GEMM, attention decode, ..., all-reduce) prices one kernel launch from
its shape on one device. The formula is written once, on a mapping of named inputs, and runs on
floats (an estimate), numpy arrays (a sweep, a calibration fit over thousands of measured rows)
and sympy symbols (`cmperf explain`), like the op costs of `cmperf.cost`.

Parameters belong to the device and the family (and, where a family has several kernel
implementations, to the variant: GEMM in BF16 is cuBLAS, in block-scaled FP8 DeepGEMM), never to
a shape. Their defaults are neutral: with them a kernel is a pure roofline at the device's
standalone efficiencies. `cmperf calibrate` fits them from measured kernels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..formulas import largest_term


@dataclass(frozen=True)
class ParamDef:
    """One parameter of a family's time formula."""

    name: str  # key in a device spec's `kernels` block, unit in the name (fixed_s, ...)
    symbol: str  # how `cmperf explain` writes it
    unit: str  # s, B/s, 1 (dimensionless) or "tokens" and the like for sizes
    default: float  # neutral value: the kernel as a pure roofline, no overheads
    low: float  # bounds of the fit
    high: float
    fit: bool = True  # False: a fact of the kernel (a tile size), stated, never fitted
    doc: str = ""
    # Where the default comes from when the device spec states it elsewhere (a dotted key of
    # the device, such as "efficiency.compute.gemm"); used when the kernels block is silent.
    device_default: str | None = None
    start: float | None = None  # where a fit starts when the neutral default is no guide (inf)

    @property
    def fit_start(self) -> float:
        return self.default if self.start is None else self.start

    @property
    def is_time(self) -> bool:
        return self.unit == "s"


@dataclass(frozen=True)
class Input:
    """A named input of a formula that is not a parameter: the shape, the device's peaks."""

    value: Any
    unit: str
    doc: str


@dataclass(frozen=True)
class KernelTime:
    """One kernel's time and the terms it is made of (seconds; floats, arrays or symbols)."""

    total_s: Any
    compute_s: Any = 0.0
    memory_s: Any = 0.0
    comm_s: Any = 0.0
    overhead_s: Any = 0.0

    @property
    def bound(self) -> str:
        """compute, memory, comm or overhead: the largest term (first element of an array)."""
        return largest_term(
            compute=self.compute_s, memory=self.memory_s, comm=self.comm_s, overhead=self.overhead_s
        )


@dataclass(frozen=True)
class CsvSource:
    """Where a family's measurements are in the calibration folder (README's format)."""

    stem: str  # file name without .csv
    latency_column: str = "latency_s"
    where: Mapping[str, str] = field(default_factory=dict)  # rows kept: column == value
    variant: str | None = None  # a fixed variant for every row of this file
    columns: tuple[str, ...] = ()  # columns this file adds to the family's csv_columns


@dataclass(frozen=True)
class Facts:
    """What the device gives one kernel: its engine's cores and peak (the stream's share of
    them), the HBM bandwidth, and for communication the link tier it crosses."""

    device: str
    engine: str
    cores: int  # cores of the engine this kernel may use (a stream's share)
    cores_total: int  # cores of the engine on the rank
    peak_flop_per_s: float  # of all `cores_total` cores, in the kernel's number format
    hbm_bytes_per_s: float
    link_bytes_per_s: float = 0.0
    link_latency_s: float = 0.0
    link: str = ""  # which tier, for sources
    # The tier's measured share of its bandwidth for token exchanges (0: it states none);
    # where stated it replaces the exchange kernel's bandwidth_efficiency.
    link_exchange_efficiency: float = 0.0


class Family:
    """Base of every kernel family. Subclasses set the class attributes and write `inputs` and
    `time`; nothing else varies between families."""

    name: str  # gemm, grouped_gemm, attention_decode, ..., all_reduce
    command: str  # the `cmperf kernel` word: gemm, grouped-gemm, mla-decode, ...
    doc: str  # one line: what one kernel of this family is
    engine: str  # role the kernel runs on: matrix, vector or link
    params: tuple[ParamDef, ...]
    # The shape: names, each with its unit and meaning, as the family's formula reads them.
    shape: Mapping[str, str]
    # Shape entries the `cmperf kernel` command needs (others have defaults, see `defaults`).
    required: tuple[str, ...] = ()
    defaults: Mapping[str, float] = {}
    sources: tuple[CsvSource, ...] = ()
    csv_columns: tuple[str, ...] = ()  # the CSV columns `shape_from_columns` reads
    variant_columns: tuple[str, ...] = ("dtype",)  # CSV columns naming a parameter set
    # The number format whose peak applies, from a row's columns (the dtype column by default).
    dtype_column: str | None = "dtype"
    # Families whose parameters of the same name this family's fit also sets (the fused MoE
    # kernel's measurements calibrate the grouped GEMMs an estimate prices).
    calibrates: tuple[str, ...] = ()

    def shape_from_columns(self, columns: Mapping[str, Any]) -> dict[str, Any]:
        """One calibration CSV's columns (numpy arrays) -> the family's shape."""
        raise NotImplementedError

    def inputs(self, shape: Mapping[str, Any], facts: Facts) -> dict[str, Input]:
        """The named inputs of the formula besides the parameters."""
        raise NotImplementedError

    def time(self, v: Mapping[str, Any], ideal: bool = False) -> KernelTime:
        """The kernel's time from its named inputs and parameters (floats, arrays, symbols).

        `ideal` prices the speed of light: peak rates, no fixed costs, no partial waves,
        perfect overlap.
        """
        raise NotImplementedError

    def param(self, name: str) -> ParamDef:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def neutral(self) -> dict[str, float]:
        return {p.name: p.default for p in self.params}


# The parameters most families share, with their neutral values and fit bounds; each family
# says in `doc` what they stand for in its kernel.


def fixed_cost(doc: str, start: float) -> ParamDef:
    """Fixed cost per launch (pipeline fill and drain), neutral 0."""
    return ParamDef("fixed_s", "t_0", "s", 0.0, 1e-7, 1e-4, start=start, doc=doc)


def compute_efficiency(doc: str, start: float, kind: str) -> ParamDef:
    """Share of the peak a long kernel sustains; defaults to the device's stated efficiency of
    `kind` (gemm, attention, vector)."""
    return ParamDef(
        "compute_efficiency",
        "eta_c",
        "1",
        1.0,
        0.05,
        1.0,
        start=start,
        doc=doc,
        device_default=f"efficiency.compute.{kind}",
    )


def memory_efficiency(doc: str, start: float, low: float = 0.05) -> ParamDef:
    """Share of the HBM bandwidth a long kernel sustains; defaults to the device's."""
    return ParamDef(
        "memory_efficiency",
        "eta_m",
        "1",
        1.0,
        low,
        1.0,
        start=start,
        doc=doc,
        device_default="efficiency.memory.hbm",
    )


def overlap_exponent(doc: str, start: float) -> ParamDef:
    """p of t = (t_c^p + t_m^p)^(1/p); neutral infinity (the roofline's max)."""
    return ParamDef("overlap_exponent", "p", "1", float("inf"), 1.0, 64.0, start=start, doc=doc)


def core_inputs(facts: Facts) -> dict[str, Input]:
    """The engine as a tiled kernel sees it: its cores (the stream's share), their peak
    together and one core's, and the HBM bandwidth."""
    return {
        "N": Input(
            facts.cores,
            "cores",
            f"{facts.engine} cores of the stream ({facts.cores_total} on the rank)",
        ),
        "P": Input(
            facts.peak_flop_per_s * facts.cores / facts.cores_total,
            "FLOP/s",
            f"matrix peak of {facts.cores} of {facts.cores_total} {facts.engine} cores",
        ),
        "P_sm": Input(
            facts.peak_flop_per_s / facts.cores_total, "FLOP/s", "matrix peak of one core"
        ),
        "BW": Input(facts.hbm_bytes_per_s, "B/s", "HBM bandwidth"),
    }
