"""One day's multi-vehicle routing sub-problem, solved by OR-Tools routing or (optionally) PyVRP.

A :class:`DayInput` is self-contained (its own small matrices) so it can be shipped to a worker
process. Both backends work in integers scaled by :data:`optimizer.travel.SCALE`: travel and
service times are rounded up, window opens up and closes down, so an integer-feasible plan is
feasible in exact arithmetic; the caller re-times the returned orders exactly anyway.

Determinism: OR-Tools' guided local search and PyVRP's iterated local search stop on a
wall-clock limit, so two runs with the same seed can differ when the limit, not convergence,
ends the search. ``max_iterations`` (PyVRP) and ``solution_limit`` (OR-Tools) give
run-to-run identical results.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from optimizer.routes.timing import VehicleSpec
from optimizer.travel import SCALE

FloatArray = NDArray[np.float64]

#: Penalty (scaled objective units) for dropping a required visit.
DROP_PENALTY = 10**10


@dataclass
class DayInput:
    """A day's VRP: clients ``0..c-1`` then vehicle start/end nodes, as given in ``vehicles``."""

    tmat: FloatArray
    kmat: FloatArray
    service: list[float]
    demand: list[float]
    windows: list[list[tuple[float, float]]]
    n_clients: int
    vehicles: list[VehicleSpec]
    #: per client: None = required, else the prize (objective units) for visiting it
    prize: list[float | None]
    objective: str = "duration"
    #: per client: allowed vehicle positions (None = any)
    allowed: list[list[int] | None] = field(default_factory=list)
    initial: list[list[int]] | None = None


def _ceil(x: float) -> int:
    return math.ceil(x * SCALE - 1e-9)


def _floor(x: float) -> int:
    return math.floor(x * SCALE + 1e-9)


def pyvrp_applicable(day: DayInput) -> bool:
    """True when PyVRP can express the day exactly: no breaks, at most one window per client,
    no vehicle restrictions."""
    if any(v.brk is not None for v in day.vehicles):
        return False
    if any(len(w) > 1 for w in day.windows[: day.n_clients]):
        return False
    return not any(a is not None for a in day.allowed)


def solve_day_ortools(day: DayInput, time_limit: float, seed: int = 0, solution_limit: int | None = None
                      ) -> list[list[int]] | None:
    """Route a day with OR-Tools (time dimension, breaks, multiple windows, GLS).

    Returns the client order of each vehicle, or None when no solution was found.
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    del seed  # OR-Tools routing has no seed; it is deterministic up to the time limit
    c = day.n_clients
    nv = len(day.vehicles)
    n_nodes = day.tmat.shape[0]
    starts = [v.start_node for v in day.vehicles]
    ends = [v.end_node for v in day.vehicles]
    manager = pywrapcp.RoutingIndexManager(n_nodes, nv, starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    svc = np.array([_ceil(s) for s in day.service], dtype=np.int64)
    t_int = np.ceil(day.tmat * SCALE - 1e-9).astype(np.int64)
    time_m = t_int + svc[:, None]
    cost_m = np.rint(day.kmat * SCALE).astype(np.int64) if day.objective == "distance" else t_int
    cost_cb = routing.RegisterTransitMatrix(cost_m.tolist())
    time_cb = routing.RegisterTransitMatrix(time_m.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(cost_cb)
    horizon = max(_floor(v.shift_end) for v in day.vehicles) + 1
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    tdim = routing.GetDimensionOrDie("time")
    if day.objective != "distance":
        tdim.SetSpanCostCoefficientForAllVehicles(1)
    for i in range(c):
        idx = manager.NodeToIndex(i)
        ws = day.windows[i]
        cum = tdim.CumulVar(idx)
        if ws:
            cum.SetRange(_ceil(ws[0][0]), _floor(ws[-1][1]))
            for (_, b), (a2, _) in itertools.pairwise(ws):
                lo, hi = _floor(b) + 1, _ceil(a2) - 1
                if lo <= hi:
                    cum.RemoveInterval(lo, hi)
        pr = day.prize[i]
        penalty = DROP_PENALTY if pr is None else max(0, round(pr * SCALE))
        routing.AddDisjunction([idx], penalty)
        if day.allowed and day.allowed[i] is not None:
            # (SetAllowedVehiclesForIndex's Python binding rejects lists in 9.15; -1 keeps it droppable)
            routing.VehicleVar(idx).SetValues([-1, *(int(k) for k in (day.allowed[i] or []))])
    solver = routing.solver()
    node_visit = [int(svc[manager.IndexToNode(k)]) if k < routing.Size() else 0 for k in range(routing.Size() + nv)]
    for k, v in enumerate(day.vehicles):
        s_idx, e_idx = routing.Start(k), routing.End(k)
        tdim.CumulVar(s_idx).SetRange(_ceil(v.shift_start), _floor(v.shift_end))
        tdim.CumulVar(e_idx).SetRange(_ceil(v.shift_start), _floor(v.shift_end))
        if v.max_route_minutes is not None:
            tdim.SetSpanUpperBoundForVehicle(_floor(v.max_route_minutes), k)
        if v.brk is not None:
            e_, l_, m_ = v.brk
            iv = solver.FixedDurationIntervalVar(_ceil(e_), _floor(l_), _ceil(m_), False, f"break{k}")
            tdim.SetBreakIntervalsOfVehicle([iv], k, node_visit)
            solver.Add(iv.StartExpr() >= tdim.CumulVar(s_idx))
            solver.Add(iv.EndExpr() <= tdim.CumulVar(e_idx))
        routing.AddVariableMinimizedByFinalizer(tdim.CumulVar(s_idx))
        routing.AddVariableMaximizedByFinalizer(tdim.CumulVar(s_idx))
        routing.AddVariableMinimizedByFinalizer(tdim.CumulVar(e_idx))
    if any(v.capacity is not None for v in day.vehicles):
        dem = [_ceil(d) if i < c else 0 for i, d in enumerate(day.demand)]
        dcb = routing.RegisterUnaryTransitVector(dem)
        caps = [_floor(v.capacity) if v.capacity is not None else 10**15 for v in day.vehicles]
        routing.AddDimensionWithVehicleCapacity(dcb, 0, caps, True, "load")
    if any(v.max_visits is not None for v in day.vehicles):
        ones = [1 if i < c else 0 for i in range(n_nodes)]
        ccb = routing.RegisterUnaryTransitVector(ones)
        caps = [v.max_visits if v.max_visits is not None else c + 1 for v in day.vehicles]
        routing.AddDimensionWithVehicleCapacity(ccb, 0, caps, True, "visits")

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(50, int(time_limit * 1000)))
    if solution_limit is not None:
        params.solution_limit = solution_limit
    assignment = None
    if day.initial:
        routing.CloseModelWithParameters(params)
        init = routing.ReadAssignmentFromRoutes([list(r) for r in day.initial], True)
        if init is not None:
            assignment = routing.SolveFromAssignmentWithParameters(init, params)
    if assignment is None:
        assignment = routing.SolveWithParameters(params)
    if assignment is None:
        return None
    out: list[list[int]] = []
    for k in range(nv):
        idx = routing.Start(k)
        seq: list[int] = []
        idx = assignment.Value(routing.NextVar(idx))
        while not routing.IsEnd(idx):
            seq.append(manager.IndexToNode(idx))
            idx = assignment.Value(routing.NextVar(idx))
        out.append(seq)
    return out


def solve_day_pyvrp(day: DayInput, time_limit: float, seed: int = 0, max_iterations: int | None = None
                    ) -> list[list[int]] | None:
    """Route a day with PyVRP's iterated local search (no breaks, one window per client).

    Returns the client order of each vehicle, or None when PyVRP found no feasible solution.
    """
    import pyvrp
    from pyvrp.stop import MaxIterations, MaxRuntime

    c = day.n_clients
    nv = len(day.vehicles)
    # PyVRP locations: depots first (one per distinct vehicle start/end node), then clients
    depot_nodes: list[int] = []
    for v in day.vehicles:
        for nd in (v.start_node, v.end_node):
            if nd not in depot_nodes:
                depot_nodes.append(nd)
    order = depot_nodes + list(range(c))
    t_int = np.ceil(day.tmat[np.ix_(order, order)] * SCALE - 1e-9).astype(np.int64)
    k_int = np.rint(day.kmat[np.ix_(order, order)] * SCALE).astype(np.int64)
    locs = [pyvrp.Location(0.0, 0.0) for _ in order]
    depots = [pyvrp.Depot(k) for k in range(len(depot_nodes))]
    has_cap = any(v.capacity is not None for v in day.vehicles)
    has_cnt = any(v.max_visits is not None for v in day.vehicles)
    clients = []
    for i in range(c):
        ws = day.windows[i]
        load = ([_ceil(day.demand[i])] if has_cap else []) + ([1] if has_cnt else [])
        pr = day.prize[i]
        prize = 0
        if pr is not None:
            extra = day.service[i] if day.objective != "distance" else 0.0
            prize = max(0, round((pr + extra) * SCALE))
        clients.append(
            pyvrp.Client(
                len(depot_nodes) + i,
                delivery=load,
                service_duration=_ceil(day.service[i]),
                tw_early=_ceil(ws[0][0]) if ws else 0,
                tw_late=_floor(ws[0][1]) if ws else 2**62,
                required=pr is None,
                prize=prize,
            )
        )
    # one vehicle type per distinct vehicle spec
    types: list[pyvrp.VehicleType] = []
    type_of: list[int] = []
    keys: dict[tuple[object, ...], int] = {}
    members: list[list[int]] = []
    for k, v in enumerate(day.vehicles):
        key = (v.start_node, v.end_node, v.shift_start, v.shift_end, v.max_route_minutes, v.capacity, v.max_visits)
        if key not in keys:
            keys[key] = len(members)
            members.append([])
        members[keys[key]].append(k)
        type_of.append(keys[key])
    for mem in members:
        v = day.vehicles[mem[0]]
        cap = ([_floor(v.capacity) if v.capacity is not None else 2**40] if has_cap else []) + (
            [v.max_visits if v.max_visits is not None else c + 1] if has_cnt else []
        )
        types.append(
            pyvrp.VehicleType(
                num_available=len(mem),
                capacity=cap,
                start_depot=depot_nodes.index(v.start_node),
                end_depot=depot_nodes.index(v.end_node),
                tw_early=_ceil(v.shift_start),
                tw_late=_floor(v.shift_end),
                shift_duration=_floor(v.max_route_minutes) if v.max_route_minutes is not None else 2**62,
                unit_distance_cost=1 if day.objective == "distance" else 0,
                unit_duration_cost=0 if day.objective == "distance" else 1,
            )
        )
    data = pyvrp.ProblemData(locs, clients, depots, types, [k_int], [t_int])  # type: ignore[list-item]
    init = None
    if day.initial:
        used: dict[int, int] = {}
        rts = []
        for k, seq in enumerate(day.initial):
            if seq:
                used[type_of[k]] = used.get(type_of[k], 0) + 1
                rts.append(pyvrp.Route(data, list(seq), type_of[k]))
        try:
            init = pyvrp.Solution(data, rts)
        except Exception:
            init = None
    stop = MaxIterations(max_iterations) if max_iterations is not None else MaxRuntime(max(0.05, time_limit))
    res = pyvrp.solve(data, stop, seed=seed, collect_stats=False, display=False, initial_solution=init)
    best = res.best
    if not best.is_feasible():
        return None
    out: list[list[int]] = [[] for _ in range(nv)]
    free = {t: list(mem) for t, mem in enumerate(members)}
    for rt in best.routes():
        seq = [a.idx for a in rt.schedule() if a.is_client()]
        k = free[rt.vehicle_type()].pop(0)
        out[k] = [int(x) for x in seq]
    return out
