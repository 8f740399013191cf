"""Staffing benchmark: MILP solve time, Monte Carlo speed, service-level sizing, sweep throughput.

Writes the ``staffing`` section of benchmarks/RESULTS.md.

    python benchmarks/staffing.py --time-limit 30 --sweep-n 1000
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pulp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.results_md import machine, table, write_section
from optimizer.model import parse
from optimizer.model.staffing import StaffingProblem
from optimizer.paths import REPO_ROOT
from optimizer.progress import ProgressEvent
from optimizer.staffing import solve_staffing
from optimizer.staffing.bounds import (
    decompose,
    direction_problem,
    improve_by_direction,
    month_price_cuts,
    shared_rates,
)
from optimizer.staffing.examples import synthetic
from optimizer.staffing.milp import MilpResult, fix_and_relax, round_up, solve_best, solve_milp
from optimizer.staffing.montecarlo import probability
from optimizer.staffing.prep import SHARED, Prepared, prepare
from optimizer.staffing.proof import prove, slack_split
from optimizer.staffing.service import size_for_service_level
from optimizer.staffing.sweep import grid, run_sweep


def cpu() -> float:
    """CPU seconds of this process and its waited-for children (the CBC processes PuLP runs)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def solve_times(directions: int, months: int, time_limit: float, proof_seconds: float = 0.0,
                pair_seconds: float = 120.0
                ) -> tuple[list[list[object]], float, float, float, float, float, float, MilpResult]:
    """Every method on the synthetic instance; gaps against the LP bound and the best proven bound."""
    prep = prepare(synthetic(directions, months, seed=0))
    raw: list[tuple[str, str, str, float | None, float, float]] = []
    highs_bounds: list[float] = []
    t, c = time.monotonic(), cpu()
    lp = solve_milp(prep, integer=False, solver="cbc")
    lp_bound = lp.cost
    raw.append(("LP relaxation (lower bound)", "cbc", "optimal", lp_bound, time.monotonic() - t, cpu() - c))
    t, c = time.monotonic(), cpu()
    old = decompose(prep, solver="cbc", rates=shared_rates(prep))
    old_lp = solve_milp(prep, integer=False, solver="cbc", rated_cuts=old.rated_cuts)
    raw.append(("LP + per-direction cuts, every shared role priced per head (before; lower bound)", "cbc",
                old_lp.status, old_lp.cost, time.monotonic() - t, cpu() - c))
    t, c = time.monotonic(), cpu()
    dec = decompose(prep, solver="cbc")
    t_dec, c_dec = time.monotonic() - t, cpu() - c
    t, c = time.monotonic(), cpu()
    cut_lp = solve_milp(prep, integer=False, solver="cbc", rated_cuts=dec.rated_cuts)
    raw.append(("LP + per-direction cuts, idle director unpriced (lower bound)", "cbc", cut_lp.status, cut_lp.cost,
                t_dec + time.monotonic() - t, c_dec + cpu() - c))
    t, c = time.monotonic(), cpu()
    floor_lp = solve_milp(prep, integer=False, solver="cbc", tighten=True)
    raw.append(("LP + headcount floors (lower bound)", "cbc", floor_lp.status, floor_lp.cost, time.monotonic() - t,
                cpu() - c))
    t, c = time.monotonic(), cpu()
    cut_lp = solve_milp(prep, integer=False, solver="cbc", rated_cuts=dec.rated_cuts, tighten=True)
    cut_bound = cut_lp.cost
    raw.append(("LP + per-direction cuts + headcount floors (lower bound)", "cbc", cut_lp.status, cut_bound,
                t_dec + time.monotonic() - t, c_dec + cpu() - c))
    t, c = time.monotonic(), cpu()
    mcuts = month_price_cuts(prep, dec.rated_cuts, solver="cbc")
    m_lp = solve_milp(prep, integer=False, solver="cbc", rated_cuts=mcuts, tighten=True)
    t_m, c_m = t_dec + time.monotonic() - t, c_dec + cpu() - c
    raw.append(("same + one round of month-priced cuts (lower bound)", "cbc", m_lp.status, m_lp.cost, t_m, c_m))
    t, c = time.monotonic(), cpu()
    mixed = shared_integer_bound(prep, mcuts)
    raw.append(("same, shared roles integer, direction roles continuous (lower bound)", "cbc",
                "optimal" if mixed is not None else "-", mixed, t_m + time.monotonic() - t, c_m + cpu() - c))
    raw.append(("per-direction decomposition", "cbc", dec.result.status,
                dec.result.cost if dec.result.ok else None, t_dec, c_dec))
    lns = dec.result
    if dec.result.ok:
        t, c = time.monotonic(), cpu()
        lns = improve_by_direction(prep, dec.result, solver="cbc", time_limit=time_limit)
        t_lns, c_lns = t_dec + time.monotonic() - t, c_dec + cpu() - c
        raw.append(("decomposition + direction LNS", "cbc", lns.status, lns.cost, t_lns, c_lns))
        if pair_seconds > 0:
            t, c = time.monotonic(), cpu()
            lns = improve_by_direction(prep, lns, solver="cbc", time_limit=pair_seconds, group=2, step_limit=20.0,
                                       sweeps=1, cuts=dec.rated_cuts)
            raw.append(("decomposition + direction LNS + pairs of directions", "cbc", lns.status, lns.cost,
                        t_lns + time.monotonic() - t, c_lns + cpu() - c))
    for solver in ("cbc", "highs"):
        for name, fn in (("LP round-up", round_up), ("fix-and-relax", fix_and_relax)):
            t, c = time.monotonic(), cpu()
            r = fn(prep, solver=solver, time_limit=time_limit)
            raw.append((name, solver, r.status, r.cost if r.ok else None, time.monotonic() - t, cpu() - c))
        t, c = time.monotonic(), cpu()
        r = solve_milp(prep, solver=solver, time_limit=time_limit, gap=1e-4)
        raw.append((f"exact MILP ({time_limit:g} s limit)", solver, r.status, r.cost if r.ok else None,
                    time.monotonic() - t, cpu() - c))
        t, c = time.monotonic(), cpu()
        r = solve_milp(prep, solver=solver, time_limit=time_limit, gap=1e-7, rated_cuts=dec.rated_cuts,
                       warm=lns if lns.ok else None, tighten=True)
        raw.append((f"exact MILP + cuts + floors + MIP start ({time_limit:g} s limit)", solver, r.status,
                    r.cost if r.ok else None, time.monotonic() - t, cpu() - c))
        if solver == "highs" and r.lower_bound is not None:
            highs_bounds.append(r.lower_bound)
    if proof_seconds > 0:
        t, c = time.monotonic(), cpu()
        r = solve_milp(prep, solver="highs", time_limit=proof_seconds, gap=1e-7, rated_cuts=dec.rated_cuts,
                       warm=lns if lns.ok else None, tighten=True)
        raw.append((f"exact MILP + cuts + floors + MIP start ({proof_seconds:g} s limit)", "highs", r.status,
                    r.cost if r.ok else None, time.monotonic() - t, cpu() - c))
        if r.lower_bound is not None:
            highs_bounds.append(r.lower_bound)
    highs_best = max(highs_bounds) if highs_bounds else float("nan")
    if highs_bounds and max(highs_bounds) > cut_bound:
        raw.append(("HiGHS branch-and-bound dual bound (lower bound)", "highs", "bound", max(highs_bounds), 0.0, 0.0))
        cut_bound = max(highs_bounds)
    cuts_only = cut_lp.cost
    mixed_bound = mixed if mixed is not None else float("nan")
    if mixed is not None and mixed > cut_bound:
        cut_bound = mixed
    best = min(c for name, _s, st, c, _t, _c in raw
               if c is not None and st in ("optimal", "feasible") and "lower bound" not in name)
    rows: list[list[object]] = []
    for name, solver, status, cost, dt, dc in raw:
        g1 = f"{(cost - lp_bound) / lp_bound * 100:.1f} %" if cost is not None else "-"
        g2 = f"{(cost - cut_bound) / cut_bound * 100:.2f} %" if cost is not None else "-"
        rows.append([name, solver, status, f"{cost:,.0f}" if cost is not None else "-", g1, g2, f"{dt:.2f}",
                     f"{dc:.2f}"])
    print(table(SOLVE_HEAD, rows), flush=True)
    return rows, lp_bound, cut_bound, cuts_only, best, highs_best, mixed_bound, lns


def shared_integer_bound(prep: Prepared, cuts: list[tuple[dict[str, float], dict[str, float]]]) -> float | None:
    """Cut LP with floors where only the shared roles stay integer: how much of the gap is the shared rounding alone."""
    cap: dict[str, Any] = {}
    solve_milp(prep, rated_cuts=cuts, tighten=True, capture=cap)
    m = cap["model"]
    for key in cap["n"]:
        for v in cap["n"][key] + cap["h"][key]:
            v.cat = pulp.LpInteger if key[1] == SHARED else pulp.LpContinuous
    m.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=120, gapRel=1e-9, threads=1))
    if m.status != pulp.LpStatusOptimal:
        return None
    return float(pulp.value(m.objective)) * max(r.monthly_cost for r in prep.roles.values())


SOLVE_HEAD = ["method", "solver", "status", "cost", "above LP bound", "above best proven bound", "seconds",
              "CPU s"]


def direction_gaps(directions: int, months: int) -> list[list[object]]:
    """Per direction: LP vs integer optimum of its own small MILP (CBC), as documented and with a free tail."""
    prep = prepare(synthetic(directions, months, seed=0))
    rows: list[list[object]] = []
    for d, did in enumerate(prep.dirs):
        sub = prepare(direction_problem(prep, d))
        row: list[object] = [did]
        for free in (False, True):
            lp = solve_milp(sub, integer=False, solver="cbc", free_tail=free)
            t = time.monotonic()
            r = solve_milp(sub, solver="cbc", gap=1e-6, free_tail=free)
            dt = time.monotonic() - t
            row += [f"{lp.cost:,.0f}", f"{r.cost:,.0f}" + ("" if r.status == "optimal" else f" ({r.status})"),
                    f"{(r.cost - lp.cost) / r.cost * 100:.1f} %", f"{dt:.2f}"]
        rows.append(row)
    print(table(DIR_HEAD, rows), flush=True)
    return rows


DIR_HEAD = ["direction", "LP", "integer optimum", "LP gap", "CBC s", "LP (free tail)", "integer (free tail)",
            "LP gap (free tail)", "CBC s (free tail)"]


def hardness(directions: int, months: int, time_limit: float) -> list[list[object]]:
    """The exact MILP (CBC) on the instance with attrition and/or ramp-up switched off: is either the cause?"""
    base = synthetic(directions, months, seed=0)
    rows: list[list[object]] = []
    for no_attr, no_ramp in ((False, False), (True, False), (False, True), (True, True)):
        data = base.model_dump(exclude_none=True)
        for r in data["roles"]:
            if no_attr:
                r["attrition"] = 0.0
            if no_ramp:
                r["ramp"] = []
        prep = prepare(StaffingProblem.model_validate(data))
        lp = solve_milp(prep, integer=False, solver="cbc")
        t = time.monotonic()
        res = solve_milp(prep, solver="cbc", gap=1e-6, time_limit=time_limit)
        dt = time.monotonic() - t
        rows.append(["off" if no_attr else "on", "off" if no_ramp else "on", f"{lp.cost:,.0f}",
                     f"{res.cost:,.0f}" if res.ok else "-", res.status,
                     f"{(res.cost - lp.cost) / res.cost * 100:.1f} %" if res.ok else "-", f"{dt:.1f}"])
    print(table(HARD_HEAD, rows), flush=True)
    return rows


HARD_HEAD = ["attrition", "ramp-up", "LP bound", "CBC best", "CBC status", "best above LP bound", "CBC s"]


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
    point = fix_and_relax(prep, time_limit=max(time_limit, 10.0))  # a tiny limit can leave it without an answer
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


PRODUCT_HEAD = ["call", "status", "cost", "lower bound reported", "gap", "best reached at (s)", "wall s",
                "CPU s (incl. solver processes)", "method"]


def product_default(directions: int, months: int, limits: list[float | None],
                    seeds: Sequence[int] = ()) -> list[list[object]]:
    """``solve_staffing`` as users call it (defaults, then shorter time limits): answer, bound, wall and CPU.

    ``seeds``: other synthetic instances of the same size, solved with the defaults (is seed 0 typical?).
    """
    rows: list[list[object]] = []
    for seed, lim in [(0, lim) for lim in limits] + [(sd, None) for sd in seeds]:
        p = synthetic(directions, months, seed=seed)
        events: list[ProgressEvent] = []
        t, c = time.monotonic(), cpu()
        sol = solve_staffing(p, progress=events.append) if lim is None else solve_staffing(
            p, time_limit=lim, progress=events.append)
        wall, cpu_s = time.monotonic() - t, cpu() - c
        lb = sol.stats.get("cost_lower_bound")
        reached = next((e.elapsed for e in events if e.best is not None and e.best <= sol.cost + 1e-6), float("nan"))
        steps = [f"{e.stage} {e.best:,.0f} at {e.elapsed:.1f} s" for e in events
                 if e.best is not None and e.stage in ("milp", "done")]
        call = f"solve_staffing({'defaults: time_limit=60' if lim is None else f'time_limit={lim:g}'})"
        rows.append([call + ("" if seed == 0 else f", seed {seed} instance"),
                     sol.status, f"{sol.cost:,.0f}", f"{lb:,.0f}" if lb else "-",
                     f"{(sol.cost - lb) / lb * 100:.2f} %" if lb else "-", f"{reached:.1f}", f"{wall:.1f}",
                     f"{cpu_s:.1f}", f"{sol.stats.get('method', '')}; best so far: {'; '.join(steps)}"])
        print(table(PRODUCT_HEAD, rows[-1:]), flush=True)
    return rows


PROOF_HEAD = ["instance", "start (UB)", "L (Lagrangian bound)", "UB - L", "account-manager sequences listed",
              "after exact column optima", "LPs", "master", "result", "bound at the end", "wall s", "CPU s"]


def proof_rows(cases: list[tuple[int, int, float]], seconds: float,
               start12: MilpResult | None = None, track: bool = False,
               master_solver: str = "highs") -> tuple[list[list[object]], list[str]]:
    """:func:`optimizer.staffing.proof.prove` on synthetic instances ``(directions, months, plan_scale)``."""
    rows: list[list[object]] = []
    notes: list[str] = []
    for directions, months, scale in cases:
        prep = prepare(synthetic(directions, months, seed=0, plan_scale=scale))
        t, c = time.monotonic(), cpu()
        start = start12 if (start12 is not None and (directions, months, scale) == (6, 12, 1.0)) else solve_best(
            prep, solver="cbc")
        t_start, c_start = time.monotonic() - t, cpu() - c
        t, c = time.monotonic(), cpu()
        big = directions * months >= 72
        pr = prove(prep, start, time_limit=seconds, workers=2, exact_columns=big, master_solver=master_solver,
                   track=track and big)
        wall, cpu_s = time.monotonic() - t, cpu() - c
        name = f"{directions} dir x {months} months" + ("" if scale == 1.0 else f" (plan x{scale:g})")
        end_bound = pr.result.cost if pr.proven else pr.lower_bound
        lag = sum(pr.z.values()) if pr.z else pr.lower_bound
        rows.append([name, f"{pr.upper_bound:,.0f}", f"{lag:,.0f}", f"{pr.upper_bound - lag:,.0f}",
                     f"{sum(pr.columns.values())} ({', '.join(str(v) for v in pr.columns.values())})",
                     f"{sum(pr.kept.values())}" if pr.kept else "-", str(pr.nodes),
                     f"{pr.seconds.get('master', 0):.1f} s", pr.status + ("" if pr.proven else f": {pr.reason}"),
                     f"{end_bound:,.0f}", f"{wall:.1f}", f"{cpu_s:.1f}"])
        print(table(PROOF_HEAD, rows[-1:]), f"(start found in {t_start:.1f} s, {c_start:.1f} CPU s)", flush=True)
        if pr.z:
            sp = slack_split(prep, pr.result, pr.prices, pr.z)
            dirs = ", ".join(f"{d} {sp[d]:,.0f}" for d in prep.dirs)
            notes.append(f"{name}: cost - L = {sp['gap']:,.0f} = directions' priced slack ({dirs}) + shared roles "
                         f"{sp['shared']:,.0f} + unused span/support at the prices (monthly rounding of the shared "
                         f"pools) {sp['rounding']:,.0f}; step seconds {pr.seconds}.")
    return rows, notes


FRONTIER_HEAD = ["directions x months", "integer variables", "method", "status", "cost", "bound",
                 "gap to bound", "wall s", "CPU s"]


def frontier_summary(rows: Sequence[Sequence[object]]) -> str:
    """One line: which sizes CBC proves optimal within 2 s, which within the cap, which not at all."""
    best: dict[str, float | None] = {}
    for r in rows:
        size, status, wall = str(r[0]), str(r[3]), float(str(r[7]))
        times = [t for t in (best.get(size), wall if status == "optimal" else None) if t is not None]
        best[size] = min(times) if times else None
    fast = [k for k, v in best.items() if v is not None and v < 2.0]
    slow = [f"{k} ({v:.1f} s)" for k, v in best.items() if v is not None and v >= 2.0]
    never = [k for k, v in best.items() if v is None]
    line = (f"Proven optimal by CBC within 2 s: {', '.join(fast) or 'none'}; later: {', '.join(slow) or 'none'}; "
            f"not within the cap: {', '.join(never) or 'none'} (fastest of the methods per size).")
    opt = {str(r[0]): float(str(r[4]).replace(",", "")) for r in rows if str(r[3]) == "optimal"}
    cbc_best: dict[str, float] = {}
    for r in rows:
        if str(r[2]).startswith("CBC") and str(r[4]) != "-":
            cost = float(str(r[4]).replace(",", ""))
            cbc_best[str(r[0])] = min(cost, cbc_best.get(str(r[0]), cost))
    prod = [(str(r[0]), float(str(r[4]).replace(",", "")), float(str(r[7]))) for r in rows
            if str(r[2]).startswith("solve_staffing") and str(r[4]) != "-"]
    if prod:
        parts = []
        for size, cost, wall in prod:
            if size in opt:
                parts.append(f"{size} {(cost / opt[size] - 1) * 100:+.2f} % vs the optimum in {wall:.0f} s")
            elif size in cbc_best:
                parts.append(f"{size} {(cost / cbc_best[size] - 1) * 100:+.2f} % vs CBC's best in {wall:.0f} s")
        line += " solve_staffing (defaults): " + "; ".join(parts) + "."
    return line


def frontier(a: argparse.Namespace, cmd: str, load: float) -> int:
    """How CBC's time to a proven optimum grows with size (section ``staffing-frontier``).

    Each synthetic instance ``D x M`` (7 roles) is solved by CBC with the headcount floors, once plainly and
    once with the decomposition's per-direction cuts and its staffing as MIP start (the exact step of
    ``solve_staffing``; two or more directions), each with ``--frontier-cap`` seconds.
    """
    rows: list[list[object]] = []
    for case in a.frontier.split(","):
        d_, m_, *rest = (int(x) for x in case.split("x"))
        seed = rest[0] if rest else 0
        size = f"{d_} x {m_}" + (f" (seed {seed})" if seed else "")
        prep = prepare(synthetic(d_, m_, seed=seed))
        n_int = sum(2 * prep.T for rid in prep.roles for _g in prep.groups[rid])

        def add(label: str, status: str, cost: float | None, bound: float | None, wall: float, cpu_s: float,
                size: str = size, n_int: int = n_int) -> None:
            rows.append([size, n_int, label, status, "-" if cost is None else f"{cost:,.0f}",
                         "-" if bound is None else f"{bound:,.0f}",
                         "-" if bound is None or cost is None else f"{(cost - bound) / cost * 100:.2f} %",
                         f"{wall:.2f}", f"{cpu_s:.2f}"])
            print(table(FRONTIER_HEAD, rows[-1:]), flush=True)
        variants: list[tuple[str, dict[str, Any]]] = [("CBC, floors", {})]
        if d_ > 1:
            variants.append(("CBC, floors + direction cuts + MIP start", {"cuts": True}))
        for label, opt in variants:
            t, c = time.monotonic(), cpu()
            kw: dict[str, Any] = {}
            if opt.get("cuts"):
                dec = decompose(prep, solver="cbc")
                kw = {"rated_cuts": dec.rated_cuts, "warm": dec.result if dec.result.ok else None}
            left = max(0.5, a.frontier_cap - (time.monotonic() - t))
            r = solve_milp(prep, solver="cbc", tighten=True, time_limit=left, **kw)
            wall, cpu_s = time.monotonic() - t, cpu() - c
            bound = r.cost if r.status == "optimal" else None
            if bound is None and opt.get("cuts"):
                lb = solve_milp(prep, integer=False, solver="cbc", tighten=True, rated_cuts=kw["rated_cuts"])
                bound = lb.cost if lb.status == "optimal" else None
            add(label, r.status, r.cost if r.ok else None, bound, wall, cpu_s)
        if a.frontier_product:
            t, c = time.monotonic(), cpu()
            sol = solve_staffing(synthetic(d_, m_, seed=seed))
            wall, cpu_s = time.monotonic() - t, cpu() - c
            found = sol.status in ("optimal", "feasible")  # an infeasible answer's cost is not a staffing's
            add("solve_staffing (defaults, 60 s)", sol.status, sol.cost if found else None,
                sol.cost if sol.status == "optimal" else sol.stats.get("cost_lower_bound"), wall, cpu_s)
    md = "\n".join([
        "## staffing-frontier",
        "",
        f"`{cmd}` on {machine()}; 1-minute load average {load:.1f} at the start.",
        "",
        "How far *optimal with CBC* reaches: the synthetic instance (`optimizer.staffing.examples.synthetic`, "
        "seed 0, 7 roles) at growing size, the exact MILP (CBC through PuLP, relative gap 1e-7, headcount floors) "
        f"with {a.frontier_cap:g} s each. *Bound*: CBC's proven optimum, or for a run that did not close, the LP "
        "with the floors and the per-direction cuts (CBC through PuLP reports no dual bound). *Integer "
        "variables*: headcount and hires per role, group and month. *DxMxS* cases use synthetic seed S. "
        "*solve_staffing* rows (with `--frontier-product`): what users get with the defaults (decomposition, "
        "search over pairs, single directions and triples within 30 s, then the exact MILP with cuts and MIP "
        "start for at most 5 s; CBC), its bound being the cut LP's unless it proves optimality; CPU includes "
        "the CBC processes.",
        "",
        table(FRONTIER_HEAD, rows),
        "",
        frontier_summary(rows),
    ])
    if not a.no_write:
        write_section("staffing-frontier", md)
    else:
        print(md)
    return 0


def proof_only(a: argparse.Namespace, cmd: str, load: float) -> int:
    """A longer proof run of the main instance alone (section ``staffing-proof``)."""
    prep = prepare(synthetic(a.directions, a.months, seed=0))
    t, c = time.monotonic(), cpu()
    start = solve_best(prep, solver="cbc")
    t_start, c_start = time.monotonic() - t, cpu() - c
    rows, notes = proof_rows([(a.directions, a.months, 1.0)], a.proof_time, start, track=a.track,
                             master_solver=a.master_solver)
    md = "\n".join([
        "## staffing-proof",
        "",
        f"`{cmd}` on {machine()}; 1-minute load average {load:.1f} at the start.",
        "",
        f"Proof of optimality (`optimizer.staffing.proof.prove`, see section `staffing`) of the {a.months} months x "
        f"{a.directions} directions x 7 roles instance with {a.proof_time:g} s (master: {a.master_solver}), "
        "starting from `solve_best`'s "
        f"staffing ({start.cost:,.0f}, found in {t_start:.1f} s wall, {c_start:.1f} CPU s)"
        + ("; telesales ranges per account-manager sequence and month written into the master (`track`)."
           if a.track else "."),
        "",
        table(PROOF_HEAD, rows),
        "",
        *[f"- {n}" for n in notes],
    ])
    if not a.no_write:
        write_section("staffing-proof", md)
    else:
        print(md)
    return 0


def sweep(n: int, directions: int, time_limit: float, budget: float) -> tuple[float, int, int, float, int]:
    """Wall seconds, scenarios done, solved, CPU seconds, MILP fallbacks of an ``n``-scenario sweep on 2 workers."""
    side = int(np.ceil(n ** 0.5))
    plan = np.linspace(0.7, 1.4, side)
    conv = np.linspace(0.8, 1.2, int(np.ceil(n / side)))
    scen = grid(plan=list(plan), conversion=list(conv))[:n]
    p = synthetic(directions, 12, seed=0)
    t = time.monotonic()
    rows = run_sweep(p, scen, workers=2, time_limit=time_limit, draws=500, budget_s=budget)
    ok = sum(r["status"] in ("optimal", "feasible") for r in rows)
    fallbacks = sum(r["status"] == "feasible" and not str(r["method"]).startswith("lp-round-up") for r in rows)
    return time.monotonic() - t, len(rows), ok, sum(r["cpu_s"] for r in rows), fallbacks


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=30.0, help="seconds per MILP method")
    ap.add_argument("--directions", type=int, default=6)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--sweep-n", type=int, default=1000, help="scenarios in the sweep (0: skip)")
    ap.add_argument("--sweep-directions", type=int, default=6)
    ap.add_argument("--sweep-budget", type=float, default=600.0, help="stop the sweep after this many seconds")
    ap.add_argument("--service-level", type=float, default=0.9)
    ap.add_argument("--proof-seconds", type=float, default=0.0,
                    help="also run HiGHS this long on the model with cuts and MIP start (0: skip)")
    ap.add_argument("--pair-seconds", type=float, default=180.0,
                    help="seconds for the LNS over pairs of directions after the one-direction LNS (0: skip)")
    ap.add_argument("--proof-time", type=float, default=240.0,
                    help="seconds for each proof of optimality (proof.prove; 0: skip)")
    ap.add_argument("--proof-cases", default="3x6,4x8",
                    help="smaller synthetic instances DxM proved before the main one (comma-separated; '' for none)")
    ap.add_argument("--product-seeds", default="1,2,3",
                    help="other synthetic seeds solved by solve_staffing with its defaults (comma-separated)")
    ap.add_argument("--no-product", dest="product", action="store_false",
                    help="skip the solve_staffing default-path rows")
    ap.add_argument("--master-solver", default="highs", choices=["highs", "cbc"],
                    help="solver of the proof's master (HiGHS reports its dual bound when it does not close)")
    ap.add_argument("--track", action="store_true",
                    help="proof of the main instance also bounds telesales per account-manager sequence and month")
    ap.add_argument("--proof-only", action="store_true",
                    help="only the proof of the main instance (start: solve_staffing's answer), section staffing-proof")
    ap.add_argument("--frontier", default="",
                    help="only the size frontier: comma-separated DxM instances, e.g. 1x12,2x12,3x6 "
                         "(section staffing-frontier)")
    ap.add_argument("--frontier-cap", type=float, default=120.0, help="seconds per frontier solve")
    ap.add_argument("--frontier-product", action="store_true",
                    help="frontier also runs solve_staffing with its defaults on each instance")
    ap.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    a = ap.parse_args()
    cmd = "python benchmarks/staffing.py " + shlex.join(sys.argv[1:])
    load = os.getloadavg()[0]
    if a.proof_only:
        return proof_only(a, cmd, load)
    if a.frontier:
        return frontier(a, cmd, load)

    rows, lp_bound, cut_bound, cuts_only, best, highs_best, mixed_bound, best_res = solve_times(
        a.directions, a.months, a.time_limit, a.proof_seconds, a.pair_seconds)
    seeds = [int(x) for x in a.product_seeds.split(",") if x]
    prod_rows = product_default(a.directions, a.months, [None, 10.0], seeds) if a.product else []
    cases = [(int(c.split("x")[0]), int(c.split("x")[1]), 1.0) for c in a.proof_cases.split(",") if c]
    pf_rows, pf_notes = proof_rows([*cases, (a.directions, a.months, 1.0)], a.proof_time,
                                   best_res if best_res.ok else None, a.track,
                                   a.master_solver) if a.proof_time > 0 else ([], [])
    proven12 = bool(pf_rows) and str(pf_rows[-1][8]) == "proven"
    cbc_fast = any(r[1] == "cbc" and r[2] == "optimal" and "lower bound" not in str(r[0]) and float(str(r[6])) < 2
                   for r in rows)
    dir_rows = direction_gaps(a.directions, a.months)
    hard_rows = hardness(a.directions, a.months, a.time_limit)
    gaps = [float(str(r[3]).rstrip(" %")) for r in dir_rows]
    tail = [(1 - float(str(r[6]).replace(",", "").split()[0]) / float(str(r[2]).replace(",", "").split()[0])) * 100
            for r in dir_rows]
    mc_t, mc_p = mc_speed(a.directions, a.months, 10_000)
    print(f"Monte Carlo: 10,000 draws in {mc_t:.3f} s (P={mc_p:.3f})", flush=True)
    sl_rows = service_level(a.service_level, a.time_limit)
    sl_head = ["sizing", "cost", "cost ratio", "P(hit plan) out of sample [95 % CI]", "seconds", "MILP solves"]
    print(table(sl_head, sl_rows), flush=True)
    sweep_txt = "skipped"
    if a.sweep_n > 0:
        sw_t, n, ok, cpu, fb = sweep(a.sweep_n, a.sweep_directions, a.time_limit, a.sweep_budget)
        sweep_txt = (f"{n} of {a.sweep_n} scenarios (plan x conversion grid) of the 12-month x {a.sweep_directions}-"
                     "direction x 7-role instance, LP round-up + 500 Monte Carlo draws each; the LP is built once "
                     "per worker and re-solved in process by HiGHS with each scenario's numbers, starting from the "
                     "base problem's optimal basis (`optimizer.staffing.lpfast`); the rounded staffing is checked "
                     "without a solver and, when it breaks a hiring limit or misses a plan, repaired by re-solving "
                     "the LP with that month's limit lowered / that direction's plan raised (`round_up`). "
                     f"Scenarios that still needed the CBC fix-and-relax fallback: **{fb}**. "
                     f"2 worker processes: **{sw_t:.1f} s wall** ({n / sw_t:.2f} scenarios/s), {ok} solved"
                     f"{' (the rest infeasible: plan too high for the limits)' if ok < n else ''}. "
                     f"CPU: {cpu:.1f} s in all, "
                     f"{cpu / max(n, 1):.3f} s per scenario, so {a.sweep_n} scenarios need about "
                     f"{cpu / max(n, 1) * a.sweep_n / 2:.0f} s on 2 free cores. Target < 60 s for 1,000: "
                     + (f"**{'met' if sw_t < 60 and n == a.sweep_n else 'missed'}** in wall time on this run."
                        if a.sweep_n >= 1000 else "not measured (fewer than 1,000 scenarios)."))
        print(sweep_txt, flush=True)
    md = "\n".join([
        "## staffing",
        "",
        f"`{cmd}` on {machine()}; 1-minute load average {load:.1f} at the start (the machine is shared),",
        "so seconds are pessimistic; costs and gaps do not depend on it.",
        "",
        f"### Solve time: {a.months} months x {a.directions} directions x 7 roles "
        "(`optimizer.staffing.examples.synthetic`, seed 0)",
        "",
        "Gap is measured against the LP relaxation, a valid lower bound (the true optimum lies between).",
        "",
        table(SOLVE_HEAD, rows),
        "",
        f"*Best proven bound* {cut_bound:,.0f}: the largest of HiGHS's branch-and-bound dual bound"
        + (f" ({highs_best:,.0f})" if highs_best == highs_best else "")
        + f" after the {a.time_limit:g} s run"
        + (f" and the {a.proof_seconds:g} s run" if a.proof_seconds > 0 else "")
        + " with cuts, floors and MIP start, the LP relaxation with the headcount floors and one valid",
        "inequality per direction (its part of the cost, with shared managers/support priced per head, is at least",
        f"the optimum of that direction's own small MILP): {cuts_only:,.0f}, with one more cut family priced",
        "month by month (`bounds.month_price_cuts`: the LP's duals of the shared supervisors' and assistants' rows",
        "price each direction's telesales per month, each direction's MILP re-solved at those prices; a second",
        "round at the new duals did not move it, the duals stay the same), and that model with the shared",
        f"roles integer ({mixed_bound:,.0f}); plain LP {lp_bound:,.0f}. **Best staffing found:",
        f"{best:,.0f}, proven within {(best - cut_bound) / cut_bound * 100:.2f} % of the optimum.**",
        "*Headcount floors* (`optimizer.staffing.tighten`, `solve_milp(tighten=True)`): a producer's effective",
        "headcount may not go below 0, and a back-fill hire of last month's leavers ramps up, so a direction that",
        "had a telesales (account manager) position last month needs at least one this month; ratios then give one",
        "solution engineer per direction, two research assistants, and so on. Valid for every integer staffing",
        "(tests check them against every feasible staffing of random brute-forced instances); they lift the plain",
        "LP a lot but add little on top of the per-direction cuts, which already carry each direction's rounding.",
        "*Pairs of directions* (`improve_by_direction(group=2)`; the row above runs them after the one-direction",
        "LNS, one at a time, as the previous default did): every pair re-solved exactly together with the shared",
        "roles, the other four directions fixed; each such MILP is proven optimal by CBC in a few seconds, and this",
        "found a staffing below the previous best 4,824,231 (commit c9f6ac2, single-direction LNS), so that one was",
        "not optimal. `solve_staffing` now runs the pairs first, largest directions first, two side by side (see",
        "'Product default' below).",
        "*Per-direction decomposition*: those",
        "small MILPs' staffing combined, shared roles then sized by a small MILP (feasible for the full model,",
        "re-checked by the tests). Continuous hires (integer anyway at the optimum) were tried and dropped: CBC",
        "then no longer proves infeasible plans of the example quickly (30 s+ instead of 1 s).",
        "",
        "*Why the bound was weak, and what closed most of it.* The per-direction cuts priced every shared",
        "manager per managed head, the commercial director too (15,000 / 8 per direction head). But the",
        "director sits at its floor of one over six heads at span 8, so an extra head costs it nothing: the LP",
        "met each direction's cut with extra heads (8 heads a month instead of 6) and its bound stayed at the",
        "'before' row. `bounds.idle_shared` leaves out of the rates any shared role the LP keeps at its",
        "`min_headcount` with room under its ratio (any rates give valid cuts; tests check every rate family",
        "against brute-force optima), which lifts the bound to the 'idle director unpriced' row in the same time.",
        "What is left is not a weak per-direction formulation: a Lagrangian/Dantzig-Wolfe experiment (Kelley's",
        "cutting planes, month-by-month prices on the shared-role rows and hiring limits from the master LP's",
        "duals, each direction's MILP re-solved at those prices; one-off, not in this script) stopped at",
        "4,765,829 with the director priced, and further cut families with other rates (back-fill included,",
        "supervisors only, assistants only) moved the bound by less than 150: about 4.809 M is the convex-hull",
        "bound of the direction decomposition. The remaining gap is the integer coupling itself: supervisors",
        "`ceil(X_t / 8)` and assistants `ceil(X_t / 4)` on the total telesales `X_t` of all directions each",
        "month, and their hires. The previous best staffing (4,824,231) paid about 10,000 of directions' cost above",
        "their own optima (finance 8,500, manufacturing 1,700) to bring the monthly totals to multiples of 8, plus",
        "about 5,000 of shared rounding. The shared rounding alone is not what keeps the bound low: with the",
        "shared roles integer and the direction roles continuous (row 'shared roles integer') and month-priced",
        f"cuts the bound is {mixed_bound - cuts_only:,.0f} above the cut LP, because convexified directions shift",
        "telesales between months for",
        "almost nothing. The gap is the directions' own integrality (many near-equal month-by-month patterns,",
        "see below) meeting the monthly rounding of the shared pools: closing it needs a branch-and-bound over",
        "the directions' integer patterns, not only over the shared totals.",
        "",
        "### Product default (`solve_staffing`, what users get)",
        "",
        ("`solve_staffing(problem)` with its defaults (60 s limit; after the decomposition, pairs of directions "
         "largest first, two MILPs side by side in threads, then single directions, then triples of directions "
         "(more than three directions), all within a 30 s cap, then the exact MILP "
         "for at most 5 s), and the same with a 10 s limit. *Best reached at*: elapsed seconds of the first progress "
         "event carrying the final cost. CPU includes the CBC processes. Before this change (commit ad5ca0d, "
         "quiet machine, quoted): 24.6 s wall, 4,824,231."
         if prod_rows else "skipped (--no-product)"),
        "",
        table(PRODUCT_HEAD, prod_rows) if prod_rows else "",
        "",
        "### Proof of optimality (`optimizer.staffing.proof.prove`)",
        "",
        ("Lagrangian prices (the cut LP's duals of the shared span/support rows) give `L = sum_d z_d + z_S`; every "
         "staffing at least as good as the start `UB` has, in each direction, a priced cost within `UB - L` of that "
         "direction's own optimum (`rc_d - z_d <= UB - L`, the inequality in the module docstring), so every "
         "account-manager sequence whose LP bound is within that threshold is listed (LP depth-first search, HiGHS "
         "in process), and the full MILP restricted to those sequences (one binary per sequence, per-sequence cost "
         "bound; the *master*) contains every such staffing: its proven optimum is the optimum. On the largest "
         "instance each listed sequence is also checked by its direction's MILP (`exact_columns`). Master solved by "
         f"{a.master_solver}; when HiGHS does not close it its dual bound, capped at UB, is still a valid bound "
         "(column 'bound at the end'). "
         f"Each proof has {a.proof_time:g} s."
         if pf_rows else "skipped (--proof-time 0)"),
        "",
        table(PROOF_HEAD, pf_rows) if pf_rows else "",
        "",
        *[f"- {n}" for n in pf_notes],
        "",
        ("Reading: on the 12 x 6 x 7 instance the account-manager choices are not what is left: few sequences are "
         "within the threshold, and even with every direction's account managers fixed at the best staffing's "
         "(one column each) CBC does not close the MILP in 40 s (measured this session, not in the script). What "
         "remains is telesales per direction and month against the shared pools' monthly rounding; listing "
         "telesales sequences too was tried and explodes (retail alone: more than 5,500 sequences within the "
         "threshold after 100,000 LPs)."
         if pf_rows else ""),
        "",
        ("Target was *optimal in < 2 s with CBC*: **missed**. No method proves optimality on this instance within"
         if not cbc_fast else
         "Target was *optimal in < 2 s with CBC*: **met** on this instance (see the table). For the record,"),
        f"{a.time_limit:g} s (CBC or HiGHS, with cuts, floors and the best staffing as MIP start). Earlier one-off",
        "HiGHS run (commit c9f6ac2, one thread, 274 s of its clock, cuts, MIP start 4,824,231, no floors): root LP",
        "4,809,127, 4,810,227 from 180 s on, then no progress (8,900 nodes).",
        (f"The proof above closes it: **{pf_rows[-1][9]} is the proven optimum** ({pf_rows[-1][10]} s wall), far "
         "from the 2 s target." if proven12 else
         "Optimality of the best staffing is therefore **not proven** (the proof above stops where it says); the "
         "gap above is what is proven"),
        "(`python benchmarks/staffing.py --time-limit 20 --proof-seconds 600 --sweep-n 0 --no-write` runs HiGHS",
        "longer).",
        "Where the gap comes from, per direction",
        "(each direction's own MILP, shared roles priced per head; CBC, gap 1e-6):",
        "",
        table(DIR_HEAD, dir_rows),
        "",
        f"The LP relaxation of one direction is {min(gaps):.0f}-{max(gaps):.0f} % below its integer optimum. "
        "Small directions run on about",
        "one account manager: the LP buys 0.9 of one and 0.18 of a solution engineer (1 per 5 AMs, 5,500/month),",
        "the integer answer needs a whole one every month; the LP also spreads heads evenly over interchangeable",
        "months while the plan is one yearly total, so many integer month-by-month patterns cost nearly the same",
        "(a multi-month knapsack with near-symmetric items) and CBC needs up to "
        f"{max(float(str(r[4])) for r in dir_rows):.1f} s even on one direction's 48",
        "integer variables. Aggregated Chvatal-Gomory cuts over the counted months (sum of account managers /",
        "telesales >= ceil(meetings needed / capacity per head)) were measured too: same optimum, same CBC time",
        "per direction (the LP already carries them up to less than one head-month). Per-month integer",
        "rounding / Chvatal-Gomory cuts do not help here: the hull of",
        "`5 se >= am` with integer `am` is the LP row itself, and the capacity rows' hull per month is reached by",
        "the LP already; the strength has to come from the yearly total, which the per-direction cuts carry.",
        "*Free tail* (an experimental variant, `solve_milp(free_tail=True)`, not the documented semantics): the",
        "documented model requires a producer's effective headcount `n - ramp losses of earlier (back-fill) hires`",
        "to stay >= 0 in every month, so in the last `cycle_months` months, whose deals book after the horizon,",
        "each direction still keeps one account manager, one solution engineer and one telesales only to absorb",
        "the ramp loss of back-fill hires of positions it has dropped. Dropping that requirement there lowers each",
        f"direction's optimum by {min(tail):.1f}-{max(tail):.1f} % but leaves the MILP as hard; the semantics are "
        "unchanged by default.",
        "",
        "Is the expected-attrition back-fill (fractional `attrition x n[t-1]` hires, ramping) or the ramp-up what",
        "makes the MILP hard? The same instance with them switched off (a different problem, measured only to",
        f"locate the difficulty; CBC, {a.time_limit:g} s):",
        "",
        table(HARD_HEAD, hard_rows),
        "",
        ("It stays unproven without either, so the back-fill semantics are not the cause and were kept: the"
         if not any(r[4] == "optimal" for r in hard_rows) else
         "Note: some variant was proven optimal here (see the table); otherwise the reading is:"),
        "difficulty is the yearly plan over interchangeable months (a knapsack with near-identical items per",
        "direction) with fixed-charge support ratios and the shared roles' rounding on top.",
        "*Decomposition + direction LNS* (`bounds.improve_by_direction`, used by `solve_staffing`): each",
        "direction in turn re-solved exactly with the shared roles, the other directions fixed; it lets the",
        "directions fill the shared roles' rounding slack that the decomposition pays.",
        "`solve_staffing` (plain `min_cost`, several directions) runs the decomposition, the pairs, single",
        "directions and triples (`bounds.search_directions`, 30 s cap), then the exact MILP with the cuts and its",
        "staffing as MIP start for at most 5 s, and",
        "reports `stats.cost_lower_bound` and `stats.gap_to_lower_bound` (progress events carry both).",
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
        "",
        "Before (first pass, commit d8ef91b, same command): 283.8 s wall for 1000 scenarios on a heavily loaded",
        "machine, 0.201 s CPU per scenario (a PuLP model built, written as MPS and solved by a CBC process per",
        "scenario). The LP answers are the same (tests compare the template LP with the per-scenario LP).",
    ])
    if not a.no_write:
        write_section("staffing", md)
    else:
        print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
