"""A small hand-built plan (checked by the independent routes checker) for the report tests."""

from __future__ import annotations

import math
from typing import Any

import pytest

from optimizer.model import parse
from optimizer.model.routes import Route, RoutesProblem, RoutesSolution, RoutesTotals, Stop
from optimizer.routes.check import check_routes
from optimizer.travel import TravelModel


def _problem(n_outlets: int = 30, n_reps: int = 3) -> RoutesProblem:
    reps = [
        {"id": f"R{r + 1}", "start": {"lat": 51.34 + 0.03 * r, "lon": 12.37 + 0.04 * (r % 2)},
         "shift": {"start": "08:00", "end": "18:00"}}
        for r in range(n_reps)
    ]
    outlets = []
    for k in range(n_outlets):
        ang = 2.4 * k
        visits = 2 if k % 4 == 0 else 1
        outlets.append({
            "id": f"O{k:02d}",
            "location": {"lat": 51.34 + 0.05 * math.sin(ang) * (0.3 + k / n_outlets),
                         "lon": 12.37 + 0.08 * math.cos(ang) * (0.3 + k / n_outlets)},
            "visits": visits,
            "patterns": [[0, 2]] if visits == 2 else [[k % 5]],
            "service_minutes": 10 + (k % 3) * 5,
            "attributes": {"name": f"Shop {k}", "address": f"Street {k}"},
        })
    p = parse("routes", {"name": "report fixture", "reps": reps, "outlets": outlets})
    assert isinstance(p, RoutesProblem)
    return p


def _plan(p: RoutesProblem) -> RoutesSolution:
    """Outlet k goes to rep k mod R on its pattern days, in index order; services start on arrival."""
    tm = TravelModel.for_routes(p)
    n_reps = len(p.reps)
    routes: list[Route] = []
    for ri, rep in enumerate(p.reps):
        for day in range(p.horizon.n_days):
            seq = [k for k, o in enumerate(p.outlets) if k % n_reps == ri and day in p.allowed_patterns(o)[0]]
            if not seq:
                continue
            t = rep.shift.start
            prev = tm.rep_node(ri)
            stops = []
            km = travel = service = 0.0
            for k in seq:
                leg = tm.minutes(prev, k)
                km += tm.km(prev, k)
                travel += leg
                arr = t + leg
                end = arr + p.outlets[k].service_minutes
                service += p.outlets[k].service_minutes
                stops.append(Stop(outlet=p.outlets[k].id, arrival=arr, start=arr, end=end))
                t, prev = end, k
            back = tm.rep_node(ri, start=False)
            travel += tm.minutes(prev, back)
            km += tm.km(prev, back)
            t += tm.minutes(prev, back)
            routes.append(Route(rep=rep.id, day=day, stops=stops, start=rep.shift.start, end=t, distance_km=km,
                                travel_minutes=travel, service_minutes=service, waiting_minutes=0.0))
    totals = RoutesTotals(
        distance_km=sum(r.distance_km for r in routes), travel_minutes=sum(r.travel_minutes for r in routes),
        service_minutes=sum(r.service_minutes for r in routes), visits_required=sum(o.visits for o in p.outlets),
        visits_planned=sum(len(r.stops) for r in routes),
    )
    sol = RoutesSolution(status="feasible", objective=totals.travel_minutes, totals=totals, routes=routes)
    chk = check_routes(p, sol)
    assert chk.ok, chk.violations
    return sol


@pytest.fixture(scope="session")
def plan() -> tuple[RoutesProblem, RoutesSolution]:
    """(problem, solution) with 3 reps, 30 outlets, 38 visits over a 5-day week."""
    p = _problem()
    return p, _plan(p)


def territory_of(p: RoutesProblem) -> dict[str, Any]:
    """Outlet -> territory id (``T<rep number>``) matching the fixture's plan."""
    return {o.id: f"T{k % len(p.reps) + 1}" for k, o in enumerate(p.outlets)}
