"""Turn peer routes into a timed :class:`RoutesSolution` (double precision, earliest start times).

Benchmark-only: peers solve in scaled integers; here every leg is re-timed with the exact
:class:`~optimizer.travel.TravelModel` so distance, feasibility and objective are judged the same
way for every solver by :func:`optimizer.routes.check.check_routes`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from optimizer.model.routes import RoutesProblem, RoutesSolution
from optimizer.travel import TravelModel

from . import PeerRoutes


def to_solution(
    problem: RoutesProblem, routes: PeerRoutes, *, runtime_s: float = 0.0, solver: str = ""
) -> RoutesSolution:
    """Time ``routes`` as early as possible and wrap them in a solution.

    Parameters
    ----------
    problem
        The problem the routes answer (no breaks: benchmark instances have none).
    routes
        ``(day, rep id, outlet ids)``; empty routes are dropped.
    runtime_s
        Solver wall time, stored in ``stats``.
    solver
        Name stored in ``stats``.

    Returns
    -------
    RoutesSolution
        Timed routes, recomputed totals, missing visits in ``unassigned``; a stop that cannot
        start inside a window keeps its arrival time so the checker reports it.
    """
    tm = TravelModel.for_routes(problem)
    oidx = {o.id: i for i, o in enumerate(problem.outlets)}
    ridx = {r.id: i for i, r in enumerate(problem.reps)}
    out: list[dict[str, Any]] = []
    tot = {"distance_km": 0.0, "travel_minutes": 0.0, "service_minutes": 0.0, "waiting_minutes": 0.0}
    visits: Counter[str] = Counter()
    opt_value = 0.0
    for day, rep_id, seq in routes:
        if not seq:
            continue
        ri = ridx[rep_id]
        rep = problem.reps[ri]
        t = rep.shift.start
        prev = tm.rep_node(ri, start=True)
        stops = []
        km = travel = service = waiting = 0.0
        for oid in seq:
            node = oidx[oid]
            o = problem.outlets[node]
            leg = tm.minutes(prev, node)
            km += tm.km(prev, node)
            travel += leg
            arrival = t + leg
            start = arrival
            wins = problem.windows(o)
            if wins:
                fit = [max(arrival, a) for a, b in wins if max(arrival, a) <= b]
                start = min(fit) if fit else arrival
            waiting += start - arrival
            stops.append({"outlet": oid, "arrival": arrival, "start": start, "end": start + o.service_minutes})
            service += o.service_minutes
            t = start + o.service_minutes
            prev = node
            visits[oid] += 1
            if o.optional:
                opt_value += o.value
        end_node = tm.rep_node(ri, start=False)
        leg = tm.minutes(prev, end_node)
        km += tm.km(prev, end_node)
        travel += leg
        t += leg
        out.append({"rep": rep_id, "day": day, "stops": stops, "start": rep.shift.start, "end": t,
                    "distance_km": km, "travel_minutes": travel, "service_minutes": service,
                    "waiting_minutes": waiting})
        for k, v in (("distance_km", km), ("travel_minutes", travel), ("service_minutes", service),
                     ("waiting_minutes", waiting)):
            tot[k] += v
    unassigned = [
        {"outlet": o.id, "missing_visits": o.visits - visits[o.id], "reason": f"not routed by {solver or 'the peer'}"}
        for o in problem.outlets
        if not o.optional and visits[o.id] < o.visits
    ]
    planned = sum(n for oid, n in visits.items() if not problem.outlets[oidx[oid]].optional)
    duration = tot["travel_minutes"] + tot["waiting_minutes"]
    objective = tot["distance_km"] if problem.objective == "distance" else duration
    return RoutesSolution.model_validate({
        "status": "feasible" if out else "no_solution",
        "objective": objective - opt_value,
        "totals": {**tot, "visits_required": sum(o.visits for o in problem.outlets if not o.optional),
                   "visits_planned": planned, "optional_value": opt_value},
        "routes": out,
        "unassigned": unassigned,
        "stats": {"runtime_s": runtime_s, "solver": solver},
    })
