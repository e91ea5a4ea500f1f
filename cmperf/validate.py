"""Validation: the paper's published measurements, predicted from specs and compared.

Points live in a data file (validation/cloudmatrix384.yaml), each with its source and the
tolerance it is held to. Three kinds:
- estimate: one figure of `cmperf estimate SCENARIO --set ...` (dotted path into its JSON);
- ratio: the change of a figure between two override sets (ablations), held to a range;
- exchange: one MoE dispatch or combine microbenchmark (ref §4.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SpecError
from .quant import DType
from .specs import PACKAGE_DIR, apply_overrides, load_references
from .specs.reader import Reader, load_yaml
from .units import Dimension, parse_quantity

VALIDATION_DIR = PACKAGE_DIR / "validation"
DEFAULT_FILE = VALIDATION_DIR / "cloudmatrix384.yaml"  # the defining case, and its in-situ fit
KINDS = ("estimate", "ratio", "exchange")
GROUPS = ("calibration", "validation")  # points that set a parameter; points only predicted


@dataclass(frozen=True)
class Point:
    id: str
    what: str
    source: str
    kind: str
    published: float
    tolerance: float | None  # relative, for estimate and exchange
    low: float | None  # accepted range, for ratio
    high: float | None
    spec: dict[str, Any]
    unit: str
    known_gap: str | None = None  # why the model does not yet reproduce this point
    file: str = ""  # where the point is written, for error messages
    path: str = ""
    group: str = "validation"  # calibration: the point set (or fitted) a parameter
    fits: str | None = None  # the parameter(s) a calibration point sets


@dataclass(frozen=True)
class Outcome:
    point: Point
    predicted: float

    @property
    def error(self) -> float:
        """Relative error for figures; difference in the change for ratios."""
        if self.point.kind == "ratio":
            return self.predicted - self.point.published
        return self.predicted / self.point.published - 1.0

    @property
    def ok(self) -> bool:
        p = self.point
        if p.kind == "ratio":
            return p.low <= self.predicted <= p.high
        return abs(self.error) <= p.tolerance

    @property
    def status(self) -> str:
        """ok; gap (outside bounds, a known gap); FAIL (outside bounds, unexpected); or
        UNEXPECTED PASS (a known gap now within bounds: the data file should say so)."""
        if self.point.known_gap is None:
            return "ok" if self.ok else "FAIL"
        return "UNEXPECTED PASS" if self.ok else "gap"

    @property
    def as_expected(self) -> bool:
        return self.status in ("ok", "gap")


def _in_seconds(metric: str) -> bool:
    """Whether a metric is a time: a key of it names seconds (`tpot_s`, `cold_start_s.pool`),
    not a rate (`requests_per_s`)."""
    return any(k.endswith("_s") and not k.endswith("per_s") for k in metric.split("."))


def _published(r: Reader, unit: str) -> float:
    value = r.raw("published")
    if unit == "s":
        try:
            return parse_quantity(value, Dimension.TIME)
        except ValueError as exc:
            raise r.error("published", str(exc)) from None
    value = r.number("published", low=-1e12, high=1e12)
    if value == 0 and r.raw("kind") != "ratio":
        raise r.error("published", "must not be 0: errors are relative to it")
    return value


def _numbers(r: Reader, key: str, count: int) -> list[float]:
    value = r.raw(key)
    ok = isinstance(value, list) and len(value) == count
    if not ok or any(isinstance(x, bool) or not isinstance(x, int | float) for x in value):
        raise r.error(key, f"expected a list of {count} numbers, got {value!r}")
    return [float(x) for x in value]


def _overrides(r: Reader, key: str) -> tuple[str, ...]:
    value = r.raw(key, [])
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise r.error(key, f"expected a list of dotted.key=value strings, got {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class InSitu:
    """The one parameter fitted on in-situ operator timings (the calibration protocol)."""

    key: str  # the --set key of the parameter (hardware.device.engines.cube.clock_under_load)
    points: tuple[str, ...]  # ids of the calibration points it is fitted on
    low: float
    high: float


def load_in_situ(path: Path = DEFAULT_FILE) -> InSitu | None:
    top = Reader(load_yaml(path), str(path))
    if not top.has("in_situ"):
        return None
    r = top.sub("in_situ")
    ids = r.raw("points")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise r.error("points", "expected a list of calibration point ids")
    low, high = _numbers(r, "bounds", 2)
    fit = InSitu(r.string("key"), tuple(ids), low, high)
    r.done(["key", "points", "bounds"])
    return fit


def load_points(path: Path = DEFAULT_FILE) -> list[Point]:
    top = Reader(load_yaml(path), str(path))
    top.raw("source", None)
    top.raw("in_situ", None)
    raw_points = top.raw("points")
    top.done(["source", "in_situ", "points"])
    if not isinstance(raw_points, list):
        raise SpecError(str(path), "points", "expected a list of validation points")
    points = []
    for i, raw in enumerate(raw_points):
        r = Reader(raw, str(path), f"points[{i}]")
        kind = r.string("kind", choices=list(KINDS))
        metric = r.string("metric", "exchange_s" if kind == "exchange" else ...)
        unit = "s" if kind != "ratio" and _in_seconds(metric) else ""
        spec: dict[str, Any] = {"metric": metric}
        low = high = tolerance = None
        if kind == "ratio":
            low, high = _numbers(r, "range", 2)
        else:
            tolerance = r.number("tolerance", high=1.0, low_open=True)
        if kind in ("estimate", "ratio"):
            spec["scenario"] = r.string("scenario")
            spec["set"] = _overrides(r, "set")
        if kind == "ratio":
            spec["baseline_set"] = _overrides(r, "baseline_set")
        if kind == "exchange":
            hardware = r.raw("hardware")  # a cluster name, or {spec: NAME, nodes: N, ...}
            if not isinstance(hardware, str | dict):
                raise r.error("hardware", f"expected a cluster name or mapping, got {hardware!r}")
            spec.update(
                hardware=hardware,
                model=r.string("model"),
                op=r.string("op", choices=["dispatch", "combine"]),
                ep=r.integer("ep"),
                tokens_per_rank=r.number("tokens_per_rank"),
                top_k=r.integer("top_k"),
                dtype=r.string("dtype", choices=[d.value for d in DType]),
            )
        point = Point(
            id=r.string("id"),
            what=r.string("what"),
            source=r.string("source"),
            kind=kind,
            published=_published(r, unit),
            tolerance=tolerance,
            low=low,
            high=high,
            spec=spec,
            unit=unit,
            known_gap=r.string("known_gap", None),
            file=r.file,
            path=r.path,
            group=r.string("group", "validation", choices=list(GROUPS)),
            fits=r.string("fits", None),
        )
        r.done()
        points.append(point)
    return points


def metric_value(record: dict[str, Any], metric: str) -> float:
    """`decode.tpot_s` or `decode.layers.moe.time_s` (list items are found by name)."""
    node: Any = record
    for part in metric.split("."):
        if isinstance(node, list):
            node = next((item for item in node if item.get("name") == part), None)
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            node = None
        if node is None:
            raise LookupError(f"metric {metric!r}: no {part!r} in the estimate")
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise LookupError(f"metric {metric!r} names a {type(node).__name__}, not a number")
    return float(node)


def _estimate_record(scenario: str, overrides: tuple[str, ...], cache: dict) -> dict[str, Any]:
    from .api import estimate
    from .report import estimate_record

    key = (scenario, overrides)
    if key not in cache:
        cache[key] = estimate_record(estimate(scenario, overrides))
    return cache[key]


def evaluate(point: Point, cache: dict | None = None, overrides: tuple[str, ...] = ()) -> Outcome:
    """The point's prediction; `overrides` (--set pairs) go before the point's own, so a
    what-if calibration (`hardware.device.efficiency...`) can be judged on every point."""
    try:
        return Outcome(point, _predict(point, {} if cache is None else cache, overrides))
    except LookupError as exc:
        raise SpecError(point.file, point.path, str(exc)) from None


def _exchange_specs(point: Point, overrides: tuple[str, ...]) -> tuple[Any, Any]:
    """Cluster and model of an exchange point, with the `hardware.` and `model.` edits among
    `overrides` (the others describe a run, which a microbenchmark does not have)."""
    edits = [o for o in overrides if o.startswith(("hardware.", "model."))]
    refs = {"hardware": point.spec["hardware"], "model": point.spec["model"]}
    r = Reader(apply_overrides(refs, edits, point.file), point.file, point.path)
    return load_references(r, None, "--set")


def _predict(point: Point, cache: dict, overrides: tuple[str, ...] = ()) -> float:
    spec = point.spec
    if point.kind == "estimate":
        record = _estimate_record(spec["scenario"], (*overrides, *spec["set"]), cache)
        value = metric_value(record, spec["metric"])
    elif point.kind == "ratio":
        new = _estimate_record(spec["scenario"], (*overrides, *spec["set"]), cache)
        old = _estimate_record(spec["scenario"], (*overrides, *spec["baseline_set"]), cache)
        value = metric_value(new, spec["metric"]) / metric_value(old, spec["metric"]) - 1.0
    else:
        from .api import exchange_time_s

        cluster, model = _exchange_specs(point, overrides)
        value = exchange_time_s(
            cluster,
            spec["op"],
            spec["ep"],
            spec["tokens_per_rank"],
            spec["top_k"],
            model,
            DType(spec["dtype"]),
        )
    return value


def validation_files() -> list[Path]:
    """Every points file shipped: the defining case first, then the others by name."""
    others = sorted(p for p in VALIDATION_DIR.glob("*.yaml") if p != DEFAULT_FILE)
    return [DEFAULT_FILE, *others]


def load_all(path: Path | None = None) -> list[Point]:
    """The points of one file, or of every shipped file (`path` None); ids are unique."""
    files = [path] if path is not None else validation_files()
    points = [p for f in files for p in load_points(f)]
    seen: dict[str, Point] = {}
    for p in points:
        if p.id in seen:
            raise SpecError(
                p.file, p.path, f"point id {p.id!r} is used twice (also {seen[p.id].file})"
            )
        seen[p.id] = p
    return points


def run(path: Path | None = None, overrides: tuple[str, ...] = ()) -> list[Outcome]:
    """Every point of `path`, or of every shipped file."""
    cache: dict = {}
    return [evaluate(p, cache, tuple(overrides)) for p in load_all(path)]


@dataclass(frozen=True)
class Fit:
    key: str
    value: float
    outcomes: list[Outcome]  # the fitted-on points at the fitted value (their residuals)

    @property
    def rms_residual(self) -> float:
        return (sum(o.error**2 for o in self.outcomes) / len(self.outcomes)) ** 0.5


def fit_in_situ(path: Path = DEFAULT_FILE, overrides: tuple[str, ...] = ()) -> Fit:
    """Refit the file's in-situ parameter: the value in its bounds that minimises the squared
    log errors of the calibration points it names (scipy's bounded scalar search)."""
    import math

    from scipy.optimize import minimize_scalar

    fit = load_in_situ(path)
    if fit is None:
        raise SpecError(str(path), "in_situ", "the file names no in-situ parameter to fit")
    points = {p.id: p for p in load_points(path)}
    unknown = [i for i in fit.points if i not in points]
    if unknown:
        raise SpecError(str(path), "in_situ.points", f"no point {', '.join(unknown)}")
    chosen = [points[i] for i in fit.points]

    def at(value: float) -> list[Outcome]:
        edits = (*overrides, f"{fit.key}={float(value)!r}")
        cache: dict = {}  # the points share their scenario's estimate at this value
        return [evaluate(p, cache, edits) for p in chosen]

    def loss(value: float) -> float:
        return sum(math.log(o.predicted / o.point.published) ** 2 for o in at(value))

    best = minimize_scalar(
        loss, bounds=(fit.low, fit.high), method="bounded", options={"xatol": 1e-4}
    )
    value = round(float(best.x), 3)
    return Fit(fit.key, value, at(value))
