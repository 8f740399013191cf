"""Scaled-integer single-day VRPTW data shared by the peer wrappers (benchmark-only)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from optimizer.model.routes import RoutesProblem
from optimizer.travel import TravelModel, to_int

SCALE = 100
"""1/100 of a minute (and of a distance unit): the precision peers work in."""


@dataclass
class IntVRP:
    """One day's VRPTW in integers; node 0 is the depot, node ``k`` is ``outlet_ids[k - 1]``.

    Times are rounded up (a plan feasible in integers is feasible in exact arithmetic), window
    closes rounded down, distances rounded to nearest.
    """

    outlet_ids: list[str]
    rep_ids: list[str]
    dist: NDArray[np.int64]
    time: NDArray[np.int64]
    service: list[int]
    tw_open: list[int]
    tw_close: list[int]
    demand: list[int]
    capacity: int
    shift: tuple[int, int]
    max_duration: int | None


def build(problem: RoutesProblem, outlet_ids: list[str] | None = None, day: int = 0) -> IntVRP:
    """Scaled data of ``outlet_ids`` (default: all) for the reps working on ``day``.

    All reps must be identical and share one depot (true of the Solomon and Cordeau readers).
    """
    reps = [r for r in problem.reps if day in problem.rep_days(r)]
    r0 = reps[0]
    for r in reps:
        if (r.start, r.end_location, r.shift, r.capacity, r.max_route_minutes) != (
            r0.start, r0.end_location, r0.shift, r0.capacity, r0.max_route_minutes
        ) or r.break_ is not None:
            raise ValueError("peer wrappers need identical reps without breaks at one depot")
    if r0.end_location != r0.start:
        raise ValueError("peer wrappers need the depot as start and end")
    oidx = {o.id: i for i, o in enumerate(problem.outlets)}
    ids = outlet_ids if outlet_ids is not None else [o.id for o in problem.outlets]
    outs = [problem.outlets[oidx[i]] for i in ids]
    tm = TravelModel.for_routes(problem)
    nodes = [tm.rep_node(problem.reps.index(r0), start=True)] + [oidx[i] for i in ids]
    km = tm.block_km(nodes, nodes)
    minutes = tm.block_minutes(nodes, nodes)
    big = int(r0.shift.end * SCALE)
    opens, closes = [int(r0.shift.start * SCALE)], [big]
    for o in outs:
        w = problem.windows(o)
        if len(w) > 1:
            raise ValueError("peer wrappers take one time window per outlet")
        a, b = w[0] if w else (r0.shift.start, r0.shift.end)
        opens.append(math.ceil(a * SCALE - 1e-9))
        closes.append(math.floor(b * SCALE + 1e-9))
    return IntVRP(
        outlet_ids=list(ids),
        rep_ids=[r.id for r in reps],
        dist=to_int(km, SCALE, mode="round"),
        time=to_int(minutes, SCALE, mode="ceil"),
        service=[0] + [math.ceil(o.service_minutes * SCALE - 1e-9) for o in outs],
        tw_open=opens,
        tw_close=closes,
        demand=[0] + [round(o.demand) for o in outs],
        capacity=round(r0.capacity) if r0.capacity is not None else 10**9,
        shift=(int(r0.shift.start * SCALE), big),
        max_duration=math.floor(r0.max_route_minutes * SCALE) if r0.max_route_minutes else None,
    )
