"""Service-level sizing: the cheapest staffing whose probability of hitting plan is at least p.

Method: a search over the plan the deterministic MILP is sized for, guided by the Monte Carlo
estimate. The MILP is solved for ``plan x phi``; the staffing's probability of hitting the *true*
plan is estimated on a fixed set of draws (common random numbers, so estimates of nearby stafings
are comparable); ``phi`` is bracketed by doubling the margin and then bisected; finally each
direction's factor is lowered on its own while the estimate stays at or above ``p`` (directions
with steadier funnels need less margin). Every MILP here takes well under a second, so the whole
search takes seconds, against minutes for a scenario-based chance-constrained MIP. The answer's
probability is then re-estimated *out of sample* on independent draws and reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optimizer.model.staffing import FrontierPoint, Probability
from optimizer.progress import Reporter
from optimizer.staffing.milp import MilpResult, solve_best
from optimizer.staffing.montecarlo import hit_matrix, probability, simulate_revenue
from optimizer.staffing.prep import Prepared


@dataclass
class ServiceResult:
    """Outcome of :func:`size_for_service_level`."""

    result: MilpResult | None
    factors: np.ndarray
    in_sample: float
    out_of_sample: Probability | None
    frontier: list[FrontierPoint] = field(default_factory=list)
    solves: int = 0
    reached: bool = False


def _in_sample(prep: Prepared, res: MilpResult, draws: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    overall, _ = hit_matrix(prep, simulate_revenue(prep, res.cap, draws, rng))
    return float(overall.mean())


def _headcount(res: MilpResult) -> int:
    return int(sum(v.max() for v in res.n.values()))


def size_for_service_level(
    prep: Prepared,
    target: float,
    *,
    reporter: Reporter | None = None,
    draws: int = 4000,
    out_draws: int = 10_000,
    seed: int = 0,
    solver: str = "auto",
    max_factor: float = 4.0,
    tol: float = 0.005,
) -> ServiceResult:
    """Cheapest staffing with Monte Carlo P(hit plan) >= ``target``.

    Parameters
    ----------
    prep
        Prepared problem (objective ``min_cost``).
    target
        Probability to reach, in (0, 1).
    reporter
        Deadline and stop requests; the search returns its best answer so far when it fires.
    draws
        In-sample draws used to steer the search.
    out_draws
        Independent draws for the reported out-of-sample probability.
    seed
        Seed of the in-sample draws (the out-of-sample ones use another stream).
    solver
        MILP solver name.
    max_factor
        Largest plan multiplier tried.
    tol
        Bisection stops when the bracket on the factor is this narrow.

    Notes
    -----
    The in-sample estimate must clear ``target`` plus one standard error of a ``draws``-draw
    estimate, so that the reported out-of-sample probability is not systematically just below it.

    Returns
    -------
    ServiceResult
        The staffing, its factors, in- and out-of-sample probabilities and the frontier.
    """
    rep = reporter or Reporter(None, None)
    D = len(prep.dirs)
    goal = target
    # steer to one standard error above the target so the out-of-sample estimate lands on it
    target = min(0.999, goal + float(np.sqrt(goal * (1 - goal) / max(1, draws))))
    evaluated: dict[tuple[float, ...], tuple[MilpResult, float]] = {}
    solves = 0

    def run(f: np.ndarray) -> tuple[MilpResult, float]:
        nonlocal solves
        key = tuple(np.round(f, 6))
        if key not in evaluated:
            tl = rep.time_left()
            res = solve_best(prep, mode="min_cost", plan_factor=f, solver=solver, seed=seed, exact=False, fast=True,
                             time_limit=None if tl == float("inf") else max(1.0, tl), gap=1e-6)
            solves += 1
            pr = _in_sample(prep, res, draws, seed) if res.ok else -1.0
            evaluated[key] = (res, pr)
            rep.update("service_level", best=res.cost if res.ok else None,
                       message=f"plan x {f.max():.3f}: P={pr:.3f}", )
        return evaluated[key]

    ones = np.ones(D)
    lo, hi = 1.0, None
    res, pr = run(ones)
    best: tuple[np.ndarray, MilpResult, float] | None = (ones, res, pr) if res.ok and pr >= target else None
    if best is None:
        if not res.ok:
            return ServiceResult(None, ones, 0.0, None, solves=solves)
        phi = 1.0
        step = 0.25
        while phi < max_factor and not rep.should_stop:
            trial_phi = min(max_factor, phi + step)
            res, pr = run(ones * trial_phi)
            if not res.ok:
                # beyond what the limits allow: look between the last feasible factor and this one
                if step <= tol:
                    break
                step /= 4
                continue
            phi = trial_phi
            if pr >= target:
                hi = phi
                best = (ones * phi, res, pr)
                break
            lo = phi
            step *= 2
        while hi is not None and hi - lo > tol and not rep.should_stop:
            mid = (lo + hi) / 2
            res, pr = run(ones * mid)
            if res.ok and pr >= target:
                hi = mid
                if best is None or res.cost <= best[1].cost:
                    best = (ones * mid, res, pr)
            else:
                lo = mid
    if best is not None and D > 1:
        # per-direction descent: lower one direction's margin while the target still holds
        f = best[0].copy()
        for delta in (0.08, 0.04, 0.02, 0.01):
            for d in range(D):
                if rep.should_stop:
                    break
                while f[d] - delta >= 1.0 - 1e-9:
                    trial = f.copy()
                    trial[d] -= delta
                    res, pr = run(trial)
                    if res.ok and pr >= target and res.cost < best[1].cost - 1e-6:
                        f = trial
                        best = (trial, res, pr)
                    else:
                        break
    points = sorted(
        ((k, r, p) for k, (r, p) in evaluated.items() if r.ok), key=lambda x: x[1].cost
    )
    frontier: list[FrontierPoint] = []
    top = -1.0
    for k, r, p in points:
        if p > top:  # keep the efficient points: more cost buys more probability
            top = p
            frontier.append(FrontierPoint(plan_factor=round(max(k), 4), cost=round(r.cost, 2),
                                          probability=round(p, 4), headcount=_headcount(r)))
    if best is None:
        # target not reached: hand back the most likely staffing found
        k, r, p = max(points, key=lambda x: (x[2], -x[1].cost))
        oos = probability(prep, r.cap, out_draws, seed + 7919)
        return ServiceResult(r, np.asarray(k), p, oos, frontier, solves, False)
    oos = probability(prep, best[1].cap, out_draws, seed + 7919)
    return ServiceResult(best[1], best[0], best[2], oos, frontier, solves, True)
