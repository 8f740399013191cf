"""Realignment on a generated instance with a current alignment (regression: the move-cap check
crashed on numpy booleans whenever units carried a ``current`` territory)."""

from __future__ import annotations

from optimizer.datagen import territories_instance
from optimizer.model import parse
from optimizer.model.territories import TerritoriesProblem
from optimizer.territories import solve_territories


def test_realignment_with_current_alignment_and_move_cap() -> None:
    data = territories_instance(n_units=150, n_territories=4, seed=3)
    assert any(u.get("current") for u in data["units"])
    data["max_moved"] = 20
    p = parse("territories", data)
    assert isinstance(p, TerritoriesProblem)
    sol = solve_territories(p, time_limit=5, seed=0)
    assert sol.status in ("optimal", "feasible")
    assert set(sol.assignment) == {u.id for u in p.units}
    moved = sum(1 for u in p.units if u.current is not None and sol.assignment[u.id] != u.current)
    assert moved == sol.metrics.moved
    assert moved <= 20 or any(v.constraint.startswith("max_moved") for v in sol.violations)
    for u in p.units:
        if u.locked:
            assert sol.assignment[u.id] == u.current
