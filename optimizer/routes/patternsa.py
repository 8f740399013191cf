"""Simulated annealing over day patterns with penalised capacity and route length (CGL-style moves).

The pattern moves of :class:`~optimizer.routes.periodic.Plan` keep every route feasible, so where
the days are packed to capacity (Cordeau PVRP) an outlet can only change pattern by opening a
new route, and the search stalls. Here, as in Cordeau, Gendreau and Laporte (1997), a move
changes one outlet's pattern: its visits leave the days of the old pattern (removal gain) and
are inserted at the cheapest position of any vehicle on each day of the new pattern, and load
or route time over the limits is allowed at a penalty whose weight adapts to keep about half
of the visited states feasible. The best feasible state (zero excess) is returned; the caller
times it exactly and polishes it with the whole-horizon VRP.

Only groups without time windows and breaks are annealed (route time is then travel plus
service, exactly additive).
"""

from __future__ import annotations

import math
import random
import time

import numpy as np

from optimizer.routes.periodic import Plan

#: Routes changed by moves before they are re-optimised by 2-opt.
REOPT_EVERY = 8


def sa_applicable(plan: Plan) -> bool:
    """True when the group has no windows and no breaks and some required outlet has a pattern choice."""
    g = plan.g
    if any(g.windows[o] for o in range(g.n)) or any(v.brk is not None for v in g.vehicles.values()):
        return False
    return bool(_movable(plan))


def _movable(plan: Plan) -> list[int]:
    g = plan.g
    out = []
    for o in range(g.n):
        if g.optional[o] or plan.pattern[o] is None or plan.missing(o) or len(g.patterns[o]) < 2:
            continue
        if any(len(g.eligible[o]) != len(plan.by_day.get(d, [])) for d in plan.pattern[o] or ()):
            continue  # some vehicle of a day may not serve it: keep the plain moves
        out.append(o)
    return out


def two_opt(seq: list[int], s: int, e: int, C: np.ndarray) -> list[int]:
    """First-improvement 2-opt of one route on a symmetric cost matrix (start ``s``, end ``e``)."""
    nodes = [s, *seq, e]
    n = len(nodes)
    improved = True
    while improved:
        improved = False
        for i in range(n - 3):
            a, b = nodes[i], nodes[i + 1]
            cab = C[a, b]
            for j in range(i + 2, n - 1):
                c, d = nodes[j], nodes[j + 1]
                if C[a, c] + C[b, d] < cab + C[c, d] - 1e-9:
                    nodes[i + 1: j + 1] = nodes[i + 1: j + 1][::-1]
                    improved = True
                    break
            if improved:
                break
    return nodes[1:-1]


def anneal_patterns(
    plan: Plan, time_limit: float, rng: random.Random
) -> tuple[dict[tuple[int, int], list[int]], dict[int, tuple[int, ...]], float] | None:
    """Anneal the patterns of the movable outlets of ``plan`` (the plan itself is not changed).

    Parameters
    ----------
    plan
        The current plan (feasible); its routes are the start.
    time_limit
        Seconds.
    rng
        Random source (moves, acceptance).

    Returns
    -------
    tuple or None
        The best feasible state found when it beats the start: routes per (vehicle, day), the new
        pattern of each moved outlet, and its cost (sum of route costs); None otherwise.
    """
    g = plan.g
    movable = _movable(plan)
    if not movable:
        return None
    deadline = time.monotonic() + time_limit
    C = plan.cmat
    T = g.tmat
    routes = {kd: list(seq) for kd, seq in plan.routes.items()}
    cap = {kd: (v.capacity if v.capacity is not None else math.inf) for kd, v in g.vehicles.items()}
    tlim = {
        kd: min(v.shift_end - v.shift_start, v.max_route_minutes if v.max_route_minutes is not None else math.inf)
        for kd, v in g.vehicles.items()
    }
    vmax = {kd: (v.max_visits if v.max_visits is not None else 10**9) for kd, v in g.vehicles.items()}
    ends = {kd: (v.start_node, v.end_node) for kd, v in g.vehicles.items()}
    dem = np.asarray(g.demand, dtype=float)
    svc = np.asarray(g.service, dtype=float)

    def route_stats(kd: tuple[int, int], seq: list[int]) -> tuple[float, float, float]:
        s, e = ends[kd]
        nodes = [s, *seq, e]
        a, b = nodes[:-1], nodes[1:]
        return float(C[a, b].sum()), float(dem[seq].sum()) if seq else 0.0, float(T[a, b].sum() + svc[seq].sum())

    cost: dict[tuple[int, int], float] = {}
    load: dict[tuple[int, int], float] = {}
    dur: dict[tuple[int, int], float] = {}
    for kd, seq in routes.items():
        cost[kd], load[kd], dur[kd] = route_stats(kd, seq)
    where = {o: dict(plan.where[o]) for o in movable}
    pattern = {o: tuple(plan.pattern[o] or ()) for o in movable}
    visits_n = {kd: len(seq) for kd, seq in routes.items()}

    def excess(kd: tuple[int, int], ld: float, du: float, n: int) -> tuple[float, float]:
        return max(0.0, ld - cap[kd]) + (1e3 if n > vmax[kd] else 0.0), max(0.0, du - tlim[kd])

    n_vis = sum(visits_n.values()) or 1
    base_cost = sum(cost.values())
    mean_edge = base_cost / (n_vis + len([1 for s in routes.values() if s]))
    mean_dem = float(dem[: g.n].mean()) if g.n else 1.0
    alpha = mean_edge / max(mean_dem, 1e-9)  # load penalty per unit
    beta = 1.0  # time penalty per minute
    ex_load = {kd: excess(kd, load[kd], dur[kd], visits_n[kd])[0] for kd in routes}
    ex_dur = {kd: excess(kd, load[kd], dur[kd], visits_n[kd])[1] for kd in routes}
    tot_cost = base_cost
    tot_el = sum(ex_load.values())
    tot_ed = sum(ex_dur.values())
    best_cost = base_cost if tot_el + tot_ed <= 1e-9 else math.inf
    start_cost = best_cost
    best: tuple[dict[tuple[int, int], list[int]], dict[int, tuple[int, ...]]] | None = None
    temp0 = 0.3 * mean_edge
    dirty: set[tuple[int, int]] = set()
    symmetric = bool(np.allclose(C, C.T)) and bool(np.allclose(T, T.T))
    it = 0
    feas_seen = 0
    t_begin = time.monotonic()
    while True:
        it += 1
        if it % 64 == 0:
            now = time.monotonic()
            if now >= deadline:
                break
        if it % 200 == 0:
            frac = feas_seen / 200.0
            if frac < 0.4:
                alpha *= 1.3
                beta *= 1.3
            elif frac > 0.6:
                alpha /= 1.3
                beta /= 1.3
            feas_seen = 0
        frac_t = min(1.0, (time.monotonic() - t_begin) / max(time_limit, 1e-6)) if it % 64 == 0 or it == 1 else None
        if frac_t is not None:
            temp = temp0 * (0.01 ** frac_t)
        o = movable[rng.randrange(len(movable))]
        old = pattern[o]
        pats = g.patterns[o]
        new = pats[rng.randrange(len(pats))]
        if new == old:
            continue
        out_days = [d for d in old if d not in new]
        in_days = [d for d in new if d not in old]
        delta = 0.0
        changes: list[tuple[tuple[int, int], list[int], float, float, float]] = []
        ok = True
        for d in out_days:
            k = where[o][d]
            kd = (k, d)
            seq = routes[kd]
            i = seq.index(o)
            s, e = ends[kd]
            a = seq[i - 1] if i > 0 else s
            b = seq[i + 1] if i + 1 < len(seq) else e
            dc = float(C[a, b] - C[a, o] - C[o, b])
            dt = float(T[a, b] - T[a, o] - T[o, b]) - svc[o]
            nl, nd = load[kd] - dem[o], dur[kd] + dt
            el, ed = excess(kd, nl, nd, visits_n[kd] - 1)
            delta += dc + alpha * (el - ex_load[kd]) + beta * (ed - ex_dur[kd])
            changes.append((kd, [*seq[:i], *seq[i + 1:]], dc, nl, nd))
        for d in in_days:
            bestv = math.inf
            bestc: tuple[tuple[int, int], list[int], float, float, float] | None = None
            for k in plan.by_day.get(d, []):
                kd = (k, d)
                seq = routes[kd]
                s, e = ends[kd]
                nodes = np.array([s, *seq, e])
                na, nb = nodes[:-1], nodes[1:]
                dc = C[na, o] + C[o, nb] - C[na, nb]
                dt = T[na, o] + T[o, nb] - T[na, nb] + svc[o]
                nl = load[kd] + dem[o]
                el = max(0.0, nl - cap[kd]) + (1e3 if visits_n[kd] + 1 > vmax[kd] else 0.0)
                ed = np.maximum(0.0, dur[kd] + dt - tlim[kd])
                val = dc + alpha * (el - ex_load[kd]) + beta * (ed - ex_dur[kd])
                p = int(np.argmin(val))
                if val[p] < bestv:
                    bestv = float(val[p])
                    bestc = (kd, [*seq[:p], o, *seq[p:]], float(dc[p]), nl, float(dur[kd] + dt[p]))
            if bestc is None:
                ok = False
                break
            delta += bestv
            changes.append(bestc)
        if not ok:
            continue
        if delta > 0 and rng.random() >= math.exp(-delta / max(temp, 1e-12)):
            if tot_el + tot_ed <= 1e-9:
                feas_seen += 1
            continue
        for kd, seq, dc, nl, nd in changes:
            routes[kd] = seq
            visits_n[kd] = len(seq)
            tot_cost += dc
            cost[kd] += dc
            load[kd], dur[kd] = nl, nd
            el, ed = excess(kd, nl, nd, len(seq))
            tot_el += el - ex_load[kd]
            tot_ed += ed - ex_dur[kd]
            ex_load[kd], ex_dur[kd] = el, ed
        for d in out_days:
            del where[o][d]
        for kd, _seq, _dc, _nl, _nd in changes:
            if kd[1] in in_days:
                where[o][kd[1]] = kd[0]
        pattern[o] = new
        for kd, *_rest in changes:
            dirty.add(kd)
        if symmetric and len(dirty) >= REOPT_EVERY:
            for kd in dirty:
                seq = two_opt(routes[kd], *ends[kd], C)
                c2, l2, d2 = route_stats(kd, seq)
                routes[kd] = seq
                tot_cost += c2 - cost[kd]
                cost[kd], load[kd], dur[kd] = c2, l2, d2
                el, ed = excess(kd, l2, d2, len(seq))
                tot_el += el - ex_load[kd]
                tot_ed += ed - ex_dur[kd]
                ex_load[kd], ex_dur[kd] = el, ed
            dirty.clear()
        feasible = tot_el + tot_ed <= 1e-9
        if feasible:
            feas_seen += 1
            if tot_cost < best_cost - 1e-9:
                best_cost = tot_cost
                best = ({kd: list(s) for kd, s in routes.items()}, dict(pattern))
    if best is None or not best_cost < start_cost - 1e-6:
        return None
    rts, pats_out = best
    changed = {o: p for o, p in pats_out.items() if p != plan.pattern[o]}
    return rts, changed, best_cost


__all__ = ["anneal_patterns", "sa_applicable"]
