"""Monte Carlo evaluation of a staffing: the probability of hitting plan when conversion varies.

Each draw first picks every conversion rate of every direction from a beta law with mean ``rate``
and standard deviation ``rate_sd`` (kept for the whole horizon: an uncertain parameter, not noise),
then runs the funnel month by month: the first stage's volume is what its producers can do (calls
are under the team's control), each later stage is ``Binomial(previous, rate)`` plus
``Poisson(inbound)`` at the inbound stage, capped by the capacity the staffing provides (meetings
nobody can hold are lost, no backlog). Deals book ``cycle_months`` later at ``avg_deal`` each.
Everything is vectorised over draws and months with numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from optimizer.model.staffing import FunnelStage, Probability, StaffingProblem, StaffingSolution
from optimizer.staffing.prep import Prepared, prepare


def beta_params(mean: float, sd: float) -> tuple[float, float]:
    """Beta ``(alpha, beta)`` with the given mean and standard deviation.

    The spread is capped just under the largest a beta law allows (``mean (1 - mean)``).

    Parameters
    ----------
    mean
        Mean in (0, 1).
    sd
        Standard deviation (> 0).

    Returns
    -------
    tuple of float
        The two shape parameters.
    """
    var = min(sd * sd, 0.99 * mean * (1 - mean))
    kappa = mean * (1 - mean) / var - 1.0
    return mean * kappa, (1 - mean) * kappa


def draw_rates(stage: FunnelStage, draws: int, rng: np.random.Generator) -> np.ndarray:
    """``(draws, 1)`` conversion rates of one stage (constant when ``rate_sd`` is 0)."""
    if stage.rate_sd <= 0 or stage.rate >= 1.0:
        return np.full((draws, 1), stage.rate)
    a, b = beta_params(stage.rate, stage.rate_sd)
    return rng.beta(a, b, size=(draws, 1))


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95 % by default).

    Parameters
    ----------
    successes
        Number of successes.
    n
        Number of trials (> 0).
    z
        Normal quantile of the confidence level.

    Returns
    -------
    tuple of float
        ``(low, high)``.
    """
    if n <= 0:
        return 0.0, 1.0
    phat = successes / n
    den = 1 + z * z / n
    centre = (phat + z * z / (2 * n)) / den
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def simulate_revenue(
    prep: Prepared, cap: Sequence[np.ndarray], draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Simulated revenue per draw, direction and month.

    Parameters
    ----------
    prep
        Prepared problem.
    cap
        Per direction a ``(stages, T)`` array of capacity per stage and month (inf: unlimited),
        as in :class:`optimizer.staffing.milp.MilpResult`.
    draws
        Number of draws.
    rng
        Random generator.

    Returns
    -------
    numpy.ndarray
        ``(draws, D, T)`` revenue including base revenue.
    """
    T = prep.T
    out = np.empty((draws, len(prep.dirs), T))
    for d, direction in enumerate(prep.problem.directions):
        ib = prep.inbound_index[d]
        inflow = direction.inbound_per_month
        vol = np.zeros((draws, T), dtype=np.int64)
        for k, stage in enumerate(direction.funnel):
            c = np.maximum(0.0, np.floor(np.asarray(cap[d][k], dtype=float) + 1e-6))
            if k == 0:
                if np.all(np.isfinite(c)):
                    vol = np.broadcast_to(c, (draws, T)).astype(np.int64)
                    # capacity covers inbound too; producers fill the rest of it
                    continue
                vol = np.zeros((draws, T), dtype=np.int64)
            else:
                rate = draw_rates(stage, draws, rng)
                vol = rng.binomial(vol, np.broadcast_to(rate, (draws, T))).astype(np.int64)
            if k == ib and inflow > 0:
                vol = vol + rng.poisson(inflow, size=(draws, T))
            if np.any(np.isfinite(c)):
                vol = np.minimum(vol, np.where(np.isfinite(c), c, np.iinfo(np.int64).max).astype(np.int64))
        lag = direction.cycle_months
        rev = np.broadcast_to(prep.base[d], (draws, T)).copy()
        if lag < T:
            rev[:, lag:] += direction.avg_deal * vol[:, : T - lag]
        out[:, d, :] = rev
    return out


def hit_matrix(prep: Prepared, revenue: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which draws hit plan: ``(draws,)`` overall and ``(draws, D)`` per direction."""
    plan = prep.plan
    tol = 1e-6 * max(1.0, float(plan.sum()))
    if prep.problem.plan_basis == "horizon":
        per_dir = revenue.sum(axis=2) >= plan.sum(axis=1)[None, :] - tol
        overall = revenue.sum(axis=(1, 2)) >= plan.sum() - tol
    else:
        per_dir = np.all(revenue >= plan[None, :, :] - tol, axis=2)
        overall = np.all(revenue.sum(axis=1) >= plan.sum(axis=0)[None, :] - tol, axis=1)
    return overall, per_dir


def probability(prep: Prepared, cap: Sequence[np.ndarray], draws: int = 10_000, seed: int = 0) -> Probability:
    """Monte Carlo probability of hitting plan, with a 95 % Wilson interval.

    Parameters
    ----------
    prep
        Prepared problem.
    cap
        Capacity per direction, stage and month (see :func:`simulate_revenue`).
    draws
        Number of draws.
    seed
        Random seed (same seed, same estimate).

    Returns
    -------
    Probability
        Overall (total revenue vs total plan) and per-direction estimates.
    """
    rng = np.random.default_rng(seed)
    revenue = simulate_revenue(prep, cap, draws, rng)
    overall, per_dir = hit_matrix(prep, revenue)
    hits = int(overall.sum())
    lo, hi = wilson(hits, draws)
    return Probability(
        overall=hits / draws,
        ci_low=lo,
        ci_high=hi,
        draws=draws,
        per_direction={d: float(per_dir[:, i].mean()) for i, d in enumerate(prep.dirs)},
        per_direction_ci={d: wilson(int(per_dir[:, i].sum()), draws) for i, d in enumerate(prep.dirs)},
    )


def capacities_from_solution(prep: Prepared, solution: StaffingSolution) -> list[np.ndarray]:
    """Capacity per direction, stage and month implied by a solution's headcount rows.

    Direction roles give ``per_month x effective``; a shared pool is split between directions in
    proportion to the solution's funnel volume of that stage (evenly where it is zero).

    Parameters
    ----------
    prep
        Prepared problem the solution answers.
    solution
        A staffing solution (e.g. read back from JSON or edited by hand).

    Returns
    -------
    list of numpy.ndarray
        Per direction a ``(stages, T)`` array (inf where no role produces the stage).
    """
    T = prep.T
    eff: dict[tuple[str, str], np.ndarray] = {}
    for r in solution.headcount:
        eff.setdefault((r.role, r.direction), np.zeros(T))[r.month - 1] = r.effective
    vol: dict[tuple[str, str], np.ndarray] = {}
    for f in solution.funnel:
        vol.setdefault((f.direction, f.stage), np.zeros(T))[f.month - 1] = f.volume
    caps = []
    for direction in prep.problem.directions:
        cap = np.full((len(direction.funnel), T), np.inf)
        for k, st in enumerate(direction.funnel):
            prods = prep.producers.get(st.stage, [])
            if not prods:
                continue
            c = np.zeros(T)
            for rid in prods:
                role = prep.roles[rid]
                per = role.produces.per_month  # type: ignore[union-attr]
                if role.scope == "direction":
                    c = c + per * np.maximum(eff.get((rid, direction.id), np.zeros(T)), 0.0)
                else:
                    pool = per * np.maximum(eff.get((rid, "*"), np.zeros(T)), 0.0)
                    users = [d for d in prep.problem.directions if st.stage in {s.stage for s in d.funnel}]
                    tot = np.sum([vol.get((d.id, st.stage), np.zeros(T)) for d in users], axis=0)
                    mine = vol.get((direction.id, st.stage), np.zeros(T))
                    share = np.where(tot > 1e-9, mine / np.where(tot > 1e-9, tot, 1.0), 1.0 / len(users))
                    c = c + pool * share
            cap[k] = c
        caps.append(cap)
    return caps


def evaluate_staffing(
    problem: StaffingProblem, solution: StaffingSolution, draws: int = 10_000, seed: int = 0
) -> Probability:
    """Monte Carlo probability that a given staffing hits the problem's plan.

    Parameters
    ----------
    problem
        The staffing problem (its plan, funnel and uncertainty).
    solution
        The staffing to evaluate (headcount rows with ``effective``; funnel rows split shared pools).
    draws
        Number of draws.
    seed
        Random seed.

    Returns
    -------
    Probability
        Overall and per-direction estimates with a 95 % interval.
    """
    prep = prepare(problem)
    return probability(prep, capacities_from_solution(prep, solution), draws, seed)
