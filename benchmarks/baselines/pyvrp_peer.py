"""PyVRP (0.14) on the scaled-integer data: ``Model`` built from our problem, ``MaxRuntime`` stop.

Also a naive periodic baseline for Cordeau PVRP: fix one allowed pattern per customer (greedy,
balancing the day loads), then solve each day's CVRP with PyVRP.
"""

from __future__ import annotations

from pyvrp import Model
from pyvrp.stop import MaxRuntime

from optimizer.model.routes import RoutesProblem

from . import PeerRoutes
from .intdata import IntVRP, build


def _solve_day(d: IntVRP, day: int, time_limit: float, seed: int) -> PeerRoutes:
    m = Model()
    depot = m.add_depot(m.add_location(0, 0), tw_early=d.shift[0], tw_late=d.shift[1])
    shift = d.max_duration if d.max_duration is not None else 2**63 - 1  # PyVRP's own "unlimited"
    m.add_vehicle_type(num_available=len(d.rep_ids), capacity=d.capacity, start_depot=depot, end_depot=depot,
                       tw_early=d.shift[0], tw_late=d.shift[1], shift_duration=shift)
    locs = [m.locations[0]]
    for k in range(1, len(d.outlet_ids) + 1):
        loc = m.add_location(0, 0)
        m.add_client(loc, delivery=d.demand[k], service_duration=d.service[k], tw_early=d.tw_open[k],
                     tw_late=d.tw_close[k])
        locs.append(loc)
    for i, a in enumerate(locs):
        for j, b in enumerate(locs):
            if i != j:
                m.add_edge(a, b, distance=int(d.dist[i, j]), duration=int(d.time[i, j]))
    res = m.solve(stop=MaxRuntime(time_limit), seed=seed, display=False, collect_stats=False)
    out: PeerRoutes = []
    for v, route in enumerate(res.best.routes()):
        seq = [d.outlet_ids[int(a.idx)] for a in route if a.is_client()]  # client idx is 0-based
        if seq:
            out.append((day, d.rep_ids[v], seq))
    return out


def solve_pyvrp(problem: RoutesProblem, *, time_limit: float, seed: int = 0) -> PeerRoutes:
    """Solve a one-day VRPTW with PyVRP; return ``[(0, rep id, outlet ids)]``."""
    return _solve_day(build(problem), 0, time_limit, seed)


def fixed_patterns(problem: RoutesProblem) -> dict[str, tuple[int, ...]]:
    """Greedy pattern choice: largest demand x visits first, the pattern with the least loaded busiest day."""
    load = [0.0] * problem.horizon.n_days
    chosen: dict[str, tuple[int, ...]] = {}
    for o in sorted(problem.outlets, key=lambda o: (-o.demand * o.visits, o.id)):
        pats = problem.allowed_patterns(o)
        best = min(pats, key=lambda p: (max(load[d] + o.demand for d in p), sum(load[d] for d in p)))
        for d in best:
            load[d] += o.demand
        chosen[o.id] = best
    return chosen


def solve_pyvrp_periodic(problem: RoutesProblem, *, time_limit: float, seed: int = 0) -> PeerRoutes:
    """Naive PVRP baseline: fixed greedy patterns, then PyVRP per day (time split evenly over days)."""
    pats = fixed_patterns(problem)
    n_days = problem.horizon.n_days
    out: PeerRoutes = []
    for day in range(n_days):
        ids = [o.id for o in problem.outlets if day in pats[o.id]]
        if ids:
            out += _solve_day(build(problem, ids, day), day, time_limit / n_days, seed)
    return out
