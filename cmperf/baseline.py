"""Regression checks: re-run the scenario a baseline records and compare its figures.

A baseline is the output of `cmperf estimate SCENARIO --format json` (schema cmperf.estimate/1;
`--no-ops` leaves out the per-op list, which the check does not read). It records the scenario's
name, file and `--set` overrides, so the estimate can be re-run later:

- the scenario is resolved by its recorded file if that file exists (relative paths are taken
  from the current directory), else by its name in the scenario folders, so a baseline checked
  into a repository works from any clone;
- the figures compared are, per phase: throughput_tokens_per_s_per_device, step_time_s,
  tpot_s (decode), the time_s of each layer, and memory_bytes_per_device; and of a deployment
  (where the record has one): ttft_s, each pool's requests_per_s,
  throughput_tokens_per_s_per_device, prefill_to_decode_ratio and each cold_start_s;
- a figure passes when |now - baseline| <= rtol * |baseline|. A figure of the baseline that the
  new estimate lacks fails ("missing"); a figure only the new estimate has is shown ("new") and
  passes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CmperfError, SpecError
from .specs import PHASE_KINDS, PHASES
from .specs.reader import Reader

ESTIMATE_SCHEMA = "cmperf.estimate/1"
CHECK_SCHEMA = "cmperf.check/1"
DEFAULT_RTOL = 0.02


@dataclass(frozen=True)
class Baseline:
    file: str  # the baseline JSON
    name: str  # scenario name
    scenario_file: str | None  # scenario file as recorded
    overrides: tuple[str, ...]
    figures: dict[str, float]  # "decode.tpot_s" -> value, in a stable order


@dataclass(frozen=True)
class Figure:
    name: str
    baseline: float | None  # None: a figure only the new estimate has
    now: float | None  # None: the new estimate lacks it
    rtol: float

    @property
    def change(self) -> float | None:
        """Relative change (now / baseline - 1); None where it is undefined."""
        if self.baseline is None or self.now is None:
            return None
        if self.baseline == 0:
            return 0.0 if self.now == 0 else None
        return self.now / self.baseline - 1.0

    @property
    def status(self) -> str:
        if self.baseline is None:
            return "new"
        if self.now is None:
            return "missing"
        return "ok" if abs(self.now - self.baseline) <= self.rtol * abs(self.baseline) else "moved"

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "new")


@dataclass(frozen=True)
class Check:
    baseline: Baseline
    ran: str  # the scenario file or name that was estimated
    figures: list[Figure]

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.figures)

    @property
    def failed(self) -> list[Figure]:
        return [f for f in self.figures if not f.ok]


class BaselineRunError(CmperfError):
    """Re-running a baseline's scenario failed; keeps the exit code of the cause."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _finite(r: Reader, key: str) -> float:
    value = r.raw(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise r.error(key, f"expected a finite number, got {value!r}")
    return float(value)


def phase_figures(r: Reader, phase: str) -> dict[str, float]:
    """The compared figures of one phase object of an estimate record."""
    out = {
        f"{phase}.throughput_tokens_per_s_per_device": _finite(
            r, "throughput_tokens_per_s_per_device"
        ),
        f"{phase}.step_time_s": _finite(r, "step_time_s"),
    }
    latency = PHASE_KINDS[phase].latency_metric
    if latency != "step_time_s":  # the bounded latency, where it is not the step itself
        out[f"{phase}.{latency}"] = _finite(r, latency)
    layers = r.raw("layers")
    if not isinstance(layers, list) or not layers:
        raise r.error("layers", f"expected a list of layers, got {layers!r}")
    for i, layer in enumerate(layers):
        lr = Reader(layer, r.file, r.key_path(f"layers[{i}]"))
        name = lr.string("name")
        key = f"{phase}.layers.{name}.time_s"
        if key in out:
            raise lr.error("name", f"layer {name!r} is listed twice")
        out[key] = _finite(lr, "time_s")
    out[f"{phase}.memory_bytes_per_device"] = _finite(r, "memory_bytes_per_device")
    return out


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return "a number"


def record_figures(record: dict[str, Any], file: str) -> dict[str, float]:
    """Every compared figure of an estimate record (a parsed `--format json` output)."""
    figures: dict[str, float] = {}
    for phase in PHASES:
        if record.get(phase) is not None:
            figures.update(phase_figures(Reader(record[phase], file, phase), phase))
    if not figures:
        raise SpecError(file, "", "a baseline needs a decode or a prefill object; it has neither")
    if record.get("deployment") is not None:
        figures.update(deployment_figures(Reader(record["deployment"], file, "deployment")))
    return figures


def deployment_figures(r: Reader) -> dict[str, float]:
    """The compared figures of a deployment object of an estimate record."""
    out = {
        f"deployment.{key}": _finite(r, key)
        for key in ("ttft_s", "throughput_tokens_per_s_per_device", "prefill_to_decode_ratio")
    }
    for group in ("requests_per_s", "cold_start_s"):
        if group == "requests_per_s" or r.raw(group, None) is not None:
            g = r.sub(group)
            out.update({f"deployment.{group}.{k}": _finite(g, k) for k in g.names()})
    return out


def load(path: str | Path) -> Baseline:
    """Read and check a baseline file; SpecError (exit 2) names the file and what is wrong."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(file, "", "file not found") from None
    except IsADirectoryError:
        raise SpecError(file, "", "is a directory, expected a baseline JSON file") from None
    except UnicodeDecodeError:
        raise SpecError(file, "", "not a text file, expected a baseline JSON file") from None
    except OSError as exc:
        raise SpecError(file, "", f"cannot read: {exc.strerror}") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            file, "", f"not JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise SpecError(file, "", "not JSON: nested too deeply") from None
    if not isinstance(record, dict):
        raise SpecError(
            file,
            "",
            "expected a JSON object written by `cmperf estimate --format json`, "
            f"got {_json_kind(record)}",
        )
    schema = record.get("schema")
    if schema != ESTIMATE_SCHEMA:
        got = "no schema key" if schema is None else f"{schema!r}"
        raise SpecError(
            file,
            "schema",
            f"expected {ESTIMATE_SCHEMA!r} (a baseline is the output of "
            f"`cmperf estimate SCENARIO --format json`), got {got}",
        )
    r = Reader(record, file)
    s = r.sub("scenario")
    name = s.string("name")
    scenario_file = s.string("file", None)
    overrides = s.raw("overrides", [])
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        raise s.error(
            "overrides", f"expected a list of dotted.key=value strings, got {overrides!r}"
        )
    return Baseline(file, name, scenario_file, tuple(overrides), record_figures(record, file))


def scenario_ref(b: Baseline) -> str:
    """The recorded scenario file if it exists here, else the scenario's name."""
    if b.scenario_file and Path(b.scenario_file).is_file():
        return b.scenario_file
    return b.name


def compare(
    baseline: dict[str, float], now: dict[str, float], rtol: float = DEFAULT_RTOL
) -> list[Figure]:
    figures = [Figure(k, v, now.get(k), rtol) for k, v in baseline.items()]
    figures += [Figure(k, None, v, rtol) for k, v in now.items() if k not in baseline]
    return figures


def run(b: Baseline, rtol: float = DEFAULT_RTOL) -> Check:
    """Re-run the baseline's scenario with its overrides; compare the figures."""
    from .api import estimate
    from .report import estimate_record

    ref = scenario_ref(b)
    try:
        record = estimate_record(estimate(ref, b.overrides))
    except CmperfError as exc:
        raise BaselineRunError(f"{b.file}: re-running {ref}: {exc}", exc.exit_code) from exc
    return Check(b, ref, compare(b.figures, record_figures(record, ref), rtol))


def check_rtol(rtol: float) -> float:
    if not (math.isfinite(rtol) and rtol >= 0):
        raise SpecError("--rtol", "", f"expected a relative tolerance >= 0, got {rtol!r}")
    return rtol


def check(
    paths: list[str | Path] | tuple[str | Path, ...], rtol: float = DEFAULT_RTOL
) -> list[Check]:
    """Check every baseline file: all are read first (a malformed one is an error before any
    estimate runs), then each scenario is re-run and compared."""
    check_rtol(rtol)
    if not paths:
        raise SpecError("cmperf check", "", "no baseline files given")
    baselines = [load(p) for p in paths]
    return [run(b, rtol) for b in baselines]


def check_record(checks: list[Check], rtol: float) -> dict[str, Any]:
    from . import __version__

    return {
        "schema": CHECK_SCHEMA,
        "cmperf_version": __version__,
        "rtol": rtol,
        "ok": all(c.ok for c in checks),
        "baselines": [
            {
                "file": c.baseline.file,
                "scenario": {
                    "name": c.baseline.name,
                    "file": c.baseline.scenario_file,
                    "overrides": list(c.baseline.overrides),
                    "ran": c.ran,
                },
                "ok": c.ok,
                "figures": [
                    {
                        "figure": f.name,
                        "baseline": f.baseline,
                        "now": f.now,
                        "change": f.change,
                        "status": f.status,
                        "ok": f.ok,
                    }
                    for f in c.figures
                ],
            }
            for c in checks
        ],
    }
