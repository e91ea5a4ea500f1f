"""The paper's published measurements, predicted from specs (cmperf/validation/*.yaml).

Each point is held to the tolerance its data file states. Points the model does not yet
reproduce carry a `known_gap` reason and are strict xfails: they fail the suite the day the
gap closes, so the data file is updated. Predictions are also pinned in tests/golden so that
any drift of the model shows up as a failing test, gap or not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cmperf import validate

POINTS = validate.load_all()
GOLDEN = Path(__file__).parent / "golden" / "validation.json"
_CACHE: dict = {}


def _params():
    for point in POINTS:
        marks = [pytest.mark.xfail(strict=True, reason=point.known_gap)] if point.known_gap else []
        yield pytest.param(point, id=point.id, marks=marks)


@pytest.mark.parametrize("point", list(_params()))
def test_point_within_stated_bounds(point: validate.Point) -> None:
    outcome = validate.evaluate(point, _CACHE)
    if point.kind == "ratio":
        assert point.low <= outcome.predicted <= point.high, (
            f"{point.id}: predicted change {outcome.predicted:+.3f} outside "
            f"[{point.low:+.3f}, {point.high:+.3f}] ({point.source})"
        )
    else:
        assert abs(outcome.error) <= point.tolerance, (
            f"{point.id}: predicted {outcome.predicted:.6g} vs published {point.published:.6g} "
            f"({outcome.error:+.1%}, tolerance ±{point.tolerance:.0%}; {point.source})"
        )


@pytest.mark.parametrize("point", POINTS, ids=[p.id for p in POINTS])
def test_prediction_matches_golden(point: validate.Point) -> None:
    """Regression pin: regenerate with `python tests/golden/update.py` after a deliberate change."""
    golden = json.loads(GOLDEN.read_text())
    assert point.id in golden, f"no golden value for {point.id}; run tests/golden/update.py"
    predicted = validate.evaluate(point, _CACHE).predicted
    assert predicted == pytest.approx(golden[point.id], rel=1e-3, abs=1e-4)


def test_every_point_cites_a_source() -> None:
    assert POINTS
    for point in POINTS:
        assert point.source.startswith("ref §"), point.id
        assert point.tolerance is not None or point.low is not None


def test_calibration_points_come_only_from_operator_facts() -> None:
    """The device spec's efficiencies and overheads cite only ref §1.2, §4.4, §4.5 (operator
    level), never the end-to-end results they are validated against."""
    from cmperf.specs import _load_cluster, resolve

    device = _load_cluster(resolve("hardware", "cloudmatrix384")).device
    sourced = [
        *device.compute_efficiency.values(),
        *device.memory_efficiency.values(),
        *device.comm_overhead.values(),
    ]
    for item in sourced:
        cited = {s for s in ("§4.1", "§4.2", "§4.3", "§4.6") if s in item.source}
        assert not cited, f"{item.source!r} cites end-to-end results {cited}"


def test_readme_shows_the_table_validate_prints() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("update", GOLDEN.with_name("update.py"))
    update = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(update)
    outcomes = [validate.evaluate(p, _CACHE) for p in POINTS]
    assert update.readme_table(update.README.read_text()) == update.validation_table(outcomes), (
        "README's validation table is stale: run python tests/golden/update.py"
    )
