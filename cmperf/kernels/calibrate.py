"""`cmperf calibrate` and `cmperf kernel --csv`: measured kernels against the model.

A calibration folder holds CSVs in the format of the calibration README; the file name gives
the family (gemm.csv, mla_decode.csv, ..., nccl.csv). For each (family, variant) the rows are
split at random into a fit set and a held-out set; the family's parameters are fitted on the
fit set only, and the report gives the error before the fit (the device's defaults), after it,
and on the held-out rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..specs.hardware import Cluster, Device
from ..specs.kernel_params import kernel_params
from . import families
from .base import CsvSource, Facts, Family
from .data import Table, load_table, variant_of
from .fit import Group, fit, predict, subset, summary


@dataclass(frozen=True)
class FamilyReport:
    family: str
    variant: str
    file: str
    n_fit: int
    n_holdout: int
    before: dict[str, float]
    after: dict[str, float]
    holdout: dict[str, float] | None
    parameters: dict[str, float]


@dataclass(frozen=True)
class Calibration:
    hardware: str
    device: Device
    folder: str
    seed: int
    holdout: float
    reports: list[FamilyReport]

    def overlay(self) -> dict[str, Any]:
        """The calibration overlay document (`kind: calibration`) for a device spec."""
        kernels: dict[str, dict[str, dict[str, Any]]] = {}
        for r in self.reports:
            family = families()[r.family]
            stem = Path(r.file).name
            held = (
                f"; held-out median {r.holdout['median_abs_pct_error']:.1f} %" if r.holdout else ""
            )
            source = (
                f"cmperf calibrate: {r.n_fit} rows of {stem} ({r.variant}), seed {self.seed}, "
                f"median error {r.after['median_abs_pct_error']:.1f} %{held}"
            )
            for name in (r.family, *family.calibrates):
                target = families()[name]
                block = kernels.setdefault(name, {}).setdefault(r.variant, {})
                shared = {p.name for p in target.params}
                for p in family.params:
                    if p.fit and p.name in shared:
                        via = "" if name == r.family else f" (shared with {r.family})"
                        block[p.name] = {
                            "value": _shown_value(r.parameters[p.name], p.unit),
                            "source": source + via,
                        }
        return {
            "kind": "calibration",
            "hardware": self.device.name,
            "source": (
                f"cmperf calibrate {self.folder} --hardware {self.hardware} "
                f"--holdout {self.holdout:g} --seed {self.seed}"
            ),
            "kernels": kernels,
        }


def _shown_value(value: float, unit: str) -> Any:
    if unit == "s":
        return f"{value * 1e6:.6g} us"
    if unit == "B/s":
        return f"{value / 1e9:.6g} GB/s"
    return float(f"{value:.6g}")


def facts(device: Device, family: Family, dtype: str | None, cluster: Cluster | None) -> Facts:
    """What the device gives a kernel of `family` measured alone: every core of its engine;
    for communication, the innermost link tier of the cluster."""
    from ..quant import DType

    if family.engine == "link":
        if cluster is None:
            raise SpecError(
                device.name,
                "",
                f"{family.name} needs a link: give a cluster (such as hgx-h200) as --hardware",
            )
        from ..cost import link_facts

        return link_facts(cluster, cluster.scale_up[0])
    try:
        engine = device.engine_for(family.engine)
    except KeyError:
        raise SpecError(
            device.file,
            "engines",
            f"no engine runs {family.engine} work, which {family.name} needs",
        ) from None
    try:
        fmt = DType(dtype or "bf16")
    except ValueError:
        raise SpecError(
            device.file, "", f"unknown number format {dtype!r}; expected one of {', '.join(DType)}"
        ) from None
    peak = engine.peak(family.engine, fmt)
    if peak is None:
        supported = ", ".join(engine.peaks.get(family.engine, {}))
        raise SpecError(
            device.file,
            f"engines.{engine.name}.peak.{family.engine}",
            f"no {fmt} peak, which {family.name} ({fmt}) needs; it lists {supported}",
        )
    return Facts(
        device.name, engine.name, engine.cores, engine.cores, peak, device.hbm_bandwidth_bytes_per_s
    )


def sources_for(stem: str) -> list[tuple[Family, CsvSource]]:
    """Every (family, source) whose measurements live in the file `stem`.csv."""
    return [(f, s) for f in families().values() for s in f.sources if s.stem == stem]


def groups_of(
    path: Path, device: Device, cluster: Cluster | None
) -> Iterator[tuple[Group, Table, list[int]]]:
    """The file's rows as groups of one (family, variant) each, with the table and the
    indices of its rows in that table."""
    import numpy as np

    pairs = sources_for(path.stem)
    if not pairs:
        stems = sorted({s.stem for f in families().values() for s in f.sources})
        raise SpecError(
            str(path),
            "",
            f"no kernel family reads {path.name}; expected one of "
            + ", ".join(f"{s}.csv" for s in stems),
        )
    for family, source in pairs:
        table = load_table(path, family, source)
        if not len(table):
            continue
        variants = [variant_of(family, source, row) for row in table.raw]
        for variant in dict.fromkeys(variants):
            index = [i for i, v in enumerate(variants) if v == variant]
            mask = np.zeros(len(table), dtype=bool)
            mask[index] = True
            columns = {
                k: (v[mask] if isinstance(v, np.ndarray) else [v[i] for i in index])
                for k, v in table.columns.items()
            }
            dtype = columns[family.dtype_column][0] if family.dtype_column else None
            _check_formats(path, table, index, family)
            try:
                shape = family.shape_from_columns(columns)
            except (KeyError, ValueError) as exc:
                raise SpecError(str(path), f"row {table.rows[index[0]]}", str(exc)) from None
            group = Group(
                family,
                variant,
                shape,
                table.latency_s[mask],
                facts(device, family, dtype, cluster),
                [table.rows[i] for i in index],
                str(path),
            )
            yield group, table, index


def _check_formats(path: Path, table: Table, index: list[int], family: Family) -> None:
    """Every number-format column names a format cmperf knows (the row and column if not)."""
    from ..quant import DType

    for column in ("dtype", "kv_dtype"):
        if column not in table.columns:
            continue
        for i in index:
            value = table.columns[column][i]
            if value not in DType.__members__.values():
                raise SpecError(
                    str(path),
                    f"row {table.rows[i]}, column {column}",
                    f"unknown number format {value!r}; expected one of {', '.join(DType)}",
                )


def device_params(device: Device, family: Family, variant: str) -> dict[str, float]:
    return {name: value for name, (value, _) in kernel_params(device, family.name, variant).items()}


def calibrate(
    folder: Path,
    hardware: str,
    device: Device,
    cluster: Cluster | None,
    holdout: float = 0.0,
    seed: int = 0,
) -> Calibration:
    import numpy as np

    if not folder.is_dir():
        raise SpecError(str(folder), "", "not a folder of calibration CSVs")
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise SpecError(str(folder), "", "no .csv files in this folder")
    # "Before" is the device as its spec states it, without any calibration overlay.
    bare = replace(device, kernels={})
    reports = []
    for path in files:
        for group, _, _ in groups_of(path, device, cluster):
            rng = np.random.default_rng(seed)
            n = len(group.rows)
            held = np.zeros(n, dtype=bool)
            if holdout > 0:
                held[rng.permutation(n)[: round(holdout * n)]] = True
            fit_group, hold_group = subset(group, ~held), subset(group, held)
            stated = device_params(bare, group.family, group.variant)
            # Fitted parameters start where the family says; kernel facts stay as stated.
            start = {p.name: p.fit_start if p.fit else stated[p.name] for p in group.family.params}
            params = fit([fit_group], start)
            before = predict(fit_group, stated)
            reports.append(
                FamilyReport(
                    group.family.name,
                    group.variant,
                    str(path),
                    int((~held).sum()),
                    int(held.sum()),
                    summary(before, fit_group.latency_s),
                    summary(predict(fit_group, params), fit_group.latency_s),
                    summary(predict(hold_group, params), hold_group.latency_s)
                    if held.any()
                    else None,
                    params,
                )
            )
    return Calibration(hardware, device, str(folder), seed, holdout, reports)


@dataclass(frozen=True)
class RowPrediction:
    family: str
    variant: str
    row: int
    columns: dict[str, str]
    measured_s: float
    predicted_s: float


def predict_csv(
    path: Path, device: Device, cluster: Cluster | None, ideal: bool = False
) -> list[RowPrediction]:
    """Every row of a calibration-format CSV predicted by the device's kernel model."""
    out = []
    for group, table, index in groups_of(path, device, cluster):
        params = device_params(device, group.family, group.variant)
        predicted = predict(group, params, ideal)
        for j, i in enumerate(index):
            raw = {k: v for k, v in table.raw[i].items() if k != "#"}
            out.append(
                RowPrediction(
                    group.family.name,
                    group.variant,
                    table.rows[i],
                    raw,
                    float(group.latency_s[j]),
                    float(predicted[j]),
                )
            )
    return out
