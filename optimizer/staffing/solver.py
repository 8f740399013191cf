"""``solve_staffing``: size the sales organisation, explain the answer, estimate its odds."""

from __future__ import annotations

from typing import Any

import numpy as np

from optimizer.model.staffing import StaffingProblem, StaffingSolution
from optimizer.progress import ProgressCallback, Reporter
from optimizer.staffing import report
from optimizer.staffing.milp import MilpResult, pick_solver, solve_best, solve_milp
from optimizer.staffing.montecarlo import probability
from optimizer.staffing.prep import Prepared, prepare
from optimizer.staffing.service import size_for_service_level

SHADOW_METHOD = (
    "LP relaxation: dual of each plan row (budget row for max_revenue) x 1 % of it; "
    "the marginal cost of the plan with fractional headcount, an estimate of the integer step"
)
EXACT_CAP_S = 10.0


def solve_staffing(
    problem: StaffingProblem,
    *,
    time_limit: float | None = 60.0,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    details: bool = True,
) -> StaffingSolution:
    """Headcount and hiring per role, direction and month.

    Parameters
    ----------
    problem
        A validated staffing problem.
    time_limit
        Seconds for the whole solve (the MILP gets what is left; extras are skipped when time is out).
        None: no overall limit, but each phase keeps its own cap (the search over pairs and single
        directions 30 s, the exact MILP 10 s, 5 s after the search), so the call still ends: an exact
        MILP without caps does not close in 10 minutes on a year x six directions (``benchmarks/RESULTS.md``,
        sections ``staffing-proof`` and ``staffing-frontier``).
    seed
        Seed of the Monte Carlo draws and of HiGHS (same seed, same answer).
    progress
        Progress callback; return False to stop (the best answer so far is returned).
    details
        Compute shadow prices and the Monte Carlo probability (scenario sweeps switch it off).

    Returns
    -------
    StaffingSolution
        ``status`` optimal/feasible, or ``infeasible`` with ``diagnosis`` (never an exception for an
        unreachable plan), headcount rows, funnel, attainment, utilisation, binding constraints,
        bottleneck, shadow prices, norms and probability.
    """
    rep = Reporter(progress, time_limit)
    prep = prepare(problem)
    solver = pick_solver(problem.solver)
    stats: dict[str, Any] = {"solver": solver, "solves": 0}
    rep.update("milp", message="sizing", force=True)

    def tl() -> float | None:
        # what is really left: solve_best gives a running solve at least half a second itself, so a floor here
        # would let it start new phases after the user's limit
        left = rep.time_left()
        return None if left == float("inf") else max(1e-3, left)

    def run(**kw: Any) -> MilpResult:
        """Fix-and-relax heuristic only (diagnosis, what-ifs)."""
        stats["solves"] += 1
        return solve_best(prep, solver=solver, seed=seed, time_limit=tl(), exact=False, **kw)

    def on_best(r: MilpResult, bound: float | None) -> bool:
        """Progress: each new best staffing (cost) and the best lower bound known; False once a stop is asked."""
        return rep.update("milp", best=round(r.cost, 2), bound=None if bound is None else round(bound, 2),
                          message=r.method, force=True)

    def run_exact(**kw: Any) -> MilpResult:
        """Heuristic, then the exact MILP for up to EXACT_CAP_S seconds."""
        stats["solves"] += 2
        return solve_best(prep, solver=solver, seed=seed, time_limit=tl(), exact=details,
                          exact_time_limit=EXACT_CAP_S, on_best=on_best if kw.get("mode") == "min_cost" else None,
                          **kw)

    frontier = []
    prob = None
    factors = np.ones(len(prep.dirs))
    diagnosis: list[dict[str, Any]] = []
    if problem.objective == "min_cost" and problem.service_level is not None:
        sres = size_for_service_level(prep, problem.service_level, reporter=rep, seed=seed, solver=solver,
                                      draws=min(4000, max(500, problem.mc_draws)), out_draws=max(1, problem.mc_draws))
        stats["solves"] += sres.solves
        frontier = sres.frontier
        prob = sres.out_of_sample
        stats["service_level"] = {
            "target": problem.service_level,
            "reached": sres.reached,
            "plan_factors": {d: round(float(f), 4) for d, f in zip(prep.dirs, sres.factors, strict=True)},
            "in_sample_probability": round(sres.in_sample, 4),
            "method": "search over plan margins guided by Monte Carlo (common random numbers), "
            "probability re-estimated out of sample",
        }
        res = sres.result if sres.result is not None else MilpResult("infeasible")
        factors = np.asarray(sres.factors, dtype=float)
        if not sres.reached and res.ok:
            diagnosis.append({"constraint": "service_level", "target": problem.service_level,
                              "best_probability": round(sres.in_sample, 4),
                              "detail": "no staffing found reaches the target within the limits"})
    elif problem.objective == "min_cost":
        res = run_exact(mode="min_cost")
    else:
        first = run_exact(mode="max_revenue")
        res = first
        if first.ok and not rep.should_stop:
            total = float(first.rev.sum())
            second = run_exact(mode="max_revenue", revenue_floor=total - 1e-6 * max(1.0, abs(total)))
            if second.ok:
                if first.status != "optimal":
                    second.status = "feasible"  # least cost for a revenue not proven maximal
                res = second
    stats["milp_runtime_s"] = round(res.runtime, 4)
    stats["method"] = res.method
    if res.ok and res.lower_bound is not None and res.lower_bound > 0:
        stats["cost_lower_bound"] = round(res.lower_bound, 2)
        stats["gap_to_lower_bound"] = round(max(0.0, res.cost - res.lower_bound) / res.lower_bound, 6)

    status = res.status
    if not res.ok:
        if res.status == "no_solution" and rep.should_stop:
            return _empty(prep, "no_solution", stats, rep)
        rep.update("diagnosis", message="plan unreachable: diagnosing", force=True)
        res, diagnosis = _diagnose(prep, run, rep)
        status = "infeasible"
        if not res.ok:
            return _empty(prep, "infeasible", stats, rep, diagnosis)

    budget = problem.budget
    sol_binding = report.binding(prep, res, budget)
    bottleneck = report.bottleneck(prep, res)
    if status == "infeasible" and diagnosis:
        top = next((d for d in diagnosis if d.get("shortfall_recovered", 0) > 0), None)
        if top is not None:
            bottleneck = str(top["constraint"])
    shadow: dict[str, float] = {}
    if details and status in ("optimal", "feasible") and not rep.should_stop:
        rep.update("shadow", message="shadow prices", force=True)
        shadow = _shadow_prices(prep, res, run, rep, stats, factors)
    if details and prob is None and problem.mc_draws > 0 and not rep.should_stop:
        rep.update("montecarlo", message=f"{problem.mc_draws} draws", force=True)
        prob = probability(prep, res.cap, problem.mc_draws, seed)
    objective: float | None
    if status == "infeasible":
        objective = None
    elif problem.objective == "max_revenue":
        objective = round(float(res.rev.sum()), 2)
    else:
        objective = round(res.cost, 2)
    stats["runtime_s"] = round(rep.elapsed(), 4)
    stats["shadow_price_method"] = SHADOW_METHOD
    stats["revenue"] = round(float(res.rev.sum()), 2)
    stats["plan"] = round(float(prep.plan.sum()), 2)
    if status == "optimal" and stats.get("service_level"):
        status = "feasible"  # the probability is a Monte Carlo estimate, optimality is not proven
    rep.update("done", best=objective, force=True,
               bound=stats.get("cost_lower_bound") if problem.objective == "min_cost" else None)
    return StaffingSolution(
        status=status,  # type: ignore[arg-type]
        objective=objective,
        headcount=report.headcount_rows(prep, res),
        cost=round(res.cost, 2),
        funnel=report.funnel_rows(prep, res),
        attainment=report.attainment_rows(prep, res),
        utilisation=report.utilisation(prep, res),
        bottleneck=bottleneck,
        binding=sol_binding,
        shadow_prices=shadow,
        norms=report.norms(prep, res),
        diagnosis=diagnosis,
        probability=prob,
        frontier=frontier,
        stats=stats,
    )


def _empty(prep: Prepared, status: str, stats: dict[str, Any], rep: Reporter,
           diagnosis: list[dict[str, Any]] | None = None) -> StaffingSolution:
    stats["runtime_s"] = round(rep.elapsed(), 4)
    return StaffingSolution(status=status, objective=None, headcount=[], cost=0.0,  # type: ignore[arg-type]
                            diagnosis=diagnosis or [], stats=stats)


def _shadow_prices(prep: Prepared, res: MilpResult, run: Any, rep: Reporter, stats: dict[str, Any],
                   factors: np.ndarray) -> dict[str, float]:
    """Cost of +1 % plan (min_cost) or revenue of +1 % budget (max_revenue), from LP duals.

    ``factors`` are the plan multipliers the answer was sized for (service-level sizing), so the
    price is that of 1 % more on the same margins.
    """
    p = prep.problem
    out: dict[str, float] = {}
    stats["solves"] += 1
    tl = rep.time_left()
    if p.objective == "max_revenue":
        lp = solve_milp(prep, mode="max_revenue", integer=False, solver=pick_solver(p.solver),
                        time_limit=None if tl == float("inf") else max(0.5, tl))
        if lp.ok and "budget" in lp.plan_duals and p.budget is not None:
            out["budget+1%"] = round(lp.plan_duals["budget"] * 0.01 * p.budget, 2)
        return out
    lp = solve_milp(prep, mode="min_cost", integer=False, plan_factor=factors, solver=pick_solver(p.solver),
                    time_limit=None if tl == float("inf") else max(0.5, tl))
    if not lp.ok:
        stats["shadow_note"] = "the LP relaxation could not be solved"
        return out
    total = 0.0
    for d, did in enumerate(prep.dirs):
        price = lp.plan_duals.get(did, 0.0) * 0.01 * float(prep.plan[d].sum() * factors[d])
        total += price
        if len(prep.dirs) > 1:
            out[f"plan+1%:{did}"] = round(price, 2)
    out["plan+1%"] = round(total, 2)
    return out


def _diagnose(prep: Prepared, run: Any, rep: Reporter) -> tuple[MilpResult, list[dict[str, Any]]]:
    """Most revenue reachable toward plan and what blocks the rest.

    Re-solves with the plan made soft (least shortfall, then least cost), then once per constraint
    family with that family switched off; a family "blocks" the amount of shortfall its removal
    recovers.
    """
    p = prep.problem
    plan_total = float(prep.plan.sum())
    base = run(mode="shortfall")
    diag: list[dict[str, Any]] = []
    if not base.ok:
        floor = run(mode="min_cost", relax=("budget",), plan_factor=np.zeros(len(prep.dirs)))
        item: dict[str, Any] = {"constraint": "budget",
                                "detail": "the budget does not cover the least possible staffing"}
        if floor.ok:
            item["least_cost"] = round(floor.cost, 2)
            item["budget"] = p.budget
        return base, [item]
    s0 = base.shortfall
    staffing = run(mode="shortfall", shortfall_cap=s0 + 1e-6 * max(1.0, plan_total))
    if not staffing.ok:
        staffing = base
    diag.append({
        "constraint": "plan",
        "plan": round(plan_total, 2),
        "reachable": round(plan_total - s0, 2),
        "shortfall": round(s0, 2),
        "revenue_of_best_staffing": round(float(staffing.rev.sum()), 2),
        "detail": f"at most {plan_total - s0:,.0f} of the plan {plan_total:,.0f} can be reached",
    })
    families: list[tuple[str, tuple[str, ...], str]] = []
    if p.budget is not None:
        families.append(("budget", ("budget",), f"budget {p.budget:,.0f}"))
    for r in p.roles:
        if r.max_hires_per_month is not None:
            families.append((f"hiring limit of {r.id}", (f"hiring:{r.id}",),
                             f"at most {r.max_hires_per_month} hires/month"))
        if r.max_headcount is not None:
            families.append((f"max headcount of {r.id}", (f"max_headcount:{r.id}",), f"at most {r.max_headcount}"))
    if any(any(x < 1 for x in r.ramp) for r in p.roles):
        families.append(("ramp-up", ("ramp",), "new hires are not fully productive at once"))
    lags = {d.id: d.cycle_months for d in p.directions if d.cycle_months > 0}
    if lags:
        families.append(("cycle lag", ("lag",), "deals book months after the activity: " + ", ".join(
            f"{k} {v} months (activity after month {p.months - v} books after the horizon)" for k, v in lags.items())))
    all_relax: set[str] = set()
    tol = 1e-6 * max(1.0, plan_total)
    for name, relax, detail in families:
        if rep.should_stop:
            break
        all_relax.update(relax)
        alt = run(mode="shortfall", relax=relax)
        if not alt.ok:
            continue
        rec = s0 - alt.shortfall
        item = {"constraint": name, "detail": detail, "shortfall_recovered": round(max(0.0, rec), 2),
                "alone_sufficient": bool(alt.shortfall <= tol)}
        if relax[0].startswith("hiring:"):
            rid = relax[0].split(":", 1)[1]
            role = prep.roles[rid]
            tot = np.sum([staffing.h[(rid, g)] for g in prep.groups[rid]], axis=0)
            tight = [t for t in range(prep.T) if tot[t] >= (role.max_hires_per_month or 0) - 1e-9]
            item["months"] = report.months_text(tight)
        if name == "cycle lag" and p.plan_basis == "monthly":
            item["months"] = "1-" + str(max(lags.values())) if max(lags.values()) > 0 else ""
        diag.append(item)
    if len(families) > 1 and all_relax and not rep.should_stop:
        alt = run(mode="shortfall", relax=tuple(sorted(all_relax)))
        if alt.ok:
            diag.append({"constraint": "all of the above together",
                         "shortfall_recovered": round(max(0.0, s0 - alt.shortfall), 2),
                         "alone_sufficient": bool(alt.shortfall <= tol)})
            if alt.shortfall > tol:
                diag.append({"constraint": "funnel", "shortfall_remaining": round(alt.shortfall, 2),
                             "detail": "even without these limits the funnel (inbound leads, minimum/maximum "
                             "headcounts, structure) cannot produce the plan"})
    elif not families:
        diag.append({"constraint": "funnel", "shortfall_remaining": round(s0, 2),
                     "detail": "the funnel (inbound leads, stages no role produces, headcount limits) "
                     "cannot produce the plan"})
    head, rest = diag[:1], diag[1:]
    rest.sort(key=lambda d: -float(d.get("shortfall_recovered", 0.0)))
    return staffing, head + rest
