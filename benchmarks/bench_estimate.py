"""Benchmark cmperf: whole-process CLI time, and in-process estimate rate.

Usage:
    python benchmarks/bench_estimate.py [--runs N] [--seconds S] [--json]

(a) Times `cmperf estimate <scenario>`, `cmperf sweep cloudmatrix384-decode-slo --tpot-slo
    15ms / 50ms`, `cmperf kernel --csv` on measured H200 kernels and `cmperf calibrate` of the
    whole H200 folder as separate processes (start-up, imports, YAML, search, fit, report):
    median/min/max wall seconds over N runs.
(b) Times `cmperf.api.estimate(scenario)` in process on an already loaded scenario for about
    S seconds and reports estimates per second; also times `load_scenario` + `estimate` from
    scratch (spec caches cleared).

This is a script, not a test: it prints numbers and exits 0 unless cmperf cannot be imported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("cloudmatrix384-decode", "cloudmatrix384-prefill")
SWEEPS = (
    ("sweep", "cloudmatrix384-decode-slo", "--tpot-slo", "15ms"),
    ("sweep", "cloudmatrix384-decode-slo", "--tpot-slo", "50ms"),
)
# The kernel model: predicting every measured H200 kernel, and fitting it (shared/calibration).
CALIBRATION = REPO_ROOT.parent / "shared" / "calibration" / "h200"
KERNELS = (
    ("kernel", "--csv", str(CALIBRATION / "gemm.csv"), "--hardware", "h200-sxm"),
    ("kernel", "--csv", str(CALIBRATION / "mla_decode.csv"), "--hardware", "h200-sxm"),
    ("calibrate", str(CALIBRATION), "--hardware", "h200-sxm", "--holdout", "0.3"),
)


def cli_command() -> list[str]:
    """The `cmperf` console script next to this interpreter, else `python -m cmperf`."""
    bindir = Path(sys.executable).parent
    for name in ("cmperf", "cmperf.exe"):
        exe = bindir / name
        if exe.is_file() and os.access(exe, os.X_OK):
            return [str(exe)]
    return [sys.executable, "-m", "cmperf"]


def _child_env() -> dict[str, str]:
    # Let `python -m cmperf` find an uninstalled checkout too. Time what a user's machine runs:
    # Python's bytecode cache on (a sandbox may turn it off), filled by a warm-up run.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def bench_cli(args: tuple[str, ...], runs: int) -> dict[str, Any]:
    cmd = [*cli_command(), *args]
    label = " ".join(args)
    result: dict[str, Any] = {"scenario": label, "command": " ".join(cmd), "runs": runs}
    times = []
    subprocess.run(cmd, cwd=REPO_ROOT, env=_child_env(), capture_output=True, check=False)
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(
            cmd, cwd=REPO_ROOT, env=_child_env(), capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            result["error"] = f"exit {proc.returncode}: " + " | ".join(tail)
            return result
        times.append(elapsed)
    result.update(median_s=statistics.median(times), min_s=min(times), max_s=max(times))
    return result


def _clear_spec_caches() -> None:
    import cmperf.specs as specs

    cache = getattr(specs, "_CACHE", None)
    if isinstance(cache, dict):
        cache.clear()


def bench_in_process(scenario_name: str, seconds: float, runs: int) -> dict[str, Any]:
    from cmperf.api import estimate
    from cmperf.specs import load_scenario

    result: dict[str, Any] = {"scenario": scenario_name}

    # From scratch: load (with spec caches cleared) and estimate.
    cold = []
    for _ in range(runs):
        _clear_spec_caches()
        start = time.perf_counter()
        estimate(load_scenario(scenario_name))
        cold.append(time.perf_counter() - start)
    result.update(
        load_and_estimate_median_s=statistics.median(cold), load_and_estimate_min_s=min(cold)
    )

    # Steady state: one loaded scenario, estimated repeatedly for about `seconds`.
    scenario = load_scenario(scenario_name)
    estimate(scenario)  # warm-up
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        estimate(scenario)
        count += 1
        now = time.perf_counter()
        if now >= deadline:
            break
    elapsed = now - start
    result.update(
        estimates=count,
        elapsed_s=elapsed,
        estimates_per_s=count / elapsed,
        estimate_mean_s=elapsed / count,
    )
    return result


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1e3:.2f}"


def print_table(cli: list[dict[str, Any]], inproc: list[dict[str, Any]]) -> None:
    print(f"python {sys.version.split()[0]} ({sys.executable})")
    print()
    print("(a) whole process: cmperf <command>  [wall ms]")
    header = f"  {'command':<58} {'runs':>5} {'median':>10} {'min':>10} {'max':>10}"
    print(header)
    for r in cli:
        if "error" in r:
            print(f"  {r['scenario']:<58} failed: {r['error']}")
        else:
            print(
                f"  {r['scenario']:<58} {r['runs']:>5} {_ms(r['median_s']):>10} "
                f"{_ms(r['min_s']):>10} {_ms(r['max_s']):>10}"
            )
    print()
    print("(b) in process: cmperf.api.estimate")
    print(
        f"  {'scenario':<26} {'estimates/s':>12} {'ms/estimate':>12} {'load+est ms (median)':>21}"
    )
    for r in inproc:
        if "error" in r:
            print(f"  {r['scenario']:<26} failed: {r['error']}")
        else:
            print(
                f"  {r['scenario']:<26} {r['estimates_per_s']:>12.1f} "
                f"{_ms(r['estimate_mean_s']):>12} {_ms(r['load_and_estimate_median_s']):>21}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs",
        type=int,
        default=7,
        help="process runs per scenario, and from-scratch loads (default 7)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=2.0,
        help="seconds of repeated in-process estimates per scenario (default 2)",
    )
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument(
        "--scenario",
        action="append",
        dest="scenarios",
        metavar="NAME",
        help="scenario to benchmark (repeatable; default: the two CloudMatrix384 scenarios)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    scenarios = args.scenarios or list(SCENARIOS)

    commands = [("estimate", name) for name in scenarios]
    if not args.scenarios:
        commands += list(SWEEPS)
        if CALIBRATION.is_dir():
            commands += list(KERNELS)
    cli = [bench_cli(command, args.runs) for command in commands]

    try:
        import cmperf.api  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(REPO_ROOT))  # an uninstalled checkout
    inproc = []
    for name in scenarios:
        try:
            inproc.append(bench_in_process(name, args.seconds, args.runs))
        except Exception as exc:
            inproc.append({"scenario": name, "error": f"{type(exc).__name__}: {exc}"})

    if args.json:
        print(
            json.dumps(
                {"python": sys.version.split()[0], "cli": cli, "in_process": inproc}, indent=2
            )
        )
    else:
        print_table(cli, inproc)
    if any("error" in r for r in [*cli, *inproc]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
