"""The Python API: `cmperf.estimate`, `load_scenario`, `sweep`, `validate`, `check`,
`scenario_schema`, exported lazily so `import cmperf` stays cheap."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import DECODE, PREFILL, invoke

import cmperf

ROOT = Path(__file__).resolve().parent.parent


def _python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return result.stdout.strip()


def test_import_cmperf_is_cheap() -> None:
    loaded = _python(
        "import sys, cmperf; "
        "print(sorted(m for m in ('numpy', 'scipy', 'sympy', 'yaml', 'rich', 'typer', "
        "'cmperf.api', 'cmperf.specs') if m in sys.modules))"
    )
    assert loaded == "[]"


def test_estimate_matches_the_cli() -> None:
    e = cmperf.estimate(DECODE, ["decode.batch_per_device=8"])
    assert isinstance(e, cmperf.Estimate)
    assert e.decode is not None and e.prefill is None
    assert e.scenario.overrides == ("decode.batch_per_device=8",)
    assert e.decode.throughput_tokens_per_s_per_device == pytest.approx(
        8 / e.decode.tpot_s, rel=1e-12
    )
    record = cmperf.estimate_record(e)
    cli = invoke("estimate", DECODE, "--set", "decode.batch_per_device=8", "--format", "json")
    assert json.loads(cli.stdout) == json.loads(json.dumps(record))


def test_load_scenario_then_estimate() -> None:
    s = cmperf.load_scenario(PREFILL, ["prefill.microbatches=1"])
    assert isinstance(s, cmperf.Scenario)
    assert s.prefill is not None and s.prefill.microbatches == 1
    e = cmperf.estimate(s)
    assert e.prefill is not None and e.prefill.microbatches == 1


def test_errors_are_exported() -> None:
    with pytest.raises(cmperf.SpecError, match=r"decode\.kv_len"):
        cmperf.estimate(DECODE, ["decode.kv_len=-1"])
    with pytest.raises(cmperf.InfeasibleError, match="memory"):
        cmperf.estimate(DECODE, ["decode.batch_per_device=100000"])
    assert issubclass(cmperf.SpecError, cmperf.CmperfError)


def test_sweep() -> None:
    r = cmperf.sweep("cloudmatrix384-decode-slo", tpot_slo_s=0.015)
    assert r.best is not None and r.best.latency_s <= 0.015
    again = cmperf.estimate("cloudmatrix384-decode-slo", r.best.sets)
    assert again.decode.tpot_s == pytest.approx(r.best.latency_s, rel=1e-9)


def test_validate_is_callable_and_still_the_module() -> None:
    outcomes = cmperf.validate()
    assert outcomes and all(o.as_expected for o in outcomes)
    from cmperf import validate

    assert validate is cmperf.validate
    assert callable(validate.run) and validate.DEFAULT_FILE.is_file()
    first = [o.point.id for o in validate(validate.DEFAULT_FILE)]
    assert first == [o.point.id for o in outcomes][: len(first)]


def test_validate_is_callable_when_imported_first() -> None:
    out = _python(
        "import cmperf.validate as v; import cmperf; "
        "print(callable(cmperf.validate), v is cmperf.validate, len(cmperf.validate()) > 0)"
    )
    assert out == "True True True"


def test_check_and_schema(tmp_path: Path) -> None:
    base = tmp_path / "b.json"
    base.write_text(json.dumps(cmperf.estimate_record(cmperf.estimate(DECODE))))
    (result,) = cmperf.check([base], rtol=0.0)
    assert result.ok and result.ran.endswith("cloudmatrix384-decode.yaml")
    assert cmperf.scenario_schema()["$schema"].endswith("2020-12/schema")


def test_unknown_attribute_and_dir() -> None:
    with pytest.raises(AttributeError, match="no attribute 'estimat'"):
        _ = cmperf.estimat  # type: ignore[attr-defined]
    names = dir(cmperf)
    for name in ("estimate", "load_scenario", "sweep", "validate", "check", "scenario_schema"):
        assert name in names and name in cmperf.__all__


def test_readme_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's Python API example, run as written (its baseline path made real)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python API", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    golden = ROOT / "tests" / "golden" / "baselines" / "cloudmatrix384-decode.json"
    assert '"baselines/b64.json"' in code
    code = code.replace('"baselines/b64.json"', repr(str(golden)))
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert all(c.ok for c in namespace["checks"])
    assert namespace["r"].best.latency_s <= 0.015


def test_phases_are_one_table_read_assembled_and_reported_in_order() -> None:
    """A scenario's phases are data: each kind in cmperf.specs.PHASE_KINDS has an assembler,
    and a scenario's blocks, its estimate's results and its reports follow that order."""
    from cmperf.api import ASSEMBLERS, estimate
    from cmperf.specs import PHASE_KINDS, PHASES

    assert tuple(ASSEMBLERS) == PHASES == tuple(PHASE_KINDS)
    e = estimate("cloudmatrix384-serving")
    assert list(e.scenario.sections) == list(e.results) == list(PHASES)
    assert [p.phase for p in e.phases] == list(PHASES)
    assert e.decode is e.phase("decode") and e.scenario.prefill is e.scenario.section("prefill")
    assert estimate(DECODE).prefill is None and list(estimate(DECODE).results) == ["decode"]
