"""The pipeline's territory stage: pinned outlets locked inside the solve, contiguous territories.

Two given reps with pinned outlets, three territories (one rep is created): every pin must end in
its rep's territory without being moved into a finished plan, and the solution's totals must be
those of the assignment it returns (they went stale when pins were moved after the solve).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from optimizer.datagen import routes_instance
from optimizer.model import parse
from optimizer.model.pipeline import PipelineProblem
from optimizer.model.territories import TerritoriesSolution
from optimizer.pipeline import _territories, outlet_workload_hours
from optimizer.progress import Reporter
from optimizer.territories.instance import delaunay_edges


def _problem() -> PipelineProblem:
    d = routes_instance(n_outlets=60, n_reps=2, weeks=1, layout="city", seed=5)
    reps = d["reps"]
    outlets = [{k: v for k, v in o.items() if k != "rep"} for o in d["outlets"]]
    # pin the two outlets nearest each rep's home to that rep
    xy = np.array([[o["location"][c] for c in ("x", "y")] if "x" in o["location"]
                   else [o["location"]["lat"], o["location"]["lon"]] for o in outlets])
    for r in reps:
        h = r["start"]
        home = np.array([h["x"], h["y"]] if "x" in h else [h["lat"], h["lon"]])
        for i in np.argsort(((xy - home) ** 2).sum(1))[:2]:
            outlets[int(i)]["rep"] = r["id"]
    data = {"name": "pins", "horizon": d["horizon"], "outlets": outlets, "travel": d["travel"], "reps": reps,
            "rep_defaults": {"shift": reps[0]["shift"]}, "workers": 1, "overrides": {"headcount": 3},
            "balance": {"workload": 0.15}}
    p = parse("pipeline", data)
    assert isinstance(p, PipelineProblem)
    return p


def _run(p: PipelineProblem) -> tuple[TerritoriesSolution, dict[str, str], list[str], dict[str, float], list[str]]:
    """(solution, territory -> rep id, warnings, outlet workload, created reps)."""
    load = outlet_workload_hours(p)
    warnings: list[str] = []
    sol, rep_of, created, _ = _territories(p, 3, load, 3.0, 0, Reporter(None, 3.0), warnings)
    return sol, {t: r.id for t, r in rep_of.items()}, warnings, load, created


def test_pins_are_locked_in_the_solve_and_totals_match_the_assignment() -> None:
    p = _problem()
    sol, rep_of, warnings, load, created = _run(p)
    assign = sol.assignment
    terr_of_rep = {r: t for t, r in rep_of.items()}
    pins = [o for o in p.outlets if o.rep is not None]
    assert len(pins) == 4
    for o in pins:
        assert o.rep is not None and assign[o.id] == terr_of_rep[o.rep]
    assert not any("were moved" in w for w in warnings)
    assert len(created) == 1 and len(set(assign.values())) == 3
    # totals and deviation recomputed from the returned assignment
    tot: dict[str, float] = defaultdict(float)
    for o in p.outlets:
        tot[assign[o.id]] += load[o.id]
    for t in sol.territories:
        assert abs(t.workload - tot[t.id]) < 1e-6
    mean = sum(tot.values()) / 3
    dev = max(abs(v / mean - 1) for v in tot.values())
    assert abs(dev - sol.metrics.workload_max_dev) < 1e-9
    if not any(v.constraint == "balance.workload" for v in sol.violations):
        assert dev <= 0.15 + 1e-9


def test_territories_are_contiguous_on_the_delaunay_graph() -> None:
    p = _problem()
    sol = _run(p)[0]
    assign = sol.assignment
    xy = np.array([o.location.coords() for o in p.outlets])
    lab = [assign[o.id] for o in p.outlets]
    adj: dict[int, list[int]] = defaultdict(list)
    for a, b in delaunay_edges(xy):
        if lab[a] == lab[b]:
            adj[int(a)].append(int(b))
            adj[int(b)].append(int(a))
    broken = 0
    for t in set(lab):
        members = [i for i in range(len(lab)) if lab[i] == t]
        seen = {members[0]}
        stack = [members[0]]
        while stack:
            u = stack.pop()
            for v in adj[u]:
                if v not in seen:
                    seen.add(v)
                    stack.append(v)
        broken += len(seen) < len(members)
    # a split territory must be reported (only pins may force one)
    assert broken == sol.metrics.disconnected
    assert broken == 0 or any(v.constraint == "contiguity" for v in sol.violations)

