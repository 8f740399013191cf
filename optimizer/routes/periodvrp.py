"""The whole horizon of a shared-fleet group as one PyVRP instance (day choice inside the VRP).

Each horizon day ``d`` is a block of time ``[d * H, (d + 1) * H)`` with ``H`` longer than any
shift: a vehicle of day ``d`` has its shift moved into that block, and a visit on day ``d`` is a
client whose window is moved there too, so only that day's vehicles can serve it. An outlet
visited once with a choice of days becomes one client per allowed day in a required
mutually exclusive :class:`pyvrp.ClientGroup`: PyVRP then picks the day and the routes together;
when it may take any day and has no window it is a single client without a window, which the
vehicles of every day may serve (moving it to another day is then an ordinary relocate).
Outlets visited several times keep the pattern they have in the current plan (the periodic
search chooses those); each of their visits is a required client on its day.

The integer scaling is the one of :mod:`optimizer.routes.dayvrp` (travel rounded up, windows
inward), and the caller re-times every returned route exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from optimizer.routes.timing import VehicleSpec
from optimizer.travel import SCALE

FloatArray = NDArray[np.float64]


@dataclass
class PeriodInput:
    """A group's horizon as one VRP (local group node numbering for the matrices).

    ``visits[o]`` lists the days outlet ``o`` may take: for a fixed visit set it is the set
    itself (``choice[o] = False``), for a one-visit outlet with a day choice the allowed days
    (``choice[o] = True``). ``vehicles`` maps (vehicle, day) to its spec.
    """

    tmat: FloatArray
    kmat: FloatArray
    service: list[float]
    demand: list[float]
    windows: list[list[tuple[float, float]]]
    outlets: list[int]
    days_of: list[list[int]]
    choice: list[bool]
    prize: list[float | None]
    vehicles: dict[tuple[int, int], VehicleSpec]
    objective: str
    initial: dict[tuple[int, int], list[int]]


def period_applicable(vehicles: dict[tuple[int, int], VehicleSpec], windows: list[list[tuple[float, float]]]) -> bool:
    """PyVRP can express the group: no breaks and at most one window per outlet."""
    if any(v.brk is not None for v in vehicles.values()):
        return False
    return all(len(w) <= 1 for w in windows)


def _ceil(x: float) -> int:
    return math.ceil(x * SCALE - 1e-9)


def _floor(x: float) -> int:
    return math.floor(x * SCALE + 1e-9)


def solve_period_pyvrp(
    pi: PeriodInput, time_limit: float, seed: int = 0, max_iterations: int | None = None
) -> dict[tuple[int, int], list[int]] | None:
    """Solve the horizon of a group in one PyVRP run.

    Parameters
    ----------
    pi
        The group's horizon (see :class:`PeriodInput`).
    time_limit
        Seconds of search.
    seed
        PyVRP seed.
    max_iterations
        Stop after this many iterations instead (deterministic).

    Returns
    -------
    dict or None
        (vehicle, day) -> outlet order (group-local outlet indices), or None when PyVRP found no
        feasible solution.
    """
    import pyvrp
    from pyvrp.stop import MaxIterations, MaxRuntime

    vkeys = sorted(pi.vehicles)
    horizon = max(_floor(v.shift_end) for v in pi.vehicles.values()) + 1
    block = horizon + 1
    # locations: vehicle start/end nodes first, then the outlets used
    depot_nodes: list[int] = []
    for kd in vkeys:
        v = pi.vehicles[kd]
        for nd in (v.start_node, v.end_node):
            if nd not in depot_nodes:
                depot_nodes.append(nd)
    order = depot_nodes + list(pi.outlets)
    loc_of = {o: len(depot_nodes) + i for i, o in enumerate(pi.outlets)}
    t_int = np.ceil(pi.tmat[np.ix_(order, order)] * SCALE - 1e-9).astype(np.int64)
    k_int = np.rint(pi.kmat[np.ix_(order, order)] * SCALE).astype(np.int64)
    locs = [pyvrp.Location(0.0, 0.0) for _ in order]
    depots = [pyvrp.Depot(k) for k in range(len(depot_nodes))]
    has_cap = any(v.capacity is not None for v in pi.vehicles.values())
    has_cnt = any(v.max_visits is not None for v in pi.vehicles.values())
    clients: list[pyvrp.Client] = []
    groups: list[pyvrp.ClientGroup] = []
    client_of: list[tuple[int, int]] = []  # client -> (outlet, day)
    index: dict[tuple[int, int], int] = {}
    all_days = {d for _, d in vkeys}
    for i, o in enumerate(pi.outlets):
        ws = pi.windows[o]
        load = ([_ceil(pi.demand[o])] if has_cap else []) + ([1] if has_cnt else [])
        pr = pi.prize[i]
        if pi.choice[i] and not ws and set(pi.days_of[i]) >= all_days:
            # any day, any time: one client that every vehicle of every day may serve
            prize = 0
            if pr is not None:
                extra = pi.service[o] if pi.objective != "distance" else 0.0
                prize = max(0, round((pr + extra) * SCALE))
            for d in all_days:
                index[(i, d)] = len(clients)
            clients.append(
                pyvrp.Client(loc_of[o], delivery=load, service_duration=_ceil(pi.service[o]), required=pr is None,
                             prize=prize)
            )
            client_of.append((i, -1))
            continue
        grouped = pi.choice[i] and len(pi.days_of[i]) > 1
        gid = len(groups) if grouped else None
        members = []
        for d in pi.days_of[i]:
            base = d * block
            prize = 0
            if pr is not None:
                extra = pi.service[o] if pi.objective != "distance" else 0.0
                prize = max(0, round((pr + extra) * SCALE))
            index[(i, d)] = len(clients)
            members.append(len(clients))
            clients.append(
                pyvrp.Client(
                    loc_of[o],
                    delivery=load,
                    service_duration=_ceil(pi.service[o]),
                    tw_early=base + (_ceil(ws[0][0]) if ws else 0),
                    tw_late=base + (_floor(ws[0][1]) if ws else horizon),
                    required=pr is None and not grouped,
                    prize=prize,
                    group=gid,
                )
            )
            client_of.append((i, d))
        if grouped:
            groups.append(pyvrp.ClientGroup(members, required=pr is None))
    # one vehicle type per (distinct spec, day)
    types: list[pyvrp.VehicleType] = []
    members_of: list[list[tuple[int, int]]] = []
    keys: dict[tuple[object, ...], int] = {}
    type_of: dict[tuple[int, int], int] = {}
    for kd in vkeys:
        v = pi.vehicles[kd]
        key = (kd[1], v.start_node, v.end_node, v.shift_start, v.shift_end, v.max_route_minutes, v.capacity,
               v.max_visits)
        if key not in keys:
            keys[key] = len(members_of)
            members_of.append([])
        members_of[keys[key]].append(kd)
        type_of[kd] = keys[key]
    n_max = len(pi.outlets) + 1
    for mem in members_of:
        k0, d = mem[0]
        v = pi.vehicles[(k0, d)]
        cap = ([_floor(v.capacity) if v.capacity is not None else 2**40] if has_cap else []) + (
            [v.max_visits if v.max_visits is not None else n_max] if has_cnt else []
        )
        types.append(
            pyvrp.VehicleType(
                num_available=len(mem),
                capacity=cap,
                start_depot=depot_nodes.index(v.start_node),
                end_depot=depot_nodes.index(v.end_node),
                tw_early=d * block + _ceil(v.shift_start),
                tw_late=d * block + _floor(v.shift_end),
                shift_duration=_floor(v.max_route_minutes) if v.max_route_minutes is not None else 2**62,
                unit_distance_cost=1 if pi.objective == "distance" else 0,
                unit_duration_cost=0 if pi.objective == "distance" else 1,
            )
        )
    data = pyvrp.ProblemData(locs, clients, depots, types, [k_int], [t_int], groups=groups)  # type: ignore[list-item]
    init = None
    if pi.initial:
        pos = {o: i for i, o in enumerate(pi.outlets)}
        rts = []
        for kd, seq in sorted(pi.initial.items()):
            if seq and kd in type_of:
                visits = [index[(pos[o], kd[1])] for o in seq if o in pos and (pos[o], kd[1]) in index]
                if visits:
                    rts.append(pyvrp.Route(data, visits, type_of[kd]))
        try:
            init = pyvrp.Solution(data, rts)
        except Exception:  # an inconsistent start (e.g. a group visited twice): let PyVRP build one
            init = None
    stop = MaxIterations(max_iterations) if max_iterations is not None else MaxRuntime(max(0.05, time_limit))
    res = pyvrp.solve(data, stop, seed=seed, collect_stats=False, display=False, initial_solution=init)
    best = res.best
    if not best.is_feasible():
        return None
    free = {t: list(mem) for t, mem in enumerate(members_of)}
    out: dict[tuple[int, int], list[int]] = {kd: [] for kd in vkeys}
    for rt in best.routes():
        kd = free[rt.vehicle_type()].pop(0)
        out[kd] = [pi.outlets[client_of[a.idx][0]] for a in rt.schedule() if a.is_client()]
    return out
