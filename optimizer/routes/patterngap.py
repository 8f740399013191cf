"""Joint pattern re-assignment of a region of outlets (a generalised assignment MIP), for the
whole-horizon groups whose days are packed close to the fleet capacity.

On the mixed Cordeau instances (p02, p05, p10, pr05-pr10) the days run at 77-95 % of the fleet
capacity, so a single pattern change seldom fits and the single-outlet moves stall at a local
optimum. Here a region of related outlets (the nearest ones to a random seed outlet) is taken out
with all its visits, and their patterns, days and vehicles are chosen *jointly* by a small MIP
(Fisher-Jaikumar style generalised assignment extended to patterns): each outlet takes one
allowed pattern and, on each day of it, one vehicle; every vehicle keeps its capacity and visit
limit (with the load of the outlets left in place); the cost of an outlet on a vehicle is its
cheapest insertion into that vehicle's current route (the outlet itself taken out), with a small
random noise for diversity. Capacity is exact per vehicle, so the coordinated changes a tight
horizon needs (one outlet leaves a day so that another can join it) are one step. The caller
inserts the region on the chosen patterns and vehicles and re-routes the horizon with the
whole-horizon VRP, which judges the result (:func:`optimizer.routes.solver.gap_candidate`).
"""

from __future__ import annotations

import random

import numpy as np
from scipy.optimize import LinearConstraint, milp
from scipy.sparse import coo_matrix

from optimizer.routes.periodic import MAX_CHECKS, Plan

#: Patterns per outlet offered to the MIP (the cheapest by estimated cost).
GAP_MAX_PATTERNS = 12
#: MIP time limit (seconds).
GAP_MIP_SECONDS = 2.0
#: Cost of an outlet on a vehicle: its mean distance to the outlets of that route (a cluster
#: affinity, as the seed distances of Fisher-Jaikumar) instead of its cheapest insertion. The
#: insertion costs keep every pattern at the local optimum the search stalls in (p02: no change
#: in 10 draws); the affinity proposes genuinely new packings (p02 from 1,389.28: 1,377.5-1,425 at 2.5 s).
CLUSTER_COSTS = True


def region(plan: Plan, rng: random.Random, lo: float = 0.3, hi: float = 0.6) -> list[int]:
    """A random seed outlet and its nearest outlets: a share in ``[lo, hi]`` of the fully planned required ones."""
    g = plan.g
    pool = [o for o in range(g.n) if not g.optional[o] and plan.missing(o) == 0 and plan.pattern[o] is not None]
    if not pool:
        return []
    seed_o = pool[rng.randrange(len(pool))]
    size = max(2, round(len(pool) * rng.uniform(lo, hi)))
    return sorted(pool, key=lambda x: float(plan.cmat[seed_o, x]))[:size]


def _insertion_cost(plan: Plan, o: int, kd: tuple[int, int], skip: set[int]) -> float:
    g = plan.g
    v = g.vehicles[kd]
    seq = [x for x in plan.routes[kd] if x != o and x not in skip]
    if CLUSTER_COSTS:
        return float(np.mean(plan.cmat[o, seq])) if seq else 2.0 * float(plan.cmat[v.start_node, o])
    nodes = np.array([v.start_node, *seq, v.end_node])
    a, b = nodes[:-1], nodes[1:]
    return float(np.min(plan.cmat[a, o] + plan.cmat[o, b] - plan.cmat[a, b]))


def assign_region(plan: Plan, outs: list[int], rng: random.Random, noise: float = 0.1, forbid: int = 0,
                  ruin_costs: bool = False) -> dict[int, tuple[tuple[int, ...], dict[int, int]]] | None:
    """Choose the pattern and, per day, the vehicle of every outlet of ``outs`` jointly.

    Parameters
    ----------
    plan
        The current plan (not changed).
    outs
        Required outlets, fully planned, to re-assign; every other outlet keeps its vehicles.
    rng
        Source of the cost noise.
    noise
        Relative noise on each insertion cost (diversity between calls).
    forbid
        The first ``forbid`` outlets of ``outs`` with a pattern choice must leave their current
        pattern (a perturbation: at a local optimum the estimate keeps every pattern).
    ruin_costs
        Insertion costs into the routes without any outlet of ``outs`` (default: without the
        outlet itself only).

    Returns
    -------
    dict or None
        outlet -> (pattern, {day: vehicle}), or None when the MIP found no assignment.
    """
    g = plan.g
    rset = set(outs)
    kds = sorted(plan.routes)
    load = {kd: sum(g.demand[x] for x in plan.routes[kd] if x not in rset) for kd in kds}
    count = {kd: sum(1 for x in plan.routes[kd] if x not in rset) for kd in kds}
    by_day: dict[int, list[tuple[int, int]]] = {}
    for kd in kds:
        by_day.setdefault(kd[1], []).append(kd)
    cost: list[float] = []
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    lb: list[float] = []
    ub: list[float] = []
    x_var: dict[tuple[int, tuple[int, ...]], int] = {}
    y_var: dict[tuple[int, tuple[int, int]], int] = {}
    cap_rows: dict[tuple[int, int], list[tuple[int, float]]] = {kd: [] for kd in kds}
    cnt_rows: dict[tuple[int, int], list[int]] = {kd: [] for kd in kds}

    def new_row(lo_b: float, hi_b: float) -> int:
        lb.append(lo_b)
        ub.append(hi_b)
        return len(lb) - 1

    skip = rset if ruin_costs else set()
    forced = [o for o in outs if len(g.patterns[o]) > 1][:forbid]
    for o in outs:
        ins = {kd: _insertion_cost(plan, o, kd, skip) * (1.0 + noise * rng.uniform(-1.0, 1.0))
               for d in {d for p in g.patterns[o] for d in p} for kd in by_day.get(d, [])
               if kd[0] in g.eligible[o]}
        best_day = {d: min((ins[kd] for kd in by_day.get(d, []) if kd in ins), default=float("inf"))
                    for d in {d for p in g.patterns[o] for d in p}}
        pats = [p for p in g.patterns[o] if all(best_day[d] < float("inf") for d in p)]
        cur = plan.pattern[o]
        if o in forced:
            pats = [p for p in pats if p != cur]
        pats = sorted(pats, key=lambda p: (p != cur, sum(best_day[d] for d in p)))[:GAP_MAX_PATTERNS]
        if not pats:
            return None
        r_one = new_row(1.0, 1.0)
        for p in pats:
            x_var[(o, p)] = len(cost)
            cost.append(0.0)
            rows.append(r_one)
            cols.append(x_var[(o, p)])
            vals.append(1.0)
        for d in sorted({d for p in pats for d in p}):
            r_link = new_row(0.0, 0.0)
            for p in pats:
                if d in p:
                    rows.append(r_link)
                    cols.append(x_var[(o, p)])
                    vals.append(-1.0)
            for kd in by_day[d]:
                if kd not in ins:
                    continue
                j = len(cost)
                y_var[(o, kd)] = j
                cost.append(ins[kd])
                rows.append(r_link)
                cols.append(j)
                vals.append(1.0)
                cap_rows[kd].append((j, g.demand[o]))
                cnt_rows[kd].append(j)
    for kd in kds:
        v = g.vehicles[kd]
        if v.capacity is not None and cap_rows[kd]:
            r = new_row(-np.inf, max(0.0, v.capacity - load[kd]) + 1e-9)
            for j, q in cap_rows[kd]:
                rows.append(r)
                cols.append(j)
                vals.append(q)
        if v.max_visits is not None and cnt_rows[kd]:
            r = new_row(-np.inf, float(max(0, v.max_visits - count[kd])))
            for j in cnt_rows[kd]:
                rows.append(r)
                cols.append(j)
                vals.append(1.0)
    n = len(cost)
    a = coo_matrix((vals, (rows, cols)), shape=(len(lb), n)).tocsr()
    res = milp(np.asarray(cost), constraints=LinearConstraint(a, np.asarray(lb), np.asarray(ub)),
               integrality=np.ones(n), bounds=(0, 1), options={"time_limit": GAP_MIP_SECONDS, "disp": False})
    if res.x is None:
        return None
    xs = res.x
    out: dict[int, tuple[tuple[int, ...], dict[int, int]]] = {}
    for (o, p), j in x_var.items():
        if xs[j] > 0.5:
            out[o] = (p, {})
    for (o, kd), j in y_var.items():
        if xs[j] > 0.5 and o in out and kd[1] in out[o][0]:
            out[o][1][kd[1]] = kd[0]
    if len(out) != len(outs):
        return None
    return out


def insert_on(plan: Plan, o: int, k: int, d: int) -> bool:
    """Insert outlet ``o`` into vehicle ``k``'s route of day ``d`` at its cheapest exactly feasible position."""
    g = plan.g
    v = g.vehicles[(k, d)]
    seq = plan.routes[(k, d)]
    nodes = np.array([v.start_node, *seq, v.end_node])
    a, b = nodes[:-1], nodes[1:]
    delta = plan.cmat[a, o] + plan.cmat[o, b] - plan.cmat[a, b]
    for p in np.argsort(delta, kind="stable")[:MAX_CHECKS]:
        new = [*seq[: int(p)], o, *seq[int(p):]]
        s = plan.timed(k, d, new)
        if s is not None:
            plan.set_route(k, d, new, s)
            return True
    return False


def rebuild_region(plan: Plan, outs: list[int], rng: random.Random, noise: float = 0.1, forbid: int = 0,
                   ruin_costs: bool = False) -> bool:
    """Take ``outs`` out and put them back on the patterns and vehicles of :func:`assign_region`.

    Visits that do not fit their chosen vehicle go to the cheapest feasible one of that day, else
    stay missing (on the chosen pattern) for the whole-horizon VRP to insert. False (plan
    unchanged) when the MIP found nothing or an outlet cannot be taken out.
    """
    choice = assign_region(plan, outs, rng, noise, forbid, ruin_costs)
    if choice is None or all(plan.pattern[o] == choice[o][0] and plan.where[o] == choice[o][1] for o in outs):
        return False
    snap = plan.snapshot()
    for o in outs:
        if not plan.remove(o):
            plan.restore(snap)
            return False
    g = plan.g
    for o in sorted(outs, key=lambda o: (-g.visits[o], -g.demand[o])):
        p, veh = choice[o]
        for d in p:
            if not insert_on(plan, o, veh[d], d):
                ins = plan.best_insertion(o, d)
                if ins is not None:
                    plan.apply(o, d, ins)
        plan.pattern[o] = p
    return True
