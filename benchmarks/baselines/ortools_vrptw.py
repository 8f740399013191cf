"""Plain OR-Tools VRPTW model, written the way most users write it (the OR-Tools guide's VRPTW).

PATH_CHEAPEST_ARC first solution + GUIDED_LOCAL_SEARCH until the time limit; arc cost = scaled
distance, a Time dimension with waiting slack and the windows, a capacity dimension.
"""

from __future__ import annotations

import time

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from optimizer.model.routes import RoutesProblem

from . import PeerRoutes
from .intdata import build


def solve_ortools(problem: RoutesProblem, *, time_limit: float, seed: int = 0) -> PeerRoutes:
    """Solve a one-day VRPTW; return ``[(0, rep id, outlet ids)]`` (``seed`` is unused: GLS is deterministic)."""
    d = build(problem)
    n_nodes = len(d.outlet_ids) + 1
    n_veh = len(d.rep_ids)
    manager = pywrapcp.RoutingIndexManager(n_nodes, n_veh, 0)
    routing = pywrapcp.RoutingModel(manager)
    dist = d.dist.tolist()
    tt = d.time.tolist()
    service = d.service

    def distance_cb(i: int, j: int) -> int:
        return int(dist[manager.IndexToNode(i)][manager.IndexToNode(j)])

    def time_cb(i: int, j: int) -> int:
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return int(service[a] + tt[a][b])

    def demand_cb(i: int) -> int:
        return int(d.demand[manager.IndexToNode(i)])

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(distance_cb))
    horizon = d.shift[1]
    routing.AddDimension(routing.RegisterTransitCallback(time_cb), horizon, horizon, False, "Time")
    tdim = routing.GetDimensionOrDie("Time")
    for node in range(1, n_nodes):
        tdim.CumulVar(manager.NodeToIndex(node)).SetRange(d.tw_open[node], d.tw_close[node])
    for v in range(n_veh):
        tdim.CumulVar(routing.Start(v)).SetRange(d.shift[0], d.shift[1])
        tdim.CumulVar(routing.End(v)).SetRange(d.shift[0], d.shift[1])
    routing.AddDimensionWithVehicleCapacity(
        routing.RegisterUnaryTransitCallback(demand_cb), 0, [d.capacity] * n_veh, True, "Capacity"
    )
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(time_limit * 1000))
    t0 = time.monotonic()
    sol = routing.SolveWithParameters(params)
    del t0
    if sol is None:
        return []
    out: PeerRoutes = []
    for v in range(n_veh):
        idx = routing.Start(v)
        seq = []
        idx = sol.Value(routing.NextVar(idx))
        while not routing.IsEnd(idx):
            seq.append(d.outlet_ids[manager.IndexToNode(idx) - 1])
            idx = sol.Value(routing.NextVar(idx))
        if seq:
            out.append((0, d.rep_ids[v], seq))
    return out
