"""cmperf: first-principles performance model of LLM serving on scale-up supernodes.

The Python API, what the command line calls (imported on first use, so `import cmperf` itself
loads nothing heavy)::

    import cmperf

    e = cmperf.estimate("cloudmatrix384-decode", ["decode.batch_per_device=8"])
    e.decode.tpot_s, e.decode.throughput_tokens_per_s_per_device
    cmperf.estimate_record(e)        # the dict `cmperf estimate --format json` prints

    s = cmperf.load_scenario("cloudmatrix384-prefill", ["prefill.microbatches=1"])
    cmperf.estimate(s)               # a loaded Scenario estimates as well

    r = cmperf.sweep("cloudmatrix384-decode-slo", tpot_slo_s=0.015)
    r.best.sets                      # the --set overrides of the best configuration

    outcomes = cmperf.validate()     # every published point, predicted (a list of Outcome)
    checks = cmperf.check(["baseline.json"], rtol=0.02)   # what `cmperf check` runs
    cmperf.scenario_schema()         # the JSON Schema of scenario files

Errors are `cmperf.CmperfError`: `SpecError` for bad input (exit status 2 on the command line)
and `InfeasibleError` for configurations that cannot run (exit status 1).

`cmperf.validate` is also the name of the validation module (`from cmperf import validate`
gives the module, as before); the module is callable, and calling it runs `validate.run()`.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__version__ = "0.1.0"

# name -> (module, attribute)
_API = {
    "estimate": ("cmperf.api", "estimate"),
    "Estimate": ("cmperf.api", "Estimate"),
    "load_scenario": ("cmperf.specs", "load_scenario"),
    "Scenario": ("cmperf.specs", "Scenario"),
    "sweep": ("cmperf.search", "sweep"),
    "check": ("cmperf.baseline", "check"),
    "scenario_schema": ("cmperf.schema", "scenario_schema"),
    "estimate_record": ("cmperf.report", "estimate_record"),
    "CmperfError": ("cmperf.errors", "CmperfError"),
    "SpecError": ("cmperf.errors", "SpecError"),
    "InfeasibleError": ("cmperf.errors", "InfeasibleError"),
}

__all__ = ["__version__", "validate", *_API]


class _ValidateModule(types.ModuleType):
    """cmperf.validate: the validation module, callable as the API's `validate()`."""

    def __call__(self, file: Any = None, overrides: Any = ()) -> list[Any]:
        """Predict every point of the validation file (default: every shipped one), with
        `overrides` (--set pairs) applied to each first."""
        return self.run(file, tuple(overrides))


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        # The import system binds a submodule to its package with setattr: make the
        # validation module callable however it is first imported.
        if name == "validate" and type(value) is types.ModuleType:
            value.__class__ = _ValidateModule
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name == "validate":
        return importlib.import_module("cmperf.validate")
    if name in _API:
        module, attribute = _API[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cmperf' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
