"""Pfizer Turkey realignment reference values (dataset README) and the PNG map."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from optimizer.model.territories import TerritoriesProblem
from optimizer.territories import solve_territories
from optimizer.territories.datasets import pfizer_problem
from optimizer.territories.plot import plot_solution, territory_colors


def _recompute(p: TerritoriesProblem, assign: dict[str, str]) -> tuple[float, float, float]:
    """(distance, workload moved, max |load - 1|) recomputed from an assignment."""
    dist = 0.0
    moved = 0.0
    load = dict.fromkeys(p.territory_ids, 0.0)
    cen = {t.id: t.center.coords() for t in p.territories or [] if t.center is not None}
    for u in p.units:
        t = assign[u.id]
        if u.distances is not None:
            dist += u.distances[t]
        else:
            c = cen[t]
            dist += float(np.hypot(u.location.coords()[0] - c[0], u.location.coords()[1] - c[1]))
        if t != u.current:
            moved += u.workload
        load[t] += u.workload
        if u.locked:
            assert t == u.current
    return dist, moved, max(abs(v - 1.0) for v in load.values())


def _check_front(p: TerritoriesProblem, front: list, tau: float) -> None:
    for pt in front:
        if pt.assignment is not None:
            d, m, dev = _recompute(p, pt.assignment)
            assert d == pytest.approx(pt.dispersion, abs=1e-6)
            assert m == pytest.approx(pt.workload_moved, abs=1e-6)
            assert dev <= tau + 1e-6
    # a front: more disruption always buys less distance
    for a, b in itertools.pairwise(front):
        assert b.workload_moved > a.workload_moved and b.dispersion < a.dispersion


def test_pfizer_22x4(shared: Path) -> None:
    p = pfizer_problem("22x4", 0.8, 1.2, root=shared)
    s = solve_territories(p, time_limit=20)
    assert s.status == "optimal"
    d, _, dev = _recompute(p, s.assignment)
    assert d == pytest.approx(154.60, abs=0.006) and s.metrics.distance_sum == pytest.approx(d)
    assert dev <= 0.2 + 1e-9
    front = s.pareto
    assert front[-1].dispersion == pytest.approx(154.60, abs=0.006)
    assert front[0].workload_moved == pytest.approx(0.1696, abs=6e-5)
    assert front[0].dispersion == pytest.approx(188.95, abs=0.006)
    _check_front(p, front, 0.2)


@pytest.mark.parametrize(("lo", "hi", "best"), [(0.85, 1.15, 160.32), (0.9, 1.1, 162.43)])
def test_pfizer_22x4_tighter_bounds(shared: Path, lo: float, hi: float, best: float) -> None:
    p = pfizer_problem("22x4", lo, hi, pareto=False, root=shared)
    s = solve_territories(p, time_limit=20)
    assert s.status == "optimal" and s.objective == pytest.approx(best, abs=0.006)


def test_pfizer_100x10(shared: Path) -> None:
    p = pfizer_problem("100x10", 0.8, 1.2, root=shared)
    s = solve_territories(p, time_limit=60)
    assert s.status == "optimal"
    d, _, dev = _recompute(p, s.assignment)
    assert d == pytest.approx(15.0374, abs=6e-5) and dev <= 0.2 + 1e-9
    assert s.pareto[0].workload_moved == pytest.approx(0.3427, abs=1.1e-4)
    assert s.pareto[-1].dispersion == pytest.approx(15.0374, abs=6e-5)
    _check_front(p, s.pareto, 0.2)


def test_disruption_cap_is_respected(shared: Path) -> None:
    p = pfizer_problem("22x4", 0.8, 1.2, pareto=False, max_workload_moved=0.3, root=shared)
    s = solve_territories(p, time_limit=20)
    _, moved, _ = _recompute(p, s.assignment)
    assert moved <= 0.3 + 1e-9 and s.status == "optimal"
    assert s.objective is not None and s.objective > 154.60


def test_plot_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    units = [{"id": str(i), "location": {"x": float(x), "y": float(y)}, "workload": 1.0}
             for i, (x, y) in enumerate(rng.uniform(0, 50, size=(60, 2)))]
    p = TerritoriesProblem.model_validate({"units": units, "count": 4, "balance": {"workload": 0.1},
                                           "travel": {"metric": "euclidean"}})
    s = solve_territories(p, time_limit=2)
    out = plot_solution(p, s, tmp_path / "map.png")
    assert out.stat().st_size > 1000
    import matplotlib.image as mpimg

    img = mpimg.imread(out)[:, :, :3]
    found = 0
    for c in territory_colors(4):
        close = np.abs(img - np.array(c)).max(axis=2) < 0.02
        found += bool(close.sum() > 10)
    assert found == 4
