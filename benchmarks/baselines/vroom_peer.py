"""VROOM through pyvroom (1.15) on the scaled-integer data (VRPTW only)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import vroom

from optimizer.model.routes import RoutesProblem

from . import PeerRoutes
from .intdata import build


def solve_vroom(problem: RoutesProblem, *, time_limit: float, seed: int = 0) -> PeerRoutes:
    """Solve a one-day VRPTW with VROOM (exploration level 5, one thread); ``seed`` is unused."""
    d = build(problem)
    inp = vroom.Input()
    inp.set_durations_matrix("car", np.asarray(d.time, dtype=np.uint32))
    inp.set_costs_matrix("car", np.asarray(d.dist, dtype=np.uint32))
    for v in range(len(d.rep_ids)):
        inp.add_vehicle(vroom.Vehicle(id=v, start=0, end=0, capacity=[d.capacity],
                                      time_window=vroom.TimeWindow(d.shift[0], d.shift[1])))
    for k in range(1, len(d.outlet_ids) + 1):
        inp.add_job(vroom.Job(id=k, location=k, default_service=d.service[k], delivery=[d.demand[k]],
                              time_windows=[vroom.TimeWindow(d.tw_open[k], d.tw_close[k])]))
    sol = inp.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=time_limit))
    df = sol.routes
    out: PeerRoutes = []
    for v, grp in df[df["type"] == "job"].groupby("vehicle_id", sort=True):
        seq = [d.outlet_ids[int(j) - 1] for j in grp["id"]]
        if seq:
            out.append((0, d.rep_ids[int(v)], seq))
    return out
