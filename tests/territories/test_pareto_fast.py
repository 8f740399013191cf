"""The build-once HiGHS Pareto front (``optimizer.territories.pareto``): optimal, non-dominated, complete.

Checks are independent of the module: a brute-force front on a tiny hand-built case, and a dense
``scipy.optimize.milp`` epsilon-constraint model written here for the Pfizer 22x4 case (its data is
copied into ``tests/data/territory-pfizer-turkey``).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from optimizer.model.territories import TerritoriesProblem
from optimizer.territories import pareto, solve_territories
from optimizer.territories.datasets import pfizer_problem
from optimizer.territories.instance import Instance, build_instance
from optimizer.territories.pareto import (
    AllocationModel,
    FrontPoint,
    FrontStats,
    cpsat_primal,
    disruption_matrix,
    exact_front,
)

DATA = Path(__file__).resolve().parents[1] / "data"


def _pfizer(lo: float = 0.8, hi: float = 1.2) -> TerritoriesProblem:
    return pfizer_problem("22x4", lo, hi, root=DATA)


def _arrays(p: TerritoriesProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(distance n x k, workload, current index, locked) straight from the problem's fields."""
    tids = p.territory_ids
    d = np.array([[u.distances[t] for t in tids] for u in p.units])  # type: ignore[index]
    w = np.array([u.workload for u in p.units])
    cur = np.array([tids.index(u.current) for u in p.units])  # type: ignore[arg-type]
    locked = np.array([u.locked for u in p.units])
    return d, w, cur, locked


def _front(p: TerritoriesProblem, **kw: object) -> tuple[Instance, list[FrontPoint]]:
    inst = build_instance(p)
    assert inst.dist is not None
    return inst, exact_front(inst, inst.wt[:, None] * inst.dist, inst.measures[:, 0], **kw)  # type: ignore[arg-type]


def _check_point(p: TerritoriesProblem, pt: FrontPoint, tau: float) -> None:
    """Feasibility and both objectives recomputed from the assignment."""
    d, w, cur, locked = _arrays(p)
    rows = np.arange(len(w))
    k = d.shape[1]
    load = np.bincount(pt.assign, weights=w, minlength=k)
    mean = w.sum() / k
    assert np.all(np.abs(load / mean - 1) <= tau + 1e-9)
    assert np.all(pt.assign[locked] == cur[locked])
    assert pt.distance == pytest.approx(d[rows, pt.assign].sum(), abs=1e-9)
    assert pt.disruption == pytest.approx(w[pt.assign != cur].sum(), abs=1e-9)


def _check_front(front: list[FrontPoint]) -> None:
    """Sorted by disruption, and each step buys strictly less distance with strictly more disruption."""
    for a, b in itertools.pairwise(front):
        assert b.disruption > a.disruption and b.distance < a.distance


def _milp_min(p: TerritoriesProblem, tau: float, objective: str, cap: float) -> float:
    """Independent dense MIP: min distance s.t. disruption <= cap, or min disruption s.t. distance <= cap."""
    d, w, cur, locked = _arrays(p)
    n, k = d.shape
    moved = np.ones((n, k)) * w[:, None]
    moved[np.arange(n), cur] = 0.0
    one = np.kron(np.eye(n), np.ones(k))  # each unit in exactly one territory
    load = np.kron(np.ones(n), np.eye(k)) * np.repeat(w, k)[None, :]
    mean = w.sum() / k
    ub = np.ones(n * k)
    for i in np.flatnonzero(locked):
        ub[i * k:(i + 1) * k] = 0.0
        ub[i * k + cur[i]] = 1.0
    c, row = (d.ravel(), moved.ravel()) if objective == "distance" else (moved.ravel(), d.ravel())
    cons = [LinearConstraint(one, 1, 1), LinearConstraint(load, (1 - tau) * mean, (1 + tau) * mean),
            LinearConstraint(row[None, :], -np.inf, cap)]
    res = milp(c, constraints=cons, integrality=np.ones(n * k), bounds=Bounds(0, ub),
               options={"mip_rel_gap": 1e-9})
    assert res.status == 0
    return float(res.fun)


@pytest.mark.parametrize(("lo", "hi", "best", "least"), [(0.8, 1.2, 154.60, 0.1696), (0.9, 1.1, 162.43, 0.2529)])
def test_pfizer_22x4_front_extremes_and_optimality(lo: float, hi: float, best: float, least: float) -> None:
    p = _pfizer(lo, hi)
    tau = hi - 1.0
    st = FrontStats()
    _, front = _front(p, stats=st)
    assert st.complete and all(pt.proven for pt in front)
    # the extremes are the dataset README's reference values
    assert front[-1].distance == pytest.approx(best, abs=0.006)
    assert front[0].disruption == pytest.approx(least, abs=6e-5)
    _check_front(front)
    for pt in front:
        _check_point(p, pt, tau)
    # every point is optimal both ways (independent MIP), checked on a few of them
    for pt in front[:: max(1, len(front) // 4)]:
        assert _milp_min(p, tau, "distance", pt.disruption + 1e-9) == pytest.approx(pt.distance, abs=1e-6)
        assert _milp_min(p, tau, "disruption", pt.distance + 1e-9) == pytest.approx(pt.disruption, abs=1e-6)


def test_pfizer_22x4_min_disruption_extreme_has_reference_distance() -> None:
    _, front = _front(_pfizer())
    assert front[0].distance == pytest.approx(188.95, abs=0.006)


def test_pfizer_22x4_all_breakpoints_contain_the_grid() -> None:
    p = _pfizer()
    _, grid = _front(p, mode="grid")
    st = FrontStats()
    _, full = _front(p, mode="all", stats=st)
    assert st.complete and all(pt.proven for pt in full)
    _check_front(full)
    assert len(full) >= len(grid)
    keys = {(round(pt.disruption, 9), round(pt.distance, 6)) for pt in full}
    for pt in grid:
        assert (round(pt.disruption, 9), round(pt.distance, 6)) in keys
    # no point is missing between two consecutive breakpoints: just below the next one's disruption,
    # the best distance is the previous point's (workloads have 4 decimals: levels are >= 1e-4 apart,
    # and the check MIP honours rows only to ~1e-7)
    for a, b in list(itertools.pairwise(full))[:: max(1, len(full) // 5)]:
        assert _milp_min(p, 0.2, "distance", b.disruption - 5e-5) == pytest.approx(a.distance, abs=1e-6)


def _tiny() -> TerritoriesProblem:
    rng = np.random.default_rng(3)
    n, k = 8, 3
    w = np.round(rng.uniform(0.5, 1.5, n), 3)
    d = np.round(rng.uniform(1, 20, (n, k)), 2)
    cur = [0, 0, 0, 0, 0, 1, 1, 2]  # unbalanced current alignment
    units = [{"id": f"u{i}", "location": {"x": float(i), "y": 0.0}, "workload": float(w[i]),
              "current": f"T{cur[i]}", "locked": i == 7,
              "distances": {f"T{t}": float(d[i, t]) for t in range(k)}} for i in range(n)]
    return TerritoriesProblem.model_validate({
        "units": units, "territories": [{"id": f"T{t}"} for t in range(k)], "balance": {"workload": 0.25},
        "distance_weight": "unit", "move_cost_basis": "workload", "travel": {"metric": "euclidean"}})


def _brute_front(p: TerritoriesProblem, tau: float) -> list[tuple[float, float]]:
    d, w, cur, locked = _arrays(p)
    n, k = d.shape
    mean = w.sum() / k
    allocs = np.array(list(itertools.product(range(k), repeat=n)))
    allocs = allocs[np.all(allocs[:, locked] == cur[locked], axis=1)]
    loads = np.stack([(w * (allocs == t)).sum(1) for t in range(k)], axis=1)
    ok = np.all(np.abs(loads / mean - 1) <= tau + 1e-12, axis=1)
    allocs = allocs[ok]
    dist = d[np.arange(n), allocs].sum(1)
    disr = (w * (allocs != cur)).sum(1)
    order = np.lexsort((dist, disr))
    front: list[tuple[float, float]] = []
    for j in order:
        if not front or dist[j] < front[-1][1] - 1e-9:
            front.append((float(disr[j]), float(dist[j])))
    return front


def test_tiny_all_breakpoints_equal_brute_force() -> None:
    p = _tiny()
    brute = _brute_front(p, 0.25)
    assert len(brute) >= 3  # the case has a real trade-off
    _, full = _front(p, mode="all")
    assert len(full) == len(brute)
    assert [v for pt in full for v in (pt.disruption, pt.distance)] == pytest.approx(
        [v for pair in brute for v in pair], abs=1e-9)
    _, grid = _front(p, mode="grid", grid=3)
    keys = {(round(a, 9), round(b, 9)) for a, b in brute}
    assert {(round(pt.disruption, 9), round(pt.distance, 9)) for pt in grid} <= keys
    assert (grid[0].disruption, grid[-1].distance) == pytest.approx((brute[0][0], brute[-1][1]))


def test_same_input_same_front() -> None:
    a = [(pt.disruption, pt.distance, tuple(pt.assign)) for pt in _front(_pfizer())[1]]
    b = [(pt.disruption, pt.distance, tuple(pt.assign)) for pt in _front(_pfizer())[1]]
    assert a == b


def test_no_time_left_returns_partial_front_flagged_incomplete() -> None:
    st = FrontStats()
    _, front = _front(_pfizer(), time_left=lambda: 0.0, stats=st)
    assert not st.complete
    for pt in front:
        _check_point(_pfizer(), pt, 0.2)
    _check_front(front)


def test_solve_territories_front_uses_it() -> None:
    p = _pfizer()
    s = solve_territories(p, time_limit=20)
    _, front = _front(p)
    assert len(s.pareto) == len(front)
    assert [v for q in s.pareto for v in (q.workload_moved, q.dispersion)] == pytest.approx(
        [v for pt in front for v in (pt.disruption, pt.distance)], abs=1e-6)
    for q in s.pareto:
        assert q.assignment is not None
        assert sum(u.workload for u in p.units if q.assignment[u.id] != u.current) == pytest.approx(q.workload_moved)


def test_excluded_pairs_are_unused_by_every_assignment_within_the_cap() -> None:
    """The shortfall/excess fixing is exact: brute force over every feasible assignment of the tiny case."""
    p = _tiny()
    d, w, cur, locked = _arrays(p)
    n, k = d.shape
    inst = build_instance(p)
    assert inst.dist is not None
    model = AllocationModel(inst, inst.wt[:, None] * inst.dist, disruption_matrix(inst, inst.measures[:, 0]))
    allocs = np.array(list(itertools.product(range(k), repeat=n)))
    allocs = allocs[np.all(allocs[:, locked] == cur[locked], axis=1)]
    loads = np.stack([(w * (allocs == t)).sum(1) for t in range(k)], axis=1)
    mean = w.sum() / k
    allocs = allocs[np.all(np.abs(loads / mean - 1) <= 0.25 + 1e-12, axis=1)]
    disr = (w * (allocs != cur)).sum(1)
    some = 0
    for cap in np.unique(disr)[:6]:
        ex = model.excluded(float(cap))
        some += int(ex.sum())
        used = np.zeros(model.nv, dtype=bool)
        for a in allocs[disr <= cap + 1e-12]:
            used |= model.tt == a[model.ii]
        assert not (used & ex).any()
    assert some > 0  # the fixing does exclude pairs at the tight caps


def test_cpsat_primal_is_feasible_and_no_better_than_the_proven_optimum() -> None:
    p = _pfizer(0.9, 1.1)
    inst = build_instance(p)
    assert inst.dist is not None
    dcost = inst.wt[:, None] * inst.dist
    disr = disruption_matrix(inst, inst.measures[:, 0])
    model = AllocationModel(inst, dcost, disr)
    exact, ok = model.solve("disr")
    assert exact is not None and ok
    a = cpsat_primal(model, "disr", hint=inst.current, time_limit=10)
    assert a is not None
    rows = np.arange(inst.n)
    pt = FrontPoint(a, float(dcost[rows, a].sum()), float(disr[rows, a].sum()), False)
    _check_point(p, pt, 0.1)
    assert pt.disruption >= disr[rows, exact].sum() - 1e-9
    # under a disruption cap and a distance cap, both still hold exactly
    cap = pt.disruption + 0.2
    b = cpsat_primal(model, "dist", eps=cap, dist_ub=pt.distance, hint=a, time_limit=10)
    assert b is not None
    assert disr[rows, b].sum() <= cap + 1e-12 and dcost[rows, b].sum() <= pt.distance + 1e-9
    _check_point(p, FrontPoint(b, float(dcost[rows, b].sum()), float(disr[rows, b].sum()), False), 0.1)


def test_cpsat_step_and_fixing_do_not_change_the_front(monkeypatch: pytest.MonkeyPatch) -> None:
    """HiGHS alone without fixing, and every solve sent through the CP-SAT step (node cap 0), agree."""
    p = _pfizer(0.85, 1.15)
    monkeypatch.setattr(pareto, "FIXING", False)
    _, plain = _front(p, primal=False)
    monkeypatch.setattr(pareto, "FIXING", True)
    monkeypatch.setattr(pareto, "FIRST_NODES", 0)
    st = FrontStats()
    _, hybrid = _front(p, stats=st)
    assert st.complete and all(pt.proven for pt in hybrid) and st.cpsat_s > 0
    assert [v for pt in hybrid for v in (pt.disruption, pt.distance)] == pytest.approx(
        [v for pt in plain for v in (pt.disruption, pt.distance)], abs=1e-9)
    for pt in hybrid:
        _check_point(p, pt, 0.15)
