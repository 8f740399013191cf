"""Tiny hand-built cases checked against brute force; metrics recomputed from the assignment."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from territory_checks import brute_optimum, connected, fixed_cost, loads, max_dev, medoid_cost

from optimizer.errors import InputError
from optimizer.model.territories import TerritoriesProblem
from optimizer.territories import solve_territories


def _units(n: int, seed: int, **extra: Any) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n, 2))
    w = rng.uniform(1, 10, size=n)
    return [{"id": f"u{i}", "location": {"x": float(xy[i, 0]), "y": float(xy[i, 1])}, "workload": float(w[i]),
             **extra} for i in range(n)]


def _fixed(n: int, seed: int, tau: float, **kw: Any) -> TerritoriesProblem:
    terr = [{"id": "A", "center": {"x": 20, "y": 20}}, {"id": "B", "center": {"x": 80, "y": 30}},
            {"id": "C", "center": {"x": 50, "y": 85}}]
    units = kw.pop("units", None) or _units(n, seed)
    return TerritoriesProblem.model_validate({"units": units, "territories": terr, "balance": {"workload": tau},
                                              "travel": {"metric": "euclidean"}, **kw})


def _brute_fixed(p: TerritoriesProblem, tau: float) -> float:
    return brute_optimum(p, tau, fixed_cost)


@pytest.mark.parametrize("seed", [1, 2])
def test_fixed_centres_optimal_against_brute_force(seed: int) -> None:
    p = _fixed(8, seed, 0.25)
    s = solve_territories(p, time_limit=5)
    assert s.status == "optimal"
    assert max_dev(p, s.assignment) <= 0.25 + 1e-9
    assert s.objective == pytest.approx(fixed_cost(p, s.assignment), rel=1e-9)
    assert s.objective == pytest.approx(_brute_fixed(p, 0.25), rel=1e-7)
    assert s.lower_bound is not None and s.objective is not None and s.lower_bound <= s.objective + 1e-6
    assert s.metrics.workload_max_dev == pytest.approx(max_dev(p, s.assignment))


def test_locks_and_moved_cap_against_brute_force() -> None:
    units = _units(8, 3)
    cur = ["A", "A", "B", "B", "C", "C", "A", "B"]
    for i, u in enumerate(units):
        u["current"] = cur[i]
    units[0]["locked"] = True
    units[4]["locked"] = True
    p = _fixed(8, 3, 0.3, units=units, max_moved=2)
    s = solve_territories(p, time_limit=5)
    assert s.assignment["u0"] == "A" and s.assignment["u4"] == "C"
    moved = sum(s.assignment[u.id] != u.current for u in p.units)
    assert moved <= 2 and s.metrics.moved == moved
    assert s.objective == pytest.approx(_brute_fixed(p, 0.3), rel=1e-7)


def test_move_cost_per_workload_is_charged() -> None:
    units = _units(8, 4)
    for u in units:
        u["current"] = "A"
    p = _fixed(8, 4, 0.3, units=units, move_cost=5.0, move_cost_basis="workload")
    s = solve_territories(p, time_limit=5)
    assert s.objective == pytest.approx(fixed_cost(p, s.assignment), rel=1e-9)
    moved_w = sum(u.workload for u in p.units if s.assignment[u.id] != "A")
    assert s.metrics.workload_moved == pytest.approx(moved_w)


def test_free_centres_optimal_against_brute_force() -> None:
    units = _units(8, 5)
    p = TerritoriesProblem.model_validate({"units": units, "count": 2, "balance": {"workload": 0.2},
                                           "travel": {"metric": "euclidean"}})
    s = solve_territories(p, time_limit=5)
    ids = [u.id for u in p.units]
    best = np.inf
    for combo in itertools.product(["T1", "T2"], repeat=len(ids)):
        a = dict(zip(ids, combo, strict=True))
        if len(set(combo)) < 2 or max_dev(p, a) > 0.2 + 1e-9:
            continue
        best = min(best, medoid_cost(p, a))
    assert s.status == "optimal"
    assert s.objective == pytest.approx(medoid_cost(p, s.assignment), rel=1e-9)
    assert s.objective == pytest.approx(best, rel=1e-7)


def test_heuristic_free_centres_balanced_and_consistent() -> None:
    units = _units(120, 6)
    p = TerritoriesProblem.model_validate({"units": units, "count": 5, "balance": {"workload": 0.05},
                                           "travel": {"metric": "euclidean"}})
    s = solve_territories(p, time_limit=2, seed=3)
    assert s.status == "feasible" and not s.violations
    assert max_dev(p, s.assignment) <= 0.05 + 1e-9
    assert s.objective == pytest.approx(medoid_cost(p, s.assignment), rel=1e-9)
    ld = loads(p, s.assignment)
    assert sum(t.workload for t in s.territories) == pytest.approx(sum(ld.values()))


def test_contiguity_on_grid() -> None:
    rng = np.random.default_rng(7)
    units, adj = [], []
    side = 9
    for r in range(side):
        for c in range(side):
            units.append({"id": f"{r}-{c}", "location": {"x": c, "y": r}, "workload": float(rng.uniform(1, 5))})
            if c + 1 < side:
                adj.append((f"{r}-{c}", f"{r}-{c + 1}"))
            if r + 1 < side:
                adj.append((f"{r}-{c}", f"{r + 1}-{c}"))
    p = TerritoriesProblem.model_validate({"units": units, "count": 4, "balance": {"workload": 0.1},
                                           "contiguity": True, "adjacency": adj, "travel": {"metric": "euclidean"}})
    s = solve_territories(p, time_limit=3, seed=1)
    assert connected(p, s.assignment)
    assert s.metrics.disconnected == 0
    assert max_dev(p, s.assignment) <= 0.1 + 1e-9 or any(v.constraint == "balance.workload" for v in s.violations)


def test_unreachable_tolerance_reports_violation() -> None:
    units = _units(6, 8)
    units[0]["workload"] = 1000.0
    p = _fixed(6, 8, 0.05, units=units)
    s = solve_territories(p, time_limit=3)
    assert s.status == "feasible"
    v = [x for x in s.violations if x.constraint == "balance.workload"]
    assert v and v[0].achieved == pytest.approx(max_dev(p, s.assignment)) and v[0].achieved > 0.05


def test_same_seed_same_answer() -> None:
    units = _units(60, 9)
    p = TerritoriesProblem.model_validate({"units": units, "count": 6, "balance": {"workload": 0.05},
                                           "travel": {"metric": "euclidean"}})
    # generous limit: the search ends on its own after a run of descents without improvement
    a = solve_territories(p, time_limit=60, seed=4)
    b = solve_territories(p, time_limit=60, seed=4)
    assert a.assignment == b.assignment
    assert a.stats["descents"] == b.stats["descents"]


def test_progress_stop_returns_best_so_far() -> None:
    units = _units(150, 10)
    p = TerritoriesProblem.model_validate({"units": units, "count": 6, "balance": {"workload": 0.05},
                                           "travel": {"metric": "euclidean"}})
    events: list[str] = []

    def cb(ev: Any) -> bool:
        events.append(ev.stage)
        return ev.stage != "improve"

    s = solve_territories(p, time_limit=60, progress=cb)
    assert s.stats["descents"] == 1 and "improve" in events
    assert max_dev(p, s.assignment) <= 0.05 + 1e-9


def test_haversine_units() -> None:
    units = [{"id": str(i), "location": {"lat": 48 + 0.1 * (i % 5), "lon": 2 + 0.1 * (i // 5)}, "workload": 1.0}
             for i in range(20)]
    p = TerritoriesProblem.model_validate({"units": units, "count": 2, "balance": {"workload": 0.0}})
    s = solve_territories(p, time_limit=3)
    assert sorted(t.units for t in s.territories) == [10, 10]


def test_validation_reports_every_error() -> None:
    units = _units(3, 1)
    units[0]["distances"] = {"A": 1.0, "Z": 2.0}
    units[1]["current"] = "Q"
    with pytest.raises(InputError) as ei:
        TerritoriesProblem.model_validate({"units": units, "territories": [{"id": "A"}, {"id": "B"}],
                                           "travel": {"metric": "euclidean"}, "max_workload_moved": 1.0})
    paths = {e.path for e in ei.value.errors}
    assert {"units[0].distances.Z", "units[0].distances", "units[1].distances", "units[1].current"} <= paths
