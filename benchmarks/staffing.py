"""Staffing benchmark: MILP solve time, Monte Carlo speed, service-level sizing, sweep throughput.

Writes the ``staffing`` section of benchmarks/RESULTS.md.

    python benchmarks/staffing.py --time-limit 30 --sweep-n 1000
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.results_md import machine, table, write_section
from optimizer.model import parse
from optimizer.paths import REPO_ROOT
from optimizer.staffing.examples import synthetic
from optimizer.staffing.milp import fix_and_relax, round_up, solve_milp
from optimizer.staffing.montecarlo import probability
from optimizer.staffing.prep import prepare
from optimizer.staffing.service import size_for_service_level
from optimizer.staffing.sweep import grid, run_sweep


def solve_times(directions: int, months: int, time_limit: float) -> list[list[object]]:
    """Every method on the synthetic instance; gap against the LP bound."""
    prep = prepare(synthetic(directions, months, seed=0))
    rows: list[list[object]] = []
    t = time.monotonic()
    lp = solve_milp(prep, integer=False, solver="cbc")
    bound = lp.cost
    dt = time.monotonic() - t
    rows.append(["LP relaxation (lower bound)", "cbc", "optimal", f"{bound:,.0f}", "0.0 %", f"{dt:.2f}"])
    for solver in ("cbc", "highs"):
        for name, fn in (("LP round-up", round_up), ("fix-and-relax", fix_and_relax)):
            t = time.monotonic()
            r = fn(prep, solver=solver, time_limit=time_limit)
            dt = time.monotonic() - t
            gap = f"{(r.cost - bound) / bound * 100:.1f} %" if r.ok else "-"
            rows.append([name, solver, r.status, f"{r.cost:,.0f}" if r.ok else "-", gap, f"{dt:.2f}"])
        t = time.monotonic()
        r = solve_milp(prep, solver=solver, time_limit=time_limit, gap=1e-4)
        dt = time.monotonic() - t
        gap = f"{(r.cost - bound) / bound * 100:.1f} %" if r.ok else "-"
        rows.append([f"exact MILP ({time_limit:g} s limit)", solver, r.status, f"{r.cost:,.0f}" if r.ok else "-", gap,
                     f"{dt:.2f}"])
        print(table(["method", "solver", "status", "cost", "above LP bound", "seconds"], rows), flush=True)
    return rows


def mc_speed(directions: int, months: int, draws: int) -> tuple[float, float]:
    """Seconds for ``draws`` Monte Carlo draws of a staffing of the synthetic instance."""
    prep = prepare(synthetic(directions, months, seed=0))
    r = round_up(prep)
    if not r.ok:
        r = fix_and_relax(prep)
    probability(prep, r.cap, 100, 0)  # warm-up
    t = time.monotonic()
    pr = probability(prep, r.cap, draws, 0)
    return time.monotonic() - t, pr.overall


def service_level(target: float, time_limit: float) -> list[list[object]]:
    """Point-estimate sizing vs service-level sizing on the example, probabilities out of sample."""
    p = parse("staffing", REPO_ROOT / "datasets" / "staffing" / "example.json")
    prep = prepare(p)  # type: ignore[arg-type]
    t = time.monotonic()
    point = fix_and_relax(prep, time_limit=time_limit)
    t_point = time.monotonic() - t
    p_point = probability(prep, point.cap, 10_000, 7919)
    t = time.monotonic()
    sl = size_for_service_level(prep, target, seed=0)
    t_sl = time.monotonic() - t
    assert sl.result is not None and sl.out_of_sample is not None
    po, so = p_point, sl.out_of_sample
    return [
        ["point estimates (fix-and-relax)", f"{point.cost:,.0f}", "1.00",
         f"{po.overall:.3f} [{po.ci_low:.3f}, {po.ci_high:.3f}]", f"{t_point:.1f}", "-"],
        [f"service level {target:.0%} (MC-guided search)", f"{sl.result.cost:,.0f}",
         f"{sl.result.cost / point.cost:.2f}", f"{so.overall:.3f} [{so.ci_low:.3f}, {so.ci_high:.3f}]",
         f"{t_sl:.1f}", str(sl.solves)],
        ["issue's reference (quoted, not re-run): scenario chance-constrained MIP, CBC", "-", "1.76", "0.90",
         "18-300", "-"],
    ]


def sweep(n: int, directions: int, time_limit: float, budget: float) -> tuple[float, int, int, float]:
    """Wall seconds, scenarios done, solved, CPU seconds of an ``n``-scenario sweep on 2 worker processes."""
    side = int(np.ceil(n ** 0.5))
    plan = np.linspace(0.7, 1.4, side)
    conv = np.linspace(0.8, 1.2, int(np.ceil(n / side)))
    scen = grid(plan=list(plan), conversion=list(conv))[:n]
    p = synthetic(directions, 12, seed=0)
    t = time.monotonic()
    rows = run_sweep(p, scen, workers=2, time_limit=time_limit, draws=500, budget_s=budget)
    ok = sum(r["status"] in ("optimal", "feasible") for r in rows)
    return time.monotonic() - t, len(rows), ok, sum(r["cpu_s"] for r in rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=30.0, help="seconds per MILP method")
    ap.add_argument("--directions", type=int, default=6)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--sweep-n", type=int, default=1000, help="scenarios in the sweep (0: skip)")
    ap.add_argument("--sweep-directions", type=int, default=6)
    ap.add_argument("--sweep-budget", type=float, default=600.0, help="stop the sweep after this many seconds")
    ap.add_argument("--service-level", type=float, default=0.9)
    ap.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    a = ap.parse_args()
    cmd = "python benchmarks/staffing.py " + shlex.join(sys.argv[1:])

    rows = solve_times(a.directions, a.months, a.time_limit)
    mc_t, mc_p = mc_speed(a.directions, a.months, 10_000)
    print(f"Monte Carlo: 10,000 draws in {mc_t:.3f} s (P={mc_p:.3f})", flush=True)
    sl_rows = service_level(a.service_level, a.time_limit)
    sl_head = ["sizing", "cost", "cost ratio", "P(hit plan) out of sample [95 % CI]", "seconds", "MILP solves"]
    print(table(sl_head, sl_rows), flush=True)
    sweep_txt = "skipped"
    if a.sweep_n > 0:
        sw_t, n, ok, cpu = sweep(a.sweep_n, a.sweep_directions, a.time_limit, a.sweep_budget)
        sweep_txt = (f"{n} of {a.sweep_n} scenarios (plan x conversion grid) of the 12-month x {a.sweep_directions}-"
                     "direction x 7-role instance, LP round-up (fix-and-relax fallback) + 500 Monte Carlo draws "
                     f"each, 2 worker processes: **{sw_t:.1f} s wall** ({n / sw_t:.2f} scenarios/s), {ok} solved"
                     f"{' (the rest infeasible: plan too high for the limits)' if ok < n else ''}. "
                     f"CPU: {cpu:.1f} s in all, "
                     f"{cpu / max(n, 1):.3f} s per scenario, so {a.sweep_n} scenarios need about "
                     f"{cpu / max(n, 1) * a.sweep_n / 2:.0f} s on 2 free cores. Target < 60 s for 1,000.")
        print(sweep_txt, flush=True)
    md = "\n".join([
        "## staffing",
        "",
        f"`{cmd}` on {machine()}. The machine was shared with other jobs (load well above its 2 cores), so",
        "seconds are pessimistic; costs and gaps do not depend on it.",
        "",
        f"### Solve time: {a.months} months x {a.directions} directions x 7 roles "
        "(`optimizer.staffing.examples.synthetic`, seed 0)",
        "",
        "Gap is measured against the LP relaxation, a valid lower bound (the true optimum lies between).",
        "",
        table(["method", "solver", "status", "cost", "above LP bound", "seconds"], rows),
        "",
        "Target was *optimal in < 2 s with CBC*: **missed**. The exact MILP neither proves optimality nor",
        "matches the heuristics within the limit (its LP bound is weak: a head per direction, support",
        "ratios and ramp-up couple months with many small roundings). `solve_staffing` therefore runs",
        "fix-and-relax first and then the exact MILP for at most 10 s, keeping the better answer",
        "(status `feasible` unless the MILP proves optimality, as it does on small cases).",
        "",
        f"### Monte Carlo: 10,000 draws x {a.months} months x {a.directions} directions: **{mc_t:.3f} s**",
        "",
        "### Service-level sizing (`datasets/staffing/example.json`, 12 months, 3 directions)",
        "",
        table(sl_head, sl_rows),
        "",
        "Probabilities are re-estimated on 10,000 independent draws (out of sample). The search sizes the",
        "deterministic MILP on plan x factor (bracketing, bisection, then per-direction descent) and",
        "steers by a 4,000-draw in-sample estimate with common random numbers.",
        "",
        "### Scenario sweep throughput",
        "",
        sweep_txt,
    ])
    if not a.no_write:
        write_section("staffing", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
